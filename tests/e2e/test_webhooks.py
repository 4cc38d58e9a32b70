"""Webhooks over HTTP against the local stack, delivered to real receivers on 127.0.0.1.

The local stack runs the template's path end to end: EventBridge rule → SQS queue → the delivery
function (infra/event_sources.py polls as Lambda does) → a signed POST; its parameters make retries
fast (WebhookRetrySchedule=1,2: three attempts, 1 s then 2 s apart, plus jitter) and allow loopback URLs.
"""

import json
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime

import boto3
import pytest
from standardwebhooks import Webhook

from authflow.webhook_routing import rule_name_and_bus
from infra import catalogue
from infra.stack import LOCAL_PARAMETERS
from tests.support.client import Admin, onboard
from tests.support.flows import PASSWORD, ActiveUser, confirm, enrol_mfa, invite, sign_in, unique_email, wait_for
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.e2e

ONBOARDING = catalogue.FLOWS["Onboarding"]["events"]
RETRY_DELAYS = [int(step) for step in LOCAL_PARAMETERS["WebhookRetrySchedule"].split(",")]
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1


@contextmanager
def subscribed(api, admin: Admin, receiver: WebhookReceiver, events: list[str]):
    """A webhook for the test's receiver, deleted afterwards so later events do not reach it."""
    created = api.post("/webhooks", {"url": receiver.url, "events": events}, headers=admin.headers)
    assert created.status == 201, created.body
    try:
        yield created.json()
    finally:
        api.request("DELETE", f"/webhooks/{created.json()['id']}", headers=admin.headers)


def of_user(user_id: str):
    return lambda delivery: delivery.json()["data"]["user_id"] == user_id


def create_user(api) -> tuple[str, str]:
    email = unique_email("webhooks")
    created = api.post("/users", {"full_name": "Grace Hopper", "email": email})
    assert created.status == 201, created.body
    return created.json()["user_id"], email


def listed_when(api, admin: Admin, webhook_id: str, predicate, timeout: float = 20) -> dict:
    """The subscription as GET /v1/webhooks lists it, once predicate holds (the consumer writes after it posts)."""
    deadline = time.monotonic() + timeout
    while True:
        listed = {w["id"]: w for w in api.get("/webhooks", headers=admin.headers).json()["webhooks"]}[webhook_id]
        if predicate(listed) or time.monotonic() > deadline:
            return listed
        time.sleep(0.1)


# ------------------------------------------------------------------------------ subscriptions


def test_a_webhook_is_created_listed_without_its_secret_and_deleted(api, admin) -> None:
    created = api.post(
        "/webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["UserCreated", "UserCreated", "LoggedOut"]}, headers=admin.headers
    )
    assert created.status == 201, created.body
    body = created.json()
    assert body["url"] == "http://127.0.0.1:9/hook" and body["events"] == ["UserCreated", "LoggedOut"]
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40

    listed = api.get("/webhooks", headers=admin.headers)
    assert listed.status == 200
    mine = [w for w in listed.json()["webhooks"] if w["id"] == body["id"]]
    assert mine == [{k: v for k, v in body.items() if k != "secret"}]
    assert body["secret"] not in listed.body.decode()

    deleted = api.request("DELETE", f"/webhooks/{body['id']}", headers=admin.headers)
    assert deleted.status == 200 and deleted.json() == {"id": body["id"], "status": "DELETED"}
    assert body["id"] not in {w["id"] for w in api.get("/webhooks", headers=admin.headers).json()["webhooks"]}
    again = api.request("DELETE", f"/webhooks/{body['id']}", headers=admin.headers)
    assert again.status == 404 and again.json()["error"]["code"] == "WEBHOOK_NOT_FOUND"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://10.0.0.5/hook", "private"),
        ("https://192.168.1.20/hook", "private"),
        ("https://172.31.255.1/hook", "private"),
        ("https://169.254.169.254/latest/meta-data/", "metadata"),
        ("https://[fd00:ec2::254]/", "metadata"),
        ("https://169.254.1.1/hook", "link-local"),
        ("https://[fe80::1]/hook", "link-local"),
        ("http://10.0.0.5/hook", "must use https"),
        ("https://[::ffff:10.0.0.5]/hook", "private"),
        ("ftp://127.0.0.1/hook", "absolute https URL"),
        ("https://user:password@127.0.0.1/hook", "credentials"),
        ("not a url", "absolute https URL"),
    ],
)
def test_a_url_that_could_reach_inside_is_refused_with_a_clear_400(api, admin, url: str, reason: str) -> None:
    refused = api.post("/webhooks", {"url": url, "events": ["UserCreated"]}, headers=admin.headers)
    assert refused.status == 400, refused.body
    error = refused.json()["error"]
    assert error["code"] == "INVALID_WEBHOOK_URL" and reason in error["message"] and error["request_id"]


