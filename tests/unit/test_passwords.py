"""Passwords (authflow.passwords) in-process: forgot-password queueing a request that starts a reset
execution (MailRequestFunction's work, run here by the mail request consumer), the reset workflow's tasks and confirm-password (which revokes the user's sessions)."""

import uuid

import boto3
import pytest
from pydantic import SecretStr

from authflow import errors
from authflow.models import (
    ConfirmPasswordRequest,
    ForgotPasswordRequest,
    PasswordResetTask,
    ResetPasswordRequest,
    ResetPasswordResponse,
    UserAction,
)
from tests.support.in_process import PASSWORD
from tests.unit.conftest import new_email


@pytest.fixture
def user(driver) -> tuple[str, str]:
    email = new_email("reset")
    return driver.onboard(email), email


def run(passwords, workflows, user_id: str, task: str, state: str, token: str | None = None) -> dict:
    arn, name, reset = next(s for s in reversed(workflows.started) if s[2].get("user_id") == user_id and s[1].startswith("reset-"))
    return passwords.run_reset_task(PasswordResetTask(task=task, state=state, reset=reset, execution_arn=f"{arn}:{name}", task_token=token))


def test_forgot_password_starts_a_reset_and_answers_every_email_its_stable_pseudo_id(
    passwords, workflows, user, mail_request_settings, adapters, mail_request_consumer
):
    user_id, email = user
    known = passwords.forgot(ForgotPasswordRequest(email=email), "req")
    stranger = new_email()
    unknown = [passwords.forgot(ForgotPasswordRequest(email=stranger), "req") for _ in range(2)]

    assert str(known.user_id) == adapters.pseudo_ids.for_email(email) != user_id, "the answer tells no one the user exists"
    assert known.user_id == passwords.forgot(ForgotPasswordRequest(email=email), "req").user_id
    assert not [s for s in workflows.started if s[1].startswith("reset-")], "the request starts nothing: the mail request function does"
    assert sorted(mail_request_consumer.deliver()) == [False, False, True, True]
    machine, name, execution_input = workflows.started[-1]
    assert machine == mail_request_settings.password_reset_state_machine_arn and name.startswith(f"reset-{user_id}-")
    assert execution_input == {"user_id": user_id, "request_id": "req", "code_validity_seconds": 3600}
    assert unknown[0].user_id == unknown[1].user_id != known.user_id
    assert sum(1 for s in workflows.started if s[1].startswith("reset-")) == 2, "no execution for an unknown email"


def test_the_reset_tasks_wait_for_the_new_password_and_record_it(passwords, workflows, user, tap, adapters, mail_request_consumer):
    user_id, email = user
    passwords.forgot(ForgotPasswordRequest(email=email), "req")
    mail_request_consumer.deliver()
    run(passwords, workflows, user_id, "request_reset_code", "SendResetCode")
    run(passwords, workflows, user_id, "await_new_password", "WaitForNewPassword", token="token-reset")

    confirmed = passwords.confirm(
        user_id, ConfirmPasswordRequest(email=email, new_password="Reset-Passw0rd-77!", verification_code="123456")
    )

    assert str(confirmed.user_id) == user_id and confirmed.other_sessions_revoked
    assert adapters.recent_resets.recent(user_id), "for a day, a new authenticator needs a recovery code"
    assert workflows.resumed[-1] == ("token-reset", {"action": "PASSWORD_RESET", "received": True})
    run(passwords, workflows, user_id, "record_password_reset", "RecordPasswordReset")
    assert adapters.signals.waiting_token(user_id, UserAction.PASSWORD_RESET) is None
    assert tap.types(user_id)[-2:] == ["PasswordResetRequested", "PasswordResetCompleted"]


def test_a_newer_request_cancels_the_waiting_reset(passwords, workflows, user, mail_request_consumer):
    user_id, email = user
    passwords.forgot(ForgotPasswordRequest(email=email), "req")
    mail_request_consumer.deliver()
    run(passwords, workflows, user_id, "await_new_password", "WaitForNewPassword", token="token-first")
    passwords.forgot(ForgotPasswordRequest(email=email), "req")
    assert workflows.cancelled == []
    mail_request_consumer.deliver()
    assert workflows.cancelled == [("token-first", "PasswordResetSuperseded")]


