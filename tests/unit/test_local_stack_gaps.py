"""Each gap between moto and AWS that infra/ closes, shown closed on the running local stack.

One test (or a small group) per gap, each failing if the local stack fell back to moto's behaviour:
- AdminCreateUser without TemporaryPassword: a generated, policy-compliant password, mailed through
  the pool's CustomMessage trigger (infra/cognito.py);
- MessageAction RESEND: same user (attributes, sub), new temporary password, mailed; refused for a
  confirmed user (infra/cognito.py);
- Lambda Invoke runs the real handler in-process, and a raising handler is an Unhandled function
  error (infra/lambda_runtime.py);
- passwords of up to 256 characters, as Cognito accepts (infra/cognito.py);
- TOTP secrets authenticator apps accept, one per AssociateSoftwareToken, each checked for its own
  user; a challenge session answered only for the user it was issued to (infra/cognito.py);
- disabling a user's TOTP makes the next sign-in ask for a new enrolment (infra/cognito.py);
- the app client's secret: every call it authorises is refused without its user's SECRET_HASH, the
  admin sign-in, its challenges and its refresh too (infra/cognito.py), and GetAtt ClientSecret gives
  the secret moto drew to the secret the functions read (infra/provision.py);
- the bucket policy: only the TLS-only statement is left out locally (infra/provision.py);
- SendMessage costs the same whatever the queue's depth (infra/sqs.py);
- moto's CloudFormation deploys the translated template, for the CLI's tests against a deployed
  stack (tests/support/cloudformation.py);
- moto serves no HTTP API: the local gateway sends the template's HttpApi requests to its function
  as payload format 2.0 events, with the HttpApi's CORS and HTTP API's own answers (infra/gateway.py).
"""

import base64
import functools
import json
import re
import string
import time
import uuid
from pathlib import Path

import boto3
import pyotp
import pytest
from botocore.exceptions import ClientError

from authflow.users import secret_hash
from infra.cognito import _SYMBOLS, COGNITO_DEFAULT_SENDER
from infra.lambda_runtime import LocalLambdaRuntime
from infra.provision import Provisioner
from infra.template import load_template
from infra.views import LocalViews
from tests.support.cloudformation import cloudformation_gaps_closed, deploy
from tests.support.flows import PASSWORD, wait_for
from tests.support.workflow import in_process_aws, stack_client  # noqa: F401 (in_process_aws: a fixture)

# Each gap closer is checked on the running local stack.
pytestmark = pytest.mark.e2e

TEMPLATE = load_template()
MINIMUM_LENGTH = int(TEMPLATE["Parameters"]["PasswordMinimumLength"]["Default"])
APP_NAME = TEMPLATE["Parameters"]["AppName"]["Default"]


@pytest.fixture(scope="module")
def pool_id(local_stack) -> str:
    return local_stack.stack.refs["UserPool"]


@pytest.fixture(scope="module")
def client_id(local_stack) -> str:
    return local_stack.stack.refs["UserPoolClient"]


def mail_to(views: LocalViews, email: str) -> list[dict]:
    return [m for m in views.mail() if email in m["to"]]


# Cognito pastes a password it generated into the HTML unescaped (which is why authflow passes its own,
# see UserDirectory.send_invitation): these tests read it as pasted, not as a mail client renders it.
_PASTED_PASSWORD = re.compile(r"temporary password: <b>(.+?)</b></p>", re.DOTALL)


def mailed_password(message: dict) -> str:
    found = _PASTED_PASSWORD.search(message["body"])
    assert found, f"no temporary password in {message['body']!r}"
    return found.group(1)


def attributes(user: dict) -> dict:
    return {a["Name"]: a["Value"] for a in user.get("UserAttributes", user.get("Attributes", []))}


def new_identity(tag: str) -> tuple[str, str]:
    username = str(uuid.uuid4())
    return username, f"{tag}-{username[:10]}@example.com"


def user_attributes(email: str, given_name: str = "Ada") -> list[dict]:
    return [
        {"Name": "email", "Value": email},
        {"Name": "email_verified", "Value": "true"},
        {"Name": "given_name", "Value": given_name},
        {"Name": "family_name", "Value": "Lovelace"},
    ]


def hashed(cognito, pool_id, client_id, username) -> str:
    """The SECRET_HASH the app client's secret makes for this username, as authflow's functions send it."""
    client_secret = cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)["UserPoolClient"]["ClientSecret"]
    return secret_hash(client_secret, client_id, username)


def password_auth(cognito, pool_id, client_id, username, password) -> dict:
    return cognito.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password, "SECRET_HASH": hashed(cognito, pool_id, client_id, username)},
    )


# ----------------------------------------------------------------------------- generated temporary password


