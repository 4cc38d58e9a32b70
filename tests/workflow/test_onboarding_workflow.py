"""workflows/onboarding.asl.json in moto's Step Functions interpreter, through the real task handler.

Executions are started directly (StartExecution) after writing the status record and email claim as
the API does, with short timeouts; the user's two actions are made through the HTTP API (the real
signal mechanism: status table + SendTaskSuccess). Each test checks what a user or an operator sees:
the execution's status and path, the status record, Cognito, S3, the email claim and the audit events.
The last test scans the history of every execution of this module for the secrets used.
"""

import json
import re
import time
import urllib.request
import uuid
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError
from moto.cognitoidp.exceptions import InvalidParameterException
from moto.core.exceptions import JsonRESTError

from authflow.models import OnboardingStatus, UserAction
from tests.support.client import wrong_otp
from tests.support.flows import PASSWORD, Invitation, confirm, current_otp
from tests.support.workflow import (
    HAPPY_PATH,
    HAPPY_PATH_STEPS,
    event_details,
    history,
    onboarding_event_types,
    state_path,
    wait_for,
    wait_until_entered,
    wait_until_finished,
)

LONG_ENOUGH = 20  # seconds: a wait the test signals long before it times out


def assert_user_removed(cognito, pool_id: str, user_id: str) -> None:
    with pytest.raises(ClientError) as missing:
        cognito.admin_get_user(UserPoolId=pool_id, Username=user_id)
    assert missing.value.response["Error"]["Code"] == "UserNotFoundException"


def assert_qr_absent(s3, bucket: str, user_id: str) -> None:
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket=bucket, Key=f"users_mfa/{user_id}.png")
    assert missing.value.response["Error"]["Code"] in ("404", "NoSuchKey")


def user_items(store, user_id: str) -> set[str]:
    return {
        item["sk"]
        for item in store.client.query(
            TableName=store.table_name, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": f"USER#{user_id}"}
        )["Items"]
    }


def events_of(views, user_id: str, detail_type: str) -> list[dict]:
    return [e["detail"] for e in views.events(user_id=user_id, detail_type=detail_type)]


def confirm_through_the_api(api, run, secrets_used) -> dict:
    """The user's first action: the temporary password from the mail, a new password; returns the answer."""
    api.wait_for_status(run.user_id, "INVITED")
    invitation = Invitation(run.user_id, run.email, api.temporary_password(run.email))
    secrets_used["password"].update({invitation.temporary_password, PASSWORD})
    answer = confirm(api, api, invitation)
    secrets_used["totp_secret"].add(answer["qr_code_secret"])
    return answer


# ----------------------------------------------------------------------------- a. happy path


@pytest.fixture(scope="module")
def onboarded(start, api, store, stores, sfn, secrets_used) -> dict:
    """One user onboarded end to end; what each step left behind, observed as it happened."""
    run = start(confirmation_seconds=LONG_ENOUGH, mfa_seconds=LONG_ENOUGH, full_name="Ada Lovelace")
    wait_until_entered(sfn, run.execution_arn, "WaitForConfirmation")

    confirmation = confirm_through_the_api(api, run, secrets_used)
    session = stores.mfa_sessions.get(run.user_id)  # Cognito's MFA-setup session, kept until activation
    assert session is not None
    secrets_used["session"].add(session.credential.get_secret_value())
    with urllib.request.urlopen(confirmation["qr_code_secret_url"], timeout=10) as qr:
        qr_png_head = qr.read(8)
    api.wait_for_status(run.user_id, "MFA_PENDING")
    wait_until_entered(sfn, run.execution_arn, "WaitForMfaConfirmation")

    secret = confirmation["qr_code_secret"]
    wrong = wrong_otp(secret)
    refused = api.post(f"/users/{run.user_id}/confirm-mfa", {"email": run.email, "otp": wrong})
    otp = current_otp(secret)
    accepted = api.post(f"/users/{run.user_id}/confirm-mfa", {"email": run.email, "otp": otp})
    secrets_used["otp"].update({wrong, otp})

    described = wait_until_finished(sfn, run.execution_arn)
    return {
        "run": run,
        "confirmation": confirmation,
        "qr_png_head": qr_png_head,
        "refused": refused,
        "accepted": accepted,
        "described": described,
        "history": history(sfn, run.execution_arn),
    }


