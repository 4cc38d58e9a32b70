"""Lambda's SQS event source mappings, run locally: a poller per SAM `Events: Type: SQS`.

moto (5.2.5) does not run them as Lambda does: its mapping invokes the function once, synchronously,
inside the SendMessage that added a message, with a fixed ApproximateReceiveCount of 1, and it ignores
ReportBatchItemFailures; a message that failed is never polled again. So the local stack does not
create mappings in moto; instead, for each function with an SQS event in template.yaml, a thread does
what Lambda's poller does:

- ReceiveMessage (up to BatchSize, long polling) with every system attribute, so the handler sees
  the real ApproximateReceiveCount and the retries the queue counts;
- invokes the function through the LocalLambdaRuntime with the event shape AWS sends;
- deletes the messages of a successful batch; with ReportBatchItemFailures, all but the reported
  failures (an unknown or empty itemIdentifier fails the whole batch, as in AWS); a function error
  leaves the whole batch on the queue;
- leaves failed messages alone: they come back when their visibility timeout ends, and the queue's
  RedrivePolicy (which moto implements: maxReceiveCount) moves them to the dead-letter queue.
"""

import hashlib
import logging
import threading
from dataclasses import dataclass

import boto3

from infra.lambda_runtime import InvocationError, LocalLambdaRuntime
from infra.provision import Stack
from infra.template import Resolver

log = logging.getLogger(__name__)

LONG_POLL_SECONDS = 1


@dataclass
class SqsEventSource:
    function: str  # the function's logical id
    queue_arn: str
    queue_url: str
    batch_size: int = 10
    report_batch_item_failures: bool = False
    enabled: bool = True


def _sqs_event_sources(template: dict, resolver: Resolver, stack: Stack) -> list[SqsEventSource]:
    sources = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in (resource.get("Properties", {}).get("Events") or {}).values():
            if event["Type"] != "SQS":
                continue
            props = resolver.resolve(event["Properties"])
            queue_arn = props["Queue"]
            queue_name = queue_arn.rsplit(":", 1)[1]
            queue_url = boto3.client("sqs").get_queue_url(QueueName=queue_name)["QueueUrl"]
            sources.append(
                SqsEventSource(
                    function=logical_id,
                    queue_arn=queue_arn,
                    queue_url=queue_url,
                    batch_size=min(int(props.get("BatchSize", 10)), 10),
                    report_batch_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                    enabled=str(props.get("Enabled", True)).lower() != "false",
                )
            )
    return sources


def _record(message: dict, source: SqsEventSource, region: str) -> dict:
    """One record of the event Lambda sends for an SQS batch."""
    attributes = {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value["DataType"],
        }
        for name, value in (message.get("MessageAttributes") or {}).items()
    }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": attributes,
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": source.queue_arn,
        "awsRegion": region,
    }


class SqsPoller:
    """Polls each SQS event source of the template and invokes its function, as Lambda does."""

    def __init__(self, template: dict, parameters: dict[str, str], stack: Stack, runtime: LocalLambdaRuntime):
        self.runtime = runtime
        self.stack = stack
        self.region = boto3.session.Session().region_name
        pseudo = {"AWS::Region": self.region, "AWS::AccountId": "123456789012", "AWS::Partition": "aws", "AWS::StackName": stack.name}
        resolver = Resolver(template, parameters, pseudo=pseudo, refs=stack.refs, attributes=stack.attributes)
        self.sources = [s for s in _sqs_event_sources(template, resolver, stack) if s.enabled]
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []
        self.batches = 0

    def start(self) -> "SqsPoller":
        for source in self.sources:
            thread = threading.Thread(target=self._run, args=(source,), name=f"sqs-poller-{source.function}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stopped.set()
        for thread in self._threads:
            thread.join(timeout=LONG_POLL_SECONDS + 5)

    def _run(self, source: SqsEventSource) -> None:
        sqs = boto3.client("sqs")
        while not self._stopped.is_set():
            try:
                self.poll_once(source, sqs)
            except Exception:  # keep polling, as Lambda's poller does; the stack's log says why
                if not self._stopped.is_set():
                    log.exception("SQS poller for %s failed; polling again", source.function)
                    self._stopped.wait(1)

    def poll_once(self, source: SqsEventSource, sqs=None) -> int:
        """Receives one batch and hands it to the function; the number of messages received."""
        sqs = sqs or boto3.client("sqs")
        messages = sqs.receive_message(
            QueueUrl=source.queue_url,
            MaxNumberOfMessages=source.batch_size,
            WaitTimeSeconds=LONG_POLL_SECONDS,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        self.batches += 1
        event = {"Records": [_record(m, source, self.region) for m in messages]}
        try:
            result = self.runtime.invoke(source.function, event)
        except InvocationError as error:
            log.warning("%s failed a batch of %d (%s); the messages stay on the queue", source.function, len(messages), error)
            return len(messages)
        handles = {m["MessageId"]: m["ReceiptHandle"] for m in messages}
        failed = set()
        if source.report_batch_item_failures and isinstance(result, dict) and result.get("batchItemFailures"):
            failed = {item.get("itemIdentifier") for item in result["batchItemFailures"]}
            if not failed <= set(handles):  # Lambda treats an unknown identifier as a failed batch
                return len(messages)
        done = [{"Id": str(i), "ReceiptHandle": handles[m]} for i, m in enumerate(handles) if m not in failed]
        if done:
            sqs.delete_message_batch(QueueUrl=source.queue_url, Entries=done)
        return len(messages)