def test_admin_create_user_without_a_password_mails_a_generated_policy_compliant_one(cognito, pool_id, client_id, views):
    username, email = new_identity("gen")

    cognito.admin_create_user(
        UserPoolId=pool_id, Username=username, UserAttributes=user_attributes(email, "<i>Ada</i>"), DesiredDeliveryMediums=["EMAIL"]
    )

    (message,) = wait_for(lambda: mail_to(views, email), 5, "the invitation mail")
    # formatted by the CustomMessage trigger (the real handler), not moto's or Cognito's default text
    assert message["subject"] == f"Your {APP_NAME} account" != "Your temporary password"
    assert message["from"] == COGNITO_DEFAULT_SENDER
    # a name that is not a plain name is never put in a mail (authflow.mail's greeting rule)
    assert "Hello there," in message["body"] and "<i>" not in message["body"]
    assert f"Your user id: <b>{username}</b>" in message["body"], "Cognito's {username} placeholder is filled"
    assert "{####}" not in message["body"] and "{username}" not in message["body"]

    password = mailed_password(message)
    assert len(password) >= MINIMUM_LENGTH
    # like Cognito's, the generated password mixes every character class
    assert any(c in string.ascii_lowercase for c in password)
    assert any(c in string.ascii_uppercase for c in password)
    assert any(c in string.digits for c in password)
    assert any(c in _SYMBOLS for c in password)

    challenge = password_auth(cognito, pool_id, client_id, username, password)
    assert challenge["ChallengeName"] == "NEW_PASSWORD_REQUIRED", "the mailed password is the user's password"


def test_generated_temporary_passwords_differ_between_users(cognito, pool_id, views):
    passwords = set()
    for _ in range(3):
        username, email = new_identity("distinct")
        cognito.admin_create_user(UserPoolId=pool_id, Username=username, UserAttributes=user_attributes(email))
        (message,) = wait_for(functools.partial(mail_to, views, email), 5, "the invitation mail")
        passwords.add(mailed_password(message))
    assert len(passwords) == 3


# ----------------------------------------------------------------------------- RESEND


def test_resend_keeps_the_user_and_mails_a_new_temporary_password(cognito, pool_id, client_id, views):
    username, email = new_identity("resend")
    cognito.admin_create_user(
        UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS", UserAttributes=user_attributes(email, "Grace")
    )
    before = cognito.admin_get_user(UserPoolId=pool_id, Username=username)
    assert mail_to(views, email) == [], "SUPPRESS sends nothing"

    cognito.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="RESEND", DesiredDeliveryMediums=["EMAIL"])

    after = cognito.admin_get_user(UserPoolId=pool_id, Username=username)
    assert attributes(after) == attributes(before), "moto's RESEND re-creates the user and drops its attributes"
    assert attributes(after)["sub"] == attributes(before)["sub"]
    assert after["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    (first,) = wait_for(lambda: mail_to(views, email), 5, "the resent invitation")
    assert first["subject"] == f"Your {APP_NAME} account" and "Hello Grace," in first["body"]
    first_password = mailed_password(first)
    assert password_auth(cognito, pool_id, client_id, username, first_password)["ChallengeName"] == "NEW_PASSWORD_REQUIRED"

    cognito.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="RESEND", DesiredDeliveryMediums=["EMAIL"])
    second = wait_for(lambda: (mails := mail_to(views, email))[1:] and mails[1], 5, "the second invitation")
    second_password = mailed_password(second)
    assert second_password != first_password
    with pytest.raises(ClientError) as stale:
        password_auth(cognito, pool_id, client_id, username, first_password)
    assert stale.value.response["Error"]["Code"] == "NotAuthorizedException"
    assert password_auth(cognito, pool_id, client_id, username, second_password)["ChallengeName"] == "NEW_PASSWORD_REQUIRED"


def test_resend_is_refused_for_a_confirmed_user_and_mails_nothing(cognito, pool_id, views):
    username, email = new_identity("confirmed")
    cognito.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS", UserAttributes=user_attributes(email))
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=PASSWORD, Permanent=True)
    assert cognito.admin_get_user(UserPoolId=pool_id, Username=username)["UserStatus"] == "CONFIRMED"

    with pytest.raises(ClientError) as refused:
        cognito.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="RESEND", DesiredDeliveryMediums=["EMAIL"])

    assert refused.value.response["Error"]["Code"] == "UnsupportedUserStateException"
    assert cognito.admin_get_user(UserPoolId=pool_id, Username=username)["UserStatus"] == "CONFIRMED"
    assert mail_to(views, email) == []


# ----------------------------------------------------------------------------- password length


@pytest.mark.parametrize(
    ("length", "accepted"), [(MINIMUM_LENGTH - 1, False), (MINIMUM_LENGTH, True), (128, True), (256, True), (257, False)]
)
def test_the_pool_takes_passwords_from_its_minimum_length_to_256_characters_as_cognito_does(cognito, pool_id, length, accepted):
    username, email = new_identity("length")
    cognito.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS", UserAttributes=user_attributes(email))
    password = ("correct horse battery staple " * 10)[:length]

    def set_password():
        cognito.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=password, Permanent=True)

    if accepted:
        set_password()  # moto refuses 99 characters and more
        assert cognito.admin_get_user(UserPoolId=pool_id, Username=username)["UserStatus"] == "CONFIRMED"
    else:
        with pytest.raises(ClientError) as refused:
            set_password()
        assert refused.value.response["Error"]["Code"] == "InvalidPasswordException"


# ----------------------------------------------------------------------------- Lambda Invoke


def custom_message_event(pool_id: str, username: str, given_name: str) -> dict:
    return {
        "version": "1",
        "triggerSource": "CustomMessage_AdminCreateUser",
        "region": "us-east-1",
        "userPoolId": pool_id,
        "userName": username,
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown", "clientId": "CLIENT_ID_NOT_APPLICABLE"},
        "request": {
            "userAttributes": {"sub": str(uuid.uuid4()), "email": "x@example.com", "given_name": given_name},
            "codeParameter": "{####}",
            "usernameParameter": "{username}",
        },
        "response": {"smsMessage": None, "emailMessage": None, "emailSubject": None},
    }


