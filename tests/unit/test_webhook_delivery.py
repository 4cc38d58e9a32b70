"""Webhook delivery (authflow.deliveries) on moto's in-process DynamoDB and SQS, with the real stores.

Signing per Standard Webhooks; the retry schedule walked with a fake clock (each retry a message of
its own, hopping while SQS's 15-minute delay cap is shorter than the wait); Retry-After; 410 Gone
disabling the subscription; concurrent posts that fit in the function's time; the delivery log;
parking in the dead-letter queue with the reason; and the pinned, redirect-free HTTP post. Remote
endpoints are FakeEndpoints (an HTTP status per host) except in the HTTP post tests (a real receiver).
"""

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import boto3
import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from standardwebhooks import Webhook, WebhookVerificationError

from authflow import errors
from authflow.adapters import DeliveryAdapters
from authflow.callback_urls import check_callback_url
from authflow.clock import utc_now
from authflow.deliveries import JITTER, MAX_DELAY_SECONDS, WebhookDeliverer, jitter, retry_after_seconds, signed_headers, webhook_payload
from authflow.errors import TransientError
from authflow.events import EventPublisher
from authflow.mail import Mail
from authflow.replays import ReplayTarget
from authflow.sealed_secrets import SecretSealer
from authflow.settings import DeliverySettings
from authflow.status import DeliveryRecords, SubscriptionStore
from authflow.status.subscriptions import Subscription
from authflow.webhook_http import Outcome, post
from authflow.webhooks import new_secret
from tests.support.in_process import EventTap, sqs_record
from tests.support.webhook_receiver import WebhookReceiver
from tests.support.workflow import create_status_table, in_process_aws  # noqa: F401 (fixture)

PUBLIC = {
    "good.example.com": ["93.184.215.14"],
    "bad.example.com": ["93.184.215.15"],
    "slow.example.com": ["93.184.215.16"],
    "fast.example.com": ["93.184.215.17"],
    "inside.example.com": ["10.0.0.9"],
}
ACCOUNT = "123456789012"  # moto's default account
UNIT_KEY_ALIAS = "alias/authflow-unit-webhook-secrets"  # the settings fixture's key, which seals every subscription here


def resolve(host: str, port: int) -> list[str]:
    return PUBLIC[host]


@pytest.fixture
def settings(in_process_aws) -> DeliverySettings:  # noqa: F811
    """A status table and the two queues in moto, as the template makes them for the delivery function."""
    suffix = uuid.uuid4().hex[:8]
    create_status_table(f"unit-status-{suffix}")
    sqs = boto3.client("sqs")
    boto3.client("events").create_event_bus(Name=f"unit-bus-{suffix}")
    kms = boto3.client("kms")
    try:  # moto's backends outlive each test (tests/support/workflow.py): one key for the module
        key = kms.describe_key(KeyId=UNIT_KEY_ALIAS)["KeyMetadata"]
    except kms.exceptions.NotFoundException:
        key = kms.create_key(Description="unit webhook secrets")["KeyMetadata"]
        kms.create_alias(AliasName=UNIT_KEY_ALIAS, TargetKeyId=key["KeyId"])
    return DeliverySettings(
        status_table_name=f"unit-status-{suffix}",
        webhook_secret_key_arn=key["Arn"],
        webhook_queue_url=sqs.create_queue(QueueName=f"unit-webhooks-{suffix}")["QueueUrl"],
        webhook_dead_letter_queue_url=sqs.create_queue(QueueName=f"unit-webhooks-dlq-{suffix}")["QueueUrl"],
        webhook_retry_schedule="5,300,1800,7200,18000,36000,36000",
        webhook_disable_after_days=5,
        app_name="authflow-unit",
        mail_from_address="no-reply@example.com",
        event_bus_name=f"unit-bus-{suffix}",
        webhook_allow_loopback=False,
    )


@pytest.fixture
def tap(settings: DeliverySettings) -> EventTap:
    return EventTap(settings.event_bus_name)


