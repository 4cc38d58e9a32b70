"""Webhooks (authflow.webhooks) in-process: subscriptions stored with their secret sealed (KMS), listed without it,
removed once; URLs refused by the SSRF guard change nothing; the delivery log read back; PATCH re-enabling and rotating the secret (two signatures meanwhile)."""

import json
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import boto3
import pytest
from botocore.exceptions import ClientError
from standardwebhooks import Webhook

from authflow import errors
from authflow.adapters import webhook_routing
from authflow.deliveries import signed_headers
from authflow.models import CreateWebhookRequest, ReplayWebhookRequest, UpdateWebhookRequest
from authflow.sealed_secrets import SecretSealer
from authflow.status.deliveries import DeliveryLogEntry
from authflow.webhook_routing import NO_SUBSCRIPTION, event_pattern, rule_name_and_bus
from authflow.webhooks import ROTATION_WINDOW, Webhooks, new_secret


class FakeReplays:
    """StartReplay, recorded."""

    def __init__(self) -> None:
        self.started: list[tuple] = []

    def start(self, name, target, start, end) -> None:
        self.started.append((name, target, start, end))


@pytest.fixture
def sealer(settings) -> SecretSealer:
    return SecretSealer(settings.webhook_secret_key_arn)


@pytest.fixture
def webhooks(adapters, settings, sealer) -> Webhooks:
    return Webhooks(adapters, allow_loopback=False, replays=FakeReplays(), sealer=sealer, routing=webhook_routing.__wrapped__(settings))  # type: ignore[arg-type]


def routed_types(settings) -> list[str]:
    """The detail-types the webhook rule sends to the queue, read from EventBridge."""
    name, bus = rule_name_and_bus(settings.webhook_events_rule_arn)
    return json.loads(boto3.client("events").describe_rule(Name=name, EventBusName=bus)["EventPattern"])["detail-type"]


def public(host: str, port: int) -> list[str]:
    return {"hooks.example.com": ["93.184.215.14"], "inside.example.com": ["10.1.2.3"]}[host]


def test_subscribe_list_and_unsubscribe(webhooks, adapters, sealer):
    webhooks.resolve = public
    created = webhooks.subscribe(
        CreateWebhookRequest(url="https://hooks.example.com/in", events=["UserCreated", "UserCreated", "LoggedOut"])
    )

    assert created.secret.startswith("whsec_") and created.events == ["UserCreated", "LoggedOut"]
    listed = [w for w in webhooks.list_subscriptions().webhooks if w.id == created.id]
    assert listed and "secret" not in listed[0].model_dump()
    stored = next(s for s in adapters.subscriptions.all() if str(s.id) == str(created.id))
    assert sealer.open(stored.id, stored.sealed_secret).get_secret_value() == created.secret, "deliveries are signed with the stored secret"

    assert webhooks.unsubscribe(str(created.id)).status == "DELETED"
    with pytest.raises(errors.WebhookNotFound):
        webhooks.unsubscribe(str(created.id))


def test_the_rule_routes_exactly_the_subscribed_types_and_narrows_on_unsubscribe(webhooks, adapters, settings):
    webhooks.resolve = public
    for existing in adapters.subscriptions.all():  # earlier tests' subscriptions
        webhooks.unsubscribe(str(existing.id))
    assert routed_types(settings) == [NO_SUBSCRIPTION], "no subscription: the rule matches no event"

    first = webhooks.subscribe(CreateWebhookRequest(url="https://hooks.example.com/a", events=["UserCreated", "LoggedOut"]))
    second = webhooks.subscribe(CreateWebhookRequest(url="https://hooks.example.com/b", events=["LoggedOut", "TokenRefreshed"]))
    assert routed_types(settings) == ["LoggedOut", "TokenRefreshed", "UserCreated"]

    webhooks.unsubscribe(str(second.id))
    assert routed_types(settings) == ["LoggedOut", "UserCreated"]
    webhooks.unsubscribe(str(first.id))
    assert routed_types(settings) == [NO_SUBSCRIPTION]


def test_an_update_writes_the_pattern_again_after_a_stack_update_reset_it(webhooks, adapters, settings):
    webhooks.resolve = public
    created = webhooks.subscribe(CreateWebhookRequest(url="https://hooks.example.com/c", events=["PasswordChanged"]))
    name, bus = rule_name_and_bus(settings.webhook_events_rule_arn)
    boto3.client("events").put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(event_pattern([])))  # as CloudFormation would
    webhooks.update(str(created.id), UpdateWebhookRequest(enabled=True))
    assert "PasswordChanged" in routed_types(settings)
    webhooks.unsubscribe(str(created.id))


