"""The audit events of the flows run over HTTP, read back from the bus's archive and the audit log.

Each flow emits exactly the events events/README.md promises for it, in that order; every event in
the archive matches its JSON Schema from events/ (here, and again after the session's last e2e test:
tests/e2e/conftest.py); details carry the common fields and none of the secrets the flows used; the
audit log group receives the same events.
"""

import json
import time

import boto3
import pytest

from infra import catalogue
from tests.support.event_schemas import schema_problems
from tests.support.flows import PASSWORD, ActiveUser, confirm, enrol_mfa, invite

pytestmark = pytest.mark.e2e


def events_of(api, user_id: str, count: int, timeout: float = 10) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        found = api.local(f"events?user_id={user_id}")
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


@pytest.fixture(scope="module")
def onboarded(api) -> dict:
    """A user taken through onboarding over HTTP, with every secret the flow used."""
    invitation = invite(api, api, "events")
    secret = confirm(api, api, invitation)["qr_code_secret"]
    user_id = invitation.user_id
    otp = enrol_mfa(api, api, ActiveUser(invitation.email, user_id, PASSWORD, secret))
    expected = catalogue.FLOWS["Onboarding"]["events"]
    return {
        "user_id": user_id,
        "email": invitation.email,
        "execution_arn": api.onboarding_record(user_id)["execution"]["arn"],
        "secrets": [invitation.temporary_password, PASSWORD, secret, otp],
        "events": events_of(api, user_id, len(expected)),
    }


def test_onboarding_emits_its_flow_in_order(onboarded) -> None:
    types = [e["detail-type"] for e in onboarded["events"]]
    assert types == catalogue.FLOWS["Onboarding"]["events"]


def test_onboarding_events_carry_the_common_fields_and_no_secret(onboarded) -> None:
    details = [e["detail"] for e in onboarded["events"]]
    assert len({d["event_id"] for d in details}) == len(details)
    for event in onboarded["events"]:
        detail = event["detail"]
        assert event["source"] == "authflow"
        assert detail["user_id"] == onboarded["user_id"]
        assert detail["request_id"] and detail["occurred_at"]
        if event["detail-type"] != "CustomMessagePrepared":  # Cognito's trigger runs outside the execution
            assert detail["execution_arn"] == onboarded["execution_arn"], event["detail-type"]
        text = json.dumps(event)
        for secret in onboarded["secrets"]:
            assert secret not in text, f"a secret of the flow is in {event['detail-type']}"
        assert onboarded["email"] not in text.lower(), f"{event['detail-type']} names the user by email, not by user_id only"
    occurred = [d["occurred_at"] for d in details]
    assert occurred == sorted(occurred)


def test_resending_the_invitation_emits_its_flow(api) -> None:
    invitation = invite(api, api, "resend-events", "Alan Turing")
    user_id, email = invitation.user_id, invitation.email
    before = len(events_of(api, user_id, 3))
    assert api.post("/resend-confirmation-code", {"email": email}).status == 200
    api.temporary_password(email, previous=invitation.temporary_password)
    resent = events_of(api, user_id, before + 2)[before:]
    assert [e["detail-type"] for e in resent] == catalogue.FLOWS["Invitation resent"]["events"]
    assert resent[-1]["detail"]["resend"] is True


def test_the_local_events_view_filters_by_user_and_type(api, onboarded) -> None:
    only = api.local(f"events?user_id={onboarded['user_id']}&type=UserConfirmed")
    assert [e["detail-type"] for e in only] == ["UserConfirmed"]
    assert all(e["detail-type"] == "UserCreated" for e in api.local("events?type=UserCreated"))


def test_the_audit_log_group_receives_every_event(local_stack, onboarded) -> None:
    group = local_stack.stack.refs["AuditLogGroup"]
    logs = boto3.client("logs")
    # A quarter at hand in the audit log group; the archive keeps the year (its class: test_template.py).
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["retentionInDays"] == 90
    logged = [
        json.loads(e["message"]) for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group) for e in page["events"]
    ]
    ids = {e["detail"]["event_id"] for e in logged if e["detail"].get("user_id") == onboarded["user_id"]}
    assert ids == {e["detail"]["event_id"] for e in onboarded["events"]}


def test_every_archived_event_matches_its_schema(api, onboarded) -> None:
    """The whole archive so far: this module's flows and every e2e test that ran before it (the
    session fixture in tests/e2e/conftest.py checks the archive again after the last test)."""
    archived = api.local("events")
    assert len(archived) >= len(onboarded["events"])
    problems = schema_problems(archived)
    assert not problems, "archived events that do not match their schema:\n  " + "\n  ".join(problems)
