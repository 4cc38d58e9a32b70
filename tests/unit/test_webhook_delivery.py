"""Webhook delivery (authflow.deliveries) on moto's in-process DynamoDB and SQS, with the real stores.

Signing per Standard Webhooks, exponential backoff through the message's visibility timeout,
parking in the dead-letter queue with the reason, no second post to a subscription that already got
the event, partial batch failures, and the pinned, redirect-free HTTP post. Remote endpoints are
FakeEndpoints (an HTTP status per host) except in the HTTP post tests, which use a real receiver.
"""

import json
import uuid
from datetime import UTC, datetime

import boto3
import pytest
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from moto.core.utils import unix_time_millis
from moto.sqs.models import sqs_backends
from pydantic import SecretStr
from standardwebhooks import Webhook, WebhookVerificationError

from authflow import errors
from authflow.adapters import DeliveryAdapters
from authflow.callback_urls import check_callback_url
from authflow.clock import utc_now
from authflow.deliveries import WebhookDeliverer, backoff_seconds, signed_headers, webhook_payload
from authflow.errors import DeliveryFailed
from authflow.settings import DeliverySettings
from authflow.status import DeliveryRecords, SubscriptionStore
from authflow.status.subscriptions import Subscription
from authflow.webhook_http import Outcome, post
from authflow.webhooks import new_secret
from tests.support.in_process import sqs_record
from tests.support.webhook_receiver import WebhookReceiver
from tests.support.workflow import create_status_table, in_process_aws  # noqa: F401 (fixture)

PUBLIC = {"good.example.com": ["93.184.215.14"], "bad.example.com": ["93.184.215.15"], "inside.example.com": ["10.0.0.9"]}
ACCOUNT = "123456789012"  # moto's default account


def resolve(host: str, port: int) -> list[str]:
    return PUBLIC[host]


@pytest.fixture
def settings(in_process_aws) -> DeliverySettings:  # noqa: F811
    """A status table and the two queues in moto, as the template makes them for the delivery function."""
    suffix = uuid.uuid4().hex[:8]
    create_status_table(f"unit-status-{suffix}")
    sqs = boto3.client("sqs")
    return DeliverySettings(
        status_table_name=f"unit-status-{suffix}",
        webhook_queue_url=sqs.create_queue(QueueName=f"unit-webhooks-{suffix}")["QueueUrl"],
        webhook_dead_letter_queue_url=sqs.create_queue(QueueName=f"unit-webhooks-dlq-{suffix}")["QueueUrl"],
        webhook_max_attempts=3,
        webhook_retry_base_seconds=30,
        webhook_retry_max_seconds=3600,
        webhook_allow_loopback=False,
    )


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


def subscribed(settings: DeliverySettings, *subscriptions: Subscription) -> SubscriptionStore:
    store = SubscriptionStore(settings.status_table_name)
    for each in subscriptions:
        store.add(each)
    return store


def event(detail_type: str = "UserCreated", event_id: str = "ev-1", **detail) -> dict:
    return {
        "version": "0",
        "id": "eb-1",
        "detail-type": detail_type,
        "source": "authflow",
        "account": ACCOUNT,
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


def received(settings: DeliverySettings, body: dict | str, attempt: int = 1) -> dict:
    """The message as the event source mapping hands it over, after its attempt-th receive from the queue."""
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=settings.webhook_queue_url, MessageBody=body if isinstance(body, str) else json.dumps(body))
    for n in range(1, attempt + 1):
        # Earlier receives leave it visible at once (attempts that timed out); the last one hides it, as Lambda's poller does.
        (message,) = sqs.receive_message(
            QueueUrl=settings.webhook_queue_url, AttributeNames=["All"], MaxNumberOfMessages=1, VisibilityTimeout=0 if n < attempt else 300
        )["Messages"]
    return sqs_record(message)


def record(settings: DeliverySettings, body: dict | str, attempt: int = 1) -> SQSRecord:
    return SQSRecord(received(settings, body, attempt))


