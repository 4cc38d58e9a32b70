"""Webhook deliveries: each authflow event, from the webhook queue, POSTed to its subscriptions.

One queue message is one EventBridge event. For every subscription of its detail-type that has not
received it yet, the consumer POSTs {"type", "timestamp", "data"} signed per the Standard Webhooks
specification (webhook-id is the detail's event_id, identical on every retry, so receivers can
de-duplicate). A 2xx answer is a delivery and is recorded, so a retry or a duplicate message never
posts it twice; anything else is a failure.

A message with a failed delivery is retried with exponential backoff: the consumer sets the
message's visibility timeout (ChangeMessageVisibility) to base * 2^(attempt - 1) seconds, capped,
from the queue's ApproximateReceiveCount, and reports the record as a batch item failure, so the
other messages of the batch are deleted and one bad endpoint holds up nothing else. On the last
attempt (or when the URL is refused outright) the message is parked in the dead-letter queue with
the reason in its message attributes; the queue's redrive policy backs this up if the consumer
cannot.
"""

import json
from datetime import datetime

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from standardwebhooks import Webhook

from authflow.adapters import DeliveryAdapters
from authflow.callback_urls import check_callback_url
from authflow.errors import DeliveryFailed, InvalidWebhookUrl
from authflow.events import SOURCE
from authflow.observability import logger
from authflow.settings import DeliverySettings
from authflow.status.subscriptions import Subscription
from authflow.webhook_http import Outcome

MAX_VISIBILITY_SECONDS = 43200  # SQS: a message's visibility can be extended to 12 h after it was sent
MAX_REASON_LENGTH = 1024


def backoff_seconds(attempt: int, base: int, maximum: int) -> int:
    """The delay before attempt + 1: base, 2 base, 4 base, ... capped at maximum."""
    return int(min(base * 2 ** max(attempt - 1, 0), maximum))


def webhook_payload(event: dict) -> str:
    """The body receivers get: Standard Webhooks' {type, timestamp, data} with the event's detail."""
    detail = event["detail"]
    body = {"type": event["detail-type"], "timestamp": detail.get("occurred_at") or event.get("time"), "data": detail}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def signed_headers(secret: str, webhook_id: str, payload: str, now: datetime) -> dict[str, str]:
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, now, payload),
    }


