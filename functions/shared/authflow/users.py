"""The user directory: every Cognito call authflow makes, with Cognito's errors mapped to domain errors."""

from dataclasses import dataclass

from botocore.exceptions import ClientError
from pydantic import SecretStr

from authflow import errors
from authflow.aws import client, error_code, raise_transient

# Cognito's answers to a caller's own mistake; everything else unexpected stays an error of ours.
_CALLER_ERRORS: dict[str, type[errors.AuthflowError]] = {
    "NotAuthorizedException": errors.InvalidCredentials,
    "UserNotFoundException": errors.InvalidCredentials,
    "InvalidPasswordException": errors.InvalidPassword,
    "CodeMismatchException": errors.InvalidMfaCode,
    "EnableSoftwareTokenMFAException": errors.InvalidMfaCode,
    "ExpiredCodeException": errors.SessionExpired,
    "TooManyFailedAttemptsException": errors.TooManyRequests,
    "LimitExceededException": errors.TooManyRequests,
    "AliasExistsException": errors.EmailAlreadyExists,
    "UnsupportedUserStateException": errors.WrongOnboardingStep,
}


@dataclass(frozen=True)
class MfaSetup:
    secret: SecretStr
    session: SecretStr


def _split_name(full_name: str) -> tuple[str, str]:
    given, _, family = full_name.partition(" ")
    return given, family or given


class UserDirectory:
    def __init__(self, user_pool_id: str, client_id: str):
        self.user_pool_id = user_pool_id
        self.client_id = client_id

    def _call(self, operation: str, **kwargs):
        try:
            return getattr(client("cognito-idp"), operation)(UserPoolId=self.user_pool_id, **kwargs)
        except ClientError as error:
            raise_transient(error, "The user directory")
            mapped = _CALLER_ERRORS.get(error_code(error))
            if mapped:
                raise mapped() from None
            raise

    def create_user(self, user_id: str, email: str, full_name: str, phone_number: str | None) -> None:
        """Creates the user without mail (the invitation is its own step); a retry of the same create is a no-op."""
        given_name, family_name = _split_name(full_name)
        attributes = {
            "email": email,
            "email_verified": "true",
            "given_name": given_name,
            "family_name": family_name,
        }
        if phone_number:
            attributes["phone_number"] = phone_number
        try:
            self._call(
                "admin_create_user",
                Username=user_id,
                MessageAction="SUPPRESS",
                UserAttributes=[{"Name": k, "Value": v} for k, v in attributes.items()],
            )
        except ClientError as error:
            if error_code(error) != "UsernameExistsException" or self.email_of(user_id) != email:
                raise

    def send_invitation(self, user_id: str) -> None:
        """Cognito sets a new temporary password and mails it through the custom message trigger."""
        self._call("admin_create_user", Username=user_id, MessageAction="RESEND", DesiredDeliveryMediums=["EMAIL"])

    def email_of(self, user_id: str) -> str | None:
        try:
            user = self._call("admin_get_user", Username=user_id)
        except errors.InvalidCredentials:
            return None
        return next((a["Value"] for a in user["UserAttributes"] if a["Name"] == "email"), None)

    def delete_user(self, user_id: str) -> bool:
        """Removes the user; False if there was none."""
        try:
            self._call("admin_delete_user", Username=user_id)
        except errors.InvalidCredentials:
            return False
        return True

    def start_mfa_setup(self, user_id: str, temporary_password: SecretStr, new_password: SecretStr) -> MfaSetup:
        """Signs in with the temporary password, sets the new one and starts TOTP enrolment."""
        auth = self._call(
            "admin_initiate_auth",
            ClientId=self.client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": user_id, "PASSWORD": temporary_password.get_secret_value()},
        )
        if auth.get("ChallengeName") != "NEW_PASSWORD_REQUIRED":
            raise errors.WrongOnboardingStep("This user has already been confirmed.")
        challenge = self._call(
            "admin_respond_to_auth_challenge",
            ClientId=self.client_id,
            ChallengeName="NEW_PASSWORD_REQUIRED",
            ChallengeResponses={"USERNAME": user_id, "NEW_PASSWORD": new_password.get_secret_value()},
            Session=auth["Session"],
        )
        if challenge.get("ChallengeName") != "MFA_SETUP":
            raise errors.WrongOnboardingStep("The user pool did not ask for MFA enrolment.")
        try:
            token = client("cognito-idp").associate_software_token(Session=challenge["Session"])
        except ClientError as error:
            raise_transient(error, "The user directory")
            raise
        return MfaSetup(secret=SecretStr(token["SecretCode"]), session=SecretStr(token["Session"]))

    def finish_mfa_setup(self, user_id: str, session: SecretStr, otp: SecretStr) -> None:
        """Verifies the first TOTP code and makes TOTP the user's MFA."""
        try:
            result = client("cognito-idp").verify_software_token(
                Session=session.get_secret_value(), UserCode=otp.get_secret_value()
            )
        except ClientError as error:
            raise_transient(error, "The user directory")
            code = error_code(error)
            if code in ("CodeMismatchException", "EnableSoftwareTokenMFAException"):
                raise errors.InvalidMfaCode() from None
            if code in ("NotAuthorizedException", "ResourceNotFoundException", "ExpiredCodeException"):
                raise errors.SessionExpired("The MFA enrolment session has expired.") from None
            raise
        if result.get("Status") != "SUCCESS":
            raise errors.InvalidMfaCode()
        self._call(
            "admin_set_user_mfa_preference",
            Username=user_id,
            SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True},
        )