def test_a_subscription_whose_types_cannot_be_routed_is_not_kept(webhooks, adapters, monkeypatch):
    webhooks.resolve = public
    before = {s.id for s in adapters.subscriptions.all()}

    def bus_unavailable(event_types) -> None:
        raise errors.TransientError("The event bus is temporarily unavailable.")

    monkeypatch.setattr(webhooks.routing, "route", bus_unavailable)
    with pytest.raises(errors.TransientError):
        webhooks.subscribe(CreateWebhookRequest(url="https://hooks.example.com/d", events=["UserDeleted"]))
    assert {s.id for s in adapters.subscriptions.all()} == before, "a retry would otherwise make a second subscription"


def test_rule_names_are_read_from_custom_and_default_bus_arns():
    assert rule_name_and_bus("arn:aws:events:eu-west-1:123456789012:rule/authflow-dev/authflow-dev-webhooks") == (
        "authflow-dev-webhooks",
        "authflow-dev",
    )
    assert rule_name_and_bus("arn:aws:events:eu-west-1:123456789012:rule/nightly") == ("nightly", "default")


def test_a_url_inside_the_network_is_refused_and_nothing_is_stored(webhooks, adapters):
    webhooks.resolve = public
    before = len(adapters.subscriptions.all())
    with pytest.raises(errors.InvalidWebhookUrl):
        webhooks.subscribe(CreateWebhookRequest(url="https://inside.example.com/in", events=["UserCreated"]))
    assert len(adapters.subscriptions.all()) == before


def test_the_delivery_log_lists_a_subscriptions_deliveries_latest_first(webhooks, adapters):
    webhooks.resolve = public
    created = webhooks.subscribe(CreateWebhookRequest(url="https://hooks.example.com/in", events=["UserCreated"]))
    webhook_id = str(created.id)
    adapters.deliveries.put(
        DeliveryLogEntry(
            webhook_id=webhook_id,
            event_id="ev-old",
            event_type="UserCreated",
            occurred_at="2026-01-01T10:00:00Z",
            attempts=1,
            state="delivered",
            last_status_code=204,
            last_latency_ms=12,
        )
    )
    retry_at = datetime(2026, 1, 1, 11, 5, tzinfo=UTC)
    adapters.deliveries.put(
        DeliveryLogEntry(
            webhook_id=webhook_id,
            event_id="ev-new",
            event_type="UserCreated",
            occurred_at="2026-01-01T11:00:00Z",
            attempts=2,
            last_status_code=503,
            last_latency_ms=40,
            last_error="HTTP 503",
            next_attempt_at=retry_at,
        )
    )

    log = webhooks.deliveries_of(webhook_id, limit=50)
    assert [(d.event_id, d.state, d.attempts, d.last_status_code) for d in log.deliveries] == [
        ("ev-new", "pending", 2, 503),
        ("ev-old", "delivered", 1, 204),
    ]
    assert log.deliveries[0].next_attempt_at == retry_at and log.deliveries[0].last_error == "HTTP 503"
    assert [d.event_id for d in webhooks.deliveries_of(webhook_id, limit=1).deliveries] == ["ev-new"]
    with pytest.raises(errors.WebhookNotFound):
        webhooks.deliveries_of(str(uuid4()), limit=50)


def test_patch_re_enables_a_disabled_subscription_and_rotates_its_secret(webhooks, adapters, sealer):
    webhooks.resolve = public
    created = webhooks.subscribe(CreateWebhookRequest(url="https://hooks.example.com/in", events=["UserCreated"]))
    webhook_id = str(created.id)
    adapters.subscriptions.disable(webhook_id, "The endpoint answered 410 Gone.")
    assert not adapters.subscriptions.get(webhook_id).enabled

    updated = webhooks.update(webhook_id, UpdateWebhookRequest(enabled=True, rotate_secret=True))
    assert updated.enabled and updated.disabled_reason is None
    assert updated.secret.startswith("whsec_") and updated.secret != created.secret
    stored = adapters.subscriptions.get(webhook_id)
    now = adapters.clock()

    def signing(at: datetime) -> list[str]:
        return [sealer.open(webhook_id, sealed).get_secret_value() for sealed in stored.sealed_signing_secrets(at)]

    assert signing(now) == [updated.secret, created.secret], "both signatures during the rotation window"
    assert signing(now + ROTATION_WINDOW) == [updated.secret], "the old secret ends with the window"
    assert created.secret not in repr(stored) and updated.secret not in webhooks.list_subscriptions().model_dump_json()

    untouched = webhooks.update(webhook_id, UpdateWebhookRequest())
    kept = adapters.subscriptions.get(webhook_id)
    assert untouched.secret is None and sealer.open(webhook_id, kept.sealed_secret).get_secret_value() == updated.secret
    with pytest.raises(errors.WebhookNotFound):
        webhooks.update(str(uuid4()), UpdateWebhookRequest(enabled=True))


