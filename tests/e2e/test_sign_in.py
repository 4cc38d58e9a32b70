"""Sign-in, tokens and sessions over HTTP against the local stack, as CognitoApi's README shows them."""

import base64
import json
import time

import jwt
import pytest

from tests.support.client import HttpResponse, onboard
from tests.support.flows import sign_in, unique_email

pytestmark = pytest.mark.e2e


@pytest.fixture
def user(api):
    """A fresh active user: each test may use each of its three valid TOTP codes once."""
    return onboard(api, "signin")


def test_login_with_mfa_returns_tokens_and_userinfo_knows_the_user(api, user):
    signed_in = sign_in(api, user)
    assert signed_in.login["email"] == user.email and signed_in.login["verification_type"] == "SOFTWARE_TOKEN_MFA"
    tokens = signed_in.answer
    assert isinstance(tokens, HttpResponse)
    assert tokens.status == 200, tokens.body
    body = tokens.json()
    assert set(body) == {"id_token", "access_token", "refresh_token", "expires_in"}
    assert body["expires_in"] == 3600
    assert tokens.headers.get("Cache-Control") == "no-store"
    # CognitoApi's clients send the id token (its route sat behind a Cognito authorizer); authflow's the access token.
    for token in (body["id_token"], body["access_token"]):
        info = api.get("/userinfo", headers={"authorization": f"Bearer {token}"})
        assert info.status == 200, info.body
        assert info.json() == {
            "name": "Ada Lovelace",
            "user_id": user.user_id,
            "email": user.email,
            "phone_number": None,
            "groups": [],
            "given_name": "Ada",
            "family_name": "Lovelace",
            "recovery_codes_left": 10,
        }


def test_wrong_password_and_unknown_email_get_the_same_answer(api, user):
    wrong = api.post("/login", {"email": user.email, "password": "Wrong-Password-123"})
    unknown = api.post("/login", {"email": unique_email("ghost"), "password": "Wrong-Password-123"})
    assert wrong.status == unknown.status == 401
    assert wrong.json()["error"]["code"] == unknown.json()["error"]["code"] == "INVALID_CREDENTIALS"
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]


def test_wrong_reused_and_expired_mfa_codes_are_refused_with_their_own_codes(api, user):
    wrong = sign_in(api, user, otp="000000" if user.otp() != "000000" else "111111").answer
    assert wrong.status == 401 and wrong.json()["error"]["code"] == "INVALID_MFA_CODE"

    code = user.otp(step_offset=1)
    first = sign_in(api, user, otp=code).answer
    assert first.status == 200, first.body
    reused = sign_in(api, user, otp=code).answer
    assert reused.status == 401 and reused.json()["error"]["code"] == "MFA_CODE_REUSED"

    for unknown_session in ("not-a-session", "AYABe" + "x" * 60):
        stale = api.post(
            "/mfa-verify",
            {"email": user.email, "verification_type": "SOFTWARE_TOKEN_MFA", "verification_session": unknown_session, "otp_code": "123456"},
        )
        assert stale.status == 401 and stale.json()["error"]["code"] == "SESSION_EXPIRED"


def test_refresh_token_gives_new_tokens(api, user):
    tokens = sign_in(api, user, otp=user.otp(step_offset=-1)).answer
    body = tokens.json()
    refreshed = api.post("/refresh-token", {"email": user.email, "refresh_token": body["refresh_token"]})
    assert refreshed.status == 200, refreshed.body
    fresh = refreshed.json()
    assert fresh["email"] == user.email and fresh["expires_in"] == 3600
    assert api.get("/userinfo", headers={"authorization": f"Bearer {fresh['access_token']}"}).status == 200


def test_cognito_triggers_record_the_sign_in_and_the_refresh_once_each(api, user, local_stack):
    """One event per fact (SPEC section 4): the post authentication trigger records the sign-in, naming
    the mfa-verify request and the login execution; the pre token generation trigger the refresh."""
    tokens = sign_in(api, user).answer
    api.post("/refresh-token", {"email": user.email, "refresh_token": tokens.json()["refresh_token"]})
    facts = [e["detail"] | {"type": e["detail-type"]} for e in api.local(f"events?user_id={user.user_id}")]
    signed_in, refreshed = [f for f in facts if f["type"] in ("LoginSucceeded", "TokenRefreshed")][-2:]
    assert (signed_in["type"], refreshed["type"]) == ("LoginSucceeded", "TokenRefreshed")
    login_machine = local_stack.stack.state_machines["LoginStateMachine"].rsplit(":", 1)[-1]
    assert f":{login_machine}:" in signed_in["execution_arn"]
    assert signed_in["request_id"] and signed_in["request_id"] != refreshed["request_id"]
    assert signed_in["client_id"] and refreshed["client_id"] == signed_in["client_id"]
    assert refreshed["execution_arn"] is None


