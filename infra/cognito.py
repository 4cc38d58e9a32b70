"""What moto's Cognito lacks and AWS's does, added for the local stack.

- AdminCreateUser without TemporaryPassword: Cognito generates one that meets the pool's policy.
- MessageAction RESEND: Cognito keeps the user, sets a new temporary password and mails it again
  (moto re-creates the user, dropping its attributes, and sends nothing); only for users who have
  not confirmed yet (UnsupportedUserStateException otherwise).
- Invitation mail: Cognito calls the pool's CustomMessage trigger with codeParameter/usernameParameter
  placeholders, replaces them in the message it returns and sends the mail; here the mail goes to
  moto's SES outbox, which /_local/mail shows.
- TOTP: moto's fixed secret "asdfasdfasdf" is 60 bits, which authenticator apps and pyotp refuse;
  Cognito's are 160 bits. The local stack draws one 160-bit secret per run (moto still gives every
  user the same one) and accepts the adjacent 30-second step as Cognito does (moto: current step only).
"""

import base64
import functools
import secrets
import string

from moto.cognitoidp import models as cognito_models
from moto.cognitoidp.models import CognitoIdpBackend, UserStatus
from moto.cognitoidp.utils import verify_totp
from moto.core.exceptions import JsonRESTError
from moto.ses.models import ses_backends

from infra.lambda_runtime import InvocationError, LocalLambdaRuntime

COGNITO_DEFAULT_SENDER = "no-reply@verificationemail.com"
CODE_PARAMETER = "{####}"
USERNAME_PARAMETER = "{username}"
_SYMBOLS = "^$*.[]{}()?-\"!@#%&/\\,><':;|_~`+="


class UnsupportedUserStateException(JsonRESTError):
    def __init__(self, message: str):
        super().__init__("UnsupportedUserStateException", message)


class UserLambdaValidationException(JsonRESTError):
    def __init__(self, message: str):
        super().__init__("UserLambdaValidationException", message)


def temporary_password(policy: dict) -> str:
    """A random password meeting the pool's policy, as Cognito generates for invitations."""
    length = max(int(policy.get("MinimumLength", 8)), 12)
    alphabet = string.ascii_letters + string.digits + _SYMBOLS
    required = [
        secrets.choice(string.ascii_lowercase),
        secrets.choice(string.ascii_uppercase),
        secrets.choice(string.digits),
        secrets.choice(_SYMBOLS),
    ]
    chars = required + [secrets.choice(alphabet) for _ in range(length - len(required))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def _flatten(attributes: list[dict]) -> dict[str, str]:
    return {a["Name"]: a["Value"] for a in attributes}


def install(runtime: LocalLambdaRuntime) -> None:
    cognito_models.COGNITO_TOTP_MFA_SECRET = base64.b32encode(secrets.token_bytes(20)).decode()
    cognito_models.verify_totp = functools.partial(verify_totp, valid_window=1)
    original_create = CognitoIdpBackend.admin_create_user

    def deliver(backend: CognitoIdpBackend, pool, user, trigger_source: str, code: str) -> None:
        attributes = _flatten(user.attributes)
        subject = "Your temporary password"
        message = f"Your username is {USERNAME_PARAMETER} and temporary password is {CODE_PARAMETER}."
        trigger_arn = (pool.extended_config.get("LambdaConfig") or {}).get("CustomMessage")
        if trigger_arn:
            event = {
                "version": "1",
                "triggerSource": trigger_source,
                "region": backend.region_name,
                "userPoolId": pool.id,
                "userName": user.username,
                "callerContext": {"awsSdkVersion": "aws-sdk-unknown", "clientId": "CLIENT_ID_NOT_APPLICABLE"},
                "request": {
                    "userAttributes": attributes,
                    "codeParameter": CODE_PARAMETER,
                    "usernameParameter": USERNAME_PARAMETER,
                },
                "response": {"smsMessage": None, "emailMessage": None, "emailSubject": None},
            }
            try:
                result = runtime.invoke(trigger_arn, event)
            except InvocationError as error:
                raise UserLambdaValidationException(f"CustomMessage failed with error {error}.") from None
            subject = result["response"].get("emailSubject") or subject
            message = result["response"].get("emailMessage") or message
        message = message.replace(CODE_PARAMETER, code).replace(USERNAME_PARAMETER, user.username)
        email_configuration = pool.extended_config.get("EmailConfiguration") or {}
        sender = email_configuration.get("From") or COGNITO_DEFAULT_SENDER
        ses = ses_backends[backend.account_id][backend.region_name]
        if email_configuration.get("EmailSendingAccount", "COGNITO_DEFAULT") == "COGNITO_DEFAULT":
            ses.verify_email_identity(sender)
        ses.send_email(
            source=sender, subject=subject, body=message, destinations={"ToAddresses": [attributes["email"]]}
        )

    def admin_create_user(self, user_pool_id, username, message_action, temporary_password_value, attributes):
        pool = self.describe_user_pool(user_pool_id)
        code = temporary_password_value or temporary_password(pool.extended_config.get("Policies", {}).get("PasswordPolicy", {}))
        if message_action == "RESEND":
            user = self.admin_get_user(user_pool_id, username)
            if user.status != UserStatus.FORCE_CHANGE_PASSWORD:
                raise UnsupportedUserStateException(f"Resend not possible. {username} status is not FORCE_CHANGE_PASSWORD")
            user.password = code
        else:
            user = original_create(self, user_pool_id, username, message_action, code, attributes)
        if message_action != "SUPPRESS":
            deliver(self, pool, user, "CustomMessage_AdminCreateUser", code)
        return user

    CognitoIdpBackend.admin_create_user = admin_create_user