def test_lambda_invoke_runs_the_real_handler_in_process(local_stack, pool_id, views):
    lambda_client = stack_client(local_stack, "lambda")
    function = local_stack.stack.refs["CognitoTriggerFunction"]
    username = str(uuid.uuid4())
    before = local_stack.runtime.invocations[function]

    response = lambda_client.invoke(
        FunctionName=function, Payload=json.dumps(custom_message_event(pool_id, username, "<script>x</script>"))
    )

    assert response["StatusCode"] == 200 and "FunctionError" not in response
    result = json.loads(response["Payload"].read())
    # moto's simple backend would echo the payload back; the real handler formats the message
    assert result["response"]["emailSubject"] == f"Your {APP_NAME} account"
    message = result["response"]["emailMessage"]
    assert "Hello there," in message and "<script>" not in message
    assert "{####}" in message and "{username}" in message, "Cognito fills its placeholders after the trigger"
    assert local_stack.runtime.invocations[function] == before + 1
    # and its side effect, the fact published on the bus, is in the archive
    published = wait_for(lambda: views.events(user_id=username, detail_type="CustomMessagePrepared"), 5, "the trigger's event")
    assert published[0]["detail"]["trigger_source"] == "CustomMessage_AdminCreateUser"


def test_lambda_invoke_of_a_failing_handler_is_an_unhandled_function_error(local_stack):
    lambda_client = stack_client(local_stack, "lambda")

    response = lambda_client.invoke(
        FunctionName=local_stack.stack.refs["OnboardingTaskFunction"], Payload=json.dumps({"task": "no_such_task"})
    )

    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "ValidationError"
    assert {"errorMessage", "errorType", "stackTrace"} <= set(error)


# ----------------------------------------------------------------------------- aws-sdk tasks on Cognito


def sdk_task_machine(local_stack, states: dict) -> str:
    """An Express state machine of these states (from the first), on the local stack."""
    definition = {"StartAt": next(iter(states)), "States": states}
    machine = stack_client(local_stack, "stepfunctions").create_state_machine(
        name=f"gap-sdk-{uuid.uuid4().hex[:8]}",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/gap",
        type="EXPRESS",
    )
    return machine["stateMachineArn"]


def caught(error: str, next_state: str) -> list[dict]:
    return [{"ErrorEquals": [error], "ResultPath": "$.caught", "Next": next_state}]


def test_an_aws_sdk_task_calls_cognito_with_its_keys_and_aws_error_names(local_stack, pool_id, cognito, client_id):
    """moto's interpreter knows no `cognitoidentityprovider` service (boto's `cognito-idp`) and names its
    errors `cognitoidentityprovider.X`; AWS names them `CognitoIdentityProvider.X`, which a Catch matches."""
    user, _ = enrolled_user(cognito, pool_id, client_id)
    sdk = "arn:aws:states:::aws-sdk:cognitoidentityprovider:"
    machine = sdk_task_machine(
        local_stack,
        {
            "DescribePool": {
                "Type": "Task",
                "Resource": sdk + "describeUserPool",
                "Parameters": {"UserPoolId": pool_id},
                "ResultSelector": {"pool_id.$": "$.UserPool.Id"},
                "ResultPath": "$.pool",
                "Next": "GetUnknownUser",
            },
            "GetUnknownUser": {
                "Type": "Task",
                "Resource": sdk + "adminGetUser",
                "Parameters": {"UserPoolId": pool_id, "Username": str(uuid.uuid4())},
                "Catch": caught("CognitoIdentityProvider.UserNotFoundException", "SignInWithoutSecretHash"),
                "Next": "NotCaught",
            },
            # infra/cognito.py's gaps apply to a state machine's calls: the app client's SECRET_HASH is required.
            "SignInWithoutSecretHash": {
                "Type": "Task",
                "Resource": sdk + "adminInitiateAuth",
                "Parameters": {
                    "UserPoolId": pool_id,
                    "ClientId": client_id,
                    "AuthFlow": "ADMIN_USER_PASSWORD_AUTH",
                    "AuthParameters": {"USERNAME": user, "PASSWORD": PASSWORD},
                },
                "ResultPath": "$.signed_in",
                "Catch": caught("CognitoIdentityProvider.NotAuthorizedException", "Done"),
                "Next": "NotCaught",
            },
            "Done": {"Type": "Pass", "Parameters": {"pool_id.$": "$.pool.pool_id", "error.$": "$.caught.Error"}, "End": True},
            "NotCaught": {"Type": "Fail", "Error": "NotCaught"},
        },
    )
    execution = stack_client(local_stack, "stepfunctions").start_sync_execution(stateMachineArn=machine, input="{}")
    assert execution["status"] == "SUCCEEDED", execution
    assert json.loads(execution["output"]) == {"pool_id": pool_id, "error": "CognitoIdentityProvider.NotAuthorizedException"}


# ----------------------------------------------------------------------------- the app client's secret


