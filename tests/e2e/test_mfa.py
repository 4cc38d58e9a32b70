"""A user's authenticator over HTTP against the local stack, tried as an attacker would (issue 11).

- The mailbox attack: forgot-password, confirm-password with the mailed code, then resend-mfa with
  only the new password is refused (400 MFA_PROOF_REQUIRED) and mails nothing (ASVS 5.0 6.4.3).
- A lost device: password and a recovery code enrol a new authenticator, whose QR code only the
  mail links to; the new seed signs in, the old one no longer does; each recovery code works once.
- Adding a device with a current code: the old seed works until the new one is verified.
- A factor change revokes the user's other refresh tokens (ASVS 5.0 7.4.3).
"""

import re
import time
import urllib.request
from html import unescape

import boto3
import pyotp
import pytest
from moto.cognitoidp.models import cognitoidp_backends
from moto.core import DEFAULT_ACCOUNT_ID
from pydantic import SecretStr

from authflow.qr import qr_png
from infra.template import load_template
from tests.support.client import ActiveUser, ApiClient, make_admin, onboard
from tests.support.flows import current_otp

pytestmark = pytest.mark.e2e

RESET_PASSWORD = "Mailbox-Owner-Horse-7"
APP_NAME = load_template()["Parameters"]["AppName"]["Default"]


def sign_in(api: ApiClient, email: str, password: str, otp: str):
    started = api.post("/login", {"email": email, "password": password})
    assert started.status == 200, started.body
    body = {"email": email, "verification_type": "SOFTWARE_TOKEN_MFA", "verification_session": started.json()["verification_session"]}
    return api.post("/mfa-verify", {**body, "otp_code": otp})


def enrolment_mails(api: ApiClient, email: str) -> list[dict]:
    return [m for m in api.mail(email) if "authenticator" in m["subject"]]


def new_seed_from_mail(api: ApiClient, local_stack, user: ActiveUser) -> str:
    """Follows the mailed link to the new QR code, as the user's phone would; the seed it encodes is
    the one the local stack's Cognito handed out (read there: no QR decoder is installed)."""
    found = re.search(r'href="([^"]+)"', enrolment_mails(api, user.email)[-1]["body"])
    assert found, "the enrolment mail has a link"
    link = unescape(found.group(1))
    with urllib.request.urlopen(link) as qr:
        png = qr.read()
    seed = pending_seed(local_stack, user.user_id)
    assert png == qr_png(SecretStr(seed), account=user.email, issuer=APP_NAME), "the mailed QR code is the new seed's"
    return seed


def pending_seed(local_stack, user_id: str) -> str:
    pool = cognitoidp_backends[DEFAULT_ACCOUNT_ID][local_stack.region].user_pools[local_stack.stack.refs["UserPool"]]
    # totp_pending_secret is the local stack's own attribute (infra/cognito.py), unknown to moto's types.
    return pool._get_user(user_id).totp_pending_secret  # type: ignore[attr-defined]


def test_the_mailbox_attack_fails_at_re_enrolment_and_mails_nothing(api):
    victim = onboard(api, "victim")
    assert api.post("/forgot-password", {"email": victim.email}).status == 200
    code = api.reset_code(victim.email)
    reset = api.post(
        f"/users/{victim.user_id}/confirm-password", {"email": victim.email, "new_password": RESET_PASSWORD, "verification_code": code}
    )
    assert reset.status == 200 and reset.json()["other_sessions_revoked"] is True
    mails_before = len(api.mail(victim.email))

    attack = api.post("/resend-mfa", {"email": victim.email, "password": RESET_PASSWORD})

    assert attack.status == 400 and attack.json()["error"]["code"] == "MFA_PROOF_REQUIRED"
    assert len(api.mail(victim.email)) == mails_before, "no mail, so no QR link for the mailbox's holder"
    guessed = api.post("/resend-mfa", {"email": victim.email, "password": RESET_PASSWORD, "recovery_code": "aaaa-bbbb-cccc-dddd-eeee-ffff"})
    assert guessed.status == 401 and guessed.json()["error"]["code"] == "INVALID_RECOVERY_CODE"
    assert len(api.mail(victim.email)) == mails_before
    # Even a current code (shoulder-surfed, say) does not replace the authenticator within a day of a reset.
    with_code = api.post("/resend-mfa", {"email": victim.email, "password": RESET_PASSWORD, "otp_code": victim.otp(step_offset=1)})
    assert with_code.status == 403 and with_code.json()["error"]["code"] == "RECOVERY_CODE_REQUIRED"
    assert len(api.mail(victim.email)) == mails_before
    login = api.post("/login", {"email": victim.email, "password": RESET_PASSWORD})
    assert login.json()["verification_type"] == "SOFTWARE_TOKEN_MFA", "the reset left the authenticator in place"
    assert sign_in(api, victim.email, RESET_PASSWORD, victim.otp(step_offset=-1)).status == 200


