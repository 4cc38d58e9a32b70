"""Webhook deliveries: each authflow event, from the webhook queue, POSTed to its subscriptions.

The webhook queue carries two kinds of message. An EventBridge event (from the bus's rule) is fanned
out on first receipt: each subscription of its detail-type gets its first attempt at once. A failed
attempt becomes a message of its own, {"delivery": {webhook_id, attempt, due_at}, "event": ...}, so
every later attempt concerns one event and one subscription, and one bad endpoint holds up no other.

The schedule (WebhookRetrySchedule: seconds before attempt 2, 3, ...; Svix's by default) is
stretched by up to JITTER, and a receiver's Retry-After is honoured when it asks for longer. SQS
delays a message by 15 minutes at most, so a retry due later hops: its message is sent with the
longest delay, and each receipt before due_at sends it on again, until it is due. No message lives
longer than 15 minutes, and none depends on a visibility timeout (12 hours at most after receipt).

Every post of a batch runs concurrently, each with its own timeout, and only while the function has
time left (the Lambda context's remaining time): a post that would not fit is queued again, not
attempted. Posts are signed per the Standard Webhooks specification; webhook-id is the event's
event_id, identical on every attempt, so receivers can de-duplicate.

A replayed event (from POST /v1/webhooks/{id}/replay: the bus archive's StartReplay) goes only to
the subscription its replay names, as a new first attempt.

Each attempt is written to the delivery log (authflow.status.deliveries), which also makes a retry or
a duplicate SQS message harmless. A 2xx is a delivery; 410 Gone disables the subscription, and so do failures of every delivery for
WEBHOOK_DISABLE_AFTER_DAYS (5, as Svix), with a mail to its contact; either way a WebhookEndpointDisabled
event says so (published first: if the bus fails, the message comes back and the endpoint is tried again); a URL
that now resolves inside is refused at once; after the last attempt the event is parked in the
dead-letter queue with the reason in its message attributes.
"""

import email.utils
import json
import math
import random
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from standardwebhooks import Webhook

from authflow.adapters import DeliveryAdapters
from authflow.callback_urls import check_callback_url
from authflow.errors import InvalidWebhookUrl, TransientError
from authflow.events import SOURCE, WebhookDisableCause, WebhookEndpointDisabled
from authflow.mail import webhook_disabled
from authflow.observability import logger
from authflow.replays import ReplayTarget
from authflow.settings import DeliverySettings
from authflow.status.deliveries import DeliveryLogEntry
from authflow.status.subscriptions import Subscription
from authflow.webhook_http import Outcome

MAX_DELAY_SECONDS = 900  # SQS: DelaySeconds is at most 15 minutes
MAX_REASON_LENGTH = 1024
JITTER = 0.2  # a retry waits its scheduled delay plus up to 20 %, so failed endpoints are not hit in step
MAX_RETRY_AFTER_SECONDS = 86400  # a receiver may ask for a day's pause, not park its events for ever
MAX_CONCURRENT_POSTS = 16
TIME_RESERVED_SECONDS = 3.0  # what the function keeps, after its posts, to log and queue their retries
GONE = 410

Jitter = Callable[[float], float]


def webhook_payload(event: dict) -> str:
    """The body receivers get: Standard Webhooks' {type, timestamp, data} with the event's detail."""
    detail = event["detail"]
    body = {"type": event["detail-type"], "timestamp": detail.get("occurred_at") or event.get("time"), "data": detail}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def signed_headers(secrets: str | list[str], webhook_id: str, payload: str, now: datetime) -> dict[str, str]:
    """Standard Webhooks' headers; with several secrets (a rotation), one signature each, space-separated."""
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(
            Webhook(secret).sign(webhook_id, now, payload) for secret in ([secrets] if isinstance(secrets, str) else secrets)
        ),
    }


def retry_after_seconds(header: str | None, now: datetime) -> float:
    """A Retry-After header (delay-seconds or an HTTP date) as seconds from now; 0 if absent or unreadable."""
    if not header:
        return 0
    header = header.strip()
    if header.isdigit():
        return min(float(header), MAX_RETRY_AFTER_SECONDS)
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return 0
    if when.tzinfo is None:
        return 0
    return min(max((when - now).total_seconds(), 0), MAX_RETRY_AFTER_SECONDS)


def jitter(delay: float) -> float:
    return delay * (1 + random.uniform(0, JITTER))


@dataclass(frozen=True)
class DueDelivery:
    """One attempt to make in this batch: an event to a subscription, from a queue message."""

    message_id: str
    event: dict
    subscription: Subscription
    attempt: int

    @property
    def event_id(self) -> str:
        return self.event["detail"]["event_id"]


