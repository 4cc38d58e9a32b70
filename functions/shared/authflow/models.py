"""Models at the edges: HTTP requests and responses, workflow payloads and status records.

Secrets (passwords, codes, tokens) are SecretStr so that a repr, a log line or a validation error
never shows them.
"""

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Literal, cast
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    SecretStr,
    SerializationInfo,
    StringConstraints,
    field_serializer,
    field_validator,
    model_validator,
)

from authflow.email_policy import accepted_email, nfkc
from authflow.events import EVENT_TYPES

_NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f-\x9f]*$"

# NFKC-normalised, lower-cased, ASCII before the @ and in one script (authflow.email_policy).
Email = Annotated[EmailStr, BeforeValidator(nfkc), Field(max_length=254), AfterValidator(accepted_email)]
Password = Annotated[SecretStr, Field(min_length=1, max_length=256)]
OneTimeCode = Annotated[SecretStr, Field(min_length=6, max_length=6)]
# 24 base32 characters, shown in groups of four; dashes and spaces are the user's to type or not.
RecoveryCode = Annotated[SecretStr, Field(min_length=24, max_length=40)]
OtherSessionsRevoked = Annotated[
    bool, Field(description="True when a factor changed and every refresh token the user held before was revoked (ASVS 5.0 7.4.3).")
]
RecoveryCodeList = Annotated[
    list[str], Field(description="Ten single-use recovery codes, shown only here: each replaces the authenticator code once.")
]
FullName = Annotated[str, StringConstraints(min_length=1, max_length=256, strip_whitespace=True, pattern=_NO_CONTROL_CHARACTERS)]
PhoneNumber = Annotated[str, StringConstraints(pattern=r"^\+[1-9]\d{4,14}$")]
Token = Annotated[SecretStr, Field(min_length=1, max_length=8192)]
# Cognito takes either as USERNAME, and CognitoApi's client sends the user_id in `email` to /v1/mfa-verify.
EmailOrUserId = Annotated[UUID | Email, Field(union_mode="left_to_right")]


class Model(BaseModel):
    """Every model of this module is built on first use (defer_build): each function imports them all
    and uses a few (a task function its own task's payload, never the API's models), and building them
    at import (and loading email-validator for the API's emails) cost ~40 ms per cold start."""

    model_config = ConfigDict(defer_build=True)


class Request(Model):
    """Every request body: unknown fields are refused, and no error repeats what was sent."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


class Response(Model):
    model_config = ConfigDict(extra="forbid")


class OnboardingStatus(StrEnum):
    CREATED = "CREATED"
    INVITED = "INVITED"
    CONFIRMED = "CONFIRMED"
    MFA_PENDING = "MFA_PENDING"
    ACTIVE = "ACTIVE"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"


class StepStatus(StrEnum):
    SUCCEEDED = "SUCCEEDED"
    WAITING = "WAITING"
    FAILED = "FAILED"


class UserAction(StrEnum):
    """What an onboarding execution waits for from the user, each signalled by one API route."""

    CONFIRMATION = "CONFIRMATION"
    MFA_CONFIRMATION = "MFA_CONFIRMATION"
    PASSWORD_RESET = "PASSWORD_RESET"


# ----------------------------------------------------------------------------- HTTP


class CreateUserRequest(Request):
    full_name: FullName
    email: Email
    mobile_phone_number: PhoneNumber | None = None


class CreateUserResponse(Response):
    email: str
    user_id: UUID
    status: Literal["CREATED"] = "CREATED"
    status_token: str = Field(description="Send it as X-Status-Token to GET /v1/users/{user_id}/onboarding; shown once.")


class ConfirmUserRequest(Request):
    email: Email
    temporary_password: Password
    new_password: Password


class ConfirmUserResponse(Response):
    email: str
    user_id: UUID
    qr_code_secret: str = Field(description="The TOTP secret, shown once, for an authenticator app.")
    qr_code_secret_url: str = Field(description="Short-lived link to the QR code PNG of the TOTP secret.")
    status: Literal["ACTIVE"] = "ACTIVE"


class ConfirmMfaRequest(Request):
    email: Email
    otp: OneTimeCode


class ConfirmMfaResponse(Response):
    email: str
    user_id: UUID
    mfa_status: Literal["CONFIRMED"] = "CONFIRMED"
    recovery_codes: RecoveryCodeList
    other_sessions_revoked: OtherSessionsRevoked = False


class ResendConfirmationRequest(Request):
    email: Email


class ResendConfirmationResponse(Response):
    email: str
    status: Literal["CONFIRMATION_CODE_RESENT"] = "CONFIRMATION_CODE_RESENT"


class Step(Response):
    name: str
    status: StepStatus
    at: datetime


class ExecutionRef(Response):
    name: str
    arn: str


class OnboardingStatusResponse(Response):
    user_id: UUID
    status: OnboardingStatus
    steps: list[Step]
    updated_at: datetime
    execution: ExecutionRef


class ErrorDetail(Response):
    code: str
    message: str
    request_id: str


class ErrorResponse(Response):
    error: ErrorDetail


# ----------------------------------------------------------------------------- workflows


class OnboardingTimeouts(Model):
    # The wait for confirmation: each resend's heartbeat restarts confirmation_seconds, never past the limit.
    confirmation_seconds: int = Field(gt=0)
    confirmation_limit_seconds: int = Field(gt=0)
    mfa_seconds: int = Field(gt=0)


class WorkflowFailure(Model):
    """What a Catch puts at $.failure: Step Functions' Error and Cause."""

    Error: str
    Cause: str | None = None


