"""Sessions (authflow.sessions) in-process: login through the login workflow's task (FakeWorkflows runs
it as the Express state machine would), refresh, user info, logout and password change, on moto's
Cognito with the real token verification (MotoJwksVerifier only supplies moto's keys)."""

from datetime import timedelta

import pytest
from pydantic import SecretStr

from authflow import errors
from authflow.models import (
    ChangePasswordRequest,
    LoginRequest,
    LoginResult,
    LoginTask,
    LogoutRequest,
    MfaVerifyRequest,
    RefreshTokenRequest,
)
from authflow.sessions import Sessions
from tests.support.in_process import PASSWORD
from tests.unit.conftest import new_email


@pytest.fixture
def sessions(adapters, workflows, settings) -> Sessions:
    sessions = Sessions(adapters, login_state_machine_arn=settings.login_state_machine_arn)
    workflows.login_task = sessions.run_login_task  # the login task function, with the same bundle
    return sessions


@pytest.fixture
def user(driver) -> tuple[str, str]:
    email = new_email("login")
    return driver.onboard(email), email


def sign_in(sessions, driver, email: str, password: str = PASSWORD):
    started = sessions.login(LoginRequest(email=email, password=password), "req-login")
    return sessions.verify_mfa(
        MfaVerifyRequest(
            email=email, verification_type="SOFTWARE_TOKEN_MFA", verification_session=started.verification_session, otp_code=driver.otp()
        ),
        "req-mfa",
    )


def test_login_then_mfa_issues_tokens_whose_claims_name_the_user(sessions, driver, user, adapters):
    user_id, email = user
    tokens = sign_in(sessions, driver, email)
    claims = adapters.verifier.verify(SecretStr(tokens.access_token))
    assert claims.user_id == user_id and tokens.refresh_token and tokens.expires_in > 0


def test_a_wrong_password_and_an_unknown_email_are_refused_alike(sessions, user):
    _, email = user
    with pytest.raises(errors.InvalidCredentials):
        sessions.login(LoginRequest(email=email, password="Wrong-Passw0rd-1!"), "req")
    with pytest.raises(errors.InvalidCredentials):
        sessions.login(LoginRequest(email=new_email(), password="Wrong-Passw0rd-1!"), "req")


def test_the_unknown_email_gets_a_stable_pseudo_id_and_a_wrong_code_is_refused(sessions, adapters, driver, user):
    _, email = user
    stranger = new_email()
    results = []
    for _ in range(2):
        handoff = f"h-{stranger}"
        adapters.handoffs.put(handoff, "request", {"email": stranger, "password": "x"}, ttl=timedelta(minutes=1))
        results.append(
            sessions.run_login_task(
                LoginTask(
                    step="PASSWORD", task="verify_password", state="VerifyPassword", handoff_id=handoff, request_id="r", execution_arn="arn"
                )
            )
        )
    assert results[0] == results[1] and results[0].reason == "INVALID_CREDENTIALS"
    assert results[0].user_id == adapters.pseudo_ids.for_email(stranger)

    started = sessions.login(LoginRequest(email=email, password=PASSWORD), "req")
    wrong = f"{(int(driver.otp()) + 1) % 1_000_000:06d}"
    with pytest.raises(errors.InvalidMfaCode):
        sessions.verify_mfa(
            MfaVerifyRequest(
                email=email, verification_type="SOFTWARE_TOKEN_MFA", verification_session=started.verification_session, otp_code=wrong
            ),
            "req",
        )


def test_a_consumed_handoff_is_a_session_expired_refusal(sessions):
    result = sessions.run_login_task(
        LoginTask(step="MFA", task="verify_mfa_code", state="VerifyMfaCode", handoff_id="gone", request_id="r", execution_arn="arn")
    )
    assert result == LoginResult(outcome="REFUSED", user_id="unknown", reason="SESSION_EXPIRED")


def test_a_login_workflow_that_fails_is_a_transient_error(sessions, workflows, user):
    workflows.login_status = "FAILED"
    with pytest.raises(errors.TransientError):
        sessions.login(LoginRequest(email=user[1], password=PASSWORD), "req")


def test_refresh_user_info_and_logout(sessions, driver, user, tap):
    user_id, email = user
    tokens = sign_in(sessions, driver, email)

    refreshed = sessions.refresh(RefreshTokenRequest(email=email, refresh_token=tokens.refresh_token), "req-refresh")
    info = sessions.user_info(SecretStr(refreshed.access_token))
    assert str(info.user_id) == user_id and info.groups == []
    with pytest.raises(errors.InvalidToken):
        sessions.refresh(RefreshTokenRequest(email=new_email(), refresh_token=tokens.refresh_token), "req")

    with pytest.raises(errors.InvalidToken):
        sessions.logout(LogoutRequest(email=new_email(), access_token=tokens.access_token), "req")
    assert sessions.logout(LogoutRequest(email=email, access_token=tokens.access_token), "req-logout").user_status == "logout"
    assert tap.types(user_id)[-2:] == ["TokenRefreshed", "LoggedOut"]


def test_a_forged_token_is_invalid(sessions):
    with pytest.raises(errors.InvalidToken):
        sessions.user_info(SecretStr("not.a.jwt"))


def test_change_password_needs_the_previous_one(sessions, driver, user, tap):
    user_id, email = user
    tokens = sign_in(sessions, driver, email)
    with pytest.raises(errors.InvalidCredentials):
        sessions.change_password(
            ChangePasswordRequest(
                access_token=tokens.access_token, previous_password="Wrong-Passw0rd-1!", proposed_password="New-Passw0rd-2024!"
            ),
            "req",
        )
    sessions.change_password(
        ChangePasswordRequest(access_token=tokens.access_token, previous_password=PASSWORD, proposed_password="New-Passw0rd-2024!"), "req"
    )
    assert sessions.login(LoginRequest(email=email, password="New-Passw0rd-2024!"), "req").verification_session
    assert tap.types(user_id)[-1] == "PasswordChanged"
