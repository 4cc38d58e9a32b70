"""Mfa (authflow.mfa) and the recovery-code store in-process: recovery codes at MFA confirmation,
each working once, a new set voiding the old; a new authenticator needing a second factor, its QR
link only mailed, its confirmation revoking the user's sessions. moto gives every user one TOTP seed
in-process, so the seed replacement itself is shown on the local stack (tests/e2e/test_mfa.py)."""

import base64
import uuid
from datetime import timedelta

import boto3
import pytest
from moto.ses.models import ses_backends
from pydantic import SecretStr

from authflow import errors
from authflow.mfa import Mfa
from authflow.models import (
    ConfirmMfaRequest,
    ConfirmUserRequest,
    RecoveryCodesRequest,
    RefreshTokenRequest,
    ResendMfaRequest,
    UserAction,
)
from authflow.sessions import Sessions
from authflow.status.recovery_codes import CODES_PER_SET, RECOVERY_CODE_PREFIX, RECOVERY_COUNT, count_key
from authflow.tokens import TokenUse
from authflow.users import AuditContext
from tests.support.in_process import PASSWORD, TEMPORARY_PASSWORD
from tests.unit.conftest import new_email


@pytest.fixture
def mfa(settings, adapters, onboarding) -> Mfa:
    return Mfa(settings, adapters, onboarding)


def onboard(driver, mfa: Mfa, email: str) -> tuple[str, list[str]]:
    """A user onboarded to ACTIVE through the confirm-mfa route's use case; their user_id and recovery codes."""
    user_id = driver.start(email)
    driver.invite(user_id)
    driver.run(user_id, "await_user_action", "WaitForConfirmation", action="CONFIRMATION", task_token="token-confirmation")
    driver.onboarding.confirm(user_id, ConfirmUserRequest(email=email, temporary_password=TEMPORARY_PASSWORD, new_password=PASSWORD))
    driver.run(user_id, "record_confirmation", "RecordConfirmation")
    driver.run(user_id, "await_user_action", "WaitForMfaConfirmation", action=UserAction.MFA_CONFIRMATION, task_token="token-mfa")
    confirmed = mfa.confirm_mfa(user_id, ConfirmMfaRequest(email=email, otp=driver.otp()), "req")
    driver.run(user_id, "activate_account", "ActivateAccount")
    return user_id, confirmed.recovery_codes


def mails_to(email: str) -> list[str]:
    region = boto3.session.Session().region_name
    return [m.body for m in ses_backends["123456789012"][region].sent_messages if email in m.destinations["ToAddresses"]]


def stored_items(adapters, user_id: str) -> list[dict]:
    return adapters.status.client.query(
        TableName=adapters.status.table_name, KeyConditionExpression=boto3.dynamodb.conditions.Key("pk").eq(f"USER#{user_id}")
    )["Items"]


def test_mfa_confirmation_hands_out_ten_distinct_codes_of_at_least_112_bits_stored_only_hashed(driver, mfa, adapters):
    email = new_email("codes")
    user_id, codes = onboard(driver, mfa, email)

    assert len(codes) == len(set(codes)) == CODES_PER_SET
    for code in codes:
        assert len(base64.b32decode(code.replace("-", "").upper())) * 8 >= 112
    stored = repr(stored_items(adapters, user_id))
    assert not any(code.replace("-", "").upper() in stored.upper() for code in codes), "only hashes are stored"
    assert sum(item["sk"].startswith(RECOVERY_CODE_PREFIX) for item in stored_items(adapters, user_id)) == CODES_PER_SET
    assert not any(code in body for body in mails_to(email) for code in codes), "never mailed"