def tampered(token: str, claim: str = "username") -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims[claim] = "00000000-0000-4000-8000-000000000000"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def test_userinfo_refuses_tampered_foreign_expired_and_unsigned_tokens(api, user):
    tokens = sign_in(api, user, otp=user.otp(step_offset=1)).answer
    body = tokens.json()
    access = body["access_token"]
    claims = jwt.decode(access, options={"verify_signature": False})
    foreign_key = "a-key-that-is-not-cognitos-at-all-32bytes!"
    foreign = jwt.encode(claims, foreign_key, algorithm="HS256")
    expired = jwt.encode({**claims, "exp": int(time.time()) - 10}, foreign_key, algorithm="HS256")
    unsigned = jwt.encode(claims, "", algorithm="none")
    for token in (tampered(access), foreign, expired, unsigned, tampered(body["id_token"], "cognito:username"), "garbage"):
        refused = api.get("/userinfo", headers={"authorization": f"Bearer {token}"})
        assert refused.status == 401, token
        assert refused.json()["error"]["code"] == "INVALID_TOKEN"
    missing = api.get("/userinfo")
    assert missing.status == 401


def test_logout_revokes_the_refresh_access_and_id_tokens_of_the_sign_in_everywhere(api):
    someone = onboard(api, "logout")
    tokens = sign_in(api, someone).answer
    body = tokens.json()
    out = api.post("/logout", {"email": someone.email, "access_token": body["access_token"]})
    assert out.status == 200 and out.json() == {"user_status": "logout"}
    for token in (body["access_token"], body["id_token"]):
        bearer = {"authorization": f"Bearer {token}"}
        refused = [api.get("/userinfo", headers=bearer), api.request("DELETE", f"/users/{someone.user_id}", headers=bearer)]
        assert [(r.status, r.json()["error"]["code"]) for r in refused] == [(401, "INVALID_TOKEN")] * 2
    assert api.onboarding(someone.user_id).json()["status"] == "ACTIVE"
    refused = api.post("/refresh-token", {"email": someone.email, "refresh_token": body["refresh_token"]})
    assert refused.status == 401 and refused.json()["error"]["code"] == "INVALID_TOKEN"


def test_change_password_makes_the_new_password_the_only_one(api):
    """CognitoApi's route and names; then the alias with the deprecated names still works."""
    someone = onboard(api, "change")
    tokens = sign_in(api, someone).answer
    access = tokens.json()["access_token"]
    route = f"/users/{someone.user_id}/change-password"
    proposed = "Another-Horse-7-Battery"
    body = {"email": someone.email, "old_password": "Not-It-At-All-1", "new_password": proposed, "access_token": access}
    assert api.post(route, body).status == 401
    other = api.post(f"/users/{onboard(api, 'bystander').user_id}/change-password", {**body, "old_password": someone.password})
    assert other.status == 401 and other.json()["error"]["code"] == "INVALID_TOKEN"
    changed = api.post(route, {**body, "old_password": someone.password})
    assert changed.status == 200 and changed.json() == {"status": "PASSWORD_CHANGED", "other_sessions_revoked": True}
    after = api.post("/refresh-token", {"email": someone.email, "refresh_token": tokens.json()["refresh_token"]})
    assert after.status == 401, "a password change ends every session (ASVS 5.0 7.4.3)"
    assert api.post("/login", {"email": someone.email, "password": someone.password}).status == 401
    assert api.post("/login", {"email": someone.email, "password": proposed}).status == 200

    # The change ended every session: the deprecated names are tried with a new sign-in's token.
    original, someone.password = someone.password, proposed
    access = sign_in(api, someone).tokens["access_token"]  # a code of a step this user has not sent
    deprecated = api.post("/change-password", {"access_token": access, "previous_password": proposed, "proposed_password": original})
    assert deprecated.status == 200, deprecated.body
    assert api.post("/login", {"email": someone.email, "password": original}).status == 200


def refused_everywhere(api, user_id: str, id_token: str) -> list[tuple[int, str]]:
    """What /v1/userinfo and DELETE /v1/users/{id} answer the token (each with its own error code)."""
    bearer = {"authorization": f"Bearer {id_token}"}
    answers = [api.get("/userinfo", headers=bearer), api.request("DELETE", f"/users/{user_id}", headers=bearer)]
    return [(a.status, a.json().get("error", {}).get("code", "")) for a in answers]


