"""Password reset and user deletion over HTTP against the local stack."""

import pytest

from infra import catalogue
from tests.support.client import make_admin, onboard
from tests.support.flows import sign_in, unique_email, wait_for

pytestmark = pytest.mark.e2e

NEWER_PASSWORD = "Reset-Horse-5-Battery"


def test_forgot_password_mails_a_code_that_sets_a_new_password(api):
    user = onboard(api, "forgot")
    asked = api.post("/forgot-password", {"email": user.email})
    assert asked.status == 200, asked.body
    pseudo_id = asked.json()["user_id"]
    assert asked.json() == {"email": user.email, "user_id": pseudo_id, "status": "PASSWORD_FORGOT_CONFIRMATION_SENT"}
    assert pseudo_id != user.user_id, "the answer must not reveal the account's id"
    code = api.reset_code(user.email)

    wrong = "000000" if code != "000000" else "111111"
    refused = api.post(
        f"/users/{pseudo_id}/confirm-password", {"email": user.email, "new_password": NEWER_PASSWORD, "verification_code": wrong}
    )
    assert refused.status == 400 and refused.json()["error"]["code"] == "INVALID_VERIFICATION_CODE"

    done = api.post(
        f"/users/{pseudo_id}/confirm-password", {"email": user.email, "new_password": NEWER_PASSWORD, "verification_code": code}
    )
    assert done.status == 200, done.body
    assert done.json() == {
        "email": user.email,
        "user_id": pseudo_id,
        "status": "NEW_PASSWORD_SET_SUCCESSFULLY",
        "other_sessions_revoked": True,
    }
    assert api.post("/login", {"email": user.email, "password": user.password}).status == 401
    # A reset never weakens MFA: the new password alone opens no session, the authenticator is still asked.
    login = api.post("/login", {"email": user.email, "password": NEWER_PASSWORD})
    assert login.status == 200 and login.json()["verification_type"] == "SOFTWARE_TOKEN_MFA"
    assert "access_token" not in login.json()

    executions = [e for e in api.local("executions") if e["name"].startswith(f"reset-{user.user_id}")]
    assert len(executions) == 1
    wait_for(
        lambda: api.local(f"executions/{executions[0]['name']}")["status"] == "SUCCEEDED", 10, "the password reset execution to succeed"
    )


def test_forgot_password_answers_an_unknown_email_like_a_known_one_with_a_stable_pseudo_id(api, mail_requests_handled):
    known = onboard(api, "known")
    unknown = unique_email("unknown")
    known_answer = api.post("/forgot-password", {"email": known.email})
    first = api.post("/forgot-password", {"email": unknown})
    second = api.post("/forgot-password", {"email": unknown})
    assert known_answer.status == first.status == 200
    assert set(known_answer.json()) == set(first.json())
    assert first.json()["user_id"] == second.json()["user_id"] != known.user_id
    assert first.json()["status"] == "PASSWORD_FORGOT_CONFIRMATION_SENT"
    api.reset_code(known.email)
    mail_requests_handled()
    assert api.mail(unknown) == []
    leads_nowhere = api.post(
        f"/users/{first.json()['user_id']}/confirm-password",
        {"email": unknown, "new_password": NEWER_PASSWORD, "verification_code": "123456"},
    )
    assert leads_nowhere.status == 400 and leads_nowhere.json()["error"]["code"] == "INVALID_VERIFICATION_CODE"


