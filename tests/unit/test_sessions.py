"""Sessions (authflow.sessions) in-process: login through the login workflow (FakeWorkflows makes each
step's Cognito call as workflows/login.asl.json does), refresh, user info, logout and password change, on moto's
Cognito with the real token verification (MotoJwksVerifier only supplies moto's keys)."""

import json
import uuid

import boto3
import pytest
from botocore.client import BaseClient
from pydantic import SecretStr, ValidationError

from authflow import errors
from authflow.aws import table_client
from authflow.models import (
    IN_FLIGHT,
    ChangePasswordAliasRequest,
    ChangePasswordRequest,
    LoginInput,
    LoginRequest,
    LogoutRequest,
    MfaVerifyRequest,
    RefreshTokenRequest,
)
from authflow.sessions import Sessions
from authflow.status.lockouts import lockout_key
from authflow.status.recovery_codes import CODES_PER_SET, count_key
from authflow.tokens import TokenUse
from tests.support.in_process import PASSWORD
from tests.unit.conftest import new_email
from tests.unit.test_same_timing import aws_operations


@pytest.fixture
def sessions(adapters, settings) -> Sessions:
    return Sessions(adapters, login_state_machine_arn=settings.login_state_machine_arn)


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


def test_the_unknown_email_fails_under_a_stable_pseudo_id_and_a_wrong_code_is_refused(sessions, adapters, driver, user, tap):
    _, email = user
    stranger = new_email()
    for _ in range(2):
        with pytest.raises(errors.InvalidCredentials):
            sessions.login(LoginRequest(email=stranger, password="Wrong-Passw0rd-1!"), "req-stranger")
    failed = [e["detail"] for e in tap.events() if e["detail-type"] == "LoginFailed" and e["detail"]["request_id"] == "req-stranger"]
    assert [f["user_id"] for f in failed] == [adapters.pseudo_ids.for_email(stranger)] * 2
    assert {f["reason"] for f in failed} == {"INVALID_CREDENTIALS"} and all(f["execution_arn"] for f in failed)

    started = sessions.login(LoginRequest(email=email, password=PASSWORD), "req")
    wrong = f"{(int(driver.otp()) + 1) % 1_000_000:06d}"
    with pytest.raises(errors.InvalidMfaCode):
        sessions.verify_mfa(
            MfaVerifyRequest(
                email=email, verification_type="SOFTWARE_TOKEN_MFA", verification_session=started.verification_session, otp_code=wrong
            ),
            "req",
        )


def test_a_session_for_another_user_or_not_from_login_is_an_expired_session(sessions, driver, user):
    """The verification session names its user: another user's email with it, or a session /login never
    answered, is refused before Cognito is asked."""
    _, email = user
    other_email = new_email("other")
    driver.onboard(other_email)
    started = sessions.login(LoginRequest(email=email, password=PASSWORD), "req")
    for address, session in ((other_email, started.verification_session), (email, "AYABeNotFromLogin")):
        with pytest.raises(errors.SessionExpired):
            sessions.verify_mfa(
                MfaVerifyRequest(
                    email=address, verification_type="SOFTWARE_TOKEN_MFA", verification_session=session, otp_code=driver.otp()
                ),
                "req",
            )


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
    # The refresh's TokenRefreshed is Cognito's pre token generation trigger's (tests/e2e/test_sign_in.py), not the use case's.
    assert "TokenRefreshed" not in tap.types(user_id) and tap.types(user_id)[-1] == "LoggedOut"


def test_a_forged_token_is_invalid(sessions):
    with pytest.raises(errors.InvalidToken):
        sessions.user_info(SecretStr("not.a.jwt"))


def test_change_password_needs_the_previous_one_and_the_token_of_the_user_named(sessions, driver, user, tap):
    user_id, email = user
    tokens = sign_in(sessions, driver, email)
    new = "New-Passw0rd-2024!"

    def request(old: str, **names) -> ChangePasswordRequest:
        return ChangePasswordRequest(email=email, old_password=old, new_password=new, access_token=tokens.access_token, **names)

    with pytest.raises(errors.InvalidCredentials):
        sessions.change_password(user_id, request("Wrong-Passw0rd-1!"), "req")
    with pytest.raises(errors.InvalidToken):
        sessions.change_password(str(uuid.uuid4()), request(PASSWORD), "req")
    with pytest.raises(errors.InvalidToken):
        sessions.change_password(user_id, request(PASSWORD).model_copy(update={"email": new_email()}), "req")
    sessions.change_password(user_id, request(PASSWORD), "req")
    assert sessions.login(LoginRequest(email=email, password=new), "req").verification_session
    assert tap.types(user_id)[-1] == "PasswordChanged"


