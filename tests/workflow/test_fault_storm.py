"""Throttling from Cognito, DynamoDB, EventBridge, S3 and SES is retried and the flows complete;
after a storm every execution is waiting or finished, and the status route says which."""

import functools
import time

import boto3

from tests.support.client import onboard
from tests.support.faults import fault_storm
from tests.support.flows import PASSWORD, ActiveUser, Invitation, confirm, enrol_mfa, unique_email, wait_for

ONBOARDINGS = 8


def post_until_answered(api, path: str, body: dict, key: str, within: float = 30):
    """A client that retries with its Idempotency-Key while the answer says to (503; 429 THROTTLED, an AWS
    quota, after its Retry-After; or 409 REQUEST_IN_PROGRESS when a failed attempt's in-progress record
    has not expired yet)."""
    deadline = time.monotonic() + within
    while True:
        answer = api.post(path, body, headers={"idempotency-key": key})
        throttled = answer.status == 429 and answer.json()["error"]["code"] == "THROTTLED"
        retryable = answer.status == 503 or throttled or (answer.status == 409 and answer.json()["error"]["code"] == "REQUEST_IN_PROGRESS")
        if not retryable or time.monotonic() > deadline:
            return answer
        time.sleep(min(float(answer.headers.get("Retry-After", 0.5)), 1.0) if throttled else 0.5)


def test_onboardings_survive_a_storm_of_throttling(api, local_stack, monkeypatch):
    emails = [unique_email("storm") for _ in range(ONBOARDINGS)]
    with fault_storm(monkeypatch, ["cognito-idp", "dynamodb", "events"], rate=0.25) as storm:
        created = [post_until_answered(api, "/users", {"full_name": "Storm Trooper", "email": e}, key=e) for e in emails]
        assert [c.status for c in created] == [201] * ONBOARDINGS, [(c.status, c.body) for c in created if c.status != 201]
        user_ids = [c.json()["user_id"] for c in created]
        sfn = boto3.client("stepfunctions")
        arn = local_stack.stack.state_machines["OnboardingStateMachine"]

        def settled(user_id: str) -> bool:
            execution = sfn.describe_execution(executionArn=f"{arn.replace(':stateMachine:', ':execution:')}:{user_id}")
            history = sfn.get_execution_history(executionArn=execution["executionArn"], reverseOrder=True, maxResults=5)["events"]
            waiting = any(e.get("stateEnteredEventDetails", {}).get("name") == "WaitForConfirmation" for e in history)
            return execution["status"] != "RUNNING" or waiting

        for user_id in user_ids:
            wait_for(functools.partial(settled, user_id), 60, f"onboarding {user_id} to settle")
    print(f"faults injected: {dict(storm.injected)} of {dict(storm.calls)} calls")
    assert sum(storm.injected.values()) >= 10, storm.injected
    assert set(storm.injected) == {"cognito-idp", "dynamodb", "events"}

    for user_id in user_ids:
        status = api.onboarding(user_id).json()["status"]
        if status != "INVITED":
            failures = [e for e in api.local(f"executions/{user_id}")["history"] if "Failed" in e["type"]]
            raise AssertionError(f"{user_id} is {status}: {failures}")
    invitation = Invitation(user_ids[0], emails[0], api.temporary_password(emails[0]))
    secret = confirm(api, api, invitation)["qr_code_secret"]
    enrol_mfa(api, api, ActiveUser(invitation.email, invitation.user_id, PASSWORD, secret))


def test_mail_and_qr_storage_throttling_is_retried(api, monkeypatch):
    user = onboard(api, "stormmail")
    with fault_storm(monkeypatch, ["ses", "s3"], rate=0.5, seed=3) as storm:
        answers = [
            api.post("/resend-mfa", {"email": user.email, "password": user.password, "otp_code": user.otp(step_offset=offset)}).status
            for offset in (0, 1)
        ]
    assert answers == [200, 200]
    assert storm.injected["ses"] >= 1
    links = [m for m in api.mail(user.email) if "authenticator" in m["subject"]]
    assert len(links) == 2
