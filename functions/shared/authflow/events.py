"""Lifecycle events: one pydantic model per detail-type, published on the authflow bus.

A detail never carries a secret, nor an email or other personal data: users are named by user_id
only (SPEC section 2; a webhook subscriber or an archive reader learns no one's address). events/ holds the JSON Schema generated from each model.
"""

from datetime import UTC, datetime
from typing import ClassVar, Literal
from uuid import uuid4

from pydantic import BaseModel, ConfigDict, Field

from authflow.aws import client, raise_transient
from authflow.errors import TransientError
from authflow.observability import logger

SOURCE = "authflow"


class EventDetail(BaseModel):
    """The fields of every detail. A type derives from UserEventDetail (a fact about one user) or
    SystemEventDetail (a fact about the system itself: a webhook endpoint, an import), never from this."""

    # Built on first use: a function publishes a few of these types, and builds only those.
    model_config = ConfigDict(extra="forbid", defer_build=True)

    event_id: str = Field(default_factory=lambda: str(uuid4()))
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    request_id: str | None = None
    execution_arn: str | None = None


class UserEventDetail(EventDetail):
    """A fact about one user, named by user_id only."""

    user_id: str


class SystemEventDetail(EventDetail):
    """A fact about the system that concerns no single user; it names what it is about in fields of its own."""


class UserCreated(UserEventDetail):
    """The Cognito user exists (onboarding's first step)."""

    schema_version: ClassVar[int] = 2  # v2: email removed (no personal data in events)


class InvitationSent(UserEventDetail):
    """Cognito mailed a temporary password (first invitation or a resend)."""

    schema_version: ClassVar[int] = 2  # v2: email removed (no personal data in events)

    resend: bool


class UserConfirmed(UserEventDetail):
    """The user replaced the temporary password; the MFA QR code is stored."""


class MfaEnrolled(UserEventDetail):
    """The user proved possession of the TOTP secret."""


class OnboardingCompleted(UserEventDetail):
    """The account is ACTIVE."""


class OnboardingExpired(UserEventDetail):
    """The user did not confirm in time; the account was removed."""

    waiting_for: str


class OnboardingFailed(UserEventDetail):
    """A step failed; what onboarding had made was removed."""

    error: str


class LoginSucceeded(UserEventDetail):
    """Cognito's post authentication trigger: the user passed the password and the MFA step and received tokens (POST /v1/mfa-verify, or the sign-in that proves a current code on resend-mfa and recovery-codes).

    request_id and execution_arn are the API request's and the login execution's, handed to Cognito as client metadata; client_id is the app client signed in to.
    """

    client_id: str = Field(examples=["4h1q2lbm3s6v0k8o9c7e5d3f1a"])


class LoginFailed(UserEventDetail):
    """A login step was refused; reason is the API's error code (the user_id is a pseudo-id for unknown emails).

    execution_arn is the login execution that asked Cognito; none ran when the step was refused before (a locked account, a verification session of another user).
    """

    step: str
    reason: str


class AccountLocked(UserEventDetail):
    """Too many wrong codes or passwords in the window: the user (or, under its pseudo-id, an unknown email) is locked until locked_until.

    factor is what was guessed: PASSWORD, TOTP, RECOVERY_CODE or RESET_CODE.
    """

    factor: str = Field(examples=["TOTP"])
    failures: int = Field(examples=[5])
    locked_until: datetime = Field(examples=["2026-01-01T12:15:00Z"])


class TokenRefreshed(UserEventDetail):
    """Cognito's pre token generation trigger: new access and id tokens were issued from a refresh token (POST /v1/refresh-token).

    request_id is the trigger invocation's (Cognito hands a refresh no client metadata); client_id is the app client.
    """

    client_id: str = Field(examples=["4h1q2lbm3s6v0k8o9c7e5d3f1a"])


class LoggedOut(UserEventDetail):
    """Every refresh token of the user was revoked."""


class PasswordResetRequested(UserEventDetail):
    """A reset code was mailed to the user."""


class PasswordResetCompleted(UserEventDetail):
    """The user set a new password with the mailed code."""


