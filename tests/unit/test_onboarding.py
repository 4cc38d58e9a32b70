"""Onboarding (authflow.onboarding) in-process: the API's use cases and the workflow's tasks, on
template.yaml's table, user pool, bucket and bus in moto, with Step Functions faked (FakeWorkflows)."""

import time
import uuid

import boto3
import pytest
from pydantic import SecretStr

from authflow import errors
from authflow.models import (
    ConfirmMfaRequest,
    ConfirmUserRequest,
    CreateUserRequest,
    OnboardingStatus,
    ResendConfirmationRequest,
    UserAction,
)
from tests.support.in_process import PASSWORD, TEMPORARY_PASSWORD
from tests.support.workflow import HAPPY_PATH_STEPS
from tests.unit.conftest import new_email


def test_start_claims_the_email_writes_the_record_and_starts_the_execution_named_after_the_user(onboarding, adapters, workflows, settings):
    email = new_email()
    created = onboarding.start(CreateUserRequest(full_name="Ada Lovelace", email=email), request_id="req-1")

    user_id = str(created.user_id)
    record = adapters.status.get(user_id)
    assert record.status == OnboardingStatus.CREATED and record.email == email
    assert adapters.claims.user_id_for(email) == user_id
    ((machine, name, execution_input),) = workflows.started
    assert (machine, name) == (settings.onboarding_state_machine_arn, user_id)
    assert record.execution_arn.endswith(f":execution:{machine.rsplit(':', 1)[1]}:{user_id}")
    assert execution_input["timeouts"] == {
        "confirmation_seconds": 7 * 86400,
        "confirmation_limit_seconds": 21 * 86400,
        "mfa_seconds": 15 * 60,
    }
    assert "password" not in str(execution_input).lower()


def test_the_same_idempotency_key_gives_the_same_user_and_another_email_is_another_user(onboarding):
    request = CreateUserRequest(full_name="Ada Lovelace", email=new_email())
    first = onboarding.start(request, "req-1", idempotency_key="key-1")
    again = onboarding.start(request, "req-2", idempotency_key="key-1")
    other = onboarding.start(CreateUserRequest(full_name="Ada", email=new_email()), "req-3", idempotency_key="key-1")
    assert first.user_id == again.user_id != other.user_id
    assert first.user_id.version == other.user_id.version == 4, "ids are random, never derived from the key and the email"


def test_a_taken_email_is_refused_and_a_failed_start_frees_it(onboarding, adapters, workflows):
    email = new_email()
    onboarding.start(CreateUserRequest(full_name="Ada", email=email), "req-1")
    with pytest.raises(errors.EmailAlreadyExists):
        onboarding.start(CreateUserRequest(full_name="Other", email=email), "req-2")

    def refuse(*args):
        raise RuntimeError("StartExecution failed")

    workflows.start = refuse
    free = new_email()
    with pytest.raises(RuntimeError):
        onboarding.start(CreateUserRequest(full_name="Ada", email=free), "req-3")
    assert adapters.claims.user_id_for(free) is None, "the email is released for a retry"


def test_the_happy_path_records_each_state_as_a_step_and_ends_active(driver, adapters, tap):
    email = new_email()
    user_id = driver.onboard(email)

    record = adapters.status.get(user_id)
    assert record.status == OnboardingStatus.ACTIVE
    assert [(s.name, s.status) for s in record.steps] == HAPPY_PATH_STEPS
    assert tap.types(user_id) == ["UserCreated", "InvitationSent", "UserConfirmed", "MfaEnrolled", "OnboardingCompleted"]
    assert driver.workflows.resumed == [
        ("token-confirmation", {"action": "CONFIRMATION", "received": True}),
        ("token-mfa", {"action": "MFA_CONFIRMATION", "received": True}),
    ]
    assert adapters.mfa_sessions.get(user_id) is None, "activation removes the enrolment session and the signals"
    assert not qr_code_exists(adapters, user_id), "the enrolled seed's QR code is served by no route again"
    assert adapters.recovery_codes.left(user_id) == 10, "activation keeps the recovery codes confirm-mfa handed out"
    assert adapters.signals.waiting_token(user_id, UserAction.CONFIRMATION) is None