def test_a_confirmation_before_the_wait_resumes_it_and_an_expiry_is_recorded(passwords, workflows, user, tap, mail_request_consumer):
    user_id, email = user
    passwords.forgot(ForgotPasswordRequest(email=email), "req")
    mail_request_consumer.deliver()
    passwords.confirm(user_id, ConfirmPasswordRequest(email=email, new_password="Reset-Passw0rd-77!", verification_code="123456"))
    run(passwords, workflows, user_id, "await_new_password", "WaitForNewPassword", token="token-late")
    assert workflows.resumed[-1][0] == "token-late"
    run(passwords, workflows, user_id, "expire_password_reset", "ExpirePasswordReset")
    assert tap.types(user_id)[-1] == "PasswordResetExpired"
    with pytest.raises(errors.InvalidRequest):
        run(passwords, workflows, user_id, "await_new_password", "WaitForNewPassword")


def test_confirm_password_for_another_user_or_with_a_wrong_code_is_refused(passwords, user):
    user_id, email = user
    with pytest.raises(errors.InvalidVerificationCode):
        passwords.confirm(user_id, ConfirmPasswordRequest(email=new_email(), new_password="Reset-Passw0rd-77!", verification_code="1"))
    # moto checks only codes of its own form (the local stack checks the mailed one: infra/cognito.py).
    with pytest.raises(errors.InvalidVerificationCode):
        passwords.confirm(
            user_id,
            ConfirmPasswordRequest(email=email, new_password="Reset-Passw0rd-77!", verification_code="moto-confirmation-code:000000"),
        )


def test_the_operator_reset_starts_the_forgot_password_reset_only_for_a_matching_id_and_email(
    passwords, workflows, user, driver, tap, mail_request_consumer
):
    user_id, email = user
    other_id = driver.onboard(new_email("other"))
    mismatched = [
        passwords.operator_reset(other_id, ResetPasswordRequest(email=email), "req"),
        passwords.operator_reset(str(uuid.uuid4()), ResetPasswordRequest(email=email), "req"),
        passwords.operator_reset(user_id, ResetPasswordRequest(email=new_email()), "req"),
    ]
    assert mail_request_consumer.deliver() == [False] * 3
    assert not [s for s in workflows.started if s[1].startswith("reset-")], "no reset for a mismatched id and email"

    matched = passwords.operator_reset(user_id, ResetPasswordRequest(email=email), "req-operator")
    assert mail_request_consumer.deliver() == [True]

    assert {type(a) for a in [*mismatched, matched]} == {ResetPasswordResponse}
    assert {a.status for a in [*mismatched, matched]} == {"PASSWORD_FORGOT_CONFIRMATION_SENT"}
    assert (matched.email, str(matched.user_id)) == (email, user_id)
    _, name, execution_input = workflows.started[-1]
    assert name.startswith(f"reset-{user_id}-") and execution_input["request_id"] == "req-operator"
    run(passwords, workflows, user_id, "request_reset_code", "SendResetCode")
    assert tap.types(user_id)[-1] == "PasswordResetRequested"
    assert driver.onboarding.users.authenticate(user_id, SecretStr(PASSWORD)).name == "SOFTWARE_TOKEN_MFA", "the password still works"


def test_a_forced_reset_stops_the_password_at_once_and_is_an_event(passwords, user, tap):
    user_id, email = user
    with pytest.raises(errors.UserNotFound):
        passwords.force_reset(str(uuid.uuid4()), ResetPasswordRequest(email=email, force=True), "req")

    # The unit stack's moto drops attributes when the invitation is re-sent (the local stack does not): set them again.
    cognito = boto3.client("cognito-idp")
    verified_email = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]
    cognito.admin_update_user_attributes(UserPoolId=passwords.settings.user_pool_id, Username=user_id, UserAttributes=verified_email)

    forced = passwords.force_reset(user_id, ResetPasswordRequest(email=email, force=True), "req-force")

    assert forced.status == "PASSWORD_RESET_FORCED"
    assert tap.types(user_id)[-1] == "PasswordResetForced"
    status = cognito.admin_get_user(UserPoolId=passwords.settings.user_pool_id, Username=user_id)["UserStatus"]
    assert status == "RESET_REQUIRED"