@pytest.mark.parametrize(
    "body",
    [
        {"url": "http://127.0.0.1:9/hook", "events": []},
        {"url": "http://127.0.0.1:9/hook", "events": ["NoSuchEvent"]},
        {"url": "http://127.0.0.1:9/hook"},
        {"url": "http://127.0.0.1:9/hook", "events": ["UserCreated"], "secret": "mine"},
        {"url": "", "events": ["UserCreated"]},
    ],
)
def test_an_invalid_subscription_is_refused(api, admin, body: dict) -> None:
    refused = api.post("/webhooks", body, headers=admin.headers)
    assert refused.status == 400 and refused.json()["error"]["code"] == "INVALID_REQUEST"


def test_deleting_a_malformed_id_is_a_400(api, admin) -> None:
    assert api.request("DELETE", "/webhooks/not-a-uuid", headers=admin.headers).status == 400


def test_the_openapi_document_has_the_webhook_routes(api) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    assert {"post", "get"} <= set(paths["/webhooks"]) and "delete" in paths["/webhooks/{webhook_id}"]


# ------------------------------------------------------------------------------ deliveries


def test_a_receiver_gets_a_users_onboarding_events_in_order_signed(api, admin) -> None:
    with WebhookReceiver() as receiver, subscribed(api, admin, receiver, ONBOARDING) as webhook:
        invitation = invite(api, api, "webhooks", "Grace Hopper")
        user_id = invitation.user_id
        secret = confirm(api, api, invitation)["qr_code_secret"]
        otp = enrol_mfa(api, api, ActiveUser(invitation.email, user_id, PASSWORD, secret))
        got = receiver.wait_for(lambda ds: len([d for d in ds if of_user(user_id)(d)]) >= len(ONBOARDING))

    # Deliveries are posted concurrently: a receiver orders them by occurred_at (README, Webhooks).
    mine = sorted((d for d in got if of_user(user_id)(d)), key=lambda d: datetime.fromisoformat(d.json()["data"]["occurred_at"]))
    assert [d.json()["type"] for d in mine] == ONBOARDING
    verifier = Webhook(webhook["secret"])
    for delivery in mine:
        payload = verifier.verify(delivery.body, delivery.headers)
        assert delivery.headers["webhook-id"] == payload["data"]["event_id"]
        assert payload["timestamp"] == payload["data"]["occurred_at"]
        for used in (invitation.temporary_password, PASSWORD, otp, secret):
            assert used not in delivery.body.decode()
    assert len({d.headers["webhook-id"] for d in mine}) == len(mine)