def test_the_functions_secret_is_the_clients_and_every_admin_sign_in_step_needs_its_hash(cognito, pool_id, client_id, local_stack):
    client_secret = cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)["UserPoolClient"]["ClientSecret"]
    secret_arn = local_stack.stack.refs["AppClientSecret"]
    assert stack_client(local_stack, "secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"] == client_secret
    alice, _ = enrolled_user(cognito, pool_id, client_id)
    bob, bob_totp = enrolled_user(cognito, pool_id, client_id)

    def refused(**auth_parameters) -> str:
        with pytest.raises(ClientError) as refusal:
            cognito.admin_initiate_auth(
                UserPoolId=pool_id, ClientId=client_id, AuthFlow="ADMIN_USER_PASSWORD_AUTH", AuthParameters=auth_parameters
            )
        return refusal.value.response["Error"]["Code"]

    assert refused(USERNAME=bob, PASSWORD=PASSWORD) == "NotAuthorizedException"  # moto: a challenge
    assert refused(USERNAME=bob, PASSWORD=PASSWORD, SECRET_HASH=hashed(cognito, pool_id, client_id, alice)) == "NotAuthorizedException"
    session = mfa_challenge(cognito, pool_id, client_id, bob)
    with pytest.raises(ClientError, match="NotAuthorized"):  # the MFA answer without the hash
        cognito.admin_respond_to_auth_challenge(
            UserPoolId=pool_id,
            ClientId=client_id,
            ChallengeName="SOFTWARE_TOKEN_MFA",
            ChallengeResponses={"USERNAME": bob, "SOFTWARE_TOKEN_MFA_CODE": bob_totp.now()},
            Session=session,
        )
    refresh_token = answer_mfa(cognito, pool_id, client_id, session, bob, bob_totp.now())["AuthenticationResult"]["RefreshToken"]

    def refresh(username: str) -> dict:
        return cognito.admin_initiate_auth(
            UserPoolId=pool_id,
            ClientId=client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": refresh_token, "SECRET_HASH": hashed(cognito, pool_id, client_id, username)},
        )

    with pytest.raises(ClientError, match="NotAuthorized"):  # moto's admin refresh checks no hash
        refresh(alice)
    assert refresh(bob)["AuthenticationResult"]["AccessToken"]


# ----------------------------------------------------------------------------- TOTP


def mfa_setup_session(cognito, pool_id, client_id) -> tuple[str, str]:
    username, email = new_identity("totp")
    temporary = "Temporary-Passw0rd-1!"
    cognito.admin_create_user(
        UserPoolId=pool_id, Username=username, TemporaryPassword=temporary, MessageAction="SUPPRESS", UserAttributes=user_attributes(email)
    )
    auth = password_auth(cognito, pool_id, client_id, username, temporary)
    challenge = cognito.admin_respond_to_auth_challenge(
        UserPoolId=pool_id,
        ClientId=client_id,
        ChallengeName="NEW_PASSWORD_REQUIRED",
        ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": PASSWORD, "SECRET_HASH": hashed(cognito, pool_id, client_id, username)},
        Session=auth["Session"],
    )
    assert challenge["ChallengeName"] == "MFA_SETUP", "the pool makes TOTP mandatory"
    return username, challenge["Session"]


def away_from_a_step_boundary() -> None:
    if 30 - time.time() % 30 < 2:
        time.sleep(2.1)


def test_the_totp_secret_is_one_authenticator_apps_accept_and_codes_are_really_checked(cognito, pool_id, client_id):
    _, session = mfa_setup_session(cognito, pool_id, client_id)

    associated = cognito.associate_software_token(Session=session)

    secret = associated["SecretCode"]
    assert len(secret) >= 32 and set(secret) <= set(string.ascii_uppercase + "234567=")
    assert len(base64.b32decode(secret)) >= 20, "at least 160 bits, like Cognito's (moto's own is 60 bits)"
    totp = pyotp.TOTP(secret)
    assert re.fullmatch(r"\d{6}", totp.now())

    away_from_a_step_boundary()
    valid = {totp.at(time.time() + offset) for offset in (-30, 0, 30)}
    wrong = next(code for code in (f"{n:06d}" for n in range(10**6)) if code not in valid)
    with pytest.raises(ClientError) as refused:
        cognito.verify_software_token(Session=associated["Session"], UserCode=wrong)
    assert refused.value.response["Error"]["Code"] in ("CodeMismatchException", "EnableSoftwareTokenMFAException")

    away_from_a_step_boundary()
    verified = cognito.verify_software_token(Session=associated["Session"], UserCode=totp.now())
    assert verified["Status"] == "SUCCESS"


def test_a_code_of_the_previous_30_second_step_is_accepted_as_cognito_does(cognito, pool_id, client_id):
    _, session = mfa_setup_session(cognito, pool_id, client_id)
    associated = cognito.associate_software_token(Session=session)
    totp = pyotp.TOTP(associated["SecretCode"])

    away_from_a_step_boundary()
    previous = totp.at(time.time() - 30)

    assert cognito.verify_software_token(Session=associated["Session"], UserCode=previous)["Status"] == "SUCCESS"


def enrolled_user(cognito, pool_id, client_id) -> tuple[str, pyotp.TOTP]:
    """A user with TOTP enrolled through AssociateSoftwareToken and VerifySoftwareToken."""
    username, session = mfa_setup_session(cognito, pool_id, client_id)
    associated = cognito.associate_software_token(Session=session)
    totp = pyotp.TOTP(associated["SecretCode"])
    away_from_a_step_boundary()
    assert cognito.verify_software_token(Session=associated["Session"], UserCode=totp.now())["Status"] == "SUCCESS"
    cognito.admin_set_user_mfa_preference(
        UserPoolId=pool_id, Username=username, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
    )
    return username, totp