class OnboardingInput(Model):
    """The input of an onboarding execution; it holds nothing secret."""

    user_id: UUID
    email: str
    full_name: str
    mobile_phone_number: str | None = None
    request_id: str
    timeouts: OnboardingTimeouts
    failure: WorkflowFailure | None = None


class OnboardingTask(Model):
    """The payload the onboarding state machine sends to its task function; state is the task state's name."""

    model_config = ConfigDict(hide_input_in_errors=True)

    task: Literal[
        "create_cognito_user",
        "send_invitation",
        "await_user_action",
        "record_confirmation",
        "activate_account",
        "compensate",
    ]
    state: str
    onboarding: OnboardingInput
    execution_arn: str
    action: UserAction | None = None
    task_token: SecretStr | None = None
    outcome: Literal["EXPIRED", "FAILED"] | None = None


class StatusRecord(Model):
    """A user's onboarding status as stored in the status table."""

    user_id: UUID
    email: str
    status: OnboardingStatus
    steps: list[Step] = []
    updated_at: datetime
    execution_arn: str
    # SHA-256 of the status token POST /v1/users answered (authflow.status_tokens); never the token.
    status_token_digest: str | None = None


# ----------------------------------------------------------------------------- sign-in and passwords


class LoginRequest(Request):
    email: Email
    password: Password


class LoginResponse(Response):
    email: str
    verification_session: str
    verification_type: Literal["SOFTWARE_TOKEN_MFA"] = "SOFTWARE_TOKEN_MFA"


class MfaVerifyRequest(Request):
    email: EmailOrUserId = Field(description="The user's email, or their user_id (as CognitoApi's client sends it).")
    verification_type: Literal["SOFTWARE_TOKEN_MFA"]
    verification_session: Annotated[SecretStr, Field(min_length=1, max_length=4096)]
    otp_code: OneTimeCode


class TokensResponse(Response):
    id_token: str
    access_token: str
    refresh_token: str
    expires_in: int


class RefreshTokenRequest(Request):
    email: Email
    refresh_token: Annotated[SecretStr, Field(min_length=1, max_length=8192)]


class RefreshTokenResponse(Response):
    email: str
    id_token: str
    access_token: str
    expires_in: int
    refresh_token: str | None = None


class UserInfoResponse(Response):
    name: str
    user_id: UUID
    email: str
    phone_number: str | None
    groups: list[str]
    given_name: str
    family_name: str
    recovery_codes_left: int = Field(description="How many of the user's recovery codes are unused.")


