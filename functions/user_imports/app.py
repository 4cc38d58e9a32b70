"""The user import queue's consumer: starts each row's onboarding (authflow.imports).

A row that must come back later (the budget of Cognito calls is spent, a dependency throttled) is
given its delay and reported as a batch item failure (the event source mapping has
ReportBatchItemFailures); every other row is recorded with its outcome.
"""

from collections import Counter

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from authflow.adapters import import_queue, lifecycle_adapters
from authflow.imports import RowDeferred, UserImports
from authflow.models import ImportRowMessage
from authflow.observability import logger, metrics
from authflow.onboarding import Onboarding
from authflow.settings import ImportSettings

settings = ImportSettings.from_environment()
adapters = lifecycle_adapters(settings)
queue = import_queue(settings.user_import_queue_url)
imports = UserImports(
    adapters,
    Onboarding(settings, adapters, state_machine_arn=settings.onboarding_state_machine_arn),
    queue,
    calls_per_second=settings.import_admin_create_user_per_second,
)
# A batch of deferred rows only is no error of the function (its Errors alarm stays quiet): every row comes back.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
outcomes: Counter[str] = Counter()


def import_row(record: SQSRecord) -> None:
    message = ImportRowMessage.model_validate_json(record.body)
    try:
        outcome = imports.import_row(message, int(record.attributes.approximate_receive_count))
    except RowDeferred as deferred:
        queue.return_later(record.receipt_handle, deferred.delay_seconds)
        outcomes["Deferred"] += 1
        raise
    if outcome is not None:
        outcomes[outcome.value.title()] += 1


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    outcomes.clear()
    response = process_partial_response(event=event, record_handler=import_row, processor=processor, context=context)
    # ImportRowsFailed feeds the import-failure alarm; the others show an import's progress.
    for outcome, count in outcomes.items():
        metrics.add_metric(name=f"ImportRows{outcome}", unit=MetricUnit.Count, value=count)
    return response