def hidden_for_seconds(settings: DeliverySettings) -> float:
    """How long the queue's one message stays invisible (the backoff the deliverer set), from moto's queue."""
    queue_name = settings.webhook_queue_url.rsplit("/", 1)[1]
    (message,) = sqs_backends[ACCOUNT][boto3.session.Session().region_name].queues[queue_name]._messages
    return (message.visible_at - unix_time_millis()) / 1000


def parked(settings: DeliverySettings) -> list[dict]:
    """The messages in the dead-letter queue, with their message attributes as plain strings."""
    messages = (
        boto3.client("sqs")
        .receive_message(QueueUrl=settings.webhook_dead_letter_queue_url, MessageAttributeNames=["All"], MaxNumberOfMessages=10)
        .get("Messages", [])
    )
    return [{"body": m["Body"], **{k: v["StringValue"] for k, v in m.get("MessageAttributes", {}).items()}} for m in messages]


def deliverer(settings: DeliverySettings, endpoints: FakeEndpoints, store: SubscriptionStore | None = None) -> WebhookDeliverer:
    adapters = DeliveryAdapters(
        subscriptions=store or SubscriptionStore(settings.status_table_name),
        deliveries=DeliveryRecords(settings.status_table_name),
        queue=boto3.client("sqs"),
        resolve=resolve,
        send=endpoints,
        clock=utc_now,
    )
    return WebhookDeliverer(settings, adapters)


# ------------------------------------------------------------------------------ signing and backoff


def test_deliveries_are_signed_per_standard_webhooks_with_the_event_id_as_webhook_id() -> None:
    secret = new_secret().get_secret_value()
    assert secret.startswith("whsec_")
    payload = webhook_payload(event())
    headers = signed_headers(secret, "ev-1", payload, utc_now())
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


def test_an_event_goes_to_each_subscription_of_its_type_once(settings) -> None:
    subscribed(settings, subscription("good.example.com", "UserCreated"), subscription("bad.example.com", "OnboardingCompleted"))
    endpoints = FakeEndpoints(good=204, bad=204)
    deliverer(settings, endpoints).deliver(record(settings, event()))
    assert [host for host, _, _ in endpoints.posts] == ["good.example.com"]
    deliverer(settings, endpoints).deliver(record(settings, event()))  # a duplicate message
    assert len(endpoints.posts) == 1
    deliveries = DeliveryRecords(settings.status_table_name)
    assert deliveries.delivered("ev-1", "wh-good.example.com") and not deliveries.delivered("ev-1", "wh-bad.example.com")
    stored = deliveries.table.get_item(Key={"pk": "DELIVERY#ev-1", "sk": "SUBSCRIPTION#wh-good.example.com"})["Item"]
    assert stored["http_status"] == 204 and stored["expires_at"] > utc_now().timestamp()


def test_a_failure_sets_the_backoff_and_a_retry_posts_only_where_it_failed(settings) -> None:
    subscribed(settings, subscription("good.example.com", "UserCreated"), subscription("bad.example.com", "UserCreated"))
    endpoints = FakeEndpoints(good=200, bad=500)
    first = received(settings, event(), attempt=1)
    with pytest.raises(DeliveryFailed):
        deliverer(settings, endpoints).deliver(SQSRecord(first))
    assert 29 <= hidden_for_seconds(settings) <= 30, "the first retry waits the base backoff"
    again = SQSRecord({**first, "attributes": {**first["attributes"], "ApproximateReceiveCount": "2"}})
    with pytest.raises(DeliveryFailed):
        deliverer(settings, endpoints).deliver(again)
    assert 59 <= hidden_for_seconds(settings) <= 60, "the second waits twice as long"
    assert [host for host, _, _ in endpoints.posts] == ["good.example.com", "bad.example.com", "bad.example.com"]
    assert parked(settings) == []