class FakeEndpoints:
    """Answers per host: an HTTP status (and a Retry-After, if given), recording every post and when it came."""

    def __init__(self, clock=utc_now, retry_after: str | None = None, **statuses: int):
        self.statuses = statuses
        self.clock = clock
        self.retry_after = retry_after
        self.posts: list[tuple[str, str, dict]] = []
        self.posted_at: list[datetime] = []

    def __call__(self, target, payload, headers, timeout) -> Outcome:
        self.posts.append((target.host, payload, headers))
        self.posted_at.append(self.clock())
        status = self.statuses[target.host.split(".")[0]]
        if status < 300:
            return Outcome(True, status=status)
        return Outcome(False, f"HTTP {status}", status=status, retry_after=self.retry_after)


class FakeClock:
    """The adapters' clock, moved by the test."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class FakeReplays:
    """DescribeReplay's answer: whom each replay is for."""

    def __init__(self, **targets: ReplayTarget):
        self.targets = targets

    def target(self, name: str) -> ReplayTarget | None:
        return self.targets.get(name)


class FakeMailer:
    """SES, recorded."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Mail]] = []

    def send(self, to: str, message: Mail) -> None:
        self.sent.append((to, message))


class RecordingQueue:
    """The SQS client, recording what the deliverer sends (the delay of each retry) before moto gets it."""

    def __init__(self) -> None:
        self.sqs = boto3.client("sqs")
        self.sent: list[dict] = []

    def send_message(self, **kwargs) -> dict:
        self.sent.append(kwargs)
        return self.sqs.send_message(**kwargs)


def subscription(host: str, *events: str) -> Subscription:
    """A subscription whose secret is sealed as the API seals it (with the settings fixture's key)."""
    webhook_id = f"wh-{host}"
    sealed = SecretSealer(UNIT_KEY_ALIAS).seal(webhook_id, new_secret())
    return Subscription(id=webhook_id, url=f"https://{host}/hook", events=list(events), sealed_secret=sealed, created_at=datetime.now(UTC))


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


def received(settings: DeliverySettings, body: dict | str) -> dict:
    """The message as the event source mapping hands it over."""
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=settings.webhook_queue_url, MessageBody=body if isinstance(body, str) else json.dumps(body))
    (message,) = sqs.receive_message(QueueUrl=settings.webhook_queue_url, AttributeNames=["All"], MaxNumberOfMessages=1)["Messages"]
    return sqs_record(message)


def record(settings: DeliverySettings, body: dict | str) -> SQSRecord:
    return SQSRecord(received(settings, body))


def parked(settings: DeliverySettings) -> list[dict]:
    """The messages in the dead-letter queue, with their message attributes as plain strings."""
    messages = (
        boto3.client("sqs")
        .receive_message(QueueUrl=settings.webhook_dead_letter_queue_url, MessageAttributeNames=["All"], MaxNumberOfMessages=10)
        .get("Messages", [])
    )
    return [{"body": m["Body"], **{k: v["StringValue"] for k, v in m.get("MessageAttributes", {}).items()}} for m in messages]


def deliverer(
    settings: DeliverySettings,
    endpoints,
    store: SubscriptionStore | None = None,
    clock=utc_now,
    queue=None,
    replays=None,
    mailer=None,
    events=None,
) -> WebhookDeliverer:
    adapters = DeliveryAdapters(
        subscriptions=store or SubscriptionStore(settings.status_table_name, clock),
        deliveries=DeliveryRecords(settings.status_table_name, clock),
        queue=queue or boto3.client("sqs"),
        resolve=resolve,
        send=endpoints,
        replays=replays or cast(Any, FakeReplays()),
        mailer=mailer or cast(Any, FakeMailer()),
        events=events or EventPublisher(settings.event_bus_name),
        sealer=SecretSealer(settings.webhook_secret_key_arn),
        clock=clock,
    )
    return WebhookDeliverer(settings, adapters, spread=lambda delay: delay)  # no jitter: the schedule exactly


def plenty_of_time() -> float:
    return 30.0


def stored(store: SubscriptionStore, webhook_id: str) -> Subscription:
    found = store.get(webhook_id)
    assert found is not None, f"no subscription {webhook_id}"
    return found


def log_entry(settings: DeliverySettings, webhook_id: str, event_id: str = "ev-1"):
    return DeliveryRecords(settings.status_table_name).get(webhook_id, event_id)


# ------------------------------------------------------------------------------ signing, jitter, Retry-After


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


