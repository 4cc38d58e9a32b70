"""Webhooks over HTTP against the local stack, delivered to real receivers on 127.0.0.1.

The local stack runs the template's path end to end: EventBridge rule → SQS queue → the delivery
function (infra/event_sources.py polls as Lambda does) → a signed POST; its parameters make retries
fast (WebhookRetryBaseSeconds=1, WebhookMaxAttempts=3) and allow loopback URLs.
"""

import time
from contextlib import contextmanager

import boto3
import pytest
from standardwebhooks import Webhook

from infra import catalogue
from infra.stack import LOCAL_PARAMETERS
from tests.support.client import Admin
from tests.support.flows import PASSWORD, ActiveUser, confirm, enrol_mfa, invite, unique_email
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.e2e

ONBOARDING = catalogue.FLOWS["Onboarding"]["events"]
MAX_ATTEMPTS = int(LOCAL_PARAMETERS["WebhookMaxAttempts"])
RETRY_BASE_SECONDS = int(LOCAL_PARAMETERS["WebhookRetryBaseSeconds"])


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

    mine = [d for d in got if of_user(user_id)(d)]
    assert [d.json()["type"] for d in mine] == ONBOARDING
    verifier = Webhook(webhook["secret"])
    for delivery in mine:
        payload = verifier.verify(delivery.body, delivery.headers)
        assert delivery.headers["webhook-id"] == payload["data"]["event_id"]
        assert payload["timestamp"] == payload["data"]["occurred_at"]
        for used in (invitation.temporary_password, PASSWORD, otp, secret):
            assert used not in delivery.body.decode()
    assert len({d.headers["webhook-id"] for d in mine}) == len(mine)


def test_a_failed_delivery_is_retried_with_backoff_and_the_same_webhook_id(api, admin) -> None:
    with WebhookReceiver(answer=lambda n: 500 if n == 0 else 204) as receiver, subscribed(api, admin, receiver, ["UserCreated"]) as webhook:
        user_id, _ = create_user(api)
        first, second = receiver.wait_for(lambda ds: len(ds) >= 2)[:2]
        time.sleep(RETRY_BASE_SECONDS + 1.5)  # nothing more comes once it is delivered
        assert len(receiver.received()) == 2

    assert (first.answered, second.answered) == (500, 204)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert second.received_at - first.received_at >= RETRY_BASE_SECONDS * 0.9
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
    assert gaps[1] > gaps[0] >= RETRY_BASE_SECONDS * 0.9  # exponential: 1 s, then 2 s
    assert all(of_user(user_id)(d) for d in attempts)


def test_one_failing_endpoint_does_not_hold_up_another(api, admin) -> None:
    with (
        WebhookReceiver(answer=lambda n: 500) as failing,
        WebhookReceiver() as working,
        subscribed(api, admin, failing, ["UserCreated"]),
        subscribed(api, admin, working, ["UserCreated"]),
    ):
        started = time.monotonic()
        user_id, _ = create_user(api)
        (delivered,) = working.wait_for(lambda ds: len(ds) >= 1)
        assert delivered.received_at - started < RETRY_BASE_SECONDS + 1
        failing.wait_for(lambda ds: len(ds) >= 2)  # the event was retried for the failing endpoint ...
    assert len(working.received(of_user(user_id))) == 1  # ... and not posted again to the working one