def mfa_challenge(cognito, pool_id, client_id, username) -> str:
    auth = password_auth(cognito, pool_id, client_id, username, PASSWORD)
    assert auth["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    return auth["Session"]


def answer_mfa(cognito, pool_id, client_id, session, username, code) -> dict:
    return cognito.admin_respond_to_auth_challenge(
        UserPoolId=pool_id,
        ClientId=client_id,
        ChallengeName="SOFTWARE_TOKEN_MFA",
        ChallengeResponses={
            "USERNAME": username,
            "SOFTWARE_TOKEN_MFA_CODE": code,
            "SECRET_HASH": hashed(cognito, pool_id, client_id, username),
        },
        Session=session,
    )


def test_each_association_draws_its_own_secret_and_verification_checks_that_one(cognito, pool_id, client_id):
    _, first_session = mfa_setup_session(cognito, pool_id, client_id)
    _, second_session = mfa_setup_session(cognito, pool_id, client_id)

    first = cognito.associate_software_token(Session=first_session)
    second = cognito.associate_software_token(Session=second_session)

    assert first["SecretCode"] != second["SecretCode"], "moto gives every user the same secret"
    away_from_a_step_boundary()
    other_users_code = pyotp.TOTP(first["SecretCode"]).now()
    with pytest.raises(ClientError) as refused:
        cognito.verify_software_token(Session=second["Session"], UserCode=other_users_code)
    assert refused.value.response["Error"]["Code"] == "CodeMismatchException"
    assert cognito.verify_software_token(Session=second["Session"], UserCode=pyotp.TOTP(second["SecretCode"]).now())["Status"] == "SUCCESS"


def test_sign_in_checks_the_code_against_the_users_own_secret(cognito, pool_id, client_id):
    alice, alice_totp = enrolled_user(cognito, pool_id, client_id)
    bob, bob_totp = enrolled_user(cognito, pool_id, client_id)
    away_from_a_step_boundary()
    assert alice_totp.now() != bob_totp.now()

    with pytest.raises(ClientError) as refused:
        answer_mfa(cognito, pool_id, client_id, mfa_challenge(cognito, pool_id, client_id, bob), bob, alice_totp.now())
    assert refused.value.response["Error"]["Code"] == "CodeMismatchException"

    signed_in = answer_mfa(cognito, pool_id, client_id, mfa_challenge(cognito, pool_id, client_id, bob), bob, bob_totp.now())
    assert "AccessToken" in signed_in["AuthenticationResult"]


def test_the_challenge_answers_client_metadata_reaches_the_post_authentication_trigger(cognito, pool_id, client_id, views):
    username, totp = enrolled_user(cognito, pool_id, client_id)
    session = mfa_challenge(cognito, pool_id, client_id, username)
    away_from_a_step_boundary()
    cognito.admin_respond_to_auth_challenge(
        UserPoolId=pool_id,
        ClientId=client_id,
        ChallengeName="SOFTWARE_TOKEN_MFA",
        ChallengeResponses={
            "USERNAME": username,
            "SOFTWARE_TOKEN_MFA_CODE": totp.now(),
            "SECRET_HASH": hashed(cognito, pool_id, client_id, username),
        },
        Session=session,
        ClientMetadata={"request_id": "req-gap", "execution_arn": "arn:aws:states:eu-west-1:123456789012:execution:login:gap"},
    )
    # The real trigger handler puts what it received in its LoginSucceeded event; moto drops the metadata.
    signed_in = wait_for(lambda: views.events(user_id=username, detail_type="LoginSucceeded"), 5, "the trigger's event")
    assert signed_in[-1]["detail"]["request_id"] == "req-gap"
    assert signed_in[-1]["detail"]["execution_arn"] == "arn:aws:states:eu-west-1:123456789012:execution:login:gap"


def test_a_session_answers_only_for_the_user_it_was_issued_to(cognito, pool_id, client_id):
    alice, alice_totp = enrolled_user(cognito, pool_id, client_id)
    bob, _ = enrolled_user(cognito, pool_id, client_id)
    alice_session = mfa_challenge(cognito, pool_id, client_id, alice)
    away_from_a_step_boundary()

    with pytest.raises(ClientError) as refused:
        answer_mfa(cognito, pool_id, client_id, alice_session, bob, alice_totp.now())

    assert refused.value.response["Error"]["Code"] == "NotAuthorizedException", "moto signs in as bob"
    signed_in = answer_mfa(cognito, pool_id, client_id, alice_session, alice, alice_totp.now())
    claims = json.loads(base64.urlsafe_b64decode(signed_in["AuthenticationResult"]["IdToken"].split(".")[1] + "=="))
    assert claims["cognito:username"] == alice


def test_a_session_may_be_answered_with_its_users_email_as_cognito_accepts_an_alias(cognito, pool_id, client_id):
    alice, totp = enrolled_user(cognito, pool_id, client_id)
    email = attributes(cognito.admin_get_user(UserPoolId=pool_id, Username=alice))["email"]
    session = mfa_challenge(cognito, pool_id, client_id, alice)
    away_from_a_step_boundary()

    signed_in = answer_mfa(cognito, pool_id, client_id, session, email.upper(), totp.now())

    claims = json.loads(base64.urlsafe_b64decode(signed_in["AuthenticationResult"]["IdToken"].split(".")[1] + "=="))
    assert claims["cognito:username"] == alice, "moto looks the USERNAME up by username only"


def test_a_new_secret_replaces_the_old_one_only_once_verified(cognito, pool_id, client_id):
    """Re-enrolment with an access token, as Cognito does it: the old authenticator signs in until the
    new secret is verified, then only the new one does."""
    username, old = enrolled_user(cognito, pool_id, client_id)
    used: set[str] = set()

    def unused_code(totp: pyotp.TOTP) -> str:
        """A code valid now (this step or a neighbour) that has not signed in yet: a code signs in once."""
        away_from_a_step_boundary()
        now = time.time()
        code = next(c for c in (totp.at(now), totp.at(now - 30), totp.at(now + 30)) if c not in used)
        used.add(code)
        return code

    def sign_in(totp: pyotp.TOTP) -> dict:
        return answer_mfa(cognito, pool_id, client_id, mfa_challenge(cognito, pool_id, client_id, username), username, unused_code(totp))

    access_token = sign_in(old)["AuthenticationResult"]["AccessToken"]
    new = pyotp.TOTP(cognito.associate_software_token(AccessToken=access_token)["SecretCode"])
    assert new.secret != old.secret
    assert "AccessToken" in sign_in(old)["AuthenticationResult"], "the new secret is not in force before it is verified"
    away_from_a_step_boundary()
    assert cognito.verify_software_token(AccessToken=access_token, UserCode=new.now())["Status"] == "SUCCESS"

    with pytest.raises(ClientError) as refused:
        sign_in(old)
    assert refused.value.response["Error"]["Code"] == "CodeMismatchException"
    assert "AccessToken" in sign_in(new)["AuthenticationResult"]


def test_a_new_password_challenge_sets_only_its_own_users_password(cognito, pool_id, client_id):
    temporary = "Temporary-Passw0rd-1!"
    users = []
    for _ in range(2):
        username, email = new_identity("newpw")
        cognito.admin_create_user(
            UserPoolId=pool_id,
            Username=username,
            TemporaryPassword=temporary,
            MessageAction="SUPPRESS",
            UserAttributes=user_attributes(email),
        )
        users.append(username)
    alice, bob = users
    alice_session = password_auth(cognito, pool_id, client_id, alice, temporary)["Session"]

    with pytest.raises(ClientError) as refused:
        cognito.admin_respond_to_auth_challenge(
            UserPoolId=pool_id,
            ClientId=client_id,
            ChallengeName="NEW_PASSWORD_REQUIRED",
            ChallengeResponses={"USERNAME": bob, "NEW_PASSWORD": PASSWORD, "SECRET_HASH": hashed(cognito, pool_id, client_id, bob)},
            Session=alice_session,
        )

    assert refused.value.response["Error"]["Code"] == "NotAuthorizedException"
    assert cognito.admin_get_user(UserPoolId=pool_id, Username=bob)["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    assert password_auth(cognito, pool_id, client_id, bob, temporary)["ChallengeName"] == "NEW_PASSWORD_REQUIRED"


def test_disabling_a_users_totp_makes_the_next_sign_in_ask_for_a_new_enrolment(cognito, pool_id, client_id):
    username, session = mfa_setup_session(cognito, pool_id, client_id)
    associated = cognito.associate_software_token(Session=session)
    away_from_a_step_boundary()
    cognito.verify_software_token(Session=associated["Session"], UserCode=pyotp.TOTP(associated["SecretCode"]).now())
    cognito.admin_set_user_mfa_preference(
        UserPoolId=pool_id, Username=username, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
    )
    assert password_auth(cognito, pool_id, client_id, username, PASSWORD)["ChallengeName"] == "SOFTWARE_TOKEN_MFA"

    cognito.admin_set_user_mfa_preference(
        UserPoolId=pool_id, Username=username, SoftwareTokenMfaSettings={"Enabled": False, "PreferredMfa": False}
    )

    assert password_auth(cognito, pool_id, client_id, username, PASSWORD)["ChallengeName"] == "MFA_SETUP"


# ----------------------------------------------------------------------------- bucket policy


def denies_plain_http(statement: dict) -> bool:
    return statement.get("Effect") == "Deny" and statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") in (
        "false",
        False,
    )


def local_policy_statements(s3, bucket: str) -> list[dict]:
    try:
        return json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
    except ClientError as error:
        assert error.response["Error"]["Code"] == "NoSuchBucketPolicy"
        return []


def test_the_qr_bucket_gets_every_template_statement_but_the_tls_only_one(local_stack):
    s3 = stack_client(local_stack, "s3")
    bucket = local_stack.stack.refs["QrCodeBucket"]
    templated = TEMPLATE["Resources"]["QrCodeBucketTlsOnlyPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert [s.get("Sid") for s in templated if denies_plain_http(s)] == ["DenyInsecureTransport"]

    kept = [s for s in templated if not denies_plain_http(s)]
    assert [s.get("Sid") for s in local_policy_statements(s3, bucket)] == [s.get("Sid") for s in kept]

    # the bucket's other protections are all applied locally
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    ownership = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert ownership == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_the_provisioner_drops_only_the_tls_only_statement(local_stack):
    """A policy with the TLS-only Deny and another statement: the other one reaches the local bucket."""
    s3 = stack_client(local_stack, "s3")
    bucket = f"gaps-policy-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    tls_only = TEMPLATE["Resources"]["QrCodeBucketTlsOnlyPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    other = {
        "Sid": "DenyUnencryptedUploads",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
        "Condition": {"Null": {"s3:x-amz-server-side-encryption": "true"}},
    }
    tls_only = {**tls_only, "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]}
    provisioner = Provisioner(TEMPLATE, {}, local_stack.runtime, f"gaps-{uuid.uuid4().hex[:6]}")

    provisioner._create_AWS__S3__BucketPolicy(
        "Policy",
        {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {"Bucket": bucket, "PolicyDocument": {"Version": "2012-10-17", "Statement": [tls_only, other]}},
        },
    )

    assert [s["Sid"] for s in local_policy_statements(s3, bucket)] == ["DenyUnencryptedUploads"]


# ----------------------------------------------------------------------------- forced password reset


def test_admin_reset_mails_a_code_and_refuses_the_old_password_until_it_is_used(cognito, pool_id, client_id, views):
    username, email = new_identity("forced")
    cognito.admin_create_user(UserPoolId=pool_id, Username=username, UserAttributes=user_attributes(email), MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=username, Password="Before-Horse-4-Battery", Permanent=True)

    cognito.admin_reset_user_password(UserPoolId=pool_id, Username=username)

    (message,) = wait_for(lambda: mail_to(views, email), 5, "the reset code mail")
    found = re.search(r"password reset code: <b>(\d{6})</b>", message["body"])
    assert found, "the mail carries the code"
    code = found.group(1)
    with pytest.raises(ClientError) as refused:
        password_auth(cognito, pool_id, client_id, username, "Before-Horse-4-Battery")
    assert refused.value.response["Error"]["Code"] == "PasswordResetRequiredException"
    cognito.confirm_forgot_password(
        ClientId=client_id,
        Username=username,
        SecretHash=hashed(cognito, pool_id, client_id, username),
        ConfirmationCode=code,
        Password="After-Horse-4-Battery",
    )
    # The new password is accepted: this user has no TOTP, so the pool (MFA required) asks for an enrolment.
    assert password_auth(cognito, pool_id, client_id, username, "After-Horse-4-Battery")["ChallengeName"] == "MFA_SETUP"


def test_a_replay_sends_only_its_time_window_and_only_to_its_filter_rules(local_stack):
    """infra/eventbridge.py: moto replays the whole archive to every rule; AWS only [start, end) to FilterArns."""
    events, sqs = stack_client(local_stack, "events"), stack_client(local_stack, "sqs")
    suffix = uuid.uuid4().hex[:8]
    bus_arn = events.create_event_bus(Name=f"gap-replay-{suffix}")["EventBusArn"]
    archive_arn = events.create_archive(ArchiveName=f"gap-replay-{suffix}", EventSourceArn=bus_arn)["ArchiveArn"]
    queues, rules = {}, {}
    for name in ("chosen", "other"):
        url = sqs.create_queue(QueueName=f"gap-replay-{name}-{suffix}")["QueueUrl"]
        queues[name] = url
        rules[name] = events.put_rule(Name=f"{name}-{suffix}", EventBusName=bus_arn, EventPattern=json.dumps({"source": ["gap"]}))[
            "RuleArn"
        ]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_targets(Rule=f"{name}-{suffix}", EventBusName=bus_arn, Targets=[{"Id": "q", "Arn": arn}])
    old, recent = 1_700_000_000, 1_700_000_600
    for at, n in ((old, "old"), (recent, "recent")):
        events.put_events(
            Entries=[{"Source": "gap", "DetailType": "T", "Detail": json.dumps({"n": n}), "EventBusName": bus_arn, "Time": at}]
        )

    def drained(url: str) -> list[dict]:
        got = []
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            got += [json.loads(m["Body"]) for m in messages]
            sqs.delete_message_batch(
                QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
            )
        return got

    assert len(drained(queues["chosen"])) == 2 and len(drained(queues["other"])) == 2  # the originals
    try:
        events.start_replay(
            ReplayName=f"gap-{suffix}",
            EventSourceArn=archive_arn,
            EventStartTime=recent - 1,
            EventEndTime=recent + 1,
            Destination={"Arn": bus_arn, "FilterArns": [rules["chosen"]]},
        )
    finally:  # the local views read every archive, and these are not authflow events
        events.delete_archive(ArchiveName=f"gap-replay-{suffix}")
    replayed = drained(queues["chosen"])
    assert [(e["detail"]["n"], e["replay-name"]) for e in replayed] == [("recent", f"gap-{suffix}")]
    assert drained(queues["other"]) == []


# ----------------------------------------------------------------------------- CloudFormation


@pytest.mark.usefixtures("in_process_aws")
def test_moto_cloudformation_deploys_the_translated_template_with_the_gaps_closed(monkeypatch):
    # A region of its own: the unit tests' region already holds other tests' authflow-dev resources.
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.setenv(name, "ca-central-1")
    with cloudformation_gaps_closed():
        stack = deploy("authflow-gaps", "dev")
        resources = boto3.client("cloudformation").list_stack_resources(StackName="authflow-gaps")["StackResourceSummaries"]
        physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    # Cognito: a real pool and client in moto's backend, not a name only.
    pool = boto3.client("cognito-idp").describe_user_pool(UserPoolId=physical["UserPool"])["UserPool"]
    assert pool["Name"] == "authflow-dev"
    assert boto3.client("cognito-idp").describe_user_pool_client(UserPoolId=pool["Id"], ClientId=physical["UserPoolClient"])
    # The state machine runs the ASL file from the artifact bucket, its substitutions applied.
    definition = json.loads(
        boto3.client("stepfunctions").describe_state_machine(stateMachineArn=physical["OnboardingStateMachine"])["definition"]
    )
    assert set(definition["States"]) == set(json.loads(Path("workflows/onboarding.asl.json").read_text())["States"])
    assert "${" not in json.dumps(definition)
    # Ref of the bus is its name, as the rules that target it need.
    assert physical["EventBus"] == "authflow-dev"


def test_sending_to_a_deep_queue_counts_no_message_and_queue_attributes_stay_motos(in_process_aws, monkeypatch):  # noqa: F811
    """SQS answers SendMessageBatch alike whatever the queue's depth; moto counted every message at each
    send (infra/sqs.py). With the gap closed a send computes no count, and GetQueueAttributes still does."""
    import moto.sqs.models

    from infra import sqs as sqs_gap

    sqs_gap.install()
    client = boto3.client("sqs")
    url = client.create_queue(QueueName=f"gap-{uuid.uuid4().hex[:8]}", Attributes={"VisibilityTimeout": "45"})["QueueUrl"]
    with monkeypatch.context() as counting:

        def counted(queue):
            raise AssertionError("a send counted the queue's messages")

        counting.setattr(moto.sqs.models.Queue, "approximate_number_of_messages", property(counted))
        for batch in range(3):
            entries = [{"Id": str(i), "MessageBody": f"row {batch}-{i}"} for i in range(10)]
            assert not client.send_message_batch(QueueUrl=url, Entries=entries).get("Failed")
    attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attributes["ApproximateNumberOfMessages"], attributes["VisibilityTimeout"]) == ("30", "45")
    one = client.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    assert one == {"ApproximateNumberOfMessages": "30"}


# ----------------------------------------------------------------------------- HTTP API


class _RecordingRuntime(LocalLambdaRuntime):
    """The Lambda runtime with its handlers replaced: keeps each event and answers as a payload 2.0 handler does."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict] = []

    def invoke(self, function: str, event: dict) -> dict:
        self.events.append(event)
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json", "Access-Control-Allow-Origin": "https://from-the-function.example"},
            "cookies": ["session=1; Secure"],
            "body": json.dumps({"function": function}),
            "isBase64Encoded": False,
        }


@pytest.fixture
def http_api():
    from werkzeug.test import Client
    from werkzeug.wrappers import Response

    from infra.gateway import LocalApiGateway
    from infra.provision import Stack

    template = load_template()
    stack = Stack("gaps", apis={"Api": template["Resources"]["Api"]["Properties"]}, api_routes=[("Api", "$default", "ANY", "ApiFunction")])
    runtime = _RecordingRuntime()
    gateway = LocalApiGateway(stack, runtime, views=lambda request: Response("", status=404))
    return Client(gateway.wsgi, use_cookies=False), runtime


def test_the_local_gateway_sends_payload_2_events_as_http_api_does(http_api):
    client, runtime = http_api
    answer = client.post(
        "/v1/users/abc/confirm?a=1&a=2&b=x",
        data=b'{"email": "a@example.com"}',
        headers={"Content-Type": "application/json", "X-Api-Key": "k", "Cookie": "c1=v1; c2=v2", "Origin": "https://app.example"},
        environ_base={"REMOTE_ADDR": "192.0.2.7"},
    )
    (event,) = runtime.events
    assert event["version"] == "2.0" and event["routeKey"] == "$default"
    assert (event["rawPath"], event["rawQueryString"]) == ("/v1/users/abc/confirm", "a=1&a=2&b=x")
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x"}
    assert event["headers"]["x-api-key"] == "k" and all(name == name.lower() for name in event["headers"])
    assert event["cookies"] == ["c1=v1", "c2=v2"] and "cookie" not in event["headers"]
    context = event["requestContext"]
    assert context["http"]["method"] == "POST" and context["http"]["sourceIp"] == "192.0.2.7" and context["stage"] == "v1"
    assert (event["body"], event["isBase64Encoded"]) == ('{"email": "a@example.com"}', False)
    # HTTP API's CORS headers replace the function's own; its cookies become Set-Cookie.
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert answer.headers.getlist("Set-Cookie") == ["session=1; Secure"]


def test_a_body_that_is_not_text_arrives_base64_encoded(http_api):
    client, runtime = http_api
    client.post("/v1/login", data=b"\xff\xfe not utf-8", headers={"Content-Type": "application/json"})
    client.post("/v1/login", data=b"email=a", headers={"Content-Type": "application/x-www-form-urlencoded"})
    client.post("/v1/user-imports", data=b'{"email": "a@example.com"}\n', headers={"Content-Type": "application/x-ndjson"})
    assert [(e["isBase64Encoded"], base64.b64decode(e["body"])) for e in runtime.events] == [
        (True, b"\xff\xfe not utf-8"),
        (True, b"email=a"),
        (True, b'{"email": "a@example.com"}\n'),
    ]
    client.post("/v1/user-imports", data=b"full_name,email\n", headers={"Content-Type": "text/csv"})
    assert (runtime.events[-1]["isBase64Encoded"], runtime.events[-1]["body"]) == (False, "full_name,email\n")


def test_preflight_and_http_apis_own_answers_never_reach_the_function(http_api):
    client, runtime = http_api
    preflight = client.options("/v1/login", headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204 and preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "x-api-key" in preflight.headers["Access-Control-Allow-Headers"] and preflight.headers["Access-Control-Max-Age"] == "600"
    outside = client.get("/v2/login")
    assert (outside.status_code, outside.get_data()) == (404, b'{"message":"Not Found"}')
    too_large = client.post("/v1/login", data=b"x" * (10 * 1024 * 1024 + 1), headers={"Content-Type": "application/json"})
    assert (too_large.status_code, too_large.get_data()) == (413, b'{"message":"Request Entity Too Large"}')
    assert runtime.events == []