def test_signing_secrets_are_stored_sealed_with_the_kms_key_and_open_only_for_their_subscription(webhooks, settings, sealer):
    """Issue 15 item 9 (OWASP ASVS 5.0 11.4.x / 13.3.1: secrets at rest encrypted with a managed key): the table
    holds no plaintext secret, and a sealed secret copied onto another subscription does not open."""
    webhooks.resolve = public
    created = webhooks.subscribe(CreateWebhookRequest(url="https://hooks.example.com/in", events=["UserCreated"]))
    rotated = webhooks.update(str(created.id), UpdateWebhookRequest(rotate_secret=True))
    table = boto3.resource("dynamodb").Table(settings.status_table_name)
    item = table.get_item(Key={"pk": "WEBHOOKS", "sk": f"SUBSCRIPTION#{created.id}"}, ConsistentRead=True)["Item"]

    at_rest = json.dumps(item, default=str)
    for secret in (created.secret, rotated.secret):
        assert secret not in at_rest and secret.removeprefix("whsec_") not in at_rest
    assert "secret" not in item and "previous_secret" not in item, "no attribute of the plaintext era"
    assert sealer.open(str(created.id), item["sealed_secret"]).get_secret_value() == rotated.secret
    assert sealer.open(str(created.id), item["previous_sealed_secret"]).get_secret_value() == created.secret
    with pytest.raises(ClientError, match="InvalidCiphertext"):  # the encryption context binds it to its subscription
        sealer.open(str(uuid4()), item["sealed_secret"])
    key = boto3.client("kms").describe_key(KeyId=settings.webhook_secret_key_arn)["KeyMetadata"]
    assert key["KeyManager"] == "CUSTOMER" and boto3.client("kms").get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"]


def test_a_delivery_during_a_rotation_verifies_with_the_old_secret_and_the_new():
    old, new = new_secret().get_secret_value(), new_secret().get_secret_value()
    payload = '{"type":"UserCreated"}'
    headers = signed_headers([new, old], "ev-1", payload, datetime.now(UTC))
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(payload, headers) == {"type": "UserCreated"}


def test_a_contact_email_is_kept_and_listed_and_a_bad_one_refused(webhooks):
    webhooks.resolve = public
    created = webhooks.subscribe(
        CreateWebhookRequest(url="https://hooks.example.com/in", events=["UserCreated"], contact_email="Ops@Example.com")
    )
    listed = next(w for w in webhooks.list_subscriptions().webhooks if w.id == created.id)
    assert created.contact_email == listed.contact_email == "ops@example.com"
    with pytest.raises(ValueError):
        CreateWebhookRequest(url="https://hooks.example.com/in", events=["UserCreated"], contact_email="not an address")


def test_replay_starts_an_archive_replay_for_one_event_or_every_event_since(webhooks, adapters):
    webhooks.resolve = public
    replays = webhooks.replays
    created = webhooks.subscribe(CreateWebhookRequest(url="https://hooks.example.com/in", events=["UserCreated"]))
    webhook_id = str(created.id)
    adapters.deliveries.put(
        DeliveryLogEntry(webhook_id=webhook_id, event_id="ev-1", event_type="UserCreated", occurred_at="2026-01-01T10:00:00+00:00")
    )

    one = webhooks.replay(webhook_id, ReplayWebhookRequest(event_id="ev-1"))
    name, target, start, end = replays.started[-1]
    assert (target.webhook_id, target.event_id, name) == (webhook_id, "ev-1", one.replay_name) and len(name) <= 64
    assert start < datetime(2026, 1, 1, 10, tzinfo=UTC) < end and end - start <= timedelta(seconds=2)

    since = datetime(2026, 1, 1, tzinfo=UTC)
    webhooks.replay(webhook_id, ReplayWebhookRequest(since=since))
    assert replays.started[-1][1].event_id is None and replays.started[-1][2] == since

    with pytest.raises(errors.DeliveryNotFound):
        webhooks.replay(webhook_id, ReplayWebhookRequest(event_id="never-sent"))
    with pytest.raises(errors.WebhookNotFound):
        webhooks.replay(str(uuid4()), ReplayWebhookRequest(since=since))
    adapters.subscriptions.disable(webhook_id, "The endpoint answered 410 Gone.")
    with pytest.raises(errors.WebhookDisabled):
        webhooks.replay(webhook_id, ReplayWebhookRequest(since=since))
    assert len(replays.started) == 2


@pytest.mark.parametrize("body", [{}, {"event_id": "ev-1", "since": "2026-01-01T00:00:00Z"}, {"since": "2026-01-01T00:00:00"}])
def test_a_replay_asks_for_exactly_one_event_or_one_time_with_its_zone(body):
    with pytest.raises(ValueError):
        ReplayWebhookRequest.model_validate(body)
