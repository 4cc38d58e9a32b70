"""The user directory: every Cognito call authflow makes, with Cognito's errors mapped to domain errors.

Each operation names its own error map: which Cognito error codes mean what for that operation.
Whatever a map does not name stays an error of ours (a 500), and throttling is always TransientError.

The app client has a secret: every call Cognito authorises by the client (sign-in, its challenges,
refresh, ForgotPassword, ConfirmForgotPassword) carries the SECRET_HASH of the user it is for, so the
client id that every token names is not enough to call those APIs around authflow.
"""

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.parameters import get_secret
from botocore.exceptions import ClientError, ParamValidationError
from pydantic import SecretStr

from authflow import errors
from authflow.aws import client, error_code, raise_transient

ErrorMap = Mapping[str, Callable[[], errors.AuthflowError]]

# Cognito answers NotAuthorizedException both to a wrong password and to too many of them; the
# second is told apart by its message and gets this code of ours. ParamValidationError is botocore's
# refusal of a malformed parameter (a session string Cognito could never have issued).
PASSWORD_ATTEMPTS_EXCEEDED = "PasswordAttemptsExceeded"
MALFORMED_PARAMETER = "ParamValidationError"

# Throttling of a caller, whatever the operation.
_RATE_LIMITS: ErrorMap = {
    "TooManyFailedAttemptsException": errors.TooManyRequests,
    "LimitExceededException": errors.TooManyRequests,
    PASSWORD_ATTEMPTS_EXCEEDED: errors.TooManyAttempts,
}
# Creating, inviting and enrolling a user.
_ADMIN_ERRORS: ErrorMap = {
    **_RATE_LIMITS,
    "NotAuthorizedException": errors.InvalidCredentials,
    "UserNotFoundException": errors.InvalidCredentials,
    # A user whose reset an administrator forced signs in again with the mailed code (confirm-password);
    # until then the password step reads as a wrong password, which tells a stranger nothing.
    "PasswordResetRequiredException": errors.InvalidCredentials,
    "InvalidPasswordException": errors.InvalidPassword,
    "CodeMismatchException": errors.InvalidMfaCode,
    "EnableSoftwareTokenMFAException": errors.InvalidMfaCode,
    "ExpiredCodeException": errors.SessionExpired,
    "AliasExistsException": errors.EmailAlreadyExists,
    "UnsupportedUserStateException": errors.WrongOnboardingStep,
}
# Looking a user up or removing them: absence is an answer, not an error.
_LOOKUP_ERRORS: ErrorMap = {**_RATE_LIMITS, "UserNotFoundException": errors.UserNotFound}
# The password step of a sign-in (and of confirm, with the temporary password).
_SIGN_IN_ERRORS: ErrorMap = _ADMIN_ERRORS
# Verifying the first TOTP code of an enrolment.
_ENROLMENT_ERRORS: ErrorMap = {
    "CodeMismatchException": errors.InvalidMfaCode,
    "EnableSoftwareTokenMFAException": errors.InvalidMfaCode,
    "NotAuthorizedException": errors.SessionExpired,
    "ResourceNotFoundException": errors.SessionExpired,
    "ExpiredCodeException": errors.SessionExpired,
}
# The MFA step of a sign-in: a used code is MfaCodeReused, a bad or stale session SessionExpired.
_MFA_ERRORS: ErrorMap = {
    PASSWORD_ATTEMPTS_EXCEEDED: errors.TooManyAttempts,
    "CodeMismatchException": errors.InvalidMfaCode,
    "ExpiredCodeException": errors.MfaCodeReused,
    "NotAuthorizedException": errors.SessionExpired,
    "ResourceNotFoundException": errors.SessionExpired,
    "InvalidParameterException": errors.SessionExpired,
    MALFORMED_PARAMETER: errors.SessionExpired,
}
# Calls authorised by a refresh or access token: a revoked, expired or foreign token is InvalidToken.
_TOKEN_ERRORS: ErrorMap = {**_RATE_LIMITS, "NotAuthorizedException": errors.InvalidToken, "UserNotFoundException": errors.InvalidToken}
# Changing the password with an access token: a wrong previous password and a bad token look alike.
_WRONG_PASSWORD_OR_TOKEN = partial(errors.InvalidCredentials, "The previous password is incorrect, or the token is invalid.")
_CHANGE_PASSWORD_ERRORS: ErrorMap = {
    **_RATE_LIMITS,
    "NotAuthorizedException": _WRONG_PASSWORD_OR_TOKEN,
    "UserNotFoundException": _WRONG_PASSWORD_OR_TOKEN,
    "InvalidPasswordException": errors.InvalidPassword,
}
# Setting a new password with a mailed code: every refusal of the code reads the same.
_RESET_ERRORS: ErrorMap = {
    **_RATE_LIMITS,
    "InvalidPasswordException": errors.InvalidPassword,
    "CodeMismatchException": errors.InvalidVerificationCode,
    "EnableSoftwareTokenMFAException": errors.InvalidVerificationCode,
    "ExpiredCodeException": errors.InvalidVerificationCode,
    "NotAuthorizedException": errors.InvalidVerificationCode,
    "UserNotFoundException": errors.InvalidVerificationCode,
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
class AuditContext:
    """What Cognito's post authentication trigger needs to name a sign-in in its LoginSucceeded event:
    the API request, and the login execution where one runs it (sent as client metadata, never a secret)."""

    request_id: str
    execution_arn: str | None = None

    def client_metadata(self) -> dict[str, str]:
        metadata = {"request_id": self.request_id}
        if self.execution_arn:
            metadata["execution_arn"] = self.execution_arn
        return metadata


@dataclass(frozen=True)
class Challenge:
    name: str
    session: SecretStr


def _split_name(full_name: str) -> tuple[str, str]:
    given, _, family = full_name.partition(" ")
    return given, family or given


def _code(error: ClientError) -> str:
    code = error_code(error)
    if code == "NotAuthorizedException" and "attempts exceeded" in str(error).lower():
        return PASSWORD_ATTEMPTS_EXCEEDED
    return code


# The login workflow's steps call Cognito themselves and end with the name of the Cognito error they
# caught (workflows/login.asl.json catches exactly these maps' exceptions): the same refusals as a direct call.
LOGIN_STEP_ERRORS: dict[str, ErrorMap] = {"PASSWORD": _SIGN_IN_ERRORS, "MFA": _MFA_ERRORS}
# How Step Functions names an error of Cognito's SDK integration.
SFN_COGNITO_ERROR_PREFIX = "CognitoIdentityProvider."


def login_step_refusal(step: str, error: str, cause: str) -> errors.AuthflowError:
    """The refusal a login step answers for the Cognito error its execution caught (error: Step
    Functions' name for it, cause: Cognito's message, which tells a password lockout apart)."""
    code = error.removeprefix(SFN_COGNITO_ERROR_PREFIX)
    if code == "NotAuthorizedException" and "attempts exceeded" in cause.lower():
        code = PASSWORD_ATTEMPTS_EXCEEDED
    return LOGIN_STEP_ERRORS[step].get(code, errors.TransientError)()


def secret_hash(client_secret: str, client_id: str, username: str) -> str:
    """Cognito's SECRET_HASH: base64 of HMAC-SHA256(username + client id) keyed with the client's secret."""
    digest = hmac.new(client_secret.encode(), (username + client_id).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


# How long a function reuses the client's secret before reading it again (a replaced client's new one).
CLIENT_SECRET_MAX_AGE_SECONDS = 300


class UserDirectory:
    def __init__(self, user_pool_id: str, client_id: str, client_secret_arn: str):
        self.user_pool_id = user_pool_id
        self.client_id = client_id
        self.client_secret_arn = client_secret_arn

    def _secret_hash(self, username: str) -> str:
        """Read at first use (functions that never call a client API never read it), then cached."""
        client_secret = get_secret(self.client_secret_arn, max_age=CLIENT_SECRET_MAX_AGE_SECONDS)
        return secret_hash(client_secret, self.client_id, username)

    def secret_hash_of(self, username: str) -> SecretStr:
        """The SECRET_HASH of a Cognito call the login workflow makes for this username (ASL cannot
        compute an HMAC): a secret, masked wherever it is not in flight."""
        return SecretStr(self._secret_hash(username))

    def _call(self, operation: str, error_map: ErrorMap, pool: bool = True, **kwargs) -> Any:
        """Calls Cognito (with the pool id unless pool=False); error_map says what its refusals mean."""
        try:
            return getattr(client("cognito-idp"), operation)(**({"UserPoolId": self.user_pool_id} if pool else {}), **kwargs)
        except ParamValidationError:
            if MALFORMED_PARAMETER in error_map:
                raise error_map[MALFORMED_PARAMETER]() from None
            raise
        except ClientError as error:
            raise_transient(error, "The user directory")
            mapped = error_map.get(_code(error))
            if mapped:
                raise mapped() from None
            raise

    def create_user(self, user_id: str, email: str, full_name: str, phone_number: str | None) -> None:
        """Creates the user without mail (the invitation is its own step); a retry of the same create is a no-op."""
        given_name, family_name = _split_name(full_name)
        attributes = {
            "email": email,
            "email_verified": "true",
            "name": full_name,
            "given_name": given_name,
            "family_name": family_name,
        }
        if phone_number:
            attributes["phone_number"] = phone_number
        try:
            self._call(
                "admin_create_user",
                _ADMIN_ERRORS,
                Username=user_id,
                MessageAction="SUPPRESS",
                UserAttributes=[{"Name": k, "Value": v} for k, v in attributes.items()],
            )
        except ClientError as error:
            if error_code(error) != "UsernameExistsException" or self.email_of(user_id) != email:
                raise

    def send_invitation(self, user_id: str, temporary_password: str) -> None:
        """Cognito sets this new temporary password and mails it through the custom message trigger.

        authflow draws it (authflow.password_policy) rather than Cognito: Cognito's may hold < or &,
        which it pastes unescaped into the HTML mail, where a mail client shows something else."""
        self._call(
            "admin_create_user",
            _ADMIN_ERRORS,
            Username=user_id,
            MessageAction="RESEND",
            TemporaryPassword=temporary_password,
            DesiredDeliveryMediums=["EMAIL"],
        )

    def email_of(self, user_id: str) -> str | None:
        try:
            user = self._call("admin_get_user", _LOOKUP_ERRORS, Username=user_id)
        except errors.UserNotFound:
            return None
        return next((a["Value"] for a in user["UserAttributes"] if a["Name"] == "email"), None)

    def delete_user(self, user_id: str) -> bool:
        """Removes the user; False if there was none."""
        try:
            self._call("admin_delete_user", _LOOKUP_ERRORS, Username=user_id)
        except errors.UserNotFound:
            return False
        return True

    def start_mfa_setup(self, user_id: str, temporary_password: SecretStr, new_password: SecretStr) -> MfaSetup:
        """Signs in with the temporary password, sets the new one and starts TOTP enrolment."""
        auth = self._call(
            "admin_initiate_auth",
            _SIGN_IN_ERRORS,
            ClientId=self.client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={
                "USERNAME": user_id,
                "PASSWORD": temporary_password.get_secret_value(),
                "SECRET_HASH": self._secret_hash(user_id),
            },
        )
        if auth.get("ChallengeName") != "NEW_PASSWORD_REQUIRED":
            raise errors.WrongOnboardingStep("This user has already been confirmed.")
        challenge = self._call(
            "admin_respond_to_auth_challenge",
            _ADMIN_ERRORS,
            ClientId=self.client_id,
            ChallengeName="NEW_PASSWORD_REQUIRED",
            ChallengeResponses={
                "USERNAME": user_id,
                "NEW_PASSWORD": new_password.get_secret_value(),
                "SECRET_HASH": self._secret_hash(user_id),
            },
            Session=auth["Session"],
        )
        return self._associate_new_seed(challenge.get("ChallengeName"), challenge["Session"])

    def _associate_new_seed(self, challenge_name: str | None, session: str) -> MfaSetup:
        """A new seed for the MFA_SETUP challenge's session (AssociateSoftwareToken), to verify with its next session."""
        if challenge_name != "MFA_SETUP":
            raise errors.WrongOnboardingStep("The user pool did not ask for MFA enrolment.")
        token = self._call("associate_software_token", _ENROLMENT_ERRORS, pool=False, Session=session)
        return MfaSetup(secret=SecretStr(token["SecretCode"]), session=SecretStr(token["Session"]))

    def finish_mfa_setup(self, user_id: str, session: SecretStr, otp: SecretStr) -> None:
        """Verifies the first TOTP code and makes TOTP the user's MFA."""
        self._verify_first_code(user_id, otp, Session=session.get_secret_value())

    def _verify_first_code(self, user_id: str, otp: SecretStr, **credential: str) -> None:
        """VerifySoftwareToken with the enrolment's session or the user's access token, then TOTP as the user's MFA."""
        result = self._call("verify_software_token", _ENROLMENT_ERRORS, pool=False, UserCode=otp.get_secret_value(), **credential)
        if result.get("Status") != "SUCCESS":
            raise errors.InvalidMfaCode()
        self._set_totp(user_id, enabled=True)

    def _set_totp(self, user_id: str, enabled: bool) -> None:
        self._call(
            "admin_set_user_mfa_preference",
            _ADMIN_ERRORS,
            Username=user_id,
            SoftwareTokenMfaSettings={"Enabled": enabled, "PreferredMfa": enabled},
        )

    # ------------------------------------------------------------------ a new authenticator for an active user

    def prove_totp(self, user_id: str, password: SecretStr, otp: SecretStr, audit: AuditContext) -> Tokens:
        """Both factors, as a sign-in checks them (and records: LoginSucceeded); the tokens authorise replacing the authenticator."""
        challenge = self.authenticate(user_id, password)
        if challenge.name != "SOFTWARE_TOKEN_MFA":
            raise errors.OnboardingIncomplete()
        return self.answer_mfa(user_id, challenge.session, otp, audit)

    def associate_new_token(self, access_token: SecretStr) -> SecretStr:
        """A new TOTP seed for the signed-in user; the current one keeps working until the new one is verified."""
        token = self._call("associate_software_token", _TOKEN_ERRORS, pool=False, AccessToken=access_token.get_secret_value())
        return SecretStr(token["SecretCode"])

    def verify_new_token(self, user_id: str, access_token: SecretStr, otp: SecretStr) -> None:
        """Verifies the new seed's first code: Cognito replaces the old seed with it."""
        self._verify_first_code(user_id, otp, AccessToken=access_token.get_secret_value())

    def clear_totp(self, user_id: str) -> None:
        """Removes the user's TOTP: their next sign-in is asked to enrol one (MFA_SETUP), as the pool requires MFA."""
        self._set_totp(user_id, enabled=False)

    def start_new_enrolment(self, user_id: str, password: SecretStr) -> MfaSetup:
        """For a user without TOTP (cleared): the password step answers MFA_SETUP, whose session enrols a new seed."""
        challenge = self.authenticate(user_id, password)
        return self._associate_new_seed(challenge.name, challenge.session.get_secret_value())

    def sign_out_user(self, user_id: str) -> None:
        """Revokes every refresh token of the user (AdminUserGlobalSignOut); their access tokens stop working too."""
        self._call("admin_user_global_sign_out", _LOOKUP_ERRORS, Username=user_id)

    # ------------------------------------------------------------------ sign-in

    def authenticate(self, user_id: str, password: SecretStr) -> Challenge:
        """The password step; the challenge Cognito answers with (SOFTWARE_TOKEN_MFA for an active user)."""
        result = self._call(
            "admin_initiate_auth",
            _SIGN_IN_ERRORS,
            ClientId=self.client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": user_id, "PASSWORD": password.get_secret_value(), "SECRET_HASH": self._secret_hash(user_id)},
        )
        if "ChallengeName" not in result:
            raise errors.OnboardingIncomplete()
        return Challenge(result["ChallengeName"], SecretStr(result["Session"]))

    def answer_mfa(self, user_id: str, session: SecretStr, code: SecretStr, audit: AuditContext) -> Tokens:
        """The MFA step; Cognito's post authentication trigger records the sign-in with the audit context."""
        result = self._call(
            "admin_respond_to_auth_challenge",
            _MFA_ERRORS,
            ClientId=self.client_id,
            ChallengeName="SOFTWARE_TOKEN_MFA",
            ChallengeResponses={
                "USERNAME": user_id,
                "SOFTWARE_TOKEN_MFA_CODE": code.get_secret_value(),
                "SECRET_HASH": self._secret_hash(user_id),
            },
            Session=session.get_secret_value(),
            ClientMetadata=audit.client_metadata(),
        )
        return Tokens.from_result(result)

    def refresh(self, user_id: str, refresh_token: SecretStr) -> Tokens:
        """New tokens for the user's refresh token; the SECRET_HASH names the user, so another user's token is refused."""
        result = self._call(
            "admin_initiate_auth",
            _TOKEN_ERRORS,
            ClientId=self.client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": refresh_token.get_secret_value(), "SECRET_HASH": self._secret_hash(user_id)},
        )
        return Tokens.from_result(result)

    def attributes(self, access_token: SecretStr) -> dict[str, str]:
        """The signed-in user's attributes; Cognito refuses a revoked access token here."""
        user = self._call("get_user", _TOKEN_ERRORS, pool=False, AccessToken=access_token.get_secret_value())
        return {a["Name"]: a["Value"] for a in user["UserAttributes"]}

    def attributes_of(self, user_id: str) -> dict[str, str]:
        """The attributes of a user named by a verified id token; a deleted or disabled user's token is InvalidToken."""
        user = self._call("admin_get_user", _TOKEN_ERRORS, Username=user_id)
        if not user.get("Enabled", True):
            raise errors.InvalidToken()
        return {a["Name"]: a["Value"] for a in user["UserAttributes"]}

    def sign_out_everywhere(self, access_token: SecretStr) -> None:
        self._call("global_sign_out", _TOKEN_ERRORS, pool=False, AccessToken=access_token.get_secret_value())

    def change_password(self, access_token: SecretStr, previous: SecretStr, proposed: SecretStr) -> None:
        self._call(
            "change_password",
            _CHANGE_PASSWORD_ERRORS,
            pool=False,
            AccessToken=access_token.get_secret_value(),
            PreviousPassword=previous.get_secret_value(),
            ProposedPassword=proposed.get_secret_value(),
        )

    # ------------------------------------------------------------------ password reset

    def send_reset_code(self, user_id: str) -> None:
        """Cognito mails a reset code through the custom message trigger."""
        self._call(
            "forgot_password", _ADMIN_ERRORS, pool=False, ClientId=self.client_id, Username=user_id, SecretHash=self._secret_hash(user_id)
        )

    def force_password_reset(self, user_id: str) -> None:
        """The current password stops working; Cognito mails a reset code (the forgot-password mail)."""
        self._call("admin_reset_user_password", _LOOKUP_ERRORS, Username=user_id)

    def reset_password(self, user_id: str, code: SecretStr, new_password: SecretStr) -> None:
        self._call(
            "confirm_forgot_password",
            _RESET_ERRORS,
            pool=False,
            ClientId=self.client_id,
            Username=user_id,
            SecretHash=self._secret_hash(user_id),
            ConfirmationCode=code.get_secret_value(),
            Password=new_password.get_secret_value(),
        )