def test_confirm_returns_the_totp_secret_and_stores_its_qr_code(driver, onboarding, settings):
    email = new_email()
    user_id = driver.start(email)
    driver.invite(user_id)

    confirmed = onboarding.confirm(user_id, ConfirmUserRequest(email=email, temporary_password=TEMPORARY_PASSWORD, new_password=PASSWORD))

    assert confirmed.qr_code_secret == driver.totp_secret
    stored = boto3.client("s3").get_object(Bucket=settings.qr_bucket_name, Key=f"users_mfa/{user_id}.png")
    assert stored["ContentType"] == "image/png" and stored["Body"].read().startswith(b"\x89PNG")
    assert f"users_mfa/{user_id}.png" in confirmed.qr_code_secret_url
    with pytest.raises(errors.WrongOnboardingStep):
        onboarding.confirm(user_id, ConfirmUserRequest(email=email, temporary_password=TEMPORARY_PASSWORD, new_password=PASSWORD))


def test_an_action_before_the_wait_resumes_the_execution_when_it_waits(driver, onboarding, workflows):
    email = new_email()
    user_id = driver.start(email)
    driver.invite(user_id)
    onboarding.confirm(user_id, ConfirmUserRequest(email=email, temporary_password=TEMPORARY_PASSWORD, new_password=PASSWORD))
    assert workflows.resumed == [], "no execution waits yet"

    driver.run(user_id, "await_user_action", "WaitForConfirmation", action="CONFIRMATION", task_token="late-token")

    assert workflows.resumed == [("late-token", {"action": "CONFIRMATION", "received": True})]


def test_wrong_emails_unknown_users_and_early_steps_are_refused(driver, onboarding):
    email = new_email()
    user_id = driver.start(email)
    with pytest.raises(errors.UserNotFound):
        onboarding.confirm(user_id, ConfirmUserRequest(email=new_email(), temporary_password="x", new_password="y"))
    with pytest.raises(errors.UserNotFound):
        onboarding.status_of(str(uuid.uuid4()), None, by_admin=True)
    driver.invite(user_id)
    with pytest.raises(errors.WrongOnboardingStep):
        onboarding.confirm_mfa(user_id, ConfirmMfaRequest(email=email, otp="123456"))
    with pytest.raises(errors.InvalidCredentials):
        onboarding.confirm(user_id, ConfirmUserRequest(email=email, temporary_password="Wrong-Passw0rd!", new_password=PASSWORD))


def test_a_wrong_first_code_is_refused_and_the_user_stays_pending(driver, onboarding, adapters):
    email = new_email()
    user_id = driver.start(email)
    driver.invite(user_id)
    onboarding.confirm(user_id, ConfirmUserRequest(email=email, temporary_password=TEMPORARY_PASSWORD, new_password=PASSWORD))
    wrong = f"{(int(driver.otp()) + 1) % 1_000_000:06d}"
    with pytest.raises(errors.InvalidMfaCode):
        onboarding.confirm_mfa(user_id, ConfirmMfaRequest(email=email, otp=wrong))
    assert not adapters.signals.received(user_id, UserAction.MFA_CONFIRMATION)


def test_resend_invitation_restarts_the_wait_and_answers_unknown_emails_alike(driver, onboarding, tap, mail_request_consumer):
    email = new_email()
    user_id = driver.start(email)
    driver.invite(user_id)
    driver.run(user_id, "await_user_action", "WaitForConfirmation", action="CONFIRMATION", task_token="token-wait")
    invitations = tap.types(user_id).count("InvitationSent")

    known = onboarding.resend_invitation(ResendConfirmationRequest(email=email), "req-resend")
    unknown = onboarding.resend_invitation(ResendConfirmationRequest(email=new_email()), "req-resend")

    assert known.status == unknown.status == "CONFIRMATION_CODE_RESENT"
    assert driver.workflows.heartbeats == [] and tap.types(user_id).count("InvitationSent") == invitations, "the request only queues"
    assert sorted(mail_request_consumer.deliver()) == [False, True], "resent to the invited user only"
    assert driver.workflows.heartbeats == ["token-wait"]
    assert tap.types(user_id)[-1] == "InvitationSent"