def test_happy_path_succeeds_through_every_step(onboarded):
    assert onboarded["refused"].status == 401, "a wrong code does not signal the execution"
    assert onboarded["accepted"].status == 200, onboarded["accepted"].body
    assert onboarded["described"]["status"] == "SUCCEEDED"
    assert state_path(onboarded["history"]) == HAPPY_PATH
    assert onboarded["qr_png_head"] == b"\x89PNG\r\n\x1a\n"


def test_happy_path_leaves_an_active_record_and_an_mfa_user(onboarded, store, stores, cognito, local_stack):
    run = onboarded["run"]
    record = store.get(run.user_id)
    assert record.status == OnboardingStatus.ACTIVE
    assert [(s.name, s.status) for s in record.steps] == HAPPY_PATH_STEPS
    assert record.execution_arn == run.execution_arn
    assert stores.claims.user_id_for(run.email) == run.user_id, "an active user keeps their email"
    kept = user_items(store, run.user_id)
    recovery_codes = {item for item in kept if item.startswith("RECOVERY#")}
    assert len(recovery_codes) == 10, "the ten recovery codes, stored as hashes"
    assert kept - recovery_codes == {"STATUS", "RECOVERY_COUNT"}, "signals (task tokens) and the MFA session are gone"

    user = cognito.admin_get_user(UserPoolId=local_stack.stack.refs["UserPool"], Username=run.user_id)
    assert user["UserStatus"] == "CONFIRMED"
    assert user.get("PreferredMfaSetting") == "SOFTWARE_TOKEN_MFA"
    attributes = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert (attributes["email"], attributes["given_name"], attributes["family_name"]) == (run.email, "Ada", "Lovelace")


def test_happy_path_events_are_archived_in_order(onboarded, views):
    run = onboarded["run"]
    archived = views.events(user_id=run.user_id)
    assert onboarding_event_types(views, run.user_id) == [
        "UserCreated",
        "InvitationSent",
        "UserConfirmed",
        "MfaEnrolled",
        "OnboardingCompleted",
    ]
    for event in archived:
        assert event["source"] == "authflow"
        if event["detail-type"] != "CustomMessagePrepared":
            assert event["detail"]["execution_arn"] == run.execution_arn
            assert event["detail"]["request_id"] == run.request_id
    (invitation,) = [e["detail"] for e in archived if e["detail-type"] == "InvitationSent"]
    assert invitation["resend"] is False and invitation["user_id"] == run.user_id
    assert run.email not in json.dumps(archived)  # users are named by id only


def test_an_action_that_arrives_before_the_execution_waits_is_not_lost(start, store, stores, sfn):
    """The user can act between SendInvitation (status INVITED) and WaitForConfirmation arming its task
    token; the execution must then resume by itself. Here both actions are signalled before it starts."""
    run = start(confirmation_seconds=LONG_ENOUGH, mfa_seconds=LONG_ENOUGH)
    for action in UserAction:
        assert stores.signals.receive(run.user_id, action, timedelta(minutes=5)) is None

    described = wait_until_finished(sfn, run.execution_arn)

    assert described["status"] == "SUCCEEDED"
    assert state_path(history(sfn, run.execution_arn)) == HAPPY_PATH
    assert store.get(run.user_id).status == OnboardingStatus.ACTIVE


# ----------------------------------------------------------------------------- b. timeouts


def test_confirmation_timeout_expires_and_removes_the_user(start, sfn, store, stores, cognito, views, api, local_stack):
    run = start(confirmation_seconds=1, mfa_seconds=1)

    described = wait_until_finished(sfn, run.execution_arn, timeout=15)

    assert described["status"] == "FAILED"
    events = history(sfn, run.execution_arn)
    assert state_path(events) == ["CreateCognitoUser", "SendInvitation", "WaitForConfirmation", "ExpireOnboarding", "OnboardingExpired"]
    assert any(e["type"] == "TaskTimedOut" and event_details(e)["error"] == "States.Timeout" for e in events)
    failed = next(event_details(e) for e in events if e["type"] == "ExecutionFailed")
    assert failed["error"] == "OnboardingExpired"
    assert described.get("error", failed["error"]) == "OnboardingExpired"

    assert api.mail(run.email), "the user had been invited"
    assert_user_removed(cognito, local_stack.stack.refs["UserPool"], run.user_id)
    assert stores.claims.user_id_for(run.email) is None, "the email can be used for a new onboarding"
    record = store.get(run.user_id)
    assert record.status == OnboardingStatus.EXPIRED
    assert record.steps[-1].name == "ExpireOnboarding"
    assert user_items(store, run.user_id) == {"STATUS"}
    assert onboarding_event_types(views, run.user_id) == ["UserCreated", "InvitationSent", "OnboardingExpired"]
    (expired,) = events_of(views, run.user_id, "OnboardingExpired")
    assert expired["waiting_for"] == "CONFIRMATION" and expired["execution_arn"] == run.execution_arn


