"""Cognito's public APIs are closed to a caller who has only the app client's id (issue 15 item 6).

The app client has a secret (GenerateSecret): Cognito refuses its client-side calls without the
SECRET_HASH of the user they name, so the client id that every access token carries no longer lets
anyone start a password reset (a mail, no limit, no event) or try passwords around authflow. OWASP ASVS
5.0 V6.3.1 (controls against credential stuffing and brute force apply on every path) and V2.4.1
(anti-automation); NIST SP 800-63B-4 3.2.2 (rate limiting applies to every authentication endpoint).

The attacker signs in over HTTP (a user of their own), reads the client id from their access token and
calls Cognito's endpoint (the local stack's moto server) directly; the control call with the right
SECRET_HASH shows that the secret, and only it, makes the difference.
"""

import base64
import json

import pytest
from botocore.exceptions import ClientError

from authflow.users import secret_hash
from tests.support.client import onboard
from tests.support.flows import sign_in, wait_for

pytestmark = pytest.mark.e2e


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.fixture(scope="module")
def attacker(api):
    """A user of the attacker's own, signed in over HTTP: what they know is their token's client id."""
    user = onboard(api, "attacker")
    tokens = sign_in(api, user).tokens
    return user, _claims(tokens["access_token"])["client_id"]


@pytest.fixture(scope="module")
def victim(api):
    return onboard(api, "victim")


def _refusal(operation, **parameters) -> dict:
    with pytest.raises(ClientError) as refused:
        operation(**parameters)
    return refused.value.response["Error"]


def test_forgot_password_with_only_the_client_id_is_refused_and_mails_nothing(api, cognito, attacker, victim):
    _, client_id = attacker
    mails_before = len(api.mail(victim.email))

    for username in (victim.user_id, victim.email):
        error = _refusal(cognito.forgot_password, ClientId=client_id, Username=username)
        assert error["Code"] == "NotAuthorizedException"
        assert "secret" in error["Message"]
        wrong = secret_hash("guessed-secret", client_id, username)
        guessed = _refusal(cognito.forgot_password, ClientId=client_id, Username=username, SecretHash=wrong)
        assert guessed["Code"] == "NotAuthorizedException"

    assert len(api.mail(victim.email)) == mails_before, "no reset code went out"


def test_confirm_forgot_password_and_sign_ins_with_only_the_client_id_are_refused(cognito, attacker, victim):
    user, client_id = attacker
    calls = {
        "ConfirmForgotPassword": lambda: cognito.confirm_forgot_password(
            ClientId=client_id, Username=victim.user_id, ConfirmationCode="123456", Password="A-new-password-of-the-attacker"
        ),
        "InitiateAuth USER_PASSWORD_AUTH": lambda: cognito.initiate_auth(
            ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": user.user_id, "PASSWORD": user.password}
        ),
        "InitiateAuth USER_SRP_AUTH": lambda: cognito.initiate_auth(
            ClientId=client_id, AuthFlow="USER_SRP_AUTH", AuthParameters={"USERNAME": victim.user_id, "SRP_A": "1234"}
        ),
    }
    for name, call in calls.items():
        with pytest.raises(ClientError) as refused:
            call()
        assert refused.value.response["Error"]["Code"] == "NotAuthorizedException", name


def test_the_client_secret_alone_makes_the_difference(api, cognito, local_stack, victim):
    """The control: with the secret (which only authflow's functions may read) the same call goes through."""
    pool_id, client_id = local_stack.stack.refs["UserPool"], local_stack.stack.refs["UserPoolClient"]
    client = cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)["UserPoolClient"]
    assert client["ClientSecret"], "the client was made with GenerateSecret"
    mails_before = len(api.mail(victim.email))

    cognito.forgot_password(
        ClientId=client_id, Username=victim.user_id, SecretHash=secret_hash(client["ClientSecret"], client_id, victim.user_id)
    )

    wait_for(lambda: len(api.mail(victim.email)) > mails_before, 10, "the reset code mail")