class LogoutRequest(Request):
    email: Email
    access_token: Token


class LogoutResponse(Response):
    user_status: Literal["logout"] = "logout"


class ChangePasswordRequest(Request):
    """POST /v1/users/{user_id}/change-password: CognitoApi's route and names."""

    email: Email
    old_password: Password
    new_password: Password
    access_token: Token


class ChangePasswordAliasRequest(Request):
    """POST /v1/change-password: CognitoApi's names, or the deprecated previous_password/proposed_password."""

    email: Email | None = None
    access_token: Token
    old_password: Password | None = None
    new_password: Password | None = None
    previous_password: Password | None = Field(None, deprecated=True, description="Deprecated: send old_password.")
    proposed_password: Password | None = Field(None, deprecated=True, description="Deprecated: send new_password.")

    @model_validator(mode="after")
    def _one_name_for_each_password(self) -> "ChangePasswordAliasRequest":
        if (self.old_password is None) == (self.previous_password is None):
            raise ValueError("send old_password (or the deprecated previous_password), not both")
        if (self.new_password is None) == (self.proposed_password is None):
            raise ValueError("send new_password (or the deprecated proposed_password), not both")
        return self

    @property
    def old(self) -> SecretStr:
        return cast(SecretStr, self.old_password or self.previous_password)  # one of the two, by the validator

    @property
    def new(self) -> SecretStr:
        return cast(SecretStr, self.new_password or self.proposed_password)  # one of the two, by the validator


class ChangePasswordResponse(Response):
    status: Literal["PASSWORD_CHANGED"] = "PASSWORD_CHANGED"
    other_sessions_revoked: OtherSessionsRevoked = False


class ForgotPasswordRequest(Request):
    email: Email


class ForgotPasswordResponse(Response):
    email: str
    user_id: UUID
    status: Literal["PASSWORD_FORGOT_CONFIRMATION_SENT"] = "PASSWORD_FORGOT_CONFIRMATION_SENT"


class ResetPasswordRequest(Request):
    email: Email
    force: bool = Field(
        False, description="Only with an administrator's access token: the current password stops working at once (AdminResetUserPassword)."
    )


class ResetPasswordResponse(Response):
    email: str
    user_id: UUID
    status: Literal["PASSWORD_FORGOT_CONFIRMATION_SENT", "PASSWORD_RESET_FORCED"] = "PASSWORD_FORGOT_CONFIRMATION_SENT"


class ConfirmPasswordRequest(Request):
    email: Email
    new_password: Password
    verification_code: Annotated[SecretStr, Field(min_length=1, max_length=64)]


class ConfirmPasswordResponse(Response):
    email: str
    user_id: UUID
    status: Literal["NEW_PASSWORD_SET_SUCCESSFULLY"] = "NEW_PASSWORD_SET_SUCCESSFULLY"
    other_sessions_revoked: OtherSessionsRevoked = False


class ResendMfaRequest(Request):
    """Enrol a new authenticator: the password and a second factor, a current code or a recovery code."""

    email: Email
    password: Password
    otp_code: OneTimeCode | None = None
    recovery_code: RecoveryCode | None = None


class ResendMfaResponse(Response):
    email: str
    status: Literal["MFA_QR_LINK_SENT"] = "MFA_QR_LINK_SENT"


class RecoveryCodesRequest(Request):
    email: Email
    password: Password
    otp_code: OneTimeCode


class RecoveryCodesResponse(Response):
    email: str
    recovery_codes: RecoveryCodeList


class OperatorMfaResetResponse(Response):
    user_id: UUID
    status: Literal["MFA_RESET"] = "MFA_RESET"
    other_sessions_revoked: OtherSessionsRevoked = False


class OperatorSignOutResponse(Response):
    user_id: UUID
    status: Literal["SIGNED_OUT"] = "SIGNED_OUT"


class DeleteUserResponse(Response):
    user_id: UUID
    status: Literal["DELETED"] = "DELETED"


