"""Accounts (authflow.accounts) in-process: deleting a user removes the Cognito user, the QR code and
every status item, stops an onboarding still running, and is allowed to the user or an administrator."""

import boto3
import pytest
from pydantic import SecretStr

from authflow import errors
from authflow.accounts import Accounts
from authflow.admins import Callers
from authflow.models import LoginRequest, MfaVerifyRequest
from authflow.sessions import Sessions
from tests.support.in_process import PASSWORD
from tests.unit.conftest import new_email


@pytest.fixture
def accounts(adapters, settings) -> Accounts:
    callers = Callers(adapters.verifier, settings.user_pool_id, settings.admin_group_name, ttl_seconds=settings.admin_check_cache_seconds)
    return Accounts(adapters, callers)


@pytest.fixture
def access_token(adapters, settings, driver):
    """Signs the user in (login and MFA, in-process) and answers their access token."""
    sessions = Sessions(adapters, login_state_machine_arn=settings.login_state_machine_arn)

    def sign_in(email: str) -> SecretStr:
        started = sessions.login(LoginRequest(email=email, password=PASSWORD), "req")
        request = MfaVerifyRequest(
            email=email, verification_type="SOFTWARE_TOKEN_MFA", verification_session=started.verification_session, otp_code=driver.otp()
        )
        return SecretStr(sessions.verify_mfa(request, "req").access_token)

    return sign_in


def test_a_user_deletes_themselves_and_everything_of_theirs_goes(accounts, driver, access_token, adapters, settings, tap):
    email = new_email("delete")
    user_id = driver.onboard(email)

    deleted = accounts.delete(user_id, access_token(email), "req-delete")

    assert deleted.status == "DELETED"
    assert adapters.status.get(user_id) is None and adapters.claims.user_id_for(email) is None
    assert adapters.users.email_of(user_id) is None
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=settings.qr_bucket_name, Prefix=f"users_mfa/{user_id}")
    assert tap.types(user_id)[-1] == "UserDeleted"
    assert driver.workflows.stopped == [], "a finished onboarding has no execution to stop"


def test_another_user_may_not_delete_but_an_administrator_may_and_stops_the_onboarding(accounts, driver, access_token, settings, workflows):
    victim = driver.start(new_email("victim"))
    driver.invite(victim)
    other_email, admin_email = new_email("other"), new_email("admin")
    driver.onboard(other_email)
    admin_id = driver.onboard(admin_email)
    boto3.client("cognito-idp").admin_add_user_to_group(
        UserPoolId=settings.user_pool_id, Username=admin_id, GroupName=settings.admin_group_name
    )

    with pytest.raises(errors.Forbidden):
        accounts.delete(victim, access_token(other_email), "req")
    accounts.delete(victim, access_token(admin_email), "req")

    assert [error for _, error in workflows.stopped] == ["UserDeleted"]
    with pytest.raises(errors.UserNotFound):
        accounts.delete(victim, access_token(admin_email), "req")


def test_a_user_deletes_themselves_with_the_id_token_cognitoapis_clients_send(accounts, driver, adapters, settings):
    email = new_email("delete-id")
    user_id = driver.onboard(email)
    sessions = Sessions(adapters, login_state_machine_arn=settings.login_state_machine_arn)
    started = sessions.login(LoginRequest(email=email, password=PASSWORD), "req")
    request = MfaVerifyRequest(
        email=email, verification_type="SOFTWARE_TOKEN_MFA", verification_session=started.verification_session, otp_code=driver.otp()
    )
    id_token = SecretStr(sessions.verify_mfa(request, "req").id_token)

    assert accounts.delete(user_id, id_token, "req-delete").status == "DELETED"
    assert adapters.users.email_of(user_id) is None