def test_an_id_token_stolen_before_a_password_change_opens_nothing_after_it(api):
    """The attacker copied an id token; the user changes the password. Cognito's global sign-out leaves
    id tokens valid until they expire: authflow refuses those issued before it (ASVS 5.0 7.4.3)."""
    someone = onboard(api, "stolen")
    tokens = sign_in(api, someone).tokens  # the attacker copies the id token; the user keeps the session
    stolen, access = tokens["id_token"], tokens["access_token"]
    assert api.get("/userinfo", headers={"authorization": f"Bearer {stolen}"}).status == 200
    proposed = "Stolen-Token-Is-Dead-4"
    body = {"email": someone.email, "old_password": someone.password, "new_password": proposed, "access_token": access}
    assert api.post(f"/users/{someone.user_id}/change-password", body).status == 200
    assert refused_everywhere(api, someone.user_id, stolen) == [(401, "INVALID_TOKEN")] * 2
    assert api.onboarding(someone.user_id).json()["status"] == "ACTIVE", "the refused DELETE removed nothing"
    someone.password = proposed
    fresh = sign_in(api, someone).tokens["id_token"]
    assert api.get("/userinfo", headers={"authorization": f"Bearer {fresh}"}).json()["user_id"] == someone.user_id


def test_an_operator_sign_out_ends_the_users_id_tokens_too(api, admin):
    someone = onboard(api, "opsignout")
    tokens = sign_in(api, someone).tokens
    signed_out = api.post(f"/users/{someone.user_id}/sign-out", {}, headers=admin.headers)
    assert signed_out.status == 200, signed_out.body
    assert refused_everywhere(api, someone.user_id, tokens["id_token"]) == [(401, "INVALID_TOKEN")] * 2
    assert refused_everywhere(api, someone.user_id, tokens["access_token"]) == [(401, "INVALID_TOKEN")] * 2
    refreshed = api.post("/refresh-token", {"email": someone.email, "refresh_token": tokens["refresh_token"]})
    assert (refreshed.status, refreshed.json()["error"]["code"]) == (401, "INVALID_TOKEN"), "Cognito's own refusal (no record read)"
    assert api.onboarding(someone.user_id).json()["status"] == "ACTIVE"


def test_mfa_verify_takes_the_user_id_in_email_as_cognitoapis_client_sends_it(api, user):
    first = api.post("/login", {"email": user.email, "password": user.password}).json()
    answers = {}
    for identifier in ("00000000-0000-4000-8000-000000000000", unique_email("ghost"), user.user_id):
        answers[identifier] = api.post(
            "/mfa-verify",
            {
                "email": identifier,
                "verification_type": "SOFTWARE_TOKEN_MFA",
                "verification_session": first["verification_session"],
                "otp_code": user.otp(),
            },
        )
    unknown_id, unknown_email, known = answers.values()
    assert unknown_id.status == unknown_email.status == 401
    assert unknown_id.json()["error"]["code"] == unknown_email.json()["error"]["code"] == "SESSION_EXPIRED"
    assert unknown_id.json()["error"]["message"] == unknown_email.json()["error"]["message"]
    assert known.status == 200, known.body
    assert set(known.json()) == {"id_token", "access_token", "refresh_token", "expires_in"}


def test_repeated_wrong_passwords_lock_the_account_with_a_clear_error(api):
    someone = onboard(api, "lockout")
    answers = [api.post("/login", {"email": someone.email, "password": f"Wrong-Password-{n}"}) for n in range(5)]
    assert [a.status for a in answers[:4]] == [401] * 4
    assert answers[4].status == 429, "the fifth wrong password in 15 minutes locks"
    assert answers[4].json()["error"]["code"] == "TOO_MANY_ATTEMPTS" and int(answers[4].headers["Retry-After"]) > 0
    locked = api.post("/login", {"email": someone.email, "password": someone.password})
    assert locked.status == 429 and int(locked.headers["Retry-After"]) > 0


def test_a_verification_session_answers_only_for_the_user_who_passed_the_password(api, user):
    """An attacker who knows only their own password splices their session onto a victim's email, or the
    victim's user id onto their own Cognito session (the verification session is `<user id>:<Cognito's
    session>`): both are refused as an expired session, and the victim's code never signs the attacker in
    (ASVS 5.0 6.3.1, NIST SP 800-63B-4 §3.1.3: the second factor answers the first factor's session)."""
    attacker = onboard(api, "splicer")
    session = api.post("/login", {"email": attacker.email, "password": attacker.password}).json()["verification_session"]
    attacker_id, cognito_session = session.split(":", 1)
    assert attacker_id == attacker.user_id

    def verify(email: str, verification_session: str):
        body = {
            "email": email,
            "verification_type": "SOFTWARE_TOKEN_MFA",
            "verification_session": verification_session,
            "otp_code": user.otp(),
        }
        return api.post("/mfa-verify", body)

    answers = [
        verify(user.email, session),
        verify(user.email, f"{user.user_id}:{cognito_session}"),
        verify(user.email, cognito_session),
        # The same splice on an email without an account answers alike: /mfa-verify tells no one whether an
        # email has an account (ASVS 5.0 6.3.8).
        verify(unique_email("ghost"), session),
        verify(unique_email("ghost"), cognito_session),
    ]
    for answer in answers:
        assert answer.status == 401, answer.body
        assert answer.json()["error"]["code"] == "SESSION_EXPIRED"
    assert len({answer.json()["error"]["message"] for answer in answers}) == 1