def test_each_recovery_code_works_exactly_once_however_it_is_typed(driver, mfa, adapters):
    user_id, codes = onboard(driver, mfa, new_email("once"))

    assert adapters.recovery_codes.use(user_id, codes[0].upper().replace("-", " "))
    assert not adapters.recovery_codes.use(user_id, codes[0])
    assert not adapters.recovery_codes.use(user_id, "aaaa-bbbb-cccc-dddd-eeee-ffff")
    other_id, other_codes = onboard(driver, mfa, new_email("other"))
    assert not adapters.recovery_codes.use(user_id, other_codes[0]), "a code is its user's only"
    assert adapters.recovery_codes.left(user_id) == CODES_PER_SET - 1
    assert adapters.recovery_codes.left(other_id) == CODES_PER_SET


def stored_codes(adapters, user_id: str) -> tuple[int, int | None]:
    """The codes stored for the user, and their stored count (None without one)."""
    items = stored_items(adapters, user_id)
    count = next((int(item["codes_left"]) for item in items if item["sk"] == RECOVERY_COUNT), None)
    return sum(item["sk"].startswith(RECOVERY_CODE_PREFIX) for item in items), count


def test_the_codes_count_follows_every_change_of_the_codes(adapters):
    """Issue 13 item 3: the count GET /userinfo reads is written with the codes, whatever changes them."""
    store, user_id = adapters.recovery_codes, f"count-{uuid.uuid4()}"
    codes = store.replace(user_id)
    assert stored_codes(adapters, user_id) == (CODES_PER_SET, CODES_PER_SET)

    assert store.use(user_id, codes[0]) and store.use(user_id, codes[1])
    assert stored_codes(adapters, user_id) == (CODES_PER_SET - 2, CODES_PER_SET - 2)
    assert not store.use(user_id, codes[0]), "a used code"
    assert not store.use(user_id, "aaaa-bbbb-cccc-dddd-eeee-ffff"), "an unknown code"
    assert stored_codes(adapters, user_id) == (CODES_PER_SET - 2, CODES_PER_SET - 2), "a refused code changes no count"

    store.restore(user_id, codes[0])
    store.restore(user_id, codes[0])
    assert stored_codes(adapters, user_id) == (CODES_PER_SET - 1, CODES_PER_SET - 1), "a code given back twice counts once"
    assert store.left(user_id) == CODES_PER_SET - 1

    store.replace(user_id)
    assert stored_codes(adapters, user_id) == (CODES_PER_SET, CODES_PER_SET)
    store.void(user_id)
    assert stored_codes(adapters, user_id) == (0, 0) and store.left(user_id) == 0


def test_codes_stored_before_their_count_keep_working_and_are_counted(adapters):
    """Upgrading: a user whose codes predate the count has none; their codes are counted by a Query,
    change without one, and their next set brings it."""
    store, user_id = adapters.recovery_codes, f"legacy-{uuid.uuid4()}"
    codes = store.replace(user_id)
    store.client.delete_item(TableName=store.table_name, Key=count_key(user_id))

    assert store.left(user_id) == CODES_PER_SET
    assert store.use(user_id, codes[0]) and not store.use(user_id, codes[0])
    store.restore(user_id, codes[1])
    assert stored_codes(adapters, user_id) == (CODES_PER_SET - 1, None) and store.left(user_id) == CODES_PER_SET - 1
    store.replace(user_id)
    assert stored_codes(adapters, user_id) == (CODES_PER_SET, CODES_PER_SET)


def test_a_code_given_back_while_a_new_set_is_issued_does_not_survive_it(adapters, monkeypatch):
    """A code spent, then given back (its change failed) between the new set's read of the old one and its
    write, is voided all the same: the count read first no longer matches, so the set is read again."""
    store, user_id = adapters.recovery_codes, f"race-{uuid.uuid4()}"
    old = store.replace(user_id)
    assert store.use(user_id, old[0])
    read_old_set = store._sets

    def then_given_back(user: str):
        read = read_old_set(user)
        if read[1] is not None and read[1]["codes_left"] == CODES_PER_SET - 1:
            store.restore(user_id, old[0])
        return read

    monkeypatch.setattr(store, "_sets", then_given_back)
    store.replace(user_id)

    assert not store.use(user_id, old[0]), "the old set no longer works"
    assert stored_codes(adapters, user_id) == (CODES_PER_SET, CODES_PER_SET)


