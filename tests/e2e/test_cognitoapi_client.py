"""A CognitoApi client's whole lifecycle, unchanged: only CognitoApi's routes, field names and headers
(its README's requests, and what its published client sends: the user_id in mfa-verify's `email`, the
id token as `Authorization: Bearer` on /userinfo and DELETE /users/{id}). Where the client would read
its mail, the test reads the local stack's outbox; where it would wait, the test polls the
onboarding status, which CognitoApi's client never calls."""

import time

import pyotp
import pytest

from tests.support.flows import unique_email

pytestmark = pytest.mark.e2e

PASSWORD = "Correct-Horse-9-Battery"
CHANGED_PASSWORD = "Another-Horse-7-Battery"
RESET_PASSWORD = "Reset-Horse-5-Battery"


def sign_in_as_cognitoapis_client(api, user_id: str, email: str, password: str, otp: str) -> dict:
    login = api.post("/login", {"email": email, "password": password})
    assert login.status == 200, login.body
    assert login.json()["verification_type"] == "SOFTWARE_TOKEN_MFA"
    tokens = api.post(
        "/mfa-verify",
        {
            "email": user_id,  # what CognitoApi's client sends here
            "verification_type": "SOFTWARE_TOKEN_MFA",
            "verification_session": login.json()["verification_session"],
            "otp_code": otp,
        },
    )
    assert tokens.status == 200, tokens.body
    return tokens.json()


def test_a_cognitoapi_client_lives_a_users_whole_lifecycle_unchanged(api):
    email = unique_email("cognitoapi")
    created = api.post("/users", {"full_name": "Tarek CHEIKH", "email": email, "mobile_phone_number": "+33612345678"})
    assert created.status == 201, created.body
    assert {"email": email, "status": "CREATED"}.items() <= created.json().items()
    user_id = created.json()["user_id"]

    confirmed = api.post(
        f"/users/{user_id}/confirm", {"email": email, "temporary_password": api.temporary_password(email), "new_password": PASSWORD}
    )
    assert confirmed.status == 200, confirmed.body
    assert {"email": email, "user_id": user_id, "status": "ACTIVE"}.items() <= confirmed.json().items()
    totp = pyotp.TOTP(confirmed.json()["qr_code_secret"])
    assert confirmed.json()["qr_code_secret_url"].startswith("http")

    api.wait_for_status(user_id, "MFA_PENDING")
    mfa = api.post(f"/users/{user_id}/confirm-mfa", {"email": email, "otp": totp.at(time.time() - 30)})
    assert mfa.status == 200, mfa.body
    assert {"email": email, "user_id": user_id, "mfa_status": "CONFIRMED"}.items() <= mfa.json().items()
    api.wait_for_status(user_id, "ACTIVE")

    first_code = totp.now()
    tokens = sign_in_as_cognitoapis_client(api, user_id, email, PASSWORD, first_code)
    refreshed = api.post("/refresh-token", {"email": email, "refresh_token": tokens["refresh_token"]})
    assert refreshed.status == 200, refreshed.body
    assert {"email", "id_token", "access_token", "expires_in"} <= set(refreshed.json())

    info = api.get("/userinfo", headers={"Authorization": f"Bearer {refreshed.json()['id_token']}"})
    assert info.status == 200, info.body
    assert {
        "name": "Tarek CHEIKH",
        "user_id": user_id,
        "email": email,
        "phone_number": "+33612345678",
        "groups": [],
        "given_name": "Tarek",
        "family_name": "CHEIKH",
    }.items() <= info.json().items()

    changed = api.post(
        f"/users/{user_id}/change-password",
        {"email": email, "old_password": PASSWORD, "new_password": CHANGED_PASSWORD, "access_token": refreshed.json()["access_token"]},
    )
    assert changed.status == 200, changed.body
    # A password change ends every session, this one too (ASVS 5.0 7.4.3): the client signs in again.
    assert api.post("/logout", {"email": email, "access_token": refreshed.json()["access_token"]}).status == 401
    unused = next(code for code in (totp.at(time.time() - 30), totp.now()) if code != first_code)  # a code signs in once
    current = sign_in_as_cognitoapis_client(api, user_id, email, CHANGED_PASSWORD, unused)

    logout = api.post("/logout", {"email": email, "access_token": current["access_token"]})
    assert logout.status == 200 and logout.json() == {"user_status": "logout"}
    assert api.get("/userinfo", headers={"Authorization": f"Bearer {current['id_token']}"}).status == 401

    forgot = api.post("/forgot-password", {"email": email})
    assert forgot.status == 200, forgot.body
    # The id answered is the email's stable pseudo-id (the same for any email, SPEC section 2);
    # CognitoApi's client puts it in the confirm-password path as it did the user_id.
    pseudo_id = forgot.json()["user_id"]
    assert forgot.json() == {"email": email, "user_id": pseudo_id, "status": "PASSWORD_FORGOT_CONFIRMATION_SENT"}
    reset = api.post(
        f"/users/{pseudo_id}/confirm-password",
        {"email": email, "new_password": RESET_PASSWORD, "verification_code": api.reset_code(email)},
    )
    assert reset.status == 200, reset.body
    assert {"email": email, "user_id": pseudo_id, "status": "NEW_PASSWORD_SET_SUCCESSFULLY"}.items() <= reset.json().items()

    again = sign_in_as_cognitoapis_client(api, user_id, email, RESET_PASSWORD, totp.at(time.time() + 30))
    deleted = api.request("DELETE", f"/users/{user_id}", headers={"Authorization": f"Bearer {again['id_token']}"})
    assert deleted.status == 200, deleted.body
    assert api.post("/login", {"email": email, "password": RESET_PASSWORD}).status == 401
