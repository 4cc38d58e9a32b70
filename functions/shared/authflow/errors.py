"""Domain errors. Each carries the HTTP status and the stable code the API answers with.

Messages are written for the caller and never include a secret or an AWS error text.
"""

from http import HTTPStatus


class AuthflowError(Exception):
    status: HTTPStatus = HTTPStatus.BAD_REQUEST
    code: str = "BAD_REQUEST"
    message: str = "The request was refused."

    # Seconds after which a retry may succeed: every 429 answers it as Retry-After (RFC 9110 §10.2.3).
    retry_after: int | None = None

    def __init__(self, message: str | None = None, retry_after: int | None = None):
        self.message = message or self.message
        self.retry_after = retry_after if retry_after is not None else self.retry_after
        super().__init__(self.message)


class InvalidRequest(AuthflowError):
    code = "INVALID_REQUEST"
    message = "The request is invalid."


class InvalidPassword(AuthflowError):
    code = "INVALID_PASSWORD"
    message = "The new password does not meet the password policy."


class PasswordTooCommon(AuthflowError):
    code = "PASSWORD_TOO_COMMON"
    message = "The new password is too common or known from a data breach; choose another."


class InvalidCredentials(AuthflowError):
    status = HTTPStatus.UNAUTHORIZED
    code = "INVALID_CREDENTIALS"
    message = "The email or password is incorrect."


class InvalidMfaCode(AuthflowError):
    status = HTTPStatus.UNAUTHORIZED
    code = "INVALID_MFA_CODE"
    message = "The one-time code is incorrect."


class SessionExpired(AuthflowError):
    status = HTTPStatus.UNAUTHORIZED
    code = "SESSION_EXPIRED"
    message = "The session has expired; start again."


class NotFound(AuthflowError):
    status = HTTPStatus.NOT_FOUND
    code = "NOT_FOUND"
    message = "No such resource."


class UserNotFound(NotFound):
    code = "USER_NOT_FOUND"
    message = "No such user."


class Conflict(AuthflowError):
    status = HTTPStatus.CONFLICT
    code = "CONFLICT"
    message = "The request conflicts with the current state."


class EmailAlreadyExists(Conflict):
    code = "EMAIL_ALREADY_EXISTS"
    message = "A user with this email already exists."


class WrongOnboardingStep(Conflict):
    code = "WRONG_ONBOARDING_STEP"
    message = "The user's onboarding is not at this step."


class TooManyRequests(AuthflowError):
    status = HTTPStatus.TOO_MANY_REQUESTS
    code = "THROTTLED"
    message = "Too many requests; retry later."
    # Cognito's own throttling does not say for how long; a minute is its usual quota window.
    retry_after = 60


class TransientError(AuthflowError):
    """An AWS dependency throttled or failed transiently; workflows retry this error by name.

    With retry_after it is a quota's throttling (Cognito's UserAuthentication requests a second, say):
    the caller is told to come back then (429 THROTTLED with Retry-After), as nothing failed.
    """

    status = HTTPStatus.SERVICE_UNAVAILABLE
    code = "SERVICE_UNAVAILABLE"
    message = "A dependency is temporarily unavailable; retry later."

    def __init__(self, message: str | None = None, retry_after: int | None = None):
        super().__init__(message, retry_after)
        if retry_after is not None:
            self.status = HTTPStatus.TOO_MANY_REQUESTS
            self.code = "THROTTLED"


class MfaCodeReused(AuthflowError):
    status = HTTPStatus.UNAUTHORIZED
    code = "MFA_CODE_REUSED"
    message = "This one-time code was already used; wait for the next one."


class InvalidToken(AuthflowError):
    status = HTTPStatus.UNAUTHORIZED
    code = "INVALID_TOKEN"
    message = "The token is invalid, expired or revoked."


class TooManyAttempts(AuthflowError):
    status = HTTPStatus.TOO_MANY_REQUESTS
    code = "TOO_MANY_ATTEMPTS"
    message = "Too many failed attempts; the account is temporarily locked."
    # Cognito's own password lockout does not say for how long; authflow's lockout always does.
    retry_after = 60


class OnboardingIncomplete(AuthflowError):
    status = HTTPStatus.CONFLICT
    code = "ONBOARDING_INCOMPLETE"
    message = "Finish onboarding (confirm the account and its MFA) before signing in."


class InvalidVerificationCode(AuthflowError):
    code = "INVALID_VERIFICATION_CODE"
    message = "The verification code is incorrect or has expired; request a new one."


class MfaEnrolmentRequired(AuthflowError):
    status = HTTPStatus.CONFLICT
    code = "MFA_ENROLMENT_REQUIRED"
    message = (
        "An administrator reset this account's authenticator: a link to a new one's QR code was mailed; "
        "scan it and confirm its first code with POST /v1/users/{user_id}/confirm-mfa."
    )


class MfaProofRequired(AuthflowError):
    code = "MFA_PROOF_REQUIRED"
    message = "Enrolling a new authenticator needs the password and a second factor: otp_code or recovery_code."


class RecoveryCodeRequired(AuthflowError):
    status = HTTPStatus.FORBIDDEN
    code = "RECOVERY_CODE_REQUIRED"
    message = "The password was reset recently; enrol a new authenticator with a recovery code."


class InvalidRecoveryCode(AuthflowError):
    status = HTTPStatus.UNAUTHORIZED
    code = "INVALID_RECOVERY_CODE"
    message = "The recovery code is incorrect or was already used."


class Forbidden(AuthflowError):
    status = HTTPStatus.FORBIDDEN
    code = "FORBIDDEN"
    message = "This token may not do that."


class WebhookNotFound(NotFound):
    code = "WEBHOOK_NOT_FOUND"
    message = "No such webhook."


class DeliveryNotFound(NotFound):
    code = "DELIVERY_NOT_FOUND"
    message = "This webhook has no delivery of that event (the log keeps 30 days)."


class WebhookDisabled(Conflict):
    code = "WEBHOOK_DISABLED"
    message = "The webhook is disabled: re-enable it (PATCH with enabled true) before replaying."


class InvalidWebhookUrl(InvalidRequest):
    code = "INVALID_WEBHOOK_URL"
    message = "The webhook URL is not allowed."


class IdempotencyKeyReused(Conflict):
    code = "IDEMPOTENCY_KEY_REUSED"
    message = "This Idempotency-Key was used with a different request body."


class RequestInProgress(Conflict):
    code = "REQUEST_IN_PROGRESS"
    message = "A request with this Idempotency-Key is still being processed; retry shortly."


class ImportNotFound(NotFound):
    code = "IMPORT_NOT_FOUND"
    message = "No such user import (an import is kept 30 days)."


class ImportTooLarge(InvalidRequest):
    code = "IMPORT_TOO_LARGE"
    message = "An import holds at most 10 000 rows; split the file."


class DeliveryFailed(Exception):
    """Some webhook deliveries of a queue message failed; the message comes back after its backoff."""


def by_code(code: str) -> type[AuthflowError]:
    """The error class answering with this stable code (login outcomes travel as codes)."""
    classes = [AuthflowError]
    while classes:
        cls = classes.pop()
        if cls.code == code:
            return cls
        classes.extend(cls.__subclasses__())
    return AuthflowError
