"""Credentials at the edges, over HTTP against the local stack as an attacker or a careless user would
send them: look-alike emails (issue 15 item 7) and the password policy (issue 15 item 8).

The rules themselves: tests/unit/test_email_policy.py and tests/unit/test_password_policy.py."""

import hashlib

import pytest

from infra.pwned_passwords import BREACHED_PASSWORDS
from tests.support.client import onboard
from tests.support.flows import reset_code, sign_in, unique_email

pytestmark = pytest.mark.e2e

COMMON = "qwerty123456789"  # in Django's list of common passwords, 15 characters
BREACHED = BREACHED_PASSWORDS[1]  # only the (loopback) Pwned Passwords range API knows it
GOOD = "a quiet violet harbour at dawn"


def full_width(email: str) -> str:
    """The address typed with full-width characters (U+FF01 to U+FF5E), as some keyboards do."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" and c != "@" else c for c in email)


def cyrillic_o(email: str) -> str:
    """The first Latin o before the @ replaced by the Cyrillic о it looks like."""
    local, _, domain = email.partition("@")
    return local.replace("o", "\u043e", 1) + "@" + domain


def error_code(response) -> str:
    return response.json()["error"]["code"]


def invited(api) -> tuple[str, str, str]:
    email = unique_email("policy")
    created = api.post("/users", {"full_name": "Ada Lovelace", "email": email})
    assert created.status == 201, created.body
    user_id = created.json()["user_id"]
    api.wait_for_status(user_id, "INVITED")
    return email, user_id, api.temporary_password(email)


# ----------------------------------------------------------------------------- emails (issue 15 item 7)


def test_a_full_width_address_is_the_same_account(api):
    email = unique_email("bob")
    assert api.post("/users", {"full_name": "Bob Smith", "email": email}).status == 201

    again = api.post("/users", {"full_name": "Bob Smith", "email": full_width(email)})

    assert again.status == 409, again.body
    assert error_code(again) == "EMAIL_ALREADY_EXISTS"


def test_a_cyrillic_look_alike_address_is_refused_and_creates_nothing(api):
    email = unique_email("bob")
    look_alike = cyrillic_o(email)
    assert look_alike != email

    refused = api.post("/users", {"full_name": "Bob Smith", "email": look_alike})

    assert refused.status == 400, refused.body
    assert error_code(refused) == "INVALID_EMAIL"
    assert look_alike not in refused.body.decode() and "\\u043e" not in refused.body.decode()
    assert api.post("/users", {"full_name": "Bob Smith", "email": email}).status == 201, "the real address is still free"


def test_login_and_forgot_password_normalise_and_refuse_the_same_way(api):
    user = onboard(api, "bob")

    login = api.post("/login", {"email": full_width(user.email), "password": user.password})
    assert login.status == 200, login.body
    assert login.json()["email"] == user.email
    plain = api.post("/forgot-password", {"email": user.email})
    wide = api.post("/forgot-password", {"email": full_width(user.email)})
    assert wide.status == plain.status == 200
    assert wide.json() == plain.json()

    for path, body in (
        ("/login", {"email": cyrillic_o(user.email), "password": user.password}),
        ("/forgot-password", {"email": cyrillic_o(user.email)}),
    ):
        refused = api.post(path, body)
        assert refused.status == 400, (path, refused.body)
        assert error_code(refused) == "INVALID_EMAIL", path


# ----------------------------------------------------------------------------- passwords (issue 15 item 8)


def test_confirm_refuses_short_common_and_breached_passwords_and_changes_nothing(api, local_stack):
    email, user_id, temporary = invited(api)
    before = len(local_stack.pwned_passwords.requests)

    answers = {
        password: api.post(f"/users/{user_id}/confirm", {"email": email, "temporary_password": temporary, "new_password": password})
        for password in ("fourteen-chars", COMMON, BREACHED, f"{email} is mine")
    }

    assert {p: (a.status, error_code(a)) for p, a in answers.items()} == {
        "fourteen-chars": (400, "INVALID_PASSWORD"),
        COMMON: (400, "PASSWORD_TOO_COMMON"),
        BREACHED: (400, "PASSWORD_TOO_COMMON"),
        f"{email} is mine": (400, "PASSWORD_TOO_COMMON"),
    }
    assert all(p.encode() not in a.body for p, a in answers.items())
    # k-anonymity: the range API saw 5 hex digits of the breached password's SHA-1, never the password
    assert hashlib.sha1(BREACHED.encode()).hexdigest().upper()[:5] in local_stack.pwned_passwords.requests[before:]
    assert api.onboarding(user_id).json()["status"] == "INVITED"
    confirmed = api.post(f"/users/{user_id}/confirm", {"email": email, "temporary_password": temporary, "new_password": GOOD})
    assert confirmed.status == 200, confirmed.body


def test_change_password_refuses_a_common_one_and_accepts_128_characters(api):
    user = onboard(api, "change")
    token = sign_in(api, user).tokens["access_token"]

    common = api.post("/change-password", {"access_token": token, "previous_password": user.password, "proposed_password": COMMON})
    assert (common.status, error_code(common)) == (400, "PASSWORD_TOO_COMMON")
    assert api.post("/login", {"email": user.email, "password": user.password}).status == 200, "the old password still works"

    longest = "horse battery staple " * 6 + "correct"
    assert len(longest) == 133
    longest = longest[:128]
    changed = api.post("/change-password", {"access_token": token, "previous_password": user.password, "proposed_password": longest})
    assert changed.status == 200, changed.body
    assert api.post("/login", {"email": user.email, "password": longest}).status == 200


def test_reset_refuses_a_breached_password_and_the_code_still_works(api):
    user = onboard(api, "reset")
    assert api.post("/forgot-password", {"email": user.email}).status == 200
    code = reset_code(api, user.email)
    path = f"/users/{user.user_id}/confirm-password"

    breached = api.post(path, {"email": user.email, "new_password": BREACHED, "verification_code": code})

    assert (breached.status, error_code(breached)) == (400, "PASSWORD_TOO_COMMON")
    assert api.post("/login", {"email": user.email, "password": user.password}).status == 200
    done = api.post(path, {"email": user.email, "new_password": GOOD, "verification_code": code})
    assert done.status == 200, done.body
    assert api.post("/login", {"email": user.email, "password": GOOD}).status == 200