def test_status_of_reports_the_steps_and_the_execution_to_the_creator_and_admins_only(driver, onboarding):
    created = onboarding.start(CreateUserRequest(full_name="Ada Lovelace", email=new_email()), "req-create")
    user_id, token = str(created.user_id), SecretStr(created.status_token)
    driver.run(user_id, "create_cognito_user", "CreateCognitoUser")
    for status in (onboarding.status_of(user_id, token, by_admin=False), onboarding.status_of(user_id, None, by_admin=True)):
        assert status.status == OnboardingStatus.CREATED
        assert [s.name for s in status.steps] == ["CreateCognitoUser"]
        assert status.execution.name == user_id and status.execution.arn.endswith(user_id)
    other = onboarding.start(CreateUserRequest(full_name="Other", email=new_email()), "req-other").status_token
    for presented in (None, SecretStr(token.get_secret_value()[:-1] + "x"), SecretStr(other)):
        with pytest.raises(errors.UserNotFound):  # as for an unknown id: the route confirms no user
            onboarding.status_of(user_id, presented, by_admin=False)


@pytest.mark.parametrize(
    ("outcome", "state", "status", "event"),
    [
        ("EXPIRED", "ExpireOnboarding", OnboardingStatus.EXPIRED, "OnboardingExpired"),
        ("FAILED", "CompensateFailedOnboarding", OnboardingStatus.FAILED, "OnboardingFailed"),
    ],
)
def test_compensation_removes_what_onboarding_made_and_frees_the_email(driver, adapters, settings, tap, outcome, state, status, event):
    email = new_email()
    user_id = driver.start(email)
    driver.invite(user_id)

    driver.run(user_id, "compensate", state, outcome=outcome)

    record = adapters.status.get(user_id)
    assert record.status == status and record.steps[-1].name == state
    assert adapters.claims.user_id_for(email) is None
    assert adapters.users.email_of(user_id) is None, "the Cognito user is deleted"
    assert tap.types(user_id)[-1] == event


def test_a_wait_without_its_token_is_refused(driver):
    user_id = driver.start(new_email())
    with pytest.raises(errors.InvalidRequest):
        driver.run(user_id, "await_user_action", "WaitForConfirmation", action="CONFIRMATION")


def qr_code_exists(adapters, user_id: str) -> bool:
    listed = boto3.client("s3").list_objects_v2(Bucket=adapters.qr_codes.bucket, Prefix=adapters.qr_codes.key(user_id))
    return listed.get("KeyCount", 0) > 0


def test_task_tokens_and_mfa_sessions_are_kept_only_while_needed(driver, settings):
    """Issue 15 item 9: each item holding a task token or a Cognito session has a TTL, and goes once used."""
    table = boto3.resource("dynamodb").Table(settings.status_table_name)
    email = new_email("lifetime")

    def item(user_id: str, sk: str) -> dict | None:
        return table.get_item(Key={"pk": f"USER#{user_id}", "sk": sk}, ConsistentRead=True).get("Item")

    def bounded(found: dict | None, longest_seconds: float) -> bool:
        return found is not None and int(found["expires_at"]) <= time.time() + longest_seconds + 1

    user_id = driver.start(email)
    driver.invite(user_id)
    driver.run(user_id, "await_user_action", "WaitForConfirmation", action="CONFIRMATION", task_token="token-confirmation")
    waiting = item(user_id, "SIGNAL#CONFIRMATION")
    assert waiting and waiting["task_token"] == "token-confirmation"
    assert bounded(waiting, (settings.temporary_password_validity_days + 1) * 86400)

    driver.onboarding.confirm(user_id, ConfirmUserRequest(email=email, temporary_password=TEMPORARY_PASSWORD, new_password=PASSWORD))
    assert bounded(item(user_id, "MFA_SETUP"), settings.auth_session_validity_minutes * 60)
    driver.run(user_id, "record_confirmation", "RecordConfirmation")
    moved_on = item(user_id, "SIGNAL#CONFIRMATION")
    assert moved_on and moved_on["received"] and "task_token" not in moved_on, "the token is dropped once the execution moved on"

    driver.run(user_id, "await_user_action", "WaitForMfaConfirmation", action="MFA_CONFIRMATION", task_token="token-mfa")
    driver.onboarding.confirm_mfa(user_id, ConfirmMfaRequest(email=email, otp=driver.otp()))
    assert item(user_id, "MFA_SETUP") is None, "Cognito's enrolment session goes once it has verified the code"
    driver.run(user_id, "activate_account", "ActivateAccount")
    assert item(user_id, "SIGNAL#CONFIRMATION") is None and item(user_id, "SIGNAL#MFA_CONFIRMATION") is None
