"""The user directory: every Cognito call authflow makes, with Cognito's errors mapped to domain errors."""

from dataclasses import dataclass

from botocore.exceptions import ClientError, ParamValidationError
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


@dataclass(frozen=True)
class Tokens:
    id_token: str
    access_token: str
    refresh_token: str | None
    expires_in: int

    @classmethod
    def from_result(cls, result: dict) -> "Tokens":
        auth = result["AuthenticationResult"]
        return cls(auth["IdToken"], auth["AccessToken"], auth.get("RefreshToken"), auth["ExpiresIn"])


@dataclass(frozen=True)
class Challenge:
    name: str
    session: SecretStr


def _password_attempts_exceeded(error: ClientError) -> bool:
    return error_code(error) == "NotAuthorizedException" and "attempts exceeded" in str(error).lower()


def _split_name(full_name: str) -> tuple[str, str]:
    given, _, family = full_name.partition(" ")
    return given, family or given


class UserDirectory:
    def __init__(self, user_pool_id: str, client_id: str):
        self.user_pool_id = user_pool_id
        self.client_id = client_id

    def _call(self, operation: str, pool: bool = True, **kwargs):
        """Calls Cognito (with the pool id unless pool=False) and maps its errors to domain errors."""
        try:
            return getattr(client("cognito-idp"), operation)(**({"UserPoolId": self.user_pool_id} if pool else {}), **kwargs)
        except ClientError as error:
            raise_transient(error, "The user directory")
            if _password_attempts_exceeded(error):
                raise errors.TooManyAttempts() from None
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
            result = client("cognito-idp").verify_software_token(Session=session.get_secret_value(), UserCode=otp.get_secret_value())
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

    # ------------------------------------------------------------------ sign-in

    def authenticate(self, user_id: str, password: SecretStr) -> Challenge:
        """The password step; the challenge Cognito answers with (SOFTWARE_TOKEN_MFA for an active user)."""
        result = self._call(
            "admin_initiate_auth",
            ClientId=self.client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": user_id, "PASSWORD": password.get_secret_value()},
        )
        if "ChallengeName" not in result:
            raise errors.OnboardingIncomplete()
        return Challenge(result["ChallengeName"], SecretStr(result["Session"]))

    def answer_mfa(self, user_id: str, session: SecretStr, code: SecretStr) -> Tokens:
        try:
            result = client("cognito-idp").admin_respond_to_auth_challenge(
                UserPoolId=self.user_pool_id,
                ClientId=self.client_id,
                ChallengeName="SOFTWARE_TOKEN_MFA",
                ChallengeResponses={"USERNAME": user_id, "SOFTWARE_TOKEN_MFA_CODE": code.get_secret_value()},
                Session=session.get_secret_value(),
            )
        except ParamValidationError:
            raise errors.SessionExpired() from None
        except ClientError as error:
            raise_transient(error, "The user directory")
            code_name = error_code(error)
            if code_name == "CodeMismatchException":
                raise errors.InvalidMfaCode() from None
            if code_name == "ExpiredCodeException":
                raise errors.MfaCodeReused() from None
            if _password_attempts_exceeded(error):
                raise errors.TooManyAttempts() from None
            if code_name in ("NotAuthorizedException", "ResourceNotFoundException", "InvalidParameterException"):
                raise errors.SessionExpired() from None
            raise
        return Tokens.from_result(result)

    def refresh(self, refresh_token: SecretStr) -> Tokens:
        try:
            result = self._call(
                "admin_initiate_auth",
                ClientId=self.client_id,
                AuthFlow="REFRESH_TOKEN_AUTH",
                AuthParameters={"REFRESH_TOKEN": refresh_token.get_secret_value()},
            )
        except errors.InvalidCredentials:
            raise errors.InvalidToken() from None
        return Tokens.from_result(result)

    def _token_call(self, operation: str, **kwargs):
        """A call authorised by the user's access token; a revoked or expired token is InvalidToken."""
        try:
            return self._call(operation, pool=False, **kwargs)
        except errors.InvalidCredentials:
            raise errors.InvalidToken() from None

    def attributes(self, access_token: SecretStr) -> dict[str, str]:
        user = self._token_call("get_user", AccessToken=access_token.get_secret_value())
        return {a["Name"]: a["Value"] for a in user["UserAttributes"]}

    def sign_out_everywhere(self, access_token: SecretStr) -> None:
        self._token_call("global_sign_out", AccessToken=access_token.get_secret_value())

    def change_password(self, access_token: SecretStr, previous: SecretStr, proposed: SecretStr) -> None:
        try:
            self._call(
                "change_password",
                pool=False,
                AccessToken=access_token.get_secret_value(),
                PreviousPassword=previous.get_secret_value(),
                ProposedPassword=proposed.get_secret_value(),
            )
        except errors.InvalidCredentials:
            raise errors.InvalidCredentials("The previous password is incorrect, or the token is invalid.") from None

    # ------------------------------------------------------------------ password reset

    def send_reset_code(self, user_id: str) -> None:
        """Cognito mails a reset code through the custom message trigger."""
        self._call("forgot_password", pool=False, ClientId=self.client_id, Username=user_id)

    def reset_password(self, user_id: str, code: SecretStr, new_password: SecretStr) -> None:
        try:
            self._call(
                "confirm_forgot_password",
                pool=False,
                ClientId=self.client_id,
                Username=user_id,
                ConfirmationCode=code.get_secret_value(),
                Password=new_password.get_secret_value(),
            )
        except (errors.InvalidMfaCode, errors.SessionExpired, errors.InvalidCredentials):
            raise errors.InvalidVerificationCode() from None