class WebhookDeliverer:
    def __init__(self, settings: DeliverySettings, adapters: DeliveryAdapters):
        self.settings = settings
        self.store = adapters.subscriptions
        self.deliveries = adapters.deliveries
        self.sqs = adapters.queue
        self.resolve = adapters.resolve
        self.send = adapters.send
        self.clock = adapters.clock
        self._subscriptions: list[Subscription] | None = None

    def start_batch(self) -> None:
        """Forgets the subscriptions read for the previous batch: each batch reads them once."""
        self._subscriptions = None

    def _subscribed_to(self, detail_type: str) -> list[Subscription]:
        if self._subscriptions is None:
            self._subscriptions = self.store.all()
        return [s for s in self._subscriptions if detail_type in s.events]

    def deliver(self, record: SQSRecord) -> None:
        """Delivers one queue message; raises DeliveryFailed when it must come back later."""
        attempt = int(record.attributes.approximate_receive_count or 1)
        try:
            self._deliver(record, attempt)
        except DeliveryFailed:
            raise
        except Exception as error:  # a dependency failed (a throttled table, say): same backoff, same limit
            logger.warning("webhook delivery interrupted", extra={"attempt": attempt, "error_type": type(error).__name__})
            if attempt >= self.settings.webhook_max_attempts:
                self._park(record, f"delivery interrupted ({type(error).__name__})", [], attempt)
                return
            delay = self._retry_later(record, attempt)
            raise DeliveryFailed(f"delivery interrupted at attempt {attempt}; next in {delay} s") from error

    def _deliver(self, record: SQSRecord, attempt: int) -> None:
        try:
            event = json.loads(record.body)
            detail_type, detail = event["detail-type"], event["detail"]
            event_id = detail["event_id"]
        except (ValueError, KeyError, TypeError):
            self._park(record, "not an authflow event", [], attempt)
            return
        if event.get("source") != SOURCE:
            self._park(record, "not an authflow event", [], attempt)
            return
        context = {"event_id": event_id, "detail_type": detail_type, "attempt": attempt}
        payload = webhook_payload(event)
        failures: dict[str, Outcome] = {}
        for subscription in self._subscribed_to(detail_type):
            if self.deliveries.delivered(event_id, subscription.id):
                continue
            outcome = self._deliver_to(subscription, event_id, payload)
            if outcome.delivered:
                self.deliveries.mark_delivered(event_id, subscription.id, outcome.status or 200)
                logger.info("webhook delivered", extra={**context, "webhook_id": subscription.id, "http_status": outcome.status})
            else:
                failures[subscription.id] = outcome
                logger.warning("webhook delivery failed", extra={**context, "webhook_id": subscription.id, "reason": outcome.reason})
        if not failures:
            return
        reason = "; ".join(f"{webhook_id}: {o.reason}" for webhook_id, o in failures.items())
        if attempt >= self.settings.webhook_max_attempts or all(o.permanent for o in failures.values()):
            self._park(record, reason, list(failures), attempt, event_id, detail_type)
            return
        delay = self._retry_later(record, attempt)
        raise DeliveryFailed(f"{len(failures)} delivery(ies) of {event_id} failed at attempt {attempt}; next in {delay} s")

    def _retry_later(self, record: SQSRecord, attempt: int) -> int:
        """Hides the message for its backoff; if that fails, the queue's visibility timeout applies."""
        delay = self._backoff(record, attempt)
        try:
            self.sqs.change_message_visibility(
                QueueUrl=self.settings.webhook_queue_url, ReceiptHandle=record.receipt_handle, VisibilityTimeout=delay
            )
        except Exception as error:
            logger.warning("backoff not set; the queue's visibility timeout applies", extra={"error_type": type(error).__name__})
        return delay

    def _deliver_to(self, subscription: Subscription, event_id: str, payload: str) -> Outcome:
        try:
            target = check_callback_url(subscription.url, self.settings.webhook_allow_loopback, self.resolve)
        except InvalidWebhookUrl as refused:
            return Outcome(False, f"URL refused: {refused.message}", permanent=True)
        headers = signed_headers(subscription.secret.get_secret_value(), event_id, payload, self.clock())
        return self.send(target, payload, headers, self.settings.webhook_request_timeout_seconds)

    def _backoff(self, record: SQSRecord, attempt: int) -> int:
        delay = backoff_seconds(attempt, self.settings.webhook_retry_base_seconds, self.settings.webhook_retry_max_seconds)
        now = self.clock().timestamp()
        sent_ms = int(record.attributes.sent_timestamp or now * 1000)
        remaining = MAX_VISIBILITY_SECONDS - 60 - int(now - sent_ms / 1000)
        return max(0, min(delay, remaining))

    def _park(
        self,
        record: SQSRecord,
        reason: str,
        webhook_ids: list[str],
        attempt: int,
        event_id: str = "",
        detail_type: str = "",
    ) -> None:
        """Moves the message to the dead-letter queue with why; the batch then deletes it here."""
        attributes = {
            "failure_reason": {"DataType": "String", "StringValue": reason[:MAX_REASON_LENGTH]},
            "attempts": {"DataType": "Number", "StringValue": str(attempt)},
            "source_message_id": {"DataType": "String", "StringValue": record.message_id},
        }
        for name, value in (("webhook_ids", ",".join(webhook_ids)), ("event_id", event_id), ("detail_type", detail_type)):
            if value:
                attributes[name] = {"DataType": "String", "StringValue": value}
        self.sqs.send_message(QueueUrl=self.settings.webhook_dead_letter_queue_url, MessageBody=record.body, MessageAttributes=attributes)
        logger.warning(
            "webhook event parked in the dead-letter queue",
            extra={"event_id": event_id, "detail_type": detail_type, "webhook_ids": webhook_ids, "attempts": attempt, "reason": reason},
        )