def test_the_change_password_alias_takes_cognitoapis_names_and_the_deprecated_ones(sessions, driver, user):
    _, email = user
    tokens = sign_in(sessions, driver, email)
    deprecated = ChangePasswordAliasRequest(
        access_token=tokens.access_token, previous_password=PASSWORD, proposed_password="Second-Passw0rd-9!"
    )
    assert sessions.change_password_alias(deprecated, "req").other_sessions_revoked
    tokens = sign_in(sessions, driver, email, "Second-Passw0rd-9!")  # the change ended every session, this one too
    cognitoapi = ChangePasswordAliasRequest(
        email=email, access_token=tokens.access_token, old_password="Second-Passw0rd-9!", new_password="Third-Passw0rd-9!"
    )
    sessions.change_password_alias(cognitoapi, "req")
    assert sessions.login(LoginRequest(email=email, password="Third-Passw0rd-9!"), "req").verification_session
    with pytest.raises(ValidationError):
        ChangePasswordAliasRequest(access_token="t", old_password=PASSWORD, previous_password=PASSWORD, new_password="x")
    with pytest.raises(ValidationError):
        ChangePasswordAliasRequest(access_token="t", old_password=PASSWORD)


def test_mfa_verify_takes_the_user_id_in_email_and_refuses_unknown_ids_and_emails_like_a_foreign_session(sessions, driver, user):
    user_id, email = user
    started = sessions.login(LoginRequest(email=email, password=PASSWORD), "req")

    def verify(identifier: str):
        request = MfaVerifyRequest(
            email=identifier,
            verification_type="SOFTWARE_TOKEN_MFA",
            verification_session=started.verification_session,
            otp_code=driver.otp(),
        )
        return sessions.verify_mfa(request, "req")

    refusals = []
    for unknown in (str(uuid.uuid4()), new_email()):
        with pytest.raises(errors.SessionExpired) as refused:
            verify(unknown)
        refusals.append(refused.value.message)
    other_email = new_email("other")
    driver.onboard(other_email)
    with pytest.raises(errors.SessionExpired) as foreign:
        verify(other_email)
    assert refusals[0] == refusals[1] == foreign.value.message, "an existing account answers like no account"
    assert str(sessions.user_info(SecretStr(verify(user_id.upper()).access_token)).user_id) == user_id


def test_userinfo_takes_the_id_token_as_cognitoapis_clients_send_it_and_answers_its_fields(sessions, driver, user, settings):
    user_id, email = user
    # The unit stack's moto drops attributes when the invitation is re-sent (the local stack does not): set them again.
    attributes = {"email": email, "name": "Ada Lovelace", "given_name": "Ada", "family_name": "Lovelace", "phone_number": "+33612345678"}
    boto3.client("cognito-idp").admin_update_user_attributes(
        UserPoolId=settings.user_pool_id, Username=user_id, UserAttributes=[{"Name": k, "Value": v} for k, v in attributes.items()]
    )
    tokens = sign_in(sessions, driver, email)
    by_id_token = sessions.user_info(SecretStr(tokens.id_token))
    by_access_token = sessions.user_info(SecretStr(tokens.access_token))
    assert by_id_token == by_access_token
    assert by_id_token.model_dump(mode="json") == {
        "name": "Ada Lovelace",
        "user_id": user_id,
        "email": email,
        "phone_number": "+33612345678",
        "groups": [],
        "given_name": "Ada",
        "family_name": "Lovelace",
        "recovery_codes_left": 10,
    }


def test_after_logout_neither_token_of_that_sign_in_works_and_another_sign_in_is_untouched(sessions, driver, user, adapters):
    user_id, email = user
    tokens = sign_in(sessions, driver, email)
    sessions.logout(LogoutRequest(email=email, access_token=tokens.access_token), "req-logout")
    for token in (tokens.id_token, tokens.access_token):
        with pytest.raises(errors.InvalidToken):
            sessions.user_info(SecretStr(token))
        with pytest.raises(errors.InvalidToken):
            adapters.verifier.verify(SecretStr(token), accept=(TokenUse.ACCESS, TokenUse.ID))
    again = sign_in(sessions, driver, email)
    assert str(sessions.user_info(SecretStr(again.id_token)).user_id) == user_id


