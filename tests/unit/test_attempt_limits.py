"""Attempt limits (authflow.attempts, status.lockouts): wrong passwords, TOTP codes and reset codes are
counted per user, known or unknown (NIST SP 800-63B-4 §3.2.2; OWASP ASVS 5.0 6.3.1); the failure that
reaches the limit locks the user, and while locked even the right code is refused with a Retry-After."""

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from authflow import errors
from authflow.attempts import AttemptLimits, Factor
from authflow.mfa import Mfa
from authflow.models import (
    ConfirmMfaRequest,
    ConfirmPasswordRequest,
    ConfirmUserRequest,
    ForgotPasswordRequest,
    LoginRequest,
    MfaVerifyRequest,
    ResendMfaRequest,
)
from authflow.sessions import Sessions
from authflow.status import Lockouts
from authflow.status.lockouts import LockoutPolicy
from tests.support.in_process import PASSWORD, TEMPORARY_PASSWORD
from tests.unit.conftest import new_email

WRONG_PASSWORD = "Wrong-Passw0rd-1!"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def lockouts(settings, clock) -> Lockouts:
    return Lockouts(settings.status_table_name, clock, LockoutPolicy(limit=5, window=timedelta(minutes=15), duration=timedelta(minutes=15)))


@pytest.fixture
def sessions(adapters, settings) -> Sessions:
    return Sessions(adapters, login_state_machine_arn=settings.login_state_machine_arn)


def wrong_otp(driver) -> str:
    return f"{(int(driver.otp()) + 1) % 1_000_000:06d}"


def test_the_template_defaults_are_five_failures_in_fifteen_minutes_then_fifteen_minutes_locked(settings):
    assert (settings.failed_attempt_limit, settings.failed_attempt_window_seconds, settings.lockout_seconds) == (5, 900, 900)


def test_the_fifth_failure_in_the_window_locks_for_the_lockout(lockouts, clock):
    subject = new_email()
    assert [lockouts.record_failure(subject, subject) for _ in range(4)] == [None] * 4
    assert lockouts.locked_until(subject) is None
    until = lockouts.record_failure(subject, subject)
    assert until == clock.now + timedelta(minutes=15) == lockouts.locked_until(subject)
    clock.now += timedelta(minutes=15, seconds=1)
    assert lockouts.locked_until(subject) is None, "the lock ends"
    assert lockouts.record_failure(subject, subject) is None, "and the count starts again"


def test_failures_spread_beyond_the_window_do_not_lock(lockouts, clock):
    subject = new_email()
    for _ in range(4):
        assert lockouts.record_failure(subject, subject) is None
    clock.now += timedelta(minutes=16)
    for _ in range(4):
        assert lockouts.record_failure(subject, subject) is None
    assert lockouts.locked_until(subject) is None


def test_a_locked_subject_is_refused_before_the_check_runs_and_the_lock_is_announced(adapters, lockouts, clock, tap):
    attempts = AttemptLimits(dataclasses.replace(adapters, lockouts=lockouts, clock=clock))
    subject, checked = new_email(), []

    def wrong() -> None:
        checked.append(1)
        raise errors.InvalidMfaCode()

    for _ in range(4):
        with pytest.raises(errors.InvalidMfaCode):
            attempts.attempt(subject, Factor.TOTP, wrong, (errors.InvalidMfaCode,), "req")
    with pytest.raises(errors.TooManyAttempts) as locking:
        attempts.attempt(subject, Factor.TOTP, wrong, (errors.InvalidMfaCode,), "req")
    clock.now += timedelta(minutes=5)
    with pytest.raises(errors.TooManyAttempts) as locked:
        attempts.attempt(subject, Factor.TOTP, lambda: checked.append(1), (errors.InvalidMfaCode,), "req")

    assert len(checked) == 5, "the attempt during the lock was not checked"
    assert locking.value.retry_after == 900 and locked.value.retry_after == 600
    [event] = [e["detail"] for e in tap.events() if e["detail"]["user_id"] == subject]
    assert event["factor"] == "TOTP" and event["failures"] == 5 and event["locked_until"].startswith("2026-01-01T12:15:00")


def test_five_wrong_totp_codes_at_login_lock_the_user_and_the_right_code_is_refused(sessions, driver, tap):
    email = new_email("lock-totp")
    user_id = driver.onboard(email)

    def verify(code: str):
        started = sessions.login(LoginRequest(email=email, password=PASSWORD), "req")
        request = MfaVerifyRequest(
            email=email, verification_type="SOFTWARE_TOKEN_MFA", verification_session=started.verification_session, otp_code=code
        )
        return sessions.verify_mfa(request, "req")

    for _ in range(4):
        with pytest.raises(errors.InvalidMfaCode):
            verify(wrong_otp(driver))
    with pytest.raises(errors.TooManyAttempts) as locking:
        verify(wrong_otp(driver))
    assert 0 < locking.value.retry_after <= 900
    with pytest.raises(errors.TooManyAttempts) as right_code:
        sessions.login(LoginRequest(email=email, password=PASSWORD), "req")
    assert 0 < right_code.value.retry_after <= 900, "the lock covers the password step too"
    assert tap.types(user_id).count("AccountLocked") == 1