def test_the_last_attempt_parks_the_event_in_the_dead_letter_queue_with_the_reason(settings) -> None:
    subscribed(settings, subscription("bad.example.com", "UserCreated"))
    body = event()
    deliverer(settings, FakeEndpoints(bad=503)).deliver(record(settings, body, attempt=3))
    (dead,) = parked(settings)
    assert json.loads(dead["body"]) == body
    assert dead["failure_reason"] == "wh-bad.example.com: HTTP 503"
    assert dead["attempts"] == "3" and dead["event_id"] == "ev-1" and dead["webhook_ids"] == "wh-bad.example.com"
    assert hidden_for_seconds(settings) > 60, "no backoff was set: the batch deletes the message"


def test_a_url_that_now_resolves_inside_is_refused_at_delivery_and_parked_at_once(settings) -> None:
    subscribed(settings, subscription("inside.example.com", "UserCreated"))
    endpoints = FakeEndpoints()
    deliverer(settings, endpoints).deliver(record(settings, event()))
    assert endpoints.posts == []
    assert "URL refused" in parked(settings)[0]["failure_reason"]


def test_a_message_that_is_not_an_authflow_event_is_parked(settings) -> None:
    deliverer(settings, FakeEndpoints()).deliver(record(settings, "not json"))
    assert parked(settings)[0]["failure_reason"] == "not an authflow event"


def test_one_bad_endpoint_fails_only_its_own_record_of_the_batch(settings) -> None:
    subscribed(settings, subscription("good.example.com", "UserCreated"), subscription("bad.example.com", "InvitationSent"))
    worker = deliverer(settings, FakeEndpoints(good=204, bad=500))
    records = [
        received(settings, event("UserCreated", "ev-1")),
        received(settings, event("InvitationSent", "ev-2", resend=False)),
        received(settings, event("UserCreated", "ev-3")),
    ]
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    result = process_partial_response(event={"Records": records}, record_handler=worker.deliver, processor=processor)
    assert result == {"batchItemFailures": [{"itemIdentifier": records[1]["messageId"]}]}


class ThrottledStore(SubscriptionStore):
    """The table throttling every read (moto never throttles)."""

    def all(self) -> list[Subscription]:
        raise errors.TransientError("The status table is temporarily unavailable.")


def test_a_dependency_failure_is_retried_with_the_same_backoff_and_parked_at_the_limit(settings) -> None:
    throttled = ThrottledStore(settings.status_table_name)
    with pytest.raises(DeliveryFailed):
        deliverer(settings, FakeEndpoints(), throttled).deliver(record(settings, event(), attempt=2))
    assert 59 <= hidden_for_seconds(settings) <= 60 and parked(settings) == []
    boto3.client("sqs").purge_queue(QueueUrl=settings.webhook_queue_url)
    deliverer(settings, FakeEndpoints(), throttled).deliver(record(settings, event(), attempt=3))
    assert parked(settings)[0]["failure_reason"] == "delivery interrupted (TransientError)"


def test_subscriptions_are_read_once_per_batch(settings) -> None:
    class CountingStore(SubscriptionStore):
        reads = 0

        def all(self) -> list[Subscription]:
            CountingStore.reads += 1
            return super().all()

    store = CountingStore(settings.status_table_name)
    store.add(subscription("good.example.com", "UserCreated"))
    worker = deliverer(settings, FakeEndpoints(good=204), store)
    for batch in range(2):
        worker.start_batch()
        for n in range(3):
            worker.deliver(record(settings, event(event_id=f"ev-{batch}-{n}")))
    assert CountingStore.reads == 2


# ------------------------------------------------------------------------------ the HTTP post


def test_post_reaches_a_real_receiver_and_a_redirect_is_a_failure() -> None:
    with WebhookReceiver(answer=lambda n: 204 if n == 0 else 302) as receiver:
        target = check_callback_url(receiver.url, allow_loopback=True)
        secret = new_secret().get_secret_value()
        payload = webhook_payload(event())
        delivered = post(target, payload, signed_headers(secret, "ev-1", payload, utc_now()), timeout=5)
        redirected = post(target, payload, signed_headers(secret, "ev-1", payload, utc_now()), timeout=5)
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