class LoginStep(StrEnum):
    PASSWORD = "PASSWORD"
    MFA = "MFA"


# The context a login execution's input is serialised with for StartSyncExecution: only there do its secrets show.
IN_FLIGHT = {"in_flight": True}


class LoginInput(Model):
    """A login execution's input. The password (or the session and code) and the SECRET_HASH travel in
    it to Cognito's SDK integration and nowhere else (SPEC section 3: an Express execution keeps no
    history, its logging has no execution data); dumped without IN_FLIGHT, they are masked."""

    model_config = ConfigDict(hide_input_in_errors=True)

    step: LoginStep
    request_id: str
    username: str  # the user id, or an unknown email's pseudo-id (Cognito refuses it like a wrong password)
    secret_hash: SecretStr
    password: SecretStr | None = None
    session: SecretStr | None = None
    code: SecretStr | None = None

    @field_serializer("secret_hash", "password", "session", "code", when_used="json-unless-none")
    def _in_flight(self, value: SecretStr, info: SerializationInfo) -> str:
        return value.get_secret_value() if info.context == IN_FLIGHT else str(value)


class LoginAnswer(Model):
    """What a login execution ends with: Cognito's answer (a challenge or tokens) or the name of the
    Cognito error it caught, which the API maps to its error code (authflow.users)."""

    outcome: Literal["CHALLENGE", "TOKENS", "REFUSED"]
    challenge: dict | None = None
    tokens: dict | None = None
    reason: str | None = None  # REFUSED: Step Functions' name of the Cognito error
    cause: str = ""


class PasswordResetInput(Model):
    user_id: UUID
    request_id: str
    code_validity_seconds: int = Field(gt=0)


class PasswordResetTask(Model):
    """The payload the password reset state machine sends to its task function; state is the task state's name."""

    model_config = ConfigDict(hide_input_in_errors=True)

    task: Literal["request_reset_code", "await_new_password", "record_password_reset", "expire_password_reset"]
    state: str
    reset: PasswordResetInput
    execution_arn: str
    task_token: SecretStr | None = None


class MailRequestKind(StrEnum):
    PASSWORD_RESET = "PASSWORD_RESET"  # forgot-password, or the operator's reset (which names the user)
    INVITATION_RESEND = "INVITATION_RESEND"  # resend-confirmation-code


class MailRequest(Model):
    """One message on the mail request queue (authflow.mail_requests): what the request asked for, the
    same for every email; only its consumer looks the email up. No secret: the consumer draws them."""

    kind: MailRequestKind
    email: str = Field(description="As the request's model validated and normalised it.")
    request_id: str
    user_id: UUID | None = Field(None, description="The operator reset's path id: it starts only if the email's active user has it.")


# ----------------------------------------------------------------------------- webhooks

if TYPE_CHECKING:
    EventTypeName = str
else:
    EventTypeName = Literal[tuple(model.__name__ for model in EVENT_TYPES)]


class CreateWebhookRequest(Request):
    url: Annotated[str, StringConstraints(min_length=1, max_length=2048, strip_whitespace=True)] = Field(
        description="https URL that receives the events (public addresses only)."
    )
    events: list[EventTypeName] = Field(min_length=1, description="The detail-types to deliver.")
    contact_email: Email | None = Field(None, description="Who is mailed when the webhook is disabled for failing 5 days.")

    @field_validator("events")
    @classmethod
    def _unique(cls, events: list[str]) -> list[str]:
        return list(dict.fromkeys(events))


class WebhookResponse(Response):
    id: UUID
    url: str
    events: list[str]
    created_at: datetime
    contact_email: str | None = None
    enabled: bool = Field(True, description="False once deliveries stopped (410 Gone, or 5 days of failures).")
    disabled_reason: str | None = Field(None, description="Why deliveries stopped, while disabled.")


class CreateWebhookResponse(WebhookResponse):
    secret: str = Field(description="Standard Webhooks signing secret (whsec_...). Shown once: store it now.")