def test_mfa_timeout_after_a_real_confirmation_expires_and_deletes_the_qr_code(
    start, sfn, store, stores, cognito, s3, views, api, local_stack, secrets_used
):
    run = start(confirmation_seconds=LONG_ENOUGH, mfa_seconds=2)
    bucket = local_stack.stack.refs["QrCodeBucket"]

    confirm_through_the_api(api, run, secrets_used)
    assert s3.head_object(Bucket=bucket, Key=f"users_mfa/{run.user_id}.png")["ContentType"] == "image/png"
    session = stores.mfa_sessions.get(run.user_id)
    if session is not None:  # captured before the expiry removes it
        secrets_used["session"].add(session.credential.get_secret_value())

    described = wait_until_finished(sfn, run.execution_arn, timeout=15)

    assert described["status"] == "FAILED"
    path = state_path(history(sfn, run.execution_arn))
    assert path == HAPPY_PATH[:5] + ["ExpireOnboarding", "OnboardingExpired"]
    assert_qr_absent(s3, bucket, run.user_id)
    assert_user_removed(cognito, local_stack.stack.refs["UserPool"], run.user_id)
    assert stores.claims.user_id_for(run.email) is None
    assert store.get(run.user_id).status == OnboardingStatus.EXPIRED
    assert stores.mfa_sessions.get(run.user_id) is None and user_items(store, run.user_id) == {"STATUS"}
    assert onboarding_event_types(views, run.user_id) == ["UserCreated", "InvitationSent", "UserConfirmed", "OnboardingExpired"]
    (expired,) = events_of(views, run.user_id, "OnboardingExpired")
    assert expired["waiting_for"] == "MFA_CONFIRMATION"

    # the expired user's late confirm-mfa is refused, not half-applied
    late = api.post(f"/users/{run.user_id}/confirm-mfa", {"email": run.email, "otp": "123456"})
    assert late.status == 409 and late.json()["error"]["code"] == "WRONG_ONBOARDING_STEP"


def test_a_resent_invitation_is_honoured_for_its_full_validity(start, sfn, api, secrets_used):
    """confirmation_seconds stands for the temporary password's validity (TemporaryPasswordValidityDays).
    The user asks for a new invitation part-way through and confirms with the new password after the
    first one's validity ended but well within the new one's."""
    validity = 4
    run = start(confirmation_seconds=validity, mfa_seconds=LONG_ENOUGH)
    try:
        wait_until_entered(sfn, run.execution_arn, "WaitForConfirmation")
        waiting_since = time.monotonic()
        first = api.temporary_password(run.email)
        time.sleep(max(0.0, waiting_since + validity / 2 - time.monotonic()))
        assert api.post("/resend-confirmation-code", {"email": run.email}).status == 200
        second = api.temporary_password(run.email, previous=first)
        secrets_used["password"].update({first, second, PASSWORD})
        time.sleep(max(0.0, waiting_since + validity + 1 - time.monotonic()))  # first validity over, second not

        confirmed = api.post(
            f"/users/{run.user_id}/confirm",
            {"email": run.email, "temporary_password": second, "new_password": PASSWORD},
        )

        assert confirmed.status == 200, confirmed.body
        wait_until_entered(sfn, run.execution_arn, "WaitForMfaConfirmation")
    finally:
        if sfn.describe_execution(executionArn=run.execution_arn)["status"] == "RUNNING":
            sfn.stop_execution(executionArn=run.execution_arn)