def test_a_lost_device_is_replaced_with_a_recovery_code_once_and_the_old_seed_stops_working(api, local_stack):
    user = onboard(api, "lostdevice")
    before = sign_in(api, user.email, user.password, user.otp()).json()

    enrolled = api.post("/resend-mfa", {"email": user.email, "password": user.password, "recovery_code": user.recovery_codes[0]})

    assert enrolled.status == 200, enrolled.body
    assert enrolled.json() == {"email": user.email, "status": "MFA_QR_LINK_SENT"}, "the link is only mailed"
    new_seed = new_seed_from_mail(api, local_stack, user)
    assert new_seed != user.totp_secret
    confirmed = api.post(f"/users/{user.user_id}/confirm-mfa", {"email": user.email, "otp": current_otp(new_seed)})
    assert confirmed.status == 200, confirmed.body
    assert confirmed.json()["other_sessions_revoked"] is True and len(confirmed.json()["recovery_codes"]) == 10
    assert api.post("/refresh-token", {"email": user.email, "refresh_token": before["refresh_token"]}).status == 401
    old_code = pyotp.TOTP(user.totp_secret).at(time.time() + 30)
    refused = sign_in(api, user.email, user.password, old_code)
    assert refused.status == 401 and refused.json()["error"]["code"] == "INVALID_MFA_CODE", "the lost seed no longer works"
    assert sign_in(api, user.email, user.password, pyotp.TOTP(new_seed).at(time.time() - 30)).status == 200

    again = api.post("/resend-mfa", {"email": user.email, "password": user.password, "recovery_code": user.recovery_codes[0]})
    assert again.status == 401 and again.json()["error"]["code"] == "INVALID_RECOVERY_CODE", "a recovery code works once"
    found = re.search(r'href="([^"]+)"', enrolment_mails(api, user.email)[-1]["body"])
    assert found, "the enrolment mail has a link"
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(unescape(found.group(1)))  # the verified seed's QR code is gone


def test_a_lost_device_enrolment_that_failed_after_clearing_the_seed_is_retried_with_the_same_code(api, local_stack):
    """What a Cognito failure between clearing the lost seed and starting the new one leaves behind:
    no TOTP, the recovery code given back (tests/unit/test_mfa.py). The retry with that code enrols."""
    user = onboard(api, "lostretry")
    cognito, pool = boto3.client("cognito-idp"), local_stack.stack.refs["UserPool"]
    cognito.admin_set_user_mfa_preference(
        UserPoolId=pool, Username=user.user_id, SoftwareTokenMfaSettings={"Enabled": False, "PreferredMfa": False}
    )
    assert not cognito.admin_get_user(UserPoolId=pool, Username=user.user_id).get("UserMFASettingList"), "the seed is cleared"
    retried = api.post("/resend-mfa", {"email": user.email, "password": user.password, "recovery_code": user.recovery_codes[0]})
    assert retried.status == 200, retried.body
    new_seed = new_seed_from_mail(api, local_stack, user)
    confirmed = api.post(f"/users/{user.user_id}/confirm-mfa", {"email": user.email, "otp": current_otp(new_seed)})
    assert confirmed.status == 200, confirmed.body


def test_adding_a_device_keeps_the_old_seed_until_the_new_one_is_verified(api, local_stack):
    user = onboard(api, "adddevice")
    enrolled = api.post("/resend-mfa", {"email": user.email, "password": user.password, "otp_code": user.otp()})
    assert enrolled.status == 200, enrolled.body
    new_seed = new_seed_from_mail(api, local_stack, user)

    assert sign_in(api, user.email, user.password, user.otp(step_offset=1)).status == 200, "the old seed still works"
    confirmed = api.post(f"/users/{user.user_id}/confirm-mfa", {"email": user.email, "otp": current_otp(new_seed)})
    assert confirmed.status == 200, confirmed.body

    assert sign_in(api, user.email, user.password, user.otp(step_offset=-1)).status == 401
    assert sign_in(api, user.email, user.password, pyotp.TOTP(new_seed).at(time.time() + 30)).status == 200


def test_two_users_get_different_seeds_and_recovery_codes(api):
    first, second = onboard(api, "seedone"), onboard(api, "seedtwo")
    assert first.totp_secret != second.totp_secret
    assert not set(first.recovery_codes) & set(second.recovery_codes)