def test_a_new_set_needs_the_password_and_a_current_code_and_voids_the_old_one(driver, mfa, adapters, tap):
    email = new_email("regen")
    user_id, old = onboard(driver, mfa, email)

    with pytest.raises(errors.InvalidMfaCode):
        mfa.new_recovery_codes(RecoveryCodesRequest(email=email, password=PASSWORD, otp_code="000000"), "req")
    with pytest.raises(errors.InvalidCredentials):
        mfa.new_recovery_codes(RecoveryCodesRequest(email=email, password="Wrong-Passw0rd-1!", otp_code=driver.otp()), "req")
    assert adapters.recovery_codes.left(user_id) == CODES_PER_SET, "a refused request changes nothing"
    new = mfa.new_recovery_codes(RecoveryCodesRequest(email=email, password=PASSWORD, otp_code=driver.otp()), "req").recovery_codes

    assert not set(new) & set(old)
    assert not adapters.recovery_codes.use(user_id, old[0]), "the old set no longer works"
    assert adapters.recovery_codes.use(user_id, new[0])
    assert tap.types(user_id)[-1] == "RecoveryCodesRegenerated"
    assert "New recovery codes replaced your previous ones" in mails_to(email)[-1]
    assert not any(code in mails_to(email)[-1] for code in new)


def test_a_new_authenticator_without_a_second_factor_is_refused_and_mails_nothing(driver, mfa, tap):
    email = new_email("noproof")
    user_id, _ = onboard(driver, mfa, email)
    mailed = len(mails_to(email))

    with pytest.raises(errors.MfaProofRequired):
        mfa.enrol_new_authenticator(ResendMfaRequest(email=email, password=PASSWORD), "req")

    assert len(mails_to(email)) == mailed
    assert "MfaEnrolmentStarted" not in tap.types(user_id)


def test_a_wrong_recovery_code_is_refused_after_the_password_and_mails_nothing(driver, mfa, adapters):
    email = new_email("badcode")
    user_id, codes = onboard(driver, mfa, email)
    mailed = len(mails_to(email))

    with pytest.raises(errors.InvalidRecoveryCode):
        mfa.enrol_new_authenticator(ResendMfaRequest(email=email, password=PASSWORD, recovery_code="aaaa-bbbb-cccc-dddd-eeee-ffff"), "r")
    with pytest.raises(errors.InvalidCredentials):
        mfa.enrol_new_authenticator(ResendMfaRequest(email=email, password="Wrong-Passw0rd-1!", recovery_code=codes[0]), "r")

    assert adapters.recovery_codes.left(user_id) == CODES_PER_SET, "a wrong password spends no code"
    assert len(mails_to(email)) == mailed


def test_adding_a_device_mails_the_new_qr_link_and_its_confirmation_revokes_every_session(driver, mfa, adapters, settings, tap):
    email = new_email("adddevice")
    user_id, old_codes = onboard(driver, mfa, email)
    earlier = adapters.users.prove_totp(user_id, SecretStr(PASSWORD), SecretStr(driver.otp()), AuditContext("req"))

    answer = mfa.enrol_new_authenticator(ResendMfaRequest(email=email, password=PASSWORD, otp_code=driver.otp()), "req")

    assert answer.model_dump() == {"email": email, "status": "MFA_QR_LINK_SENT"}, "the link is only mailed"
    assert f"mfa_reenrolments/{user_id}.png" in mails_to(email)[-1]
    confirmed = mfa.confirm_mfa(user_id, ConfirmMfaRequest(email=email, otp=driver.otp()), "req")

    assert confirmed.other_sessions_revoked and len(confirmed.recovery_codes) == CODES_PER_SET
    assert not adapters.recovery_codes.use(user_id, old_codes[0]), "a new authenticator comes with a new set"
    with pytest.raises(errors.InvalidToken):
        Sessions(adapters, settings.login_state_machine_arn).refresh(
            RefreshTokenRequest(email=email, refresh_token=earlier.refresh_token), "r"
        )
    listed = boto3.client("s3").list_objects_v2(Bucket=adapters.qr_codes.bucket, Prefix=adapters.qr_codes.key(user_id, reenrolment=True))
    assert listed.get("KeyCount", 0) == 0, "the new seed's QR code is deleted once verified"
    assert tap.types(user_id)[-2:] == ["MfaEnrolmentStarted", "MfaReplaced"]
    assert "A new authenticator app replaced your previous one" in mails_to(email)[-1]
    with pytest.raises(errors.WrongOnboardingStep):
        mfa.confirm_mfa(user_id, ConfirmMfaRequest(email=email, otp=driver.otp()), "req")