def test_resends_cannot_hold_the_email_claim_past_the_overall_limit(start, sfn, stores):
    """Each resend's heartbeat restarts the wait; before, that went on without end, so anyone resending
    could hold an email's claim forever. The overall limit (OnboardingConfirmationLimitDays) ends it."""
    run = start(confirmation_seconds=3, confirmation_limit_seconds=6, mfa_seconds=LONG_ENOUGH)
    wait_until_entered(sfn, run.execution_arn, "WaitForConfirmation")
    heartbeats = 0
    while sfn.describe_execution(executionArn=run.execution_arn)["status"] == "RUNNING":
        token = stores.signals.waiting_token(run.user_id, UserAction.CONFIRMATION)
        if token is not None:
            try:
                sfn.send_task_heartbeat(taskToken=token.get_secret_value())
                heartbeats += 1
            except sfn.exceptions.TaskTimedOut:
                pass
        assert heartbeats < 200, "the wait never ended"
        time.sleep(0.3)

    events = history(sfn, run.execution_arn)
    entered = next(
        e["timestamp"] for e in events if e["type"] == "TaskStateEntered" and event_details(e).get("name") == "WaitForConfirmation"
    )
    timed_out = next(e["timestamp"] for e in events if e["type"] == "TaskTimedOut")
    # Kept alive past its 3 s heartbeat period by the heartbeats, then ended by the 6 s overall limit
    # (counted in the history's own time, so a slow machine cannot fake or hide it).
    assert heartbeats >= 2 and (timed_out - entered).total_seconds() >= 5.5, (heartbeats, timed_out - entered)
    assert state_path(events) == ["CreateCognitoUser", "SendInvitation", "WaitForConfirmation", "ExpireOnboarding", "OnboardingExpired"]
    assert any(e["type"] == "TaskTimedOut" and event_details(e)["error"] == "States.Timeout" for e in events)


# ----------------------------------------------------------------------------- c. failing tasks


def test_a_permanently_failing_invitation_is_compensated(start, sfn, store, stores, cognito, views, api, local_stack, cognito_fault):
    user_id = str(uuid.uuid4())
    calls = cognito_fault(user_id, "RESEND", lambda: InvalidParameterException("The invitation cannot be sent."))
    run = start(confirmation_seconds=2, mfa_seconds=2, user_id=user_id)

    described = wait_until_finished(sfn, run.execution_arn, timeout=15)

    assert described["status"] == "FAILED"
    events = history(sfn, run.execution_arn)
    assert state_path(events) == ["CreateCognitoUser", "SendInvitation", "CompensateFailedOnboarding", "OnboardingFailed"]
    failed = next(event_details(e) for e in events if e["type"] == "ExecutionFailed")
    assert failed["error"] == "OnboardingFailed"
    assert calls == ["RESEND"], "a permanent error is not retried"

    assert_user_removed(cognito, local_stack.stack.refs["UserPool"], run.user_id)
    assert stores.claims.user_id_for(run.email) is None
    record = store.get(run.user_id)
    assert record.status == OnboardingStatus.FAILED
    assert [s.name for s in record.steps] == ["CreateCognitoUser", "CompensateFailedOnboarding"]
    assert onboarding_event_types(views, run.user_id) == ["UserCreated", "OnboardingFailed"]
    (event,) = events_of(views, run.user_id, "OnboardingFailed")
    assert event["error"] == "InvalidParameterException"
    assert api.mail(run.email) == [], "no invitation went out"