def test_a_known_and_an_unknown_email_are_locked_alike_after_five_wrong_passwords(sessions, driver):
    known = new_email("lock-known")
    driver.onboard(known)
    for email in (known, new_email("lock-unknown")):
        answers = []
        for _ in range(6):
            with pytest.raises(errors.AuthflowError) as refusal:
                sessions.login(LoginRequest(email=email, password=WRONG_PASSWORD), "req")
            answers.append(refusal.value.code)
        assert answers == ["INVALID_CREDENTIALS"] * 4 + ["TOO_MANY_ATTEMPTS"] * 2, email


def test_five_wrong_codes_at_confirm_mfa_lock_the_enrolment(driver, onboarding, tap):
    email = new_email("lock-enrol")
    user_id = driver.start(email)
    driver.invite(user_id)
    onboarding.confirm(user_id, ConfirmUserRequest(email=email, temporary_password=TEMPORARY_PASSWORD, new_password=PASSWORD))
    for _ in range(4):
        with pytest.raises(errors.InvalidMfaCode):
            onboarding.confirm_mfa(user_id, ConfirmMfaRequest(email=email, otp=wrong_otp(driver)))
    with pytest.raises(errors.TooManyAttempts):
        onboarding.confirm_mfa(user_id, ConfirmMfaRequest(email=email, otp=wrong_otp(driver)))
    with pytest.raises(errors.TooManyAttempts):
        onboarding.confirm_mfa(user_id, ConfirmMfaRequest(email=email, otp=driver.otp()))
    assert "MfaEnrolled" not in tap.types(user_id) and tap.types(user_id).count("AccountLocked") == 1


@pytest.mark.parametrize("known", [True, False], ids=["known", "unknown"])
def test_five_wrong_reset_codes_lock_a_known_and_an_unknown_email_alike(passwords, driver, known):
    email = new_email("lock-reset")
    if known:
        driver.onboard(email)
    path_id = str(passwords.forgot(ForgotPasswordRequest(email=email), "req").user_id)
    answers = []
    for _ in range(6):
        request = ConfirmPasswordRequest(email=email, new_password="Reset-Passw0rd-77!", verification_code="moto-confirmation-code:000000")
        with pytest.raises(errors.AuthflowError) as refusal:
            passwords.confirm(path_id, request)
        answers.append(refusal.value.code)
    assert answers == ["INVALID_VERIFICATION_CODE"] * 4 + ["TOO_MANY_ATTEMPTS"] * 2
    if known:
        # moto accepts any other code: the lock refuses it all the same
        right = ConfirmPasswordRequest(email=email, new_password="Reset-Passw0rd-77!", verification_code="123456")
        with pytest.raises(errors.TooManyAttempts):
            passwords.confirm(path_id, right)


@pytest.mark.parametrize("known", [True, False], ids=["known", "unknown"])
def test_resend_mfa_counts_wrong_passwords_like_login_for_known_and_unknown_emails(settings, adapters, onboarding, driver, known):
    # the mail limit (5 an hour) is raised to see the lockout alone
    mfa = Mfa(settings.model_copy(update={"mail_requests_per_email_per_hour": 100}), adapters, onboarding)
    email = new_email("lock-resend")
    if known:
        driver.onboard(email)
    answers = []
    for _ in range(6):
        with pytest.raises(errors.AuthflowError) as refusal:
            mfa.enrol_new_authenticator(ResendMfaRequest(email=email, password=WRONG_PASSWORD, otp_code="123456"), "req")
        answers.append(refusal.value.code)
    assert answers == ["INVALID_CREDENTIALS"] * 4 + ["TOO_MANY_ATTEMPTS"] * 2


def test_a_lock_set_by_another_factor_refuses_the_password_step_which_reads_it_under_the_emails_pseudo_id(sessions, adapters, driver):
    """The password step reads the lock with the email's claim, under the email's pseudo-id, before it
    knows the user id: a lock set where only the user id is known (recovery codes) is mirrored there."""
    email = new_email("lock-mirror")
    user_id = driver.onboard(email)
    attempts = AttemptLimits(adapters)
    for _ in range(4):
        attempts.fail(user_id, Factor.RECOVERY_CODE)
    with pytest.raises(errors.TooManyAttempts):
        attempts.fail(user_id, Factor.RECOVERY_CODE)
    assert adapters.lockouts.locked_until(adapters.pseudo_ids.for_email(email)) == adapters.lockouts.locked_until(user_id)
    with pytest.raises(errors.TooManyAttempts) as right_password:
        sessions.login(LoginRequest(email=email, password=PASSWORD), "req")
    assert 0 < right_password.value.retry_after <= 900
