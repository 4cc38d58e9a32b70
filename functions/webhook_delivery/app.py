"""The webhook queue's consumer: posts each authflow event to its subscriptions (authflow.deliveries).

Records that must be retried are reported as batch item failures (the event source mapping has
ReportBatchItemFailures), so the rest of the batch is deleted and one failing endpoint delays nothing
else.
"""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from authflow.adapters import delivery_adapters
from authflow.deliveries import WebhookDeliverer
from authflow.observability import logger, metrics
from authflow.settings import DeliverySettings

settings = DeliverySettings()
deliverer = WebhookDeliverer(settings, delivery_adapters(settings))
# A batch whose every record failed is reported as such, not raised: the messages' own backoff applies.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def deliver(record: SQSRecord) -> None:
    deliverer.deliver(record)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    deliverer.start_batch()
    result = process_partial_response(event=event, record_handler=deliver, processor=processor, context=context)
    failed = len(result.get("batchItemFailures", []))
    metrics.add_metric(name="WebhookEventsProcessed", unit=MetricUnit.Count, value=len(event.get("Records", [])) - failed)
    metrics.add_metric(name="WebhookEventsRetried", unit=MetricUnit.Count, value=failed)
    return result
