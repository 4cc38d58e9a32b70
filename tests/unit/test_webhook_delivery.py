"""Webhook delivery logic (authflow.deliveries) with a fake store and queue, and a real local receiver.

Signing per Standard Webhooks, exponential backoff through the message's visibility timeout,
parking in the dead-letter queue with the reason, no second post to a subscription that already got
the event, partial batch failures, and the pinned, redirect-free HTTP post.
"""

import json
import time
from datetime import UTC, datetime

import pytest
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import SecretStr
from standardwebhooks import Webhook, WebhookVerificationError

from authflow.callback_urls import check_callback_url
from authflow.deliveries import (
    DeliveryFailed,
    DeliverySettings,
    Outcome,
    WebhookDeliverer,
    backoff_seconds,
    post,
    signed_headers,
    webhook_payload,
)
from authflow.webhooks import Subscription, new_secret
from tests.support.webhook_receiver import WebhookReceiver

SETTINGS = DeliverySettings(
    status_table_name="status",
    webhook_queue_url="https://sqs.local/queue",
    webhook_dead_letter_queue_url="https://sqs.local/dlq",
    webhook_max_attempts=3,
    webhook_retry_base_seconds=30,
    webhook_retry_max_seconds=3600,
    webhook_allow_loopback=False,
)
PUBLIC = {"good.example.com": ["93.184.215.14"], "bad.example.com": ["93.184.215.15"], "inside.example.com": ["10.0.0.9"]}


def resolve(host: str, port: int) -> list[str]:
    return PUBLIC[host]


class FakeStore:
    def __init__(self, *subscriptions: Subscription):
        self.subscriptions = list(subscriptions)
        self.deliveries: dict[tuple[str, str], int] = {}

    def all(self) -> list[Subscription]:
        return list(self.subscriptions)

    def delivered(self, event_id: str, webhook_id: str) -> bool:
        return (event_id, webhook_id) in self.deliveries

    def mark_delivered(self, event_id: str, webhook_id: str, status: int) -> None:
        self.deliveries[(event_id, webhook_id)] = status


class FakeSqs:
    def __init__(self):
        self.visibility: list[dict] = []
        self.parked: list[dict] = []

    def change_message_visibility(self, **kwargs) -> None:
        self.visibility.append(kwargs)

    def send_message(self, **kwargs) -> None:
        self.parked.append(kwargs)


class FakeEndpoints:
    """Answers per host: an HTTP status, recording every post."""

    def __init__(self, **statuses: int):
        self.statuses = statuses
        self.posts: list[tuple[str, str, dict]] = []

    def __call__(self, target, payload, headers, timeout) -> Outcome:
        self.posts.append((target.host, payload, headers))
        status = self.statuses[target.host.split(".")[0]]
        return Outcome(200 <= status < 300, "" if status < 300 else f"HTTP {status}", status=status)


def subscription(host: str, *events: str) -> Subscription:
    return Subscription(id=f"wh-{host}", url=f"https://{host}/hook", events=list(events), secret=new_secret(), created_at=datetime.now(UTC))


def event(detail_type: str = "UserCreated", event_id: str = "ev-1", **detail) -> dict:
    return {
        "version": "0",
        "id": "eb-1",
        "detail-type": detail_type,
        "source": "authflow",
        "account": "123456789012",
        "time": "2025-01-01T12:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": {
            "event_id": event_id,
            "occurred_at": "2025-01-01T12:00:00Z",
            "user_id": "u-1",
            "request_id": "r-1",
            "execution_arn": None,
            "email": "ada@example.com",
            **detail,
        },
    }


def record(body: dict | str, attempt: int = 1, message_id: str = "m-1") -> dict:
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}-{attempt}",
        "body": body if isinstance(body, str) else json.dumps(body),
        "attributes": {"ApproximateReceiveCount": str(attempt), "SentTimestamp": str(int(time.time() * 1000))},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:queue",
        "awsRegion": "eu-west-1",
    }


def deliverer(store: FakeStore, endpoints: FakeEndpoints, sqs: FakeSqs | None = None) -> WebhookDeliverer:
    return WebhookDeliverer(SETTINGS, store=store, sqs=sqs or FakeSqs(), resolve=resolve, send=endpoints)