@contextmanager
def rule_spy(local_stack):
    """A queue of the test's own added as a second target of the webhook rule: it receives exactly what
    the rule sends to the delivery queue (which the delivery function empties as it goes)."""
    sqs, events = boto3.client("sqs"), boto3.client("events")
    name, bus = rule_name_and_bus(local_stack.stack.attributes[("WebhookEventsRule", "Arn")])
    queue_url = sqs.create_queue(QueueName=f"webhook-rule-spy-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "test-spy", "Arn": queue_arn}])
    try:
        yield lambda: routed_events(sqs, queue_url)
    finally:
        events.remove_targets(Rule=name, EventBusName=bus, Ids=["test-spy"])
        sqs.delete_queue(QueueUrl=queue_url)


def routed_events(sqs, queue_url: str) -> list[tuple[str, str]]:
    """(detail-type, user_id) of every event the spy queue holds, drained."""
    found = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            event = json.loads(message["Body"])
            found.append((event["detail-type"], event["detail"]["user_id"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return found


def on_the_bus(api, user_id: str, detail_type: str) -> None:
    wait_for(lambda: detail_type in [e["detail-type"] for e in api.local(f"events?user_id={user_id}")], 10, f"{detail_type} of {user_id}")


def test_only_subscribed_types_reach_the_webhook_queue_and_unsubscribing_narrows_the_rule(api, admin, local_stack) -> None:
    """SPEC section 4: the webhook rule's pattern follows the subscriptions (README, Events and webhooks)."""
    with rule_spy(local_stack) as routed, WebhookReceiver() as receiver:
        with subscribed(api, admin, receiver, ["UserCreated"]):
            user_id, _ = create_user(api)
            delivered = receiver.wait_for(lambda ds: any(of_user(user_id)(d) for d in ds))
            on_the_bus(api, user_id, "InvitationSent")  # published after UserCreated, never subscribed
            assert [d.json()["type"] for d in delivered if of_user(user_id)(d)] == ["UserCreated"]
            assert [t for t, user in routed() if user == user_id] == ["UserCreated"], "an unsubscribed type reached the queue"

        later_user, _ = create_user(api)
        on_the_bus(api, later_user, "InvitationSent")
        assert [t for t, user in routed() if user == later_user] == [], "the rule still routes the deleted subscription's type"
        assert not any(of_user(later_user)(d) for d in receiver.received())


def routed_pattern(local_stack) -> str:
    name, bus = rule_name_and_bus(local_stack.stack.attributes[("WebhookEventsRule", "Arn")])
    return boto3.client("events").describe_rule(Name=name, EventBusName=bus)["EventPattern"]


def test_no_one_but_an_admin_changes_what_the_rule_routes(api, admin, local_stack) -> None:
    """As an attacker would try it: subscribing to every refresh, or deleting an admin's webhook, with
    the API key alone (401) or an ordinary user's token (403) leaves the rule's pattern as it was.
    OWASP ASVS 5.0 8.2.1 (function-level access control), 8.3.1 (enforced in the service)."""
    user = onboard(api, "rule-not-admin")
    ordinary = {"authorization": f"Bearer {sign_in(api, user).tokens['access_token']}"}
    with WebhookReceiver() as receiver, subscribed(api, admin, receiver, ["UserCreated"]) as webhook:
        before = routed_pattern(local_stack)
        for headers, status in ((None, 401), (ordinary, 403)):
            subscribe = api.post("/webhooks", {"url": receiver.url, "events": ["TokenRefreshed"]}, headers=headers)
            delete = api.request("DELETE", f"/webhooks/{webhook['id']}", headers=headers)
            assert (subscribe.status, delete.status) == (status, status)
        assert routed_pattern(local_stack) == before
        assert "UserCreated" in json.loads(before)["detail-type"]


def test_a_failed_delivery_is_retried_with_backoff_and_the_same_webhook_id(api, admin) -> None:
    with WebhookReceiver(answer=lambda n: 500 if n == 0 else 204) as receiver, subscribed(api, admin, receiver, ["UserCreated"]) as webhook:
        user_id, _ = create_user(api)
        first, second = receiver.wait_for(lambda ds: len(ds) >= 2)[:2]
        time.sleep(RETRY_DELAYS[0] + 1.5)  # nothing more comes once it is delivered
        assert len(receiver.received()) == 2

    assert (first.answered, second.answered) == (500, 204)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert second.received_at - first.received_at >= RETRY_DELAYS[0]
    for delivery in (first, second):
        assert Webhook(webhook["secret"]).verify(delivery.body, delivery.headers)["data"]["user_id"] == user_id


def test_a_receiver_that_always_fails_ends_in_the_dead_letter_queue(api, admin, local_stack) -> None:
    sqs = boto3.client("sqs")
    dead_letters = local_stack.stack.refs["WebhookDeadLetterQueue"]
    with WebhookReceiver(answer=lambda n: 503) as receiver, subscribed(api, admin, receiver, ["UserCreated"]) as webhook:
        user_id, _ = create_user(api)
        event_id = receiver.wait_for(lambda ds: len(ds) >= 1)[0].headers["webhook-id"]
        parked = None
        deadline = time.monotonic() + 20
        while parked is None and time.monotonic() < deadline:
            messages = sqs.receive_message(
                QueueUrl=dead_letters, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
            ).get("Messages", [])
            parked = next((m for m in messages if m["MessageAttributes"]["event_id"]["StringValue"] == event_id), None)
        attempts = receiver.received()

    assert parked is not None, "the event never reached the dead-letter queue"
    sqs.delete_message(QueueUrl=dead_letters, ReceiptHandle=parked["ReceiptHandle"])
    attributes = {k: v["StringValue"] for k, v in parked["MessageAttributes"].items()}
    assert attributes["failure_reason"] == f"{webhook['id']}: HTTP 503"
    assert attributes["attempts"] == str(MAX_ATTEMPTS) and attributes["webhook_ids"] == webhook["id"]
    assert attributes["detail_type"] == "UserCreated"
    assert [d.headers["webhook-id"] for d in attempts] == [event_id] * MAX_ATTEMPTS
    gaps = [b.received_at - a.received_at for a, b in zip(attempts, attempts[1:], strict=False)]
    assert gaps[0] >= RETRY_DELAYS[0] and gaps[1] >= RETRY_DELAYS[1]  # the schedule: 1 s, then 2 s (jitter only adds)
    assert all(of_user(user_id)(d) for d in attempts)


def test_one_failing_endpoint_does_not_hold_up_another(api, admin) -> None:
    with (
        WebhookReceiver(answer=lambda n: 500) as failing,
        WebhookReceiver() as working,
        subscribed(api, admin, failing, ["UserCreated"]),
        subscribed(api, admin, working, ["UserCreated"]),
    ):
        user_id, _ = create_user(api)
        working.wait_for(lambda ds: len(ds) >= 1)
        failing.wait_for(lambda ds: len(ds) >= 2)  # the event was retried for the failing endpoint ...
    assert len(working.received(of_user(user_id))) == 1  # ... and not posted again to the working one


def test_a_slow_endpoint_does_not_delay_a_fast_one(api, admin) -> None:
    """The slow receiver answers only once the fast one got the event. Posted one after the other
    (the slow one subscribed first), the slow post would time out and be retried; posted concurrently,
    it is delivered at its first attempt."""
    fast_got_it = threading.Event()

    def fast_answers(_: int) -> int:
        fast_got_it.set()
        return 204

    with (
        WebhookReceiver(hold=fast_got_it) as slow,
        WebhookReceiver(answer=fast_answers) as fast,
        subscribed(api, admin, slow, ["UserCreated"]),
        subscribed(api, admin, fast, ["UserCreated"]),
    ):
        user_id, _ = create_user(api)
        (slow_delivery,) = slow.wait_for(lambda ds: len(ds) >= 1)
        time.sleep(RETRY_DELAYS[0] + 1.5)  # a retry, had there been one, would have come by now
        assert len(slow.received(of_user(user_id))) == 1 and slow_delivery.answered == 204
    assert fast.received(of_user(user_id))[0].received_at <= slow_delivery.received_at


def test_410_gone_disables_the_subscription_and_an_event_says_so(api, admin) -> None:
    with (
        WebhookReceiver(answer=lambda n: 410) as gone,
        WebhookReceiver() as working,
        subscribed(api, admin, gone, ["UserCreated"]) as webhook,
        subscribed(api, admin, working, ["UserCreated", "WebhookEndpointDisabled"]) as watcher,
    ):
        create_user(api)
        gone.wait_for(lambda ds: len(ds) >= 1)
        listed = listed_when(api, admin, webhook["id"], lambda w: not w["enabled"])
        assert listed["enabled"] is False and "410" in listed["disabled_reason"]

        def announcing(delivery) -> bool:
            body = delivery.json()
            return body["type"] == "WebhookEndpointDisabled" and body["data"]["webhook_id"] == webhook["id"]

        working.wait_for(lambda ds: any(announcing(d) for d in ds))
        (announced,) = working.received(announcing)
        data = Webhook(watcher["secret"]).verify(announced.body, announced.headers)["data"]
        assert (data["cause"], data["last_http_status"]) == ("ENDPOINT_GONE", 410) and "user_id" not in data
        later_user, _ = create_user(api)
        working.wait_for(lambda ds: any(d.json()["type"] == "UserCreated" and of_user(later_user)(d) for d in ds))
        assert len(gone.received()) == 1, "nothing is posted to a disabled subscription"


def test_a_receivers_retry_after_is_honoured(api, admin) -> None:
    with (
        WebhookReceiver(answer=lambda n: 503 if n == 0 else 204, retry_after="3") as receiver,
        subscribed(api, admin, receiver, ["UserCreated"]),
    ):
        create_user(api)
        first, second = receiver.wait_for(lambda ds: len(ds) >= 2)[:2]
    assert second.received_at - first.received_at >= 3 > RETRY_DELAYS[0] * 1.2
    assert first.headers["webhook-id"] == second.headers["webhook-id"]


# ------------------------------------------------------------------------------ the delivery log


def logged_when(api, admin: Admin, webhook_id: str, event_id: str, predicate, timeout: float = 20) -> dict:
    """The event's entry in GET /v1/webhooks/{id}/deliveries, once predicate holds (the consumer logs after it posts)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = api.get(f"/webhooks/{webhook_id}/deliveries", headers=admin.headers)
        assert answer.status == 200, answer.body
        entry = next((d for d in answer.json()["deliveries"] if d["event_id"] == event_id), None)
        if entry is not None and (predicate(entry) or time.monotonic() > deadline):
            return entry
        assert time.monotonic() < deadline, f"event {event_id} never reached the log of {webhook_id}"
        time.sleep(0.1)


def test_the_delivery_log_shows_each_attempt_of_an_event(api, admin) -> None:
    with (
        WebhookReceiver(answer=lambda n: 500 if n == 0 else 204) as receiver,
        subscribed(api, admin, receiver, ["UserCreated"]) as webhook,
    ):
        create_user(api)
        first = receiver.wait_for(lambda ds: len(ds) >= 1)[0]
        event_id = first.headers["webhook-id"]
        pending = logged_when(api, admin, webhook["id"], event_id, lambda e: e["attempts"] >= 1)
        delivered = logged_when(api, admin, webhook["id"], event_id, lambda e: e["state"] == "delivered")
    if pending["state"] == "pending":  # read before the retry: the failure and when the next attempt comes
        assert pending["last_status_code"] == 500 and pending["last_error"] == "HTTP 500" and pending["next_attempt_at"]
    assert delivered["attempts"] == 2 and delivered["last_status_code"] == 204 and delivered["event_type"] == "UserCreated"
    assert isinstance(delivered["last_latency_ms"], int) and delivered["next_attempt_at"] is None


def test_the_delivery_log_of_an_unknown_webhook_is_a_404_and_a_bad_limit_a_400(api, admin) -> None:
    unknown = api.get("/webhooks/00000000-0000-4000-8000-000000000000/deliveries", headers=admin.headers)
    assert unknown.status == 404 and unknown.json()["error"]["code"] == "WEBHOOK_NOT_FOUND"
    assert api.get("/webhooks/00000000-0000-4000-8000-000000000000/deliveries?limit=0", headers=admin.headers).status == 400
    assert api.get("/webhooks/not-a-uuid/deliveries", headers=admin.headers).status == 400


# ------------------------------------------------------------------------------ re-enabling and rotation


def test_patch_re_enables_a_gone_endpoint_and_rotates_its_secret_with_both_signatures_meanwhile(api, admin) -> None:
    with WebhookReceiver(answer=lambda n: 410 if n == 0 else 204) as receiver, subscribed(api, admin, receiver, ["UserCreated"]) as webhook:
        create_user(api)
        receiver.wait_for(lambda ds: len(ds) >= 1)
        listed_when(api, admin, webhook["id"], lambda w: not w["enabled"])
        patched = api.request("PATCH", f"/webhooks/{webhook['id']}", {"enabled": True, "rotate_secret": True}, headers=admin.headers)
        assert patched.status == 200, patched.body
        assert patched.json()["enabled"] is True and patched.json()["secret"].startswith("whsec_")
        new_secret = patched.json()["secret"]
        assert new_secret != webhook["secret"] and new_secret not in api.get("/webhooks", headers=admin.headers).body.decode()
        user_id, _ = create_user(api)
        delivered = receiver.wait_for(lambda ds: any(of_user(user_id)(d) for d in ds))[-1]
    assert len(delivered.headers["webhook-signature"].split(" ")) == 2
    for secret in (webhook["secret"], new_secret):  # receivers switch secrets in their own time
        assert Webhook(secret).verify(delivered.body, delivered.headers)["data"]["user_id"] == user_id


def test_patch_refuses_what_it_cannot_do(api, admin) -> None:
    unknown = api.request("PATCH", "/webhooks/00000000-0000-4000-8000-000000000000", {"enabled": True}, headers=admin.headers)
    assert unknown.status == 404 and unknown.json()["error"]["code"] == "WEBHOOK_NOT_FOUND"
    for body in ({"enabled": False}, {"secret": "mine"}, {"rotate_secret": "yes please"}):
        refused = api.request("PATCH", "/webhooks/00000000-0000-4000-8000-000000000000", body, headers=admin.headers)
        assert refused.status == 400 and refused.json()["error"]["code"] == "INVALID_REQUEST", body


# ------------------------------------------------------------------------------ replay


def test_replay_re_delivers_an_event_from_the_archive_with_the_same_webhook_id(api, admin) -> None:
    with WebhookReceiver() as receiver, subscribed(api, admin, receiver, ["UserCreated"]) as webhook:
        since = datetime.now(UTC)
        user_id, _ = create_user(api)
        (first,) = receiver.wait_for(lambda ds: len(ds) >= 1)
        event_id = first.headers["webhook-id"]
        logged_when(api, admin, webhook["id"], event_id, lambda e: e["state"] == "delivered")

        one = api.post(f"/webhooks/{webhook['id']}/replay", {"event_id": event_id}, headers=admin.headers)
        assert one.status == 202, one.body
        assert one.json()["event_id"] == event_id and one.json()["replay_name"]
        second = receiver.wait_for(lambda ds: len(ds) >= 2)[1]

        every = api.post(f"/webhooks/{webhook['id']}/replay", {"since": since.isoformat()}, headers=admin.headers)
        assert every.status == 202, every.body
        third = receiver.wait_for(lambda ds: len([d for d in ds if of_user(user_id)(d)]) >= 3)[-1]
    for again in (second, third):
        assert again.headers["webhook-id"] == event_id and again.body == first.body
        assert Webhook(webhook["secret"]).verify(again.body, again.headers)["data"]["user_id"] == user_id


def test_replay_refuses_what_it_cannot_replay(api, admin) -> None:
    unknown = api.post("/webhooks/00000000-0000-4000-8000-000000000000/replay", {"since": "2026-01-01T00:00:00Z"}, headers=admin.headers)
    assert unknown.status == 404 and unknown.json()["error"]["code"] == "WEBHOOK_NOT_FOUND"
    with WebhookReceiver(answer=lambda n: 410) as receiver, subscribed(api, admin, receiver, ["UserCreated"]) as webhook:
        never = api.post(f"/webhooks/{webhook['id']}/replay", {"event_id": "never-sent"}, headers=admin.headers)
        assert never.status == 404 and never.json()["error"]["code"] == "DELIVERY_NOT_FOUND"
        for body in ({}, {"event_id": "x", "since": "2026-01-01T00:00:00Z"}, {"since": "yesterday"}):
            refused = api.post(f"/webhooks/{webhook['id']}/replay", body, headers=admin.headers)
            assert refused.status == 400 and refused.json()["error"]["code"] == "INVALID_REQUEST", body
        create_user(api)
        receiver.wait_for(lambda ds: len(ds) >= 1)
        listed_when(api, admin, webhook["id"], lambda w: not w["enabled"])
        disabled = api.post(f"/webhooks/{webhook['id']}/replay", {"since": "2026-01-01T00:00:00Z"}, headers=admin.headers)
        assert disabled.status == 409 and disabled.json()["error"]["code"] == "WEBHOOK_DISABLED"


# ------------------------------------------------------------------------------ admins only


def test_the_log_patch_and_replay_answer_only_an_admin_and_change_nothing_otherwise(api, admin) -> None:
    """As an attacker would try it: the API key alone (401), an ordinary user's access token (403).
    OWASP ASVS 5.0 8.2.1 (function-level access control), 8.3.1 (enforced in the service)."""
    user = onboard(api, "hooks-not-admin")
    ordinary = {"authorization": f"Bearer {sign_in(api, user).tokens['access_token']}"}
    with WebhookReceiver() as receiver, subscribed(api, admin, receiver, ["UserCreated"]) as webhook:
        base = f"/webhooks/{webhook['id']}"
        for headers, status, code in ((None, 401, "INVALID_TOKEN"), (ordinary, 403, "FORBIDDEN")):
            answers = [
                api.get(f"{base}/deliveries", headers=headers),
                api.request("PATCH", base, {"rotate_secret": True}, headers=headers),
                api.post(f"{base}/replay", {"since": "2026-01-01T00:00:00Z"}, headers=headers),
            ]
            assert [(a.status, a.json()["error"]["code"]) for a in answers] == [(status, code)] * 3
        assert all("secret" not in a.json() for a in answers)
        create_user(api)
        (delivered,) = receiver.wait_for(lambda ds: len(ds) >= 1)
    assert Webhook(webhook["secret"]).verify(delivered.body, delivered.headers), "the secret was not rotated"