def test_an_unconfirmed_reenrolments_qr_code_lives_under_the_expiring_prefix_and_goes_once_the_enrolment_expired(driver, mfa, adapters):
    """The bucket's lifecycle rule expires the prefix after a day; a confirmation tried after the
    pending enrolment expired removes the picture of the never-verified seed at once."""
    email = new_email("stalecode")
    user_id, _ = onboard(driver, mfa, email)
    s3, bucket = boto3.client("s3"), adapters.qr_codes.bucket
    mfa.enrol_new_authenticator(ResendMfaRequest(email=email, password=PASSWORD, otp_code=driver.otp()), "req")
    assert s3.head_object(Bucket=bucket, Key=f"mfa_reenrolments/{user_id}.png")["ContentType"] == "image/png"
    assert s3.list_objects_v2(Bucket=bucket, Prefix=f"users_mfa/{user_id}").get("KeyCount", 0) == 0

    adapters.mfa_sessions.save(user_id, SecretStr("expired-session"), timedelta(seconds=-1))  # TTL deletion is lazy
    with pytest.raises(errors.WrongOnboardingStep):
        mfa.confirm_mfa(user_id, ConfirmMfaRequest(email=email, otp=driver.otp()), "req")
    assert s3.list_objects_v2(Bucket=bucket, Prefix=f"mfa_reenrolments/{user_id}").get("KeyCount", 0) == 0


@pytest.mark.parametrize("failing", ["clear_totp", "start_new_enrolment"])
def test_a_recovery_code_spent_for_an_enrolment_cognito_then_failed_is_given_back(driver, mfa, adapters, monkeypatch, failing):
    """Cognito throttled after the code was spent (before or after the old seed was cleared): the code
    is back, nothing was mailed or left pending, and the code still works exactly once. (moto in-process
    has no MFA_SETUP challenge, so the retry's enrolment itself is the local stack's: tests/e2e/test_mfa.py.)"""
    email = new_email("flakylost")
    user_id, codes = onboard(driver, mfa, email)
    real = getattr(adapters.users, failing)
    calls: list[str] = []

    def throttled_once(*args):
        calls.append(user_id)
        if len(calls) == 1:
            raise errors.TransientError("The user directory is temporarily unavailable.")
        return real(*args)

    monkeypatch.setattr(adapters.users, failing, throttled_once)
    mailed = len(mails_to(email))
    request = ResendMfaRequest(email=email, password=PASSWORD, recovery_code=codes[0])
    with pytest.raises(errors.TransientError):
        mfa.enrol_new_authenticator(request, "req")
    assert adapters.recovery_codes.left(user_id) == CODES_PER_SET, "the failure cost no code"
    assert len(mails_to(email)) == mailed and adapters.mfa_sessions.get(user_id) is None

    assert adapters.recovery_codes.use(user_id, codes[0]) and not adapters.recovery_codes.use(user_id, codes[0])


