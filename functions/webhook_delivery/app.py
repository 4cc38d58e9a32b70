"""The webhook queue's consumer: posts each authflow event to its subscriptions (authflow.deliveries).

Messages that must come back (a dependency failed) are reported as batch item failures (the event
source mapping has ReportBatchItemFailures); a failed post is not one of them: its retry is a
message of its own.
"""

from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from authflow.adapters import delivery_adapters
from authflow.deliveries import WebhookDeliverer
from authflow.observability import logger, metrics
from authflow.settings import DeliverySettings

if TYPE_CHECKING:
    # For the type checker only: importing Powertools' batch utility for this one type cost ~13 ms of
    # CPU at every cold start (this function builds its partial failure answer itself).
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

settings = DeliverySettings.from_environment()
deliverer = WebhookDeliverer(settings, delivery_adapters(settings))


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> "PartialItemFailureResponse":
    records = [SQSRecord(record) for record in event.get("Records", [])]
    failed = deliverer.deliver_batch(records, lambda: context.get_remaining_time_in_millis() / 1000)
    metrics.add_metric(name="WebhookMessagesProcessed", unit=MetricUnit.Count, value=len(records) - len(failed))
    metrics.add_metric(name="WebhookMessagesReturned", unit=MetricUnit.Count, value=len(failed))
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