# ------------------------------------------------------------------------------ signing and backoff


def test_deliveries_are_signed_per_standard_webhooks_with_the_event_id_as_webhook_id() -> None:
    secret = new_secret().get_secret_value()
    assert secret.startswith("whsec_")
    payload = webhook_payload(event())
    headers = signed_headers(secret, "ev-1", payload)
    assert headers["webhook-id"] == "ev-1" and headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(payload, headers) == {
        "type": "UserCreated",
        "timestamp": "2025-01-01T12:00:00Z",
        "data": event()["detail"],
    }
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret().get_secret_value()).verify(payload, headers)


def test_backoff_doubles_from_the_base_up_to_the_maximum() -> None:
    assert [backoff_seconds(n, 30, 3600) for n in range(1, 10)] == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert [backoff_seconds(n, 1, 900) for n in range(1, 4)] == [1, 2, 4]


# ------------------------------------------------------------------------------ deliveries


def test_an_event_goes_to_each_subscription_of_its_type_once() -> None:
    store = FakeStore(subscription("good.example.com", "UserCreated"), subscription("bad.example.com", "OnboardingCompleted"))
    endpoints = FakeEndpoints(good=204, bad=204)
    deliverer(store, endpoints).deliver(SQSRecord(record(event())))
    assert [host for host, _, _ in endpoints.posts] == ["good.example.com"]
    deliverer(store, endpoints).deliver(SQSRecord(record(event(), attempt=2)))  # a duplicate message
    assert len(endpoints.posts) == 1
    assert store.deliveries == {("ev-1", "wh-good.example.com"): 204}


def test_a_failure_sets_the_backoff_and_a_retry_posts_only_where_it_failed() -> None:
    store = FakeStore(subscription("good.example.com", "UserCreated"), subscription("bad.example.com", "UserCreated"))
    endpoints, sqs = FakeEndpoints(good=200, bad=500), FakeSqs()
    with pytest.raises(DeliveryFailed):
        deliverer(store, endpoints, sqs).deliver(SQSRecord(record(event(), attempt=1)))
    assert sqs.visibility == [{"QueueUrl": SETTINGS.webhook_queue_url, "ReceiptHandle": "rh-m-1-1", "VisibilityTimeout": 30}]
    with pytest.raises(DeliveryFailed):
        deliverer(store, endpoints, sqs).deliver(SQSRecord(record(event(), attempt=2)))
    assert sqs.visibility[-1]["VisibilityTimeout"] == 60
    assert [host for host, _, _ in endpoints.posts] == ["good.example.com", "bad.example.com", "bad.example.com"]
    assert sqs.parked == []


def test_the_last_attempt_parks_the_event_in_the_dead_letter_queue_with_the_reason() -> None:
    store = FakeStore(subscription("bad.example.com", "UserCreated"))
    sqs = FakeSqs()
    body = event()
    deliverer(store, FakeEndpoints(bad=503), sqs).deliver(SQSRecord(record(body, attempt=3)))
    (parked,) = sqs.parked
    assert parked["QueueUrl"] == SETTINGS.webhook_dead_letter_queue_url
    assert json.loads(parked["MessageBody"]) == body
    attributes = {k: v["StringValue"] for k, v in parked["MessageAttributes"].items()}
    assert attributes["failure_reason"] == "wh-bad.example.com: HTTP 503"
    assert attributes["attempts"] == "3" and attributes["event_id"] == "ev-1" and attributes["webhook_ids"] == "wh-bad.example.com"
    assert sqs.visibility == []


def test_a_url_that_now_resolves_inside_is_refused_at_delivery_and_parked_at_once() -> None:
    store = FakeStore(subscription("inside.example.com", "UserCreated"))
    endpoints, sqs = FakeEndpoints(), FakeSqs()
    deliverer(store, endpoints, sqs).deliver(SQSRecord(record(event())))
    assert endpoints.posts == []
    assert "URL refused" in sqs.parked[0]["MessageAttributes"]["failure_reason"]["StringValue"]


def test_a_message_that_is_not_an_authflow_event_is_parked() -> None:
    sqs = FakeSqs()
    deliverer(FakeStore(), FakeEndpoints(), sqs).deliver(SQSRecord(record("not json")))
    assert sqs.parked[0]["MessageAttributes"]["failure_reason"]["StringValue"] == "not an authflow event"