def test_within_a_day_of_a_password_reset_only_a_recovery_code_enrols_a_new_authenticator(driver, mfa, adapters):
    email = new_email("afterreset")
    user_id, _ = onboard(driver, mfa, email)
    adapters.recent_resets.record(user_id, timedelta(hours=24))
    mailed = len(mails_to(email))

    with pytest.raises(errors.RecoveryCodeRequired):
        mfa.enrol_new_authenticator(ResendMfaRequest(email=email, password=PASSWORD, otp_code=driver.otp()), "req")
    with pytest.raises(errors.InvalidMfaCode):
        mfa.enrol_new_authenticator(ResendMfaRequest(email=email, password=PASSWORD, otp_code="000000"), "req")

    assert len(mails_to(email)) == mailed and adapters.mfa_sessions.get(user_id) is None
    adapters.recent_resets.record(user_id, timedelta(seconds=-1))
    assert mfa.enrol_new_authenticator(ResendMfaRequest(email=email, password=PASSWORD, otp_code=driver.otp()), "r").status


def test_an_operator_mfa_reset_clears_the_authenticator_and_codes_ends_sessions_and_tells_the_user(driver, mfa, adapters, settings, tap):
    email = new_email("opreset")
    user_id, codes = onboard(driver, mfa, email)
    earlier = adapters.users.prove_totp(user_id, SecretStr(PASSWORD), SecretStr(driver.otp()), AuditContext("req"))

    answer = mfa.reset_by_operator(user_id, "req")

    assert answer.status == "MFA_RESET" and answer.other_sessions_revoked
    user = boto3.client("cognito-idp").admin_get_user(UserPoolId=settings.user_pool_id, Username=user_id)
    assert "SOFTWARE_TOKEN_MFA" not in user.get("UserMFASettingList", [])
    assert adapters.recovery_codes.left(user_id) == 0 and not adapters.recovery_codes.use(user_id, codes[0])
    with pytest.raises(errors.InvalidToken):
        Sessions(adapters, settings.login_state_machine_arn).refresh(
            RefreshTokenRequest(email=email, refresh_token=earlier.refresh_token), "r"
        )
    assert "An administrator removed your authenticator app" in mails_to(email)[-1]
    assert tap.types(user_id)[-1] == "MfaResetByOperator"
    with pytest.raises(errors.UserNotFound):
        mfa.reset_by_operator("6b3e1c9a-0000-4000-8000-000000000000", "req")


def test_the_qr_mails_of_sign_ins_after_an_operator_reset_count_like_resend_mfas(driver, mfa, adapters, settings, monkeypatch):
    email = new_email("opresetflood")
    user_id, _ = onboard(driver, mfa, email)
    mfa.reset_by_operator(user_id, "req")
    enrolments: list[str] = []
    monkeypatch.setattr(adapters.users, "start_new_enrolment", lambda *args: enrolments.append(user_id))
    for _ in range(settings.resend_mfa_limit_per_hour):  # the user's resends this hour, through resend-mfa or sign-ins
        adapters.rate_counters.count(user_id, "resend-mfa", timedelta(hours=1))
    mailed = len(mails_to(email))

    with pytest.raises(errors.TooManyRequests) as refused:
        mfa.enrol_after_operator_reset(user_id, email, SecretStr(PASSWORD), "req")
    assert refused.value.retry_after > 0 and enrolments == [] and len(mails_to(email)) == mailed


def test_an_operator_sign_out_revokes_every_refresh_token(driver, mfa, adapters, settings, tap):
    email = new_email("opsignout")
    user_id, _ = onboard(driver, mfa, email)
    earlier = adapters.users.prove_totp(user_id, SecretStr(PASSWORD), SecretStr(driver.otp()), AuditContext("req"))

    assert mfa.sign_out_by_operator(user_id, "req").status == "SIGNED_OUT"

    with pytest.raises(errors.InvalidToken):
        Sessions(adapters, settings.login_state_machine_arn).refresh(
            RefreshTokenRequest(email=email, refresh_token=earlier.refresh_token), "r"
        )
    with pytest.raises(errors.InvalidToken):
        adapters.verifier.verify(SecretStr(earlier.id_token), accept=(TokenUse.ACCESS, TokenUse.ID))
    assert tap.types(user_id)[-1] == "SignedOutByOperator"