def test_delete_user_removes_the_user_their_qr_code_and_status(api, local_stack):
    import boto3

    user = onboard(api, "delete")
    tokens = sign_in(api, user).tokens
    other = onboard(api, "bystander")
    forbidden = api.request("DELETE", f"/users/{other.user_id}", headers={"authorization": f"Bearer {tokens['access_token']}"})
    assert forbidden.status == 403 and forbidden.json()["error"]["code"] == "FORBIDDEN"

    deleted = api.request("DELETE", f"/users/{user.user_id}", headers={"authorization": f"Bearer {tokens['access_token']}"})
    assert deleted.status == 200, deleted.body
    assert deleted.json() == {"user_id": user.user_id, "status": "DELETED"}
    assert api.onboarding(user.user_id).status == 404
    assert api.post("/login", {"email": user.email, "password": user.password}).status == 401
    bucket = local_stack.stack.refs["QrCodeBucket"]
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert f"users_mfa/{user.user_id}.png" not in keys
    types = [e["detail-type"] for e in api.local(f"events?user_id={user.user_id}")]
    assert types[-1] == "UserDeleted"
    again = api.post("/users", {"full_name": "Ada Again", "email": user.email})
    assert again.status == 201


def test_the_operator_reset_with_the_api_key_mails_a_code_and_locks_nobody_out(api, mail_requests_handled):
    """CognitoApi's POST /v1/users/{id}/reset-password, replayed as an API-key holder would try it."""
    user, bystander = onboard(api, "operator-reset"), onboard(api, "bystander")
    mismatched = api.post(f"/users/{bystander.user_id}/reset-password", {"email": user.email})
    matched = api.post(f"/users/{user.user_id}/reset-password", {"email": user.email})
    assert mismatched.status == matched.status == 200
    assert mismatched.json() == {"email": user.email, "user_id": bystander.user_id, "status": "PASSWORD_FORGOT_CONFIRMATION_SENT"}
    assert matched.json() == {"email": user.email, "user_id": user.user_id, "status": "PASSWORD_FORGOT_CONFIRMATION_SENT"}
    code = api.reset_code(user.email)
    mail_requests_handled()
    assert not [m for m in api.mail(bystander.email) if "reset code" in m["body"]], "a mismatched pair mails nobody"
    assert api.post("/login", {"email": user.email, "password": user.password}).status == 200, "the password still works"
    confirmed = api.post(
        f"/users/{user.user_id}/confirm-password", {"email": user.email, "new_password": NEWER_PASSWORD, "verification_code": code}
    )
    assert confirmed.status == 200, confirmed.body
    assert api.post("/login", {"email": user.email, "password": NEWER_PASSWORD}).status == 200


def test_only_an_admin_may_force_a_reset_and_then_the_old_password_stops_working(api):
    """The forced reset replayed as an API-key holder, a signed-in user and an administrator would try it."""
    user, admin = onboard(api, "forced"), make_admin(api)
    route, body = f"/users/{user.user_id}/reset-password", {"email": user.email, "force": True}
    own_token = sign_in(api, user).tokens["access_token"]
    assert api.post(route, body).status == 401, "the API key alone may not force a reset"
    not_admin = api.post(route, body, headers={"authorization": f"Bearer {own_token}"})
    assert not_admin.status == 403 and not_admin.json()["error"]["code"] == "FORBIDDEN"
    assert api.post("/login", {"email": user.email, "password": user.password}).status == 200

    seen = len(api.local(f"events?user_id={user.user_id}"))
    forced = api.post(route, body, headers=admin.headers)

    assert forced.status == 200, forced.body
    assert forced.json() == {"email": user.email, "user_id": user.user_id, "status": "PASSWORD_RESET_FORCED"}
    refused = api.post("/login", {"email": user.email, "password": user.password})
    assert refused.status == 401 and refused.json()["error"]["code"] == "INVALID_CREDENTIALS"
    confirmed = api.post(
        f"/users/{user.user_id}/confirm-password",
        {"email": user.email, "new_password": NEWER_PASSWORD, "verification_code": api.reset_code(user.email)},
    )
    assert confirmed.status == 200, confirmed.body
    assert api.post("/login", {"email": user.email, "password": NEWER_PASSWORD}).status == 200
    promised = catalogue.FLOWS["Password reset forced"]["events"]
    assert [e["detail-type"] for e in api.local(f"events?user_id={user.user_id}")][seen : seen + len(promised)] == promised
