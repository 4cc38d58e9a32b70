"""The temporary password in the invitation reads the same in a mail client (issue 12 item 6).

Cognito pastes the temporary password unescaped into the HTML mail; one it generates may hold < or &,
which a mail client renders as something else (a password with `<b` in it loses its tail to a tag).
authflow draws the password itself (authflow.password_policy) from characters HTML leaves alone.
Each mail here is read as a mail client shows it (tests.support.flows.mail_text), and what the user
reads is what signs in.
"""

import uuid

import boto3
import pytest

from authflow.adapters import lifecycle_adapters
from authflow.settings import CognitoSettings
from authflow.users import secret_hash
from tests.support.flows import PASSWORD, TEMPORARY_PASSWORD, in_mail, unique_email
from tests.support.workflow import wait_for

pytestmark = pytest.mark.e2e

INVITATIONS = 200


@pytest.fixture(scope="module")
def settings(local_stack) -> CognitoSettings:
    """The settings the onboarding tasks run with, from their function's environment."""
    function = local_stack.runtime.function(local_stack.stack.refs["OnboardingTaskFunction"])
    return CognitoSettings(**{name.lower(): value for name, value in function.environment.items()})


def test_200_invitations_read_in_a_mail_client_give_the_password_that_signs_in(api, settings):
    adapters = lifecycle_adapters(settings)
    users, policy = adapters.users, adapters.password_policy
    invited = {}
    for _ in range(INVITATIONS):
        user_id, email = str(uuid.uuid4()), unique_email("invite")
        # as the onboarding tasks CreateCognitoUser and SendInvitation do
        users.create_user(user_id, email, "Ada Lovelace", None)
        users.send_invitation(user_id, policy.temporary_password())
        invited[email] = user_id

    mails = wait_for(lambda: (m := [m for m in api.local("mail") if set(m["to"]) & set(invited)])[INVITATIONS - 1 :] and m, 30, "the mails")
    assert len(mails) == INVITATIONS
    cognito = boto3.client("cognito-idp")
    client = cognito.describe_user_pool_client(UserPoolId=settings.user_pool_id, ClientId=settings.user_pool_client_id)
    client_secret = client["UserPoolClient"]["ClientSecret"]
    for mail in mails:
        (email,) = mail["to"]
        read = in_mail(TEMPORARY_PASSWORD, mail)
        assert read and len(read) >= settings.password_minimum_length, mail["body"]
        signed_in = cognito.admin_initiate_auth(
            UserPoolId=settings.user_pool_id,
            ClientId=settings.user_pool_client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={
                "USERNAME": invited[email],
                "PASSWORD": read,
                "SECRET_HASH": secret_hash(client_secret, settings.user_pool_client_id, invited[email]),
            },
        )
        assert signed_in["ChallengeName"] == "NEW_PASSWORD_REQUIRED", "what the user reads is the temporary password"


def test_the_password_read_in_the_invitation_confirms_the_account_over_http(api):
    email = unique_email("invite-http")
    created = api.post("/users", {"full_name": "Grace Hopper", "email": email})
    assert created.status == 201, created.body
    user_id = created.json()["user_id"]
    api.wait_for_status(user_id, "INVITED")
    (mail,) = api.mail(email)

    read = in_mail(TEMPORARY_PASSWORD, mail)

    assert f"<b>{read}</b>" in mail["body"], "the password stands in the HTML exactly as it reads"
    confirmed = api.post(f"/users/{user_id}/confirm", {"email": email, "temporary_password": read, "new_password": PASSWORD})
    assert confirmed.status == 200, confirmed.body