class PasswordResetForced(UserEventDetail):
    """An administrator forced a reset: the current password stopped working and a reset code was mailed."""


class PasswordResetExpired(UserEventDetail):
    """The reset code's validity passed without a confirmation."""


class PasswordChanged(UserEventDetail):
    """The signed-in user changed their password."""


class MfaEnrolmentStarted(UserEventDetail):
    """An active user proved the password and a second factor (proof) and got a new TOTP seed to verify; the QR link was mailed."""

    proof: Literal["otp_code", "recovery_code", "operator_reset"] = Field(examples=["recovery_code"])


class MfaReplaced(UserEventDetail):
    """The new authenticator's first code was verified: the old seed no longer works and the user's other sessions were revoked."""


class MfaResetByOperator(UserEventDetail):
    """An administrator removed the user's TOTP and recovery codes and ended their sessions; the next sign-in enrols anew."""


class SignedOutByOperator(UserEventDetail):
    """An administrator ended every session of the user (all refresh tokens revoked)."""


class RecoveryCodesRegenerated(UserEventDetail):
    """The user (password and current code) got a new set of recovery codes; the old set no longer works."""


class UserDeleted(UserEventDetail):
    """The Cognito user, the QR object and the status records were removed."""


class CustomMessagePrepared(UserEventDetail):
    """Cognito's custom message trigger formatted a mail for the user (the code stays with Cognito)."""

    trigger_source: str


WebhookDisableCause = Literal["ENDPOINT_GONE", "FAILING_FOR_DAYS"]


class WebhookEndpointDisabled(SystemEventDetail):
    """A webhook subscription was disabled: its endpoint answered 410 Gone, or failed every delivery for WEBHOOK_DISABLE_AFTER_DAYS; nothing more is posted to it until an admin re-enables it (PATCH /v1/webhooks/{id})."""

    webhook_id: str
    cause: WebhookDisableCause = Field(examples=["FAILING_FOR_DAYS"])
    failing_since: datetime | None = Field(examples=["2024-12-27T11:58:00Z"])
    last_http_status: int | None = Field(examples=[503])


class ImportCompleted(SystemEventDetail):
    """Every row of a user import is accounted for (POST /v1/user-imports); the counts of each outcome."""

    import_id: str
    rows: int
    created: int
    duplicate: int
    invalid: int
    failed: int


EVENT_TYPES: tuple[type[EventDetail], ...] = (
    UserCreated,
    InvitationSent,
    UserConfirmed,
    MfaEnrolled,
    OnboardingCompleted,
    OnboardingExpired,
    OnboardingFailed,
    LoginSucceeded,
    LoginFailed,
    AccountLocked,
    TokenRefreshed,
    LoggedOut,
    PasswordResetRequested,
    PasswordResetCompleted,
    PasswordResetExpired,
    PasswordResetForced,
    PasswordChanged,
    MfaEnrolmentStarted,
    MfaReplaced,
    RecoveryCodesRegenerated,
    MfaResetByOperator,
    SignedOutByOperator,
    UserDeleted,
    CustomMessagePrepared,
    WebhookEndpointDisabled,
    ImportCompleted,
)


class EventPublisher:
    def __init__(self, event_bus_name: str):
        self.event_bus_name = event_bus_name

    def publish(self, *details: EventDetail) -> None:
        entries = [
            {
                "Source": SOURCE,
                "DetailType": type(detail).__name__,
                "Detail": detail.model_dump_json(),
                "EventBusName": self.event_bus_name,
            }
            for detail in details
        ]
        try:
            response = client("events").put_events(Entries=entries)
        except Exception as error:
            raise_transient(error, "The event bus")
            raise
        if response.get("FailedEntryCount"):
            codes = sorted({entry.get("ErrorCode", "") for entry in response["Entries"] if entry.get("ErrorCode")})
            logger.warning("events not accepted by the bus", extra={"error_codes": codes})
            raise TransientError("The event bus did not accept every event.")
        logger.debug("events published", extra={"detail_types": [type(d).__name__ for d in details]})