def test_one_bad_endpoint_fails_only_its_own_record_of_the_batch() -> None:
    store = FakeStore(subscription("good.example.com", "UserCreated"), subscription("bad.example.com", "InvitationSent"))
    worker = deliverer(store, FakeEndpoints(good=204, bad=500))
    batch = {
        "Records": [
            record(event("UserCreated", "ev-1"), message_id="m-1"),
            record(event("InvitationSent", "ev-2", resend=False), message_id="m-2"),
            record(event("UserCreated", "ev-3"), message_id="m-3"),
        ]
    }
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    result = process_partial_response(event=batch, record_handler=worker.deliver, processor=processor)
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-2"}]}


class ThrottledStore(FakeStore):
    def all(self) -> list[Subscription]:
        raise RuntimeError("ProvisionedThroughputExceededException")


def test_a_dependency_failure_is_retried_with_the_same_backoff_and_parked_at_the_limit() -> None:
    sqs = FakeSqs()
    with pytest.raises(DeliveryFailed):
        deliverer(ThrottledStore(), FakeEndpoints(), sqs).deliver(SQSRecord(record(event(), attempt=2)))
    assert sqs.visibility[0]["VisibilityTimeout"] == 60 and sqs.parked == []
    deliverer(ThrottledStore(), FakeEndpoints(), sqs).deliver(SQSRecord(record(event(), attempt=3)))
    assert sqs.parked[0]["MessageAttributes"]["failure_reason"]["StringValue"] == "delivery interrupted (RuntimeError)"


def test_subscriptions_are_read_once_per_batch() -> None:
    class CountingStore(FakeStore):
        reads = 0

        def all(self):
            CountingStore.reads += 1
            return super().all()

    worker = deliverer(CountingStore(subscription("good.example.com", "UserCreated")), FakeEndpoints(good=204))
    for batch in range(2):
        worker.start_batch()
        for n in range(3):
            worker.deliver(SQSRecord(record(event(event_id=f"ev-{batch}-{n}"), message_id=f"m-{n}")))
    assert CountingStore.reads == 2


# ------------------------------------------------------------------------------ the HTTP post


def test_post_reaches_a_real_receiver_and_a_redirect_is_a_failure() -> None:
    with WebhookReceiver(answer=lambda n: 204 if n == 0 else 302) as receiver:
        target = check_callback_url(receiver.url, allow_loopback=True)
        secret = new_secret().get_secret_value()
        payload = webhook_payload(event())
        delivered = post(target, payload, signed_headers(secret, "ev-1", payload), timeout=5)
        redirected = post(target, payload, signed_headers(secret, "ev-1", payload), timeout=5)
    assert (delivered.delivered, delivered.status) == (True, 204)
    assert (redirected.delivered, redirected.reason) == (False, "HTTP 302")
    first = receiver.deliveries[0]
    assert Webhook(secret).verify(first.body, first.headers)["data"]["event_id"] == "ev-1"
    assert first.headers["content-type"] == "application/json"


def test_post_connects_only_to_the_checked_address() -> None:
    """DNS is asked once, by the check; the connection goes to that address whatever the name says."""
    with WebhookReceiver() as receiver:
        port = int(receiver.url.split(":")[2].split("/")[0])
        target = check_callback_url(f"http://hooks.test:{port}/x", allow_loopback=True, resolve=lambda h, p: ["127.0.0.1"])
        outcome = post(target, "{}", {}, timeout=5)
    assert outcome.delivered
    assert receiver.deliveries[0].headers["host"] == f"hooks.test:{port}"


def test_post_reports_an_endpoint_that_does_not_answer() -> None:
    with WebhookReceiver() as receiver:
        url = receiver.url
    target = check_callback_url(url, allow_loopback=True)
    outcome = post(target, "{}", {}, timeout=2)
    assert not outcome.delivered and outcome.reason.startswith("connection failed")


def test_secrets_do_not_show_in_a_subscription_repr() -> None:
    sub = subscription("good.example.com", "UserCreated")
    assert sub.secret.get_secret_value() not in repr(sub) and isinstance(sub.secret, SecretStr)
