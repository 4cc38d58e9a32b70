"""Onboarding over HTTP against the local stack, as CognitoApi's README shows it, with real TOTP codes."""

import urllib.request
from dataclasses import astuple

import pytest

from tests.support.client import wrong_otp
from tests.support.flows import PASSWORD, current_otp, invite, unique_email
from tests.support.workflow import HAPPY_PATH

pytestmark = pytest.mark.e2e


def test_a_new_user_is_onboarded_to_an_active_mfa_account(api):
    email = unique_email("ada")
    created = api.post("/users", {"full_name": "Ada Lovelace", "email": email.upper()})
    assert created.status == 201, created.body
    body = created.json()
    assert body["email"] == email and body["status"] == "CREATED"
    user_id = body["user_id"]

    invitation = api.mail(email)
    temporary = api.temporary_password(email)
    assert user_id in api.mail(email)[-1]["body"]
    status = api.wait_for_status(user_id, "INVITED")
    assert [s["name"] for s in status["steps"]][:2] == ["CreateCognitoUser", "SendInvitation"]
    assert status["execution"]["name"] == user_id

    confirmed = api.post(f"/users/{user_id}/confirm", {"email": email, "temporary_password": temporary, "new_password": PASSWORD})
    assert confirmed.status == 200, confirmed.body
    confirmation = confirmed.json()
    assert confirmation["status"] == "ACTIVE" and confirmation["user_id"] == user_id
    with urllib.request.urlopen(confirmation["qr_code_secret_url"]) as qr:
        assert qr.read(8) == b"\x89PNG\r\n\x1a\n"
    api.wait_for_status(user_id, "MFA_PENDING")

    secret = confirmation["qr_code_secret"]
    refused = api.post(f"/users/{user_id}/confirm-mfa", {"email": email, "otp": wrong_otp(secret)})
    assert refused.status == 401 and refused.json()["error"]["code"] == "INVALID_MFA_CODE"

    mfa = api.post(f"/users/{user_id}/confirm-mfa", {"email": email, "otp": current_otp(secret)})
    assert mfa.status == 200, mfa.body
    codes = mfa.json().pop("recovery_codes")
    assert len(set(codes)) == 10, "ten single-use recovery codes, shown here only"
    assert {k: v for k, v in mfa.json().items() if k != "recovery_codes"} == {
        "email": email,
        "user_id": user_id,
        "mfa_status": "CONFIRMED",
        "other_sessions_revoked": False,
    }

    active = api.wait_for_status(user_id, "ACTIVE")
    assert [s["name"] for s in active["steps"]][-1] == "ActivateAccount"
    execution = api.local(f"executions/{user_id}")
    assert execution["status"] == "SUCCEEDED"
    assert [p["state"] for p in execution["path"]] == HAPPY_PATH
    assert len(invitation) <= 1


def test_the_same_email_twice_is_a_conflict(api):
    email = unique_email("twice")
    assert api.post("/users", {"full_name": "First", "email": email}).status == 201
    again = api.post("/users", {"full_name": "Second", "email": email})
    assert again.status == 409
    assert again.json()["error"]["code"] == "EMAIL_ALREADY_EXISTS"


def test_a_wrong_temporary_password_is_refused_and_changes_nothing(api):
    user_id, email, _ = astuple(invite(api, api, "wrongtmp", "Grace Hopper"))
    refused = api.post(
        f"/users/{user_id}/confirm",
        {"email": email, "temporary_password": "Not-The-Password-1", "new_password": PASSWORD},
    )
    assert refused.status == 401
    assert refused.json()["error"]["code"] == "INVALID_CREDENTIALS"
    assert api.onboarding(user_id).json()["status"] == "INVITED"


def test_resend_confirmation_code_mails_a_new_temporary_password_that_works(api):
    user_id, email, first = astuple(invite(api, api, "resend", "Alan Turing"))

    resent = api.post("/resend-confirmation-code", {"email": email})
    assert resent.status == 200
    assert resent.json() == {"email": email, "status": "CONFIRMATION_CODE_RESENT"}
    second = api.temporary_password(email, previous=first)

    stale = api.post(f"/users/{user_id}/confirm", {"email": email, "temporary_password": first, "new_password": PASSWORD})
    assert stale.status == 401
    fresh = api.post(f"/users/{user_id}/confirm", {"email": email, "temporary_password": second, "new_password": PASSWORD})
    assert fresh.status == 200, fresh.body


def test_resend_confirmation_code_answers_an_unknown_email_like_a_known_one(api, mail_requests_handled):
    email = unique_email("nobody")
    answer = api.post("/resend-confirmation-code", {"email": email})
    assert answer.status == 200
    assert answer.json() == {"email": email, "status": "CONFIRMATION_CODE_RESENT"}
    mail_requests_handled()
    assert api.mail(email) == []


def test_a_weak_new_password_is_refused_with_its_own_code(api):
    user_id, email, temporary = astuple(invite(api, api, "weak", "Weak Password"))
    refused = api.post(f"/users/{user_id}/confirm", {"email": email, "temporary_password": temporary, "new_password": "short"})
    assert refused.status == 400
    assert refused.json()["error"]["code"] == "INVALID_PASSWORD"


def test_a_retried_create_with_the_same_idempotency_key_gets_the_first_answer(api, local_stack):
    import boto3

    email = unique_email("idem")
    body = {"full_name": "Retry Me", "email": email}
    key = {"idempotency-key": f"create-{email}"}
    first = api.post("/users", body, headers=key)
    second = api.post("/users", body, headers=key)
    assert first.status == second.status == 201
    assert first.json() == second.json()
    user_id = first.json()["user_id"]
    sfn = boto3.client("stepfunctions")
    arn = local_stack.stack.state_machines["OnboardingStateMachine"]
    names = [e["name"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]]
    assert names.count(user_id) == 1
    pool = local_stack.stack.refs["UserPool"]
    api.wait_for_status(user_id, "INVITED")
    users = boto3.client("cognito-idp").list_users(UserPoolId=pool, Filter=f'email = "{email}"')["Users"]
    assert len(users) == 1

    reused = api.post("/users", {"full_name": "Someone Else", "email": unique_email("other")}, headers=key)
    assert reused.status == 409 and reused.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    without_key = api.post("/users", body)
    assert without_key.status == 409 and without_key.json()["error"]["code"] == "EMAIL_ALREADY_EXISTS"