def test_new_recovery_codes_need_a_current_code_void_the_old_set_and_userinfo_counts_them(api):
    user: ActiveUser = onboard(api, "regen")
    tokens = sign_in(api, user.email, user.password, user.otp()).json()
    info = api.get("/userinfo", headers={"authorization": f"Bearer {tokens['access_token']}"})
    assert info.json()["recovery_codes_left"] == 10

    without = api.post("/recovery-codes", {"email": user.email, "password": user.password})
    assert without.status == 400
    regenerated = api.post("/recovery-codes", {"email": user.email, "password": user.password, "otp_code": user.otp(step_offset=1)})
    assert regenerated.status == 200, regenerated.body
    codes = regenerated.json()["recovery_codes"]
    assert len(codes) == 10 and not set(codes) & set(user.recovery_codes)
    stale = api.post("/resend-mfa", {"email": user.email, "password": user.password, "recovery_code": user.recovery_codes[1]})
    assert stale.status == 401 and stale.json()["error"]["code"] == "INVALID_RECOVERY_CODE"
    assert not any(code in m["body"] for m in api.mail(user.email) for code in codes), "recovery codes are never mailed"
    # A code of the new set spent (a lost device's enrolment): both kinds of token see one fewer left.
    spent = api.post("/resend-mfa", {"email": user.email, "password": user.password, "recovery_code": codes[0]})
    assert spent.status == 200, spent.body
    for token in (tokens["id_token"], tokens["access_token"]):
        assert api.get("/userinfo", headers={"authorization": f"Bearer {token}"}).json()["recovery_codes_left"] == 9


def test_an_operator_mfa_reset_leads_to_a_new_enrolment_at_the_next_sign_in(api, local_stack):
    admin, user = make_admin(api, "mfaadmin"), onboard(api, "opreset")
    before = sign_in(api, user.email, user.password, user.otp()).json()
    bystander = onboard(api, "opbystander")
    bystander_token = sign_in(api, bystander.email, bystander.password, bystander.otp()).json()["access_token"]

    assert api.post(f"/users/{user.user_id}/mfa-reset").status == 401
    refused = api.post(f"/users/{user.user_id}/mfa-reset", headers={"authorization": f"Bearer {bystander_token}"})
    assert refused.status == 403 and refused.json()["error"]["code"] == "FORBIDDEN"
    reset = api.post(f"/users/{user.user_id}/mfa-reset", headers=admin.headers)

    assert reset.status == 200 and reset.json() == {"user_id": user.user_id, "status": "MFA_RESET", "other_sessions_revoked": True}
    assert api.post("/refresh-token", {"email": user.email, "refresh_token": before["refresh_token"]}).status == 401
    login = api.post("/login", {"email": user.email, "password": user.password})
    assert login.status == 409 and login.json()["error"]["code"] == "MFA_ENROLMENT_REQUIRED"
    assert b"http" not in login.body, "the QR link is only mailed"
    # Each sign-in mails a link, counted like resend-mfa's: past ResendMfaLimitPerHour, 429 and no mail.
    limit = int(load_template()["Parameters"]["ResendMfaLimitPerHour"]["Default"])
    for _ in range(limit - 1):
        assert api.post("/login", {"email": user.email, "password": user.password}).status == 409
    flooded = api.post("/login", {"email": user.email, "password": user.password})
    assert flooded.status == 429 and flooded.json()["error"]["code"] == "THROTTLED" and int(flooded.headers["Retry-After"]) > 0
    assert len(enrolment_mails(api, user.email)) == limit
    new_seed = new_seed_from_mail(api, local_stack, user)
    confirmed = api.post(f"/users/{user.user_id}/confirm-mfa", {"email": user.email, "otp": current_otp(new_seed)})
    assert confirmed.status == 200, confirmed.body
    assert sign_in(api, user.email, user.password, pyotp.TOTP(new_seed).at(time.time() + 30)).status == 200
    types = [e["detail-type"] for e in api.local(f"events?user_id={user.user_id}")]
    assert {"MfaResetByOperator", "MfaEnrolmentStarted", "MfaReplaced"} <= set(types)


def test_an_operator_sign_out_ends_every_session_of_the_user(api):
    admin, user = make_admin(api, "signoutadmin"), onboard(api, "opsignout")
    tokens = sign_in(api, user.email, user.password, user.otp()).json()

    assert api.post(f"/users/{user.user_id}/sign-out").status == 401
    signed_out = api.post(f"/users/{user.user_id}/sign-out", headers=admin.headers)

    assert signed_out.status == 200 and signed_out.json() == {"user_id": user.user_id, "status": "SIGNED_OUT"}
    assert api.post("/refresh-token", {"email": user.email, "refresh_token": tokens["refresh_token"]}).status == 401
    assert api.get("/userinfo", headers={"authorization": f"Bearer {tokens['access_token']}"}).status == 401