class WebhookListResponse(Response):
    webhooks: list[WebhookResponse]


class UpdateWebhookRequest(Request):
    enabled: Literal[True] | None = Field(None, description="true re-enables a disabled subscription (its endpoint is back).")
    rotate_secret: bool = Field(
        False,
        description="A new signing secret, returned in this answer only; for 24 hours deliveries carry "
        "a signature with each secret (space-separated in webhook-signature), so receivers can switch.",
    )


class UpdateWebhookResponse(WebhookResponse):
    secret: str | None = Field(None, description="The new signing secret, when rotate_secret was asked. Shown once.")


class ReplayWebhookRequest(Request):
    event_id: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = Field(
        None, description="One event to deliver again (its event_id, as the delivery log lists it)."
    )
    since: datetime | None = Field(None, description="Every event since this time (within the archive's retention).")

    @model_validator(mode="after")
    def _one_of(self) -> "ReplayWebhookRequest":
        if (self.event_id is None) == (self.since is None):
            raise ValueError("give exactly one of event_id and since")
        if self.since is not None and self.since.tzinfo is None:
            raise ValueError("since needs a time zone (e.g. 2026-01-01T00:00:00Z)")
        return self


class ReplayWebhookResponse(Response):
    webhook_id: UUID
    replay_name: str = Field(description="The EventBridge replay of the bus archive that re-delivers the events.")
    event_id: str | None = None
    since: datetime
    until: datetime


class WebhookDeliveryResponse(Response):
    event_id: str
    event_type: str
    occurred_at: str
    attempts: int = Field(description="Attempts made so far.")
    state: Literal["pending", "delivered", "failed"] = Field(
        description="pending: a retry is due at next_attempt_at; delivered: a 2xx answer; failed: no more attempts."
    )
    last_status_code: int | None = Field(None, description="The HTTP status of the last answer (none if no answer came).")
    last_latency_ms: int | None = Field(None, description="How long the last attempt took, in milliseconds.")
    last_error: str | None = Field(None, description="Why the last attempt failed.")
    next_attempt_at: datetime | None = None


class WebhookDeliveriesResponse(Response):
    webhook_id: UUID
    deliveries: list[WebhookDeliveryResponse] = Field(description="The latest first (by the event's time), up to limit.")


class DeleteWebhookResponse(Response):
    id: UUID
    status: Literal["DELETED"] = "DELETED"


# ----------------------------------------------------------------------------- user imports


class ImportOutcome(StrEnum):
    """What became of one row of an import."""

    CREATED = "created"  # the user's onboarding started (status CREATED, as POST /v1/users answers)
    DUPLICATE = "duplicate"  # the email already belongs to a user (another row, or an earlier one)
    INVALID = "invalid"  # the row is not what POST /v1/users accepts; nothing was queued
    FAILED = "failed"  # the row could not be started (see its reason code)


class ImportRowMessage(Model):
    """One valid row on the import queue: the user to onboard, as POST /v1/users would take it."""

    import_id: str
    row: int = Field(ge=1)
    request_id: str
    user: CreateUserRequest


class ImportCounts(Response):
    queued: int = Field(description="Rows not yet accounted for: on the queue, or waiting for the import's rate.")
    created: int
    duplicate: int
    invalid: int
    failed: int


class ImportRowProblem(Response):
    row: int = Field(description="The row's number in the file (1 is the first user, after a CSV's header).")
    email: str | None = Field(description="The row's email as given (None if it had none).")
    reason: str = Field(description="The error code POST /v1/users would answer, or why the row could not be started.")


class CreateUserImportResponse(Response):
    import_id: UUID
    status: Literal["QUEUED"] = "QUEUED"
    rows: int
    queued: int
    invalid: int


class UserImportStatusResponse(Response):
    import_id: UUID
    status: Literal["IN_PROGRESS", "COMPLETED"]
    rows: int
    counts: ImportCounts
    problems: list[ImportRowProblem] = Field(description="Each invalid or failed row, in row order.")
    created_at: datetime
    completed_at: datetime | None
