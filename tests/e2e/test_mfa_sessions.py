"""An MFA answer counts only for the user whose login session it answers, and only with that user's
own authenticator (issue 11 item 7): over HTTP, as an attacker holding one account would try it."""

import pytest

from tests.support.client import onboard

pytestmark = pytest.mark.e2e


def login_session(api, user) -> str:
    started = api.post("/login", {"email": user.email, "password": user.password})
    assert started.status == 200, started.body
    return started.json()["verification_session"]


def mfa_verify(api, email: str, session: str, otp: str):
    return api.post(
        "/mfa-verify",
        {"email": email, "verification_type": "SOFTWARE_TOKEN_MFA", "verification_session": session, "otp_code": otp},
    )


def test_two_users_get_different_totp_secrets(api):
    alice = onboard(api, "seed-a")
    bob = onboard(api, "seed-b")

    assert alice.totp_secret != bob.totp_secret


def test_an_attackers_session_and_code_do_not_sign_in_as_another_user(api):
    attacker = onboard(api, "attacker")
    victim = onboard(api, "victim")
    session = login_session(api, attacker)

    answer = mfa_verify(api, victim.email, session, attacker.otp())

    assert answer.status == 401, answer.body
    assert answer.json()["error"]["code"] == "SESSION_EXPIRED"
    assert b"token" not in answer.body


def test_another_users_code_does_not_answer_ones_own_session(api):
    alice = onboard(api, "own-a")
    bob = onboard(api, "own-b")
    session = login_session(api, alice)
    code = bob.otp()
    if code in {alice.otp(offset) for offset in (-1, 0, 1)}:
        pytest.skip("the two authenticators show the same code in this step (one chance in 300 000)")

    answer = mfa_verify(api, alice.email, session, code)

    assert answer.status == 401, answer.body
    assert answer.json()["error"]["code"] == "INVALID_MFA_CODE"
    assert mfa_verify(api, alice.email, session, alice.otp()).status == 200