def test_jitter_only_ever_lengthens_a_delay_and_by_at_most_a_fifth() -> None:
    spread = [jitter(300) for _ in range(200)]
    assert all(300 <= d <= 300 * (1 + JITTER) for d in spread)
    assert len(set(spread)) > 1, "retries of different endpoints do not land in step"


def test_retry_after_is_read_as_seconds_or_an_http_date_and_capped_at_a_day() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120
    assert retry_after_seconds("Thu, 01 Jan 2026 13:00:00 GMT", now) == 3600
    assert retry_after_seconds("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0
    assert retry_after_seconds("9999999", now) == 86400
    assert retry_after_seconds("soon", now) == 0 and retry_after_seconds(None, now) == 0


# ------------------------------------------------------------------------------ fan-out and the log


def test_an_event_goes_to_each_subscription_of_its_type_once_and_is_logged(settings) -> None:
    subscribed(settings, subscription("good.example.com", "UserCreated"), subscription("bad.example.com", "OnboardingCompleted"))
    endpoints = FakeEndpoints(good=204, bad=204)
    assert deliverer(settings, endpoints).deliver_batch([record(settings, event())], plenty_of_time) == []
    assert [host for host, _, _ in endpoints.posts] == ["good.example.com"]
    deliverer(settings, endpoints).deliver_batch([record(settings, event())], plenty_of_time)  # a duplicate message
    assert len(endpoints.posts) == 1
    entry = log_entry(settings, "wh-good.example.com")
    assert (entry.state, entry.attempts, entry.last_status_code, entry.event_type) == ("delivered", 1, 204, "UserCreated")
    assert entry.next_attempt_at is None and entry.last_latency_ms is not None
    assert log_entry(settings, "wh-bad.example.com") is None


def test_the_schedule_is_walked_in_messages_that_never_wait_more_than_sqs_allows(settings) -> None:
    """Attempts at 0, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (fake clock); each message waits at most
    15 minutes, so the long waits hop; the eighth failure parks the event and logs it as failed."""
    clock = FakeClock()
    start = clock.now
    queue = RecordingQueue()
    subscribed(settings, subscription("bad.example.com", "UserCreated"))
    endpoints = FakeEndpoints(clock, bad=500)
    worker = deliverer(settings, endpoints, clock=clock, queue=queue)
    worker.deliver_batch([record(settings, event())], plenty_of_time)
    hops = 0
    while len(endpoints.posts) < 8:
        retry = queue.sent[-1]
        assert retry["QueueUrl"] == settings.webhook_queue_url and retry["DelaySeconds"] <= MAX_DELAY_SECONDS
        clock.now += timedelta(seconds=retry["DelaySeconds"])  # SQS hands the message over once its delay is over
        posts_before = len(endpoints.posts)
        worker.deliver_batch([record(settings, retry["MessageBody"])], plenty_of_time)
        hops += len(endpoints.posts) == posts_before
    waits = [int((at - start).total_seconds()) for at in endpoints.posted_at]
    assert waits == [0, 5, 305, 2105, 9305, 27305, 63305, 99305]
    assert hops == sum(delay // MAX_DELAY_SECONDS - (delay % MAX_DELAY_SECONDS == 0) for delay in (5, 300, 1800, 7200, 18000, 36000, 36000))
    assert [json.loads(m["MessageBody"])["delivery"]["attempt"] for m in queue.sent if "delivery" in m["MessageBody"]][-1] == 8
    (dead,) = parked(settings)
    assert dead["failure_reason"] == "wh-bad.example.com: HTTP 500" and dead["attempts"] == "8" and dead["event_id"] == "ev-1"
    entry = log_entry(settings, "wh-bad.example.com")
    assert (entry.state, entry.attempts, entry.last_status_code, entry.next_attempt_at) == ("failed", 8, 500, None)
    assert [host for host, _, headers in endpoints.posts] == ["bad.example.com"] * 8
    assert {headers["webhook-id"] for _, _, headers in endpoints.posts} == {"ev-1"}


def test_a_retry_after_longer_than_the_schedule_is_honoured(settings) -> None:
    clock = FakeClock()
    queue = RecordingQueue()
    subscribed(settings, subscription("bad.example.com", "UserCreated"))
    deliverer(settings, FakeEndpoints(clock, retry_after="3600", bad=503), clock=clock, queue=queue).deliver_batch(
        [record(settings, event())], plenty_of_time
    )
    (retry,) = queue.sent
    assert json.loads(retry["MessageBody"])["delivery"]["due_at"] == (clock.now + timedelta(hours=1)).isoformat()
    assert retry["DelaySeconds"] == MAX_DELAY_SECONDS
    assert log_entry(settings, "wh-bad.example.com").next_attempt_at == clock.now + timedelta(hours=1)


def disabled_events(tap: EventTap) -> list[dict]:
    return [e["detail"] for e in tap.events() if e["detail-type"] == "WebhookEndpointDisabled"]


def test_410_gone_disables_the_subscription_and_nothing_more_is_posted_to_it(settings, tap) -> None:
    store = subscribed(settings, subscription("bad.example.com", "UserCreated"), subscription("good.example.com", "UserCreated"))
    queue = RecordingQueue()
    endpoints = FakeEndpoints(bad=410, good=204)
    deliverer(settings, endpoints, queue=queue).deliver_batch([record(settings, event())], plenty_of_time)
    assert queue.sent == [], "no retry and nothing parked"
    gone = {s.id: s for s in store.all()}["wh-bad.example.com"]
    assert not gone.enabled and gone.disabled_reason == "The endpoint answered 410 Gone."
    (said,) = disabled_events(tap)
    assert {k: said[k] for k in ("webhook_id", "cause", "failing_since", "last_http_status")} == {
        "webhook_id": "wh-bad.example.com",
        "cause": "ENDPOINT_GONE",
        "failing_since": None,
        "last_http_status": 410,
    }
    assert "user_id" not in said and SecretSealer(UNIT_KEY_ALIAS).open(gone.id, gone.sealed_secret).get_secret_value() not in json.dumps(
        said
    )
    assert log_entry(settings, "wh-bad.example.com").state == "failed"
    deliverer(settings, endpoints).deliver_batch([record(settings, event(event_id="ev-2"))], plenty_of_time)
    assert sorted(host for host, _, _ in endpoints.posts) == ["bad.example.com", "good.example.com", "good.example.com"]


def test_an_endpoint_failing_every_delivery_for_five_days_is_disabled_and_its_contact_mailed(settings, tap) -> None:
    clock = FakeClock()
    failing = subscription("bad.example.com", "UserCreated").model_copy(update={"contact_email": "ops@example.com"})
    store = subscribed(settings, failing)
    mailer = FakeMailer()
    endpoints = FakeEndpoints(clock, bad=503)
    worker = deliverer(settings, endpoints, clock=clock, queue=RecordingQueue(), mailer=mailer)
    worker.deliver_batch([record(settings, event(event_id="ev-day-0"))], plenty_of_time)
    assert stored(store, failing.id).failing_since == clock.now
    clock.now += timedelta(days=4, hours=23)
    worker.deliver_batch([record(settings, event(event_id="ev-day-4"))], plenty_of_time)
    assert stored(store, failing.id).enabled and mailer.sent == [] and disabled_events(tap) == [], "not yet five days"
    clock.now += timedelta(hours=1)
    worker.deliver_batch([record(settings, event(event_id="ev-day-5"))], plenty_of_time)
    gone = stored(store, failing.id)
    assert not gone.enabled and gone.disabled_reason == "Every delivery failed for 5 days."
    assert log_entry(settings, failing.id, "ev-day-5").state == "failed"
    (said,) = disabled_events(tap)
    assert (said["webhook_id"], said["cause"], said["last_http_status"]) == (failing.id, "FAILING_FOR_DAYS", 503)
    assert said["failing_since"] == (clock.now - timedelta(days=5)).isoformat().replace("+00:00", "Z")
    ((to, mail),) = mailer.sent
    assert (
        to == "ops@example.com"
        and failing.id in mail.html
        and "HTTP 503" in mail.html
        and SecretSealer(UNIT_KEY_ALIAS).open(failing.id, failing.sealed_secret).get_secret_value() not in mail.html
    )
    worker.deliver_batch([record(settings, event(event_id="ev-day-6"))], plenty_of_time)
    assert len(endpoints.posts) == 3, "nothing more is posted to it"


class FailingBus:
    """The event bus, throttled."""

    def publish(self, *details) -> None:
        raise TransientError("The event bus did not accept every event.")


def test_when_the_bus_refuses_the_event_the_endpoint_stays_enabled_and_its_message_comes_back(settings, tap) -> None:
    store = subscribed(settings, subscription("bad.example.com", "UserCreated"))
    endpoints = FakeEndpoints(bad=410)
    message = record(settings, event())
    failed = deliverer(settings, endpoints, events=FailingBus()).deliver_batch([message], plenty_of_time)
    assert failed == [message.message_id] and stored(store, "wh-bad.example.com").enabled
    deliverer(settings, endpoints).deliver_batch([message], plenty_of_time)
    assert not stored(store, "wh-bad.example.com").enabled and len(disabled_events(tap)) == 1


def test_one_delivery_resets_the_failing_clock(settings) -> None:
    clock = FakeClock()
    store = subscribed(settings, subscription("bad.example.com", "UserCreated"))
    endpoints = FakeEndpoints(clock, bad=503)
    worker = deliverer(settings, endpoints, clock=clock, queue=RecordingQueue())
    worker.deliver_batch([record(settings, event(event_id="ev-1"))], plenty_of_time)
    endpoints.statuses["bad"] = 204
    clock.now += timedelta(days=3)
    worker.deliver_batch([record(settings, event(event_id="ev-2"))], plenty_of_time)
    assert stored(store, "wh-bad.example.com").failing_since is None
    endpoints.statuses["bad"] = 503
    clock.now += timedelta(days=3)
    worker.deliver_batch([record(settings, event(event_id="ev-3"))], plenty_of_time)
    assert stored(store, "wh-bad.example.com").enabled and stored(store, "wh-bad.example.com").failing_since == clock.now


def test_a_retry_for_a_deleted_subscription_or_an_attempt_already_made_is_dropped(settings) -> None:
    store = subscribed(settings, subscription("bad.example.com", "UserCreated"))
    queue = RecordingQueue()
    endpoints = FakeEndpoints(bad=500)
    worker = deliverer(settings, endpoints, queue=queue)
    worker.deliver_batch([record(settings, event())], plenty_of_time)
    retry = json.loads(queue.sent[0]["MessageBody"])
    retry["delivery"]["attempt"] = 1  # the first attempt's message, received twice
    worker.deliver_batch([record(settings, retry)], plenty_of_time)
    assert len(endpoints.posts) == 1
    store.remove("wh-bad.example.com")
    retry["delivery"]["attempt"] = 2
    worker.deliver_batch([record(settings, retry)], plenty_of_time)
    assert len(endpoints.posts) == 1


def test_a_replayed_event_goes_again_to_the_one_subscription_its_replay_names(settings) -> None:
    subscribed(settings, subscription("good.example.com", "UserCreated"), subscription("bad.example.com", "UserCreated"))
    endpoints = FakeEndpoints(good=204, bad=204)
    replays = FakeReplays(mine=ReplayTarget("wh-good.example.com", "ev-1"), all_since=ReplayTarget("wh-good.example.com", None))
    worker = deliverer(settings, endpoints, replays=replays)
    worker.deliver_batch([record(settings, event())], plenty_of_time)
    assert len(endpoints.posts) == 2
    for name in ("mine", "all_since", "someone-elses"):
        worker.deliver_batch([record(settings, {**event(), "replay-name": name})], plenty_of_time)
    worker.deliver_batch([record(settings, {**event(event_id="ev-2"), "replay-name": "mine"})], plenty_of_time)  # not its event
    again = [(host, headers["webhook-id"]) for host, _, headers in endpoints.posts[2:]]
    assert again == [("good.example.com", "ev-1"), ("good.example.com", "ev-1")], "delivered before, delivered again, same webhook-id"


# ------------------------------------------------------------------------------ isolation


def test_a_slow_endpoint_does_not_hold_up_a_fast_one(settings) -> None:
    """The slow endpoint answers only once the fast one got its post: one after the other, this would
    hang until the slow post gave up, and the fast one would come second."""
    subscribed(settings, subscription("slow.example.com", "UserCreated"), subscription("fast.example.com", "UserCreated"))
    fast_posted = threading.Event()
    order: list[str] = []

    def send(target, payload, headers, timeout) -> Outcome:
        if target.host.startswith("slow"):
            answered = fast_posted.wait(timeout)
            order.append("slow")
            return Outcome(True, status=204) if answered else Outcome(False, f"no answer within {timeout:g} s")
        order.append("fast")
        fast_posted.set()
        return Outcome(True, status=204)

    deliverer(settings, send).deliver_batch([record(settings, event())], plenty_of_time)
    assert order == ["fast", "slow"]
    assert log_entry(settings, "wh-slow.example.com").state == "delivered"


def test_a_post_that_would_not_end_in_the_time_left_is_queued_not_attempted(settings) -> None:
    subscribed(settings, subscription("good.example.com", "UserCreated"))
    queue = RecordingQueue()
    endpoints = FakeEndpoints(good=204)
    deliverer(settings, endpoints, queue=queue).deliver_batch([record(settings, event())], lambda: 4.0)
    assert endpoints.posts == []
    (again,) = queue.sent
    assert json.loads(again["MessageBody"])["delivery"]["attempt"] == 1 and again["DelaySeconds"] == 0
    assert log_entry(settings, "wh-good.example.com") is None


def test_a_secret_the_key_service_does_not_open_now_leaves_the_delivery_queued_not_attempted(settings) -> None:
    subscribed(settings, subscription("good.example.com", "UserCreated"))
    queue = RecordingQueue()
    endpoints = FakeEndpoints(good=204)
    worker = deliverer(settings, endpoints, queue=queue)

    class ThrottledKms(SecretSealer):
        def open(self, webhook_id, sealed):
            raise errors.TransientError("The key service is temporarily unavailable.")

    worker.sealer = ThrottledKms(settings.webhook_secret_key_arn)
    worker.deliver_batch([record(settings, event())], plenty_of_time)
    assert endpoints.posts == [], "nothing unsigned is posted"
    (again,) = queue.sent
    assert json.loads(again["MessageBody"])["delivery"]["attempt"] == 1


def test_one_bad_message_fails_only_itself_and_not_the_batch(settings) -> None:
    subscribed(settings, subscription("good.example.com", "UserCreated"))

    class FlakyLog(DeliveryRecords):
        def put(self, entry) -> None:
            if entry.event_id == "ev-2":
                raise errors.TransientError("The status table is temporarily unavailable.")
            super().put(entry)

    worker = deliverer(settings, FakeEndpoints(good=204))
    worker.log = FlakyLog(settings.status_table_name)
    records = [record(settings, event(event_id=f"ev-{n}")) for n in (1, 2, 3)]
    assert worker.deliver_batch(records, plenty_of_time) == [records[1].message_id]
    assert log_entry(settings, "wh-good.example.com", "ev-3").state == "delivered"


def test_a_url_that_now_resolves_inside_is_refused_at_delivery_and_parked_at_once(settings) -> None:
    subscribed(settings, subscription("inside.example.com", "UserCreated"))
    endpoints = FakeEndpoints()
    deliverer(settings, endpoints).deliver_batch([record(settings, event())], plenty_of_time)
    assert endpoints.posts == []
    assert "URL refused" in parked(settings)[0]["failure_reason"]


def test_a_message_that_is_not_an_authflow_event_is_parked(settings) -> None:
    deliverer(settings, FakeEndpoints()).deliver_batch([record(settings, "not json")], plenty_of_time)
    assert parked(settings)[0]["failure_reason"] == "not an authflow event"


class ThrottledStore(SubscriptionStore):
    """The table throttling every read (moto never throttles)."""

    def all(self) -> list[Subscription]:
        raise errors.TransientError("The status table is temporarily unavailable.")


def test_a_dependency_failure_returns_the_whole_batch_to_the_queue(settings) -> None:
    records = [record(settings, event(event_id=f"ev-{n}")) for n in (1, 2)]
    failed = deliverer(settings, FakeEndpoints(), ThrottledStore(settings.status_table_name)).deliver_batch(records, plenty_of_time)
    assert failed == [r.message_id for r in records] and parked(settings) == []


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