@pytest.mark.parametrize("throttles", [2, 4], ids=["absorbed-by-sdk-retries", "retried-by-the-state-machine"])
def test_throttled_invitation_is_retried_and_the_user_is_invited_once(throttles, start, sfn, store, views, api, cognito_fault):
    """Cognito throttles the invitation `throttles` times in a row.

    The task's boto3 client retries throttling itself (authflow.aws: standard mode, max_attempts=3, i.e.
    3 retries, 4 attempts), so up to 3 throttles are absorbed inside one invocation and leave no trace
    in the history; a 4th fails the invocation with TransientError (authflow.aws.raise_transient), which
    the state machine's Retry (ErrorEquals TransientError) retries. Either way the user is invited once.
    """
    user_id = str(uuid.uuid4())
    calls = cognito_fault(user_id, "RESEND", lambda: JsonRESTError("TooManyRequestsException", "Rate exceeded"), times=throttles)
    run = start(confirmation_seconds=LONG_ENOUGH, mfa_seconds=LONG_ENOUGH, user_id=user_id)
    try:
        events = wait_until_entered(sfn, run.execution_arn, "WaitForConfirmation", timeout=20)

        assert len(calls) == throttles + 1, "throttled calls, then the one that went through"
        assert state_path(events)[:3] == ["CreateCognitoUser", "SendInvitation", "WaitForConfirmation"]
        task_failures = [event_details(e)["error"] for e in events if e["type"] == "TaskFailed"]
        if throttles >= 4:
            assert task_failures == ["TransientError"], "the throttling surfaced as TransientError and was retried"
        else:
            assert task_failures == [], "the SDK's own retries absorbed the throttling"
        assert "CompensateFailedOnboarding" not in state_path(events)
        wait_for(lambda: store.get(run.user_id).status == OnboardingStatus.INVITED, 5, "status INVITED")
        assert len(api.mail(run.email)) == 1, "exactly one invitation"
        assert onboarding_event_types(views, run.user_id) == ["UserCreated", "InvitationSent"]
    finally:
        sfn.stop_execution(executionArn=run.execution_arn)


# ----------------------------------------------------------------------------- d. secrets in histories


def _variants(secret: str) -> set[str]:
    """The secret as it would appear in an event's JSON text: raw, or JSON-escaped once or twice."""
    once = json.dumps(secret)[1:-1]
    return {secret, once, json.dumps(once)[1:-1]}


def test_no_secret_ever_enters_an_execution_history(onboarded, sfn, executions, secrets_used):
    """Every execution this module ran: no password, TOTP secret, OTP, Cognito session or task token
    in any state's input or output, any task's parameters, result or error, or the execution's.

    Exception, by design of AWS's callback pattern: a .waitForTaskToken task must hand $$.Task.Token to
    the function it calls, so the token is in that TaskScheduled event's `parameters`. It is checked
    everywhere else (inputs, outputs, results, errors, causes)."""
    assert onboarded["described"]["status"] == "SUCCEEDED"
    assert all(secrets_used.values()), f"every kind of secret was captured: {secrets_used}"

    histories = {arn: history(sfn, arn) for arn in executions}
    tokens = set()
    for events in histories.values():
        for event in events:
            if event["type"] == "TaskScheduled":
                payload = json.loads(event_details(event)["parameters"]).get("Payload", {})
                if "task_token" in payload:
                    tokens.add(payload["task_token"])
    assert len(tokens) >= 2, "the happy path's two waits handed out task tokens"
    # canary: the scan reads the text that carries the workflow's data (the email is in every input)
    happy = json.dumps([event_details(e) for e in histories[onboarded["run"].execution_arn]], default=str)
    assert onboarded["run"].email in happy and onboarded["run"].user_id in happy

    leaks = []
    for arn, events in histories.items():
        for event in events:
            details = event_details(event)
            text = json.dumps(details, default=str)
            for kind, values in secrets_used.items():
                for secret in values:
                    if kind == "otp":
                        found = re.search(rf"(?<!\d){secret}(?!\d)", text) is not None
                    else:
                        found = any(v in text for v in _variants(secret))
                    if found:
                        leaks.append((arn.rsplit(":", 1)[1], event["id"], event["type"], kind))
            without_parameters = json.dumps(
                {k: v for k, v in details.items() if not (event["type"] == "TaskScheduled" and k == "parameters")}, default=str
            )
            for token in tokens:
                if any(v in without_parameters for v in _variants(token)):
                    leaks.append((arn.rsplit(":", 1)[1], event["id"], event["type"], "task_token"))
    assert leaks == []


def test_no_secret_enters_the_audit_events_of_these_users(onboarded, views, executions, secrets_used):
    """The same secrets, searched in every archived event of this module's users."""
    assert onboarded["described"]["status"] == "SUCCEEDED"
    leaks = []
    for arn in executions:
        user_id = arn.rsplit(":", 1)[1]
        for event in views.events(user_id=user_id):
            text = json.dumps(event, default=str)
            for kind, values in secrets_used.items():
                for secret in values:
                    found = re.search(rf"(?<!\d){secret}(?!\d)", text) if kind == "otp" else any(v in text for v in _variants(secret))
                    if found:
                        leaks.append((user_id, event["detail-type"], kind))
    assert leaks == []
