"""The mail request queue's consumer (authflow.mail_requests): the password resets and invitation resends
that forgot-password, the operator's reset and resend-confirmation-code queued.

Each request is done for an email whose account is in the state it applies to, and ends here for any
other email, whose answer was the same. A request that fails (a throttled or unavailable dependency) is
reported as a batch item failure (the event source mapping has ReportBatchItemFailures) and comes back;
after the queue's maxReceiveCount it is in the dead-letter queue, which has an alarm.
"""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from authflow.adapters import lifecycle_adapters
from authflow.mail_requests import MailRequests
from authflow.models import MailRequest
from authflow.observability import logger, metrics
from authflow.onboarding import Onboarding
from authflow.passwords import Passwords
from authflow.settings import MailRequestSettings

settings = MailRequestSettings.from_environment()
adapters = lifecycle_adapters(settings)
requests = MailRequests(
    Passwords(settings, adapters, reset_state_machine_arn=settings.password_reset_state_machine_arn),
    Onboarding(settings, adapters),
)
processor = BatchProcessor(event_type=EventType.SQS)


def handle(record: SQSRecord) -> None:
    request = MailRequest.model_validate_json(record.body)
    done = requests.handle(request)
    # Neither the email nor whether it has an account goes to the log: a metric counts the latter.
    logger.info("mail request handled", extra={"kind": request.kind.value, "request_id": request.request_id})
    metrics.add_metric(name="MailRequestsDone" if done else "MailRequestsWithoutAccount", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=handle, processor=processor, context=context)