def test_a_password_change_ends_the_id_tokens_of_every_earlier_sign_in_and_no_later_one(sessions, driver, user, adapters):
    """Cognito's AdminUserGlobalSignOut leaves id tokens valid: authflow refuses those issued before it
    (ASVS 5.0 7.4.3), and the sign-in just after, in the same second or not, keeps working."""
    user_id, email = user
    this, other = sign_in(sessions, driver, email), sign_in(sessions, driver, email)
    request = ChangePasswordRequest(email=email, old_password=PASSWORD, new_password="Changed-Passw0rd-7!", access_token=this.access_token)
    assert sessions.change_password(user_id, request, "req").other_sessions_revoked
    for token in (this.id_token, other.id_token, other.access_token):
        with pytest.raises(errors.InvalidToken):
            sessions.user_info(SecretStr(token))
        with pytest.raises(errors.InvalidToken):
            adapters.verifier.verify(SecretStr(token), accept=(TokenUse.ACCESS, TokenUse.ID))
    again = sign_in(sessions, driver, email, "Changed-Passw0rd-7!")
    for token in (again.id_token, again.access_token):
        assert str(sessions.user_info(SecretStr(token)).user_id) == user_id


def test_a_sign_in_cognito_completed_survives_a_throttled_table_when_noting_it(sessions, driver, user, adapters, monkeypatch):
    user_id, email = user

    def throttled(*args, **kwargs) -> None:
        raise errors.TransientError("The status table is temporarily unavailable.")

    monkeypatch.setattr(adapters.sign_outs, "note_sign_in", throttled)
    tokens = sign_in(sessions, driver, email)
    assert str(sessions.user_info(SecretStr(tokens.id_token)).user_id) == user_id


def test_an_id_token_is_refused_where_only_an_access_token_may_go(sessions, driver, user):
    _, email = user
    tokens = sign_in(sessions, driver, email)
    with pytest.raises(errors.InvalidToken):
        sessions.logout(LogoutRequest(email=email, access_token=tokens.id_token), "req")


def test_a_refresh_reads_the_email_claim_without_a_strongly_consistent_read(sessions, driver, user):
    """The refreshed token names the user; the email only has to be theirs (issue 13: half the read units)."""
    user_id, email = user
    tokens = sign_in(sessions, driver, email)
    reads: list[dict] = []
    events = table_client().meta.events
    record = lambda params, **_: reads.append(dict(params))  # noqa: E731
    events.register("provide-client-params.dynamodb.GetItem", record)
    try:
        sessions.refresh(RefreshTokenRequest(email=email, refresh_token=tokens.refresh_token), "req-eventual")
    finally:
        events.unregister("provide-client-params.dynamodb.GetItem", record)
    claim_reads = [r for r in reads if r["Key"]["pk"] == f"EMAIL#{email}"]
    assert claim_reads and not any(r.get("ConsistentRead") for r in claim_reads)


@pytest.fixture
def aws_calls(monkeypatch) -> list[str]:
    """Every AWS call made from here on, as "service:Operation"."""
    calls: list[str] = []
    original = BaseClient._make_api_call

    def recording(client, operation_name, params):
        calls.append(f"{client.meta.service_model.service_name}:{operation_name}")
        return original(client, operation_name, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recording)
    return calls


def test_refresh_and_userinfo_make_one_aws_call_besides_cognitos(sessions, driver, user, aws_calls):
    """Cognito refuses a refresh or access token that any sign-out revoked, so neither route reads
    authflow's revocation records (issue 13 item 3); an id token's are still read (issue 12 item 1),
    both in one request with the recovery codes' count."""
    user_id, email = user
    tokens = sign_in(sessions, driver, email)

    aws_calls.clear()
    refreshed = sessions.refresh(RefreshTokenRequest(email=email, refresh_token=tokens.refresh_token), "req")
    assert aws_calls == ["dynamodb:GetItem", "cognito-idp:AdminInitiateAuth"]

    aws_calls.clear()
    assert str(sessions.user_info(SecretStr(refreshed.access_token)).user_id) == user_id
    assert aws_calls == ["cognito-idp:GetUser", "dynamodb:GetItem"]

    aws_calls.clear()
    info = sessions.user_info(SecretStr(refreshed.id_token))
    assert str(info.user_id) == user_id and info.recovery_codes_left == CODES_PER_SET
    assert aws_calls == ["dynamodb:BatchGetItem", "cognito-idp:AdminGetUser"]


def test_userinfo_counts_the_codes_of_a_user_whose_codes_predate_their_count(sessions, driver, user, adapters, aws_calls):
    """Codes stored before the count existed are counted by a Query, by either kind of token (issue 13 item 3)."""
    user_id, email = user
    tokens = sign_in(sessions, driver, email)
    table_client().delete_item(TableName=adapters.recovery_codes.table_name, Key=count_key(user_id))

    aws_calls.clear()
    assert sessions.user_info(SecretStr(tokens.id_token)).recovery_codes_left == CODES_PER_SET
    assert aws_calls == ["dynamodb:BatchGetItem", "cognito-idp:AdminGetUser", "dynamodb:Query"]
    assert sessions.user_info(SecretStr(tokens.access_token)).recovery_codes_left == CODES_PER_SET