@dataclass(frozen=True)
class Attempt:
    """What one post gave: None if there was no time left to make it."""

    outcome: Outcome | None
    latency_ms: int | None = None


class WebhookDeliverer:
    def __init__(self, settings: DeliverySettings, adapters: DeliveryAdapters, spread: Jitter = jitter):
        self.settings = settings
        self.store = adapters.subscriptions
        self.log = adapters.deliveries
        self.sqs = adapters.queue
        self.resolve = adapters.resolve
        self.send = adapters.send
        self.clock = adapters.clock
        self.spread = spread
        self.replays = adapters.replays
        self.mailer = adapters.mailer
        self.events = adapters.events
        self.sealer = adapters.sealer
        self._subscriptions: dict[str, Subscription] = {}
        self._replay_targets: dict[str, ReplayTarget | None] = {}

    @property
    def last_attempt(self) -> int:
        return len(self.settings.retry_delays) + 1

    def deliver_batch(self, records: list[SQSRecord], seconds_left: Callable[[], float]) -> list[str]:
        """Delivers a batch of queue messages; the ids of those that must come back (a dependency failed)."""
        try:
            self._subscriptions = {s.id: s for s in self.store.all()}  # read once per batch
        except Exception as error:  # a dependency failed (a throttled table, say): the whole batch comes back
            logger.warning("subscriptions not read; the batch comes back", extra={"error_type": type(error).__name__})
            return [record.message_id for record in records]
        failed: list[str] = []
        due: list[DueDelivery] = []
        for record in records:
            try:
                due += self._read(record)
            except Exception as error:  # a dependency failed (a throttled table, say): the message comes back
                logger.warning("webhook message not read", extra={"message_id": record.message_id, "error_type": type(error).__name__})
                failed.append(record.message_id)
        attempts = self._post_all(due, seconds_left)
        for delivery, attempt in zip(due, attempts, strict=True):
            try:
                self._settle(delivery, attempt)
            except Exception as error:
                logger.warning(
                    "webhook attempt not recorded; its message comes back",
                    extra={"event_id": delivery.event_id, "webhook_id": delivery.subscription.id, "error_type": type(error).__name__},
                )
                failed.append(delivery.message_id)
        return list(dict.fromkeys(failed))

    # ---------------------------------------------------------------- reading the messages

    def _read(self, record: SQSRecord) -> list[DueDelivery]:
        try:
            body = json.loads(record.body)
            event = body["event"] if "delivery" in body else body
            detail_type, event_id = event["detail-type"], event["detail"]["event_id"]
        except (ValueError, KeyError, TypeError):
            self._park(record.body, record.message_id, "not an authflow event", 1)
            return []
        if event.get("source") != SOURCE:
            self._park(record.body, record.message_id, "not an authflow event", 1)
            return []
        if "delivery" in body:
            return self._retry_due(record.message_id, body)
        if "replay-name" in event:
            return self._replayed(record.message_id, event)
        return [
            DueDelivery(record.message_id, event, subscription, 1)
            for subscription in self._subscriptions.values()
            if subscription.enabled and detail_type in subscription.events and self.log.get(subscription.id, event_id) is None
        ]

    def _replayed(self, message_id: str, event: dict) -> list[DueDelivery]:
        """A replayed event goes to the one subscription its replay names, delivered before or not."""
        name = event["replay-name"]
        if name not in self._replay_targets:  # one DescribeReplay per replay and process
            self._replay_targets[name] = self.replays.target(name)
        target = self._replay_targets[name]
        subscription = self._subscriptions.get(target.webhook_id) if target else None
        if (
            target is None
            or subscription is None
            or not subscription.enabled
            or event["detail-type"] not in subscription.events
            or target.event_id not in (None, event["detail"]["event_id"])
        ):
            return []
        return [DueDelivery(message_id, event, subscription, 1)]

    def _retry_due(self, message_id: str, body: dict) -> list[DueDelivery]:
        """The attempt a retry message asks for, if due; one not yet due is sent on (a hop)."""
        webhook_id, attempt = body["delivery"]["webhook_id"], int(body["delivery"]["attempt"])
        event = body["event"]
        subscription = self._subscriptions.get(webhook_id)
        if subscription is None or not subscription.enabled:
            logger.info("retry dropped: the subscription is gone or disabled", extra={"webhook_id": webhook_id})
            return []
        wait = (datetime.fromisoformat(body["delivery"]["due_at"]) - self.clock()).total_seconds()
        if wait >= 1:
            self._queue(body, wait)
            return []
        entry = self.log.get(webhook_id, event["detail"]["event_id"])
        if entry is not None and (entry.state != "pending" or entry.attempts >= attempt):
            return []  # a duplicate message: this attempt was made, or the delivery is over
        return [DueDelivery(message_id, event, subscription, attempt)]

    # ---------------------------------------------------------------- posting

    def _post_all(self, due: list[DueDelivery], seconds_left: Callable[[], float]) -> list[Attempt]:
        """Posts concurrently, each post with its timeout, none started unless it can end in the time left."""
        if not due:
            return []
        deadline = time.monotonic() + seconds_left() - TIME_RESERVED_SECONDS
        signing = self._open_secrets({delivery.subscription.id: delivery.subscription for delivery in due}.values())
        with ThreadPoolExecutor(max_workers=min(len(due), MAX_CONCURRENT_POSTS), thread_name_prefix="webhook-post") as pool:
            return list(pool.map(lambda delivery: self._post(delivery, signing.get(delivery.subscription.id), deadline), due))

    def _open_secrets(self, subscriptions: Iterable[Subscription]) -> dict[str, list[str]]:
        """The signing secrets of each subscription with a post due, opened once for the batch and only to sign
        it (before the posts start, so that their order is not the key service's). One the key service does
        not open now (throttled) is left out: that subscription's deliveries come back un-attempted."""
        now, opened = self.clock(), {}
        for subscription in subscriptions:
            try:
                opened[subscription.id] = [
                    self.sealer.open(subscription.id, sealed).get_secret_value() for sealed in subscription.sealed_signing_secrets(now)
                ]
            except TransientError:
                logger.warning("signing secret not opened; the deliveries come back", extra={"webhook_id": subscription.id})
        return opened

    def _post(self, delivery: DueDelivery, secrets: list[str] | None, deadline: float) -> Attempt:
        timeout = self.settings.webhook_request_timeout_seconds
        if secrets is None or time.monotonic() + timeout > deadline:
            return Attempt(None)
        try:
            target = check_callback_url(delivery.subscription.url, self.settings.webhook_allow_loopback, self.resolve)
        except InvalidWebhookUrl as refused:
            return Attempt(Outcome(False, f"URL refused: {refused.message}", permanent=True))
        payload = webhook_payload(delivery.event)
        now = self.clock()
        headers = signed_headers(secrets, delivery.event_id, payload, now)
        started = time.monotonic()
        outcome = self.send(target, payload, headers, timeout)
        return Attempt(outcome, int((time.monotonic() - started) * 1000))

    # ---------------------------------------------------------------- after the post

    def _settle(self, delivery: DueDelivery, attempt: Attempt) -> None:
        """Queues what comes next (a retry, or the same attempt when there was no time) and logs the attempt."""
        now = self.clock()
        subscription, event_id = delivery.subscription, delivery.event_id
        if attempt.outcome is None:
            self._queue_attempt(delivery, delivery.attempt, now)
            return
        outcome = attempt.outcome
        entry = self.log.get(subscription.id, event_id) or DeliveryLogEntry(
            webhook_id=subscription.id,
            event_id=event_id,
            event_type=delivery.event["detail-type"],
            occurred_at=delivery.event["detail"].get("occurred_at") or delivery.event.get("time", ""),
        )
        entry = entry.model_copy(
            update={
                "attempts": delivery.attempt,
                "last_status_code": outcome.status,
                "last_latency_ms": attempt.latency_ms,
                "last_error": None if outcome.delivered else outcome.reason,
                "next_attempt_at": None,
            }
        )
        context = {"event_id": event_id, "webhook_id": subscription.id, "attempt": delivery.attempt, "http_status": outcome.status}
        if outcome.delivered:
            entry = entry.model_copy(update={"state": "delivered"})
            logger.debug("webhook delivered", extra=context)
            self._failing(subscription, None)
        elif outcome.status == GONE:
            self._disable(subscription, "ENDPOINT_GONE", "The endpoint answered 410 Gone.", outcome.status)
            entry = entry.model_copy(update={"state": "failed"})
            logger.warning("webhook endpoint gone: subscription disabled", extra=context)
        elif self._failing(subscription, now) <= now - timedelta(days=self.settings.webhook_disable_after_days):
            self._disable_failing(subscription, outcome)
            entry = entry.model_copy(update={"state": "failed"})
        elif outcome.permanent or delivery.attempt >= self.last_attempt:
            self._park(
                json.dumps(delivery.event), delivery.message_id, f"{subscription.id}: {outcome.reason}", delivery.attempt, subscription.id
            )
            entry = entry.model_copy(update={"state": "failed"})
        else:
            delay = max(self.spread(self.settings.retry_delays[delivery.attempt - 1]), retry_after_seconds(outcome.retry_after, now))
            next_at = now + timedelta(seconds=delay)
            self._queue_attempt(delivery, delivery.attempt + 1, next_at)
            entry = entry.model_copy(update={"next_attempt_at": next_at})
            logger.warning(
                "webhook delivery failed; retry queued", extra={**context, "reason": outcome.reason, "next_attempt_at": next_at.isoformat()}
            )
        self.log.put(entry)

    def _failing(self, subscription: Subscription, now: datetime | None) -> datetime:
        """Notes a failure (now) or a delivery (None) of the subscription; since when it has been failing."""
        current = self._subscriptions.get(subscription.id, subscription)
        since = None if now is None else current.failing_since or now
        if since != current.failing_since:
            self.store.failing(subscription.id, since)
            self._subscriptions[subscription.id] = current.model_copy(update={"failing_since": since})
        return since or datetime.max.replace(tzinfo=UTC)

    def _disable(self, subscription: Subscription, cause: WebhookDisableCause, reason: str, last_http_status: int | None) -> Subscription:
        """Says so on the bus, then disables the subscription: a bus failure brings the message back before anything changed."""
        current = self._subscriptions.get(subscription.id, subscription)
        self.events.publish(
            WebhookEndpointDisabled(
                webhook_id=subscription.id, cause=cause, failing_since=current.failing_since, last_http_status=last_http_status
            )
        )
        self.store.disable(subscription.id, reason)
        disabled = current.model_copy(update={"disabled_at": self.clock(), "disabled_reason": reason})
        self._subscriptions[subscription.id] = disabled
        return disabled

    def _disable_failing(self, subscription: Subscription, outcome: Outcome) -> None:
        """Disables an endpoint that failed every delivery for webhook_disable_after_days, and mails its contact."""
        days = self.settings.webhook_disable_after_days
        since = self._disable(subscription, "FAILING_FOR_DAYS", f"Every delivery failed for {days} days.", outcome.status).failing_since
        logger.warning("webhook disabled after failing for days", extra={"webhook_id": subscription.id, "days": days})
        if subscription.contact_email:
            mail = webhook_disabled(
                self.settings.app_name, subscription.id, subscription.url, since.isoformat() if since else "", outcome.reason
            )
            self.mailer.send(subscription.contact_email, mail)

    def _queue_attempt(self, delivery: DueDelivery, attempt: int, due_at: datetime) -> None:
        body = {
            "delivery": {"webhook_id": delivery.subscription.id, "attempt": attempt, "due_at": due_at.isoformat()},
            "event": delivery.event,
        }
        self._queue(body, (due_at - self.clock()).total_seconds())

    def _queue(self, body: dict, wait_seconds: float) -> None:
        """Sends a retry message, delayed by what is left to wait (at most SQS's 15 minutes: then it hops)."""
        delay = min(MAX_DELAY_SECONDS, max(0, math.ceil(wait_seconds)))
        self.sqs.send_message(QueueUrl=self.settings.webhook_queue_url, MessageBody=json.dumps(body), DelaySeconds=delay)

    def _park(self, body: str, message_id: str, reason: str, attempt: int, webhook_id: str = "") -> None:
        """Puts the event in the dead-letter queue with why; its queue message is then deleted."""
        attributes = {
            "failure_reason": {"DataType": "String", "StringValue": reason[:MAX_REASON_LENGTH]},
            "attempts": {"DataType": "Number", "StringValue": str(attempt)},
            "source_message_id": {"DataType": "String", "StringValue": message_id},
        }
        try:
            event = json.loads(body)
            event_id, detail_type = event["detail"]["event_id"], event["detail-type"]
        except (ValueError, KeyError, TypeError):
            event_id = detail_type = ""
        for name, value in (("webhook_ids", webhook_id), ("event_id", event_id), ("detail_type", detail_type)):
            if value:
                attributes[name] = {"DataType": "String", "StringValue": value}
        self.sqs.send_message(QueueUrl=self.settings.webhook_dead_letter_queue_url, MessageBody=body, MessageAttributes=attributes)
        logger.warning(
            "webhook event parked in the dead-letter queue",
            extra={"event_id": event_id, "detail_type": detail_type, "webhook_id": webhook_id, "attempts": attempt, "reason": reason},
        )