def test_a_revoked_refresh_or_access_token_is_refused_by_cognito_without_authflows_records(sessions, driver, user, adapters, monkeypatch):
    """What the dropped revocation reads protected is Cognito's to refuse: with authflow's records
    emptied, a logged-out sign-in's refresh and access tokens are refused all the same."""
    user_id, email = user
    tokens = sign_in(sessions, driver, email)
    sessions.logout(LogoutRequest(email=email, access_token=tokens.access_token), "req-logout")
    monkeypatch.setattr(adapters.revoked_sign_ins, "revokes", lambda item: False)
    monkeypatch.setattr(adapters.sign_outs, "ends", lambda item, origin_jti, issued_at: False)
    with pytest.raises(errors.InvalidToken):
        sessions.refresh(RefreshTokenRequest(email=email, refresh_token=tokens.refresh_token), "req")
    with pytest.raises(errors.InvalidToken):
        sessions.user_info(SecretStr(tokens.access_token))


def test_a_refresh_token_presented_with_another_users_email_is_refused(sessions, driver, user):
    """The email names whose SECRET_HASH is sent, and the refreshed token must name that user too."""
    _, email = user
    tokens = sign_in(sessions, driver, email)
    other_email = new_email("other")
    driver.onboard(other_email)
    with pytest.raises(errors.InvalidToken):
        sessions.refresh(RefreshTokenRequest(email=other_email, refresh_token=tokens.refresh_token), "req")


def test_each_login_step_reads_once_before_cognito_and_a_refusal_adds_its_count_and_its_event(sessions, driver, adapters):
    """Issue 13 item 3, in-process: besides the API's per-source-IP limit and the StartSyncExecution
    (FakeWorkflows makes the execution's Cognito call itself), a login step makes one BatchGetItem on
    its success path; a wrong password adds the lockout count and LoginFailed."""
    email = new_email("trips")
    driver.onboard(email)
    adapters.pseudo_ids.for_email(email)  # the pseudo-id key is read once per function, at its first use

    def calls(step) -> list[tuple[str, str]]:
        with aws_operations() as operations:
            step()
        return [call for call in operations if call[0] != "secretsmanager"]  # the client secret, cached for minutes

    started: list = []
    assert calls(lambda: started.append(sessions.login(LoginRequest(email=email, password=PASSWORD), "r"))) == [
        ("dynamodb", "BatchGetItem"),
        ("cognito-idp", "AdminInitiateAuth"),
    ]
    verify = MfaVerifyRequest(
        email=email, verification_type="SOFTWARE_TOKEN_MFA", verification_session=started[0].verification_session, otp_code=driver.otp()
    )
    assert calls(lambda: sessions.verify_mfa(verify, "r"))[:2] == [
        ("dynamodb", "BatchGetItem"),
        ("cognito-idp", "AdminRespondToAuthChallenge"),
    ]

    def wrong_password() -> None:
        with pytest.raises(errors.InvalidCredentials):
            sessions.login(LoginRequest(email=email, password="Wrong-Passw0rd-1!"), "r")

    refused = calls(wrong_password)
    assert refused[:2] == [("dynamodb", "BatchGetItem"), ("cognito-idp", "AdminInitiateAuth")]
    assert refused[-1] == ("events", "PutEvents") and ("dynamodb", "UpdateItem") in refused


def test_a_refusal_is_answered_and_counted_when_the_bus_refuses_its_login_failed(sessions, user, adapters, monkeypatch):
    _, email = user

    def bus_down(*details) -> None:
        raise errors.TransientError("The event bus is temporarily unavailable.")

    monkeypatch.setattr(adapters.events, "publish", bus_down)
    with pytest.raises(errors.InvalidCredentials):
        sessions.login(LoginRequest(email=email, password="Wrong-Passw0rd-1!"), "req")
    counted = table_client().get_item(TableName=adapters.lockouts.table_name, Key=lockout_key(user[0]))["Item"]
    assert counted["failures"] == 1 and "locked_until" not in counted


def test_a_login_steps_input_shows_its_secrets_only_when_dumped_in_flight_for_its_execution():
    step = LoginInput(step="PASSWORD", request_id="r", username="u", secret_hash=SecretStr("hash-123"), password=SecretStr("Pass-w0rd-99"))
    assert "Pass-w0rd-99" not in step.model_dump_json() and "hash-123" not in step.model_dump_json() and "Pass-w0rd-99" not in repr(step)
    in_flight = json.loads(step.model_dump_json(context=IN_FLIGHT, exclude_none=True))
    assert in_flight == {"step": "PASSWORD", "request_id": "r", "username": "u", "secret_hash": "hash-123", "password": "Pass-w0rd-99"}
