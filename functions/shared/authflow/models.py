"""Models at the edges: HTTP requests and responses, workflow payloads and status records.

Secrets (passwords, codes, tokens) are SecretStr so that a repr, a log line or a validation error
never shows them.
"""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, SecretStr, StringConstraints

_NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f]*$"


def _lower(value: str) -> str:
    return value.lower()


Email = Annotated[EmailStr, Field(max_length=254), AfterValidator(_lower)]
Password = Annotated[SecretStr, Field(min_length=1, max_length=256)]
OneTimeCode = Annotated[SecretStr, Field(min_length=6, max_length=6)]
FullName = Annotated[str, StringConstraints(min_length=1, max_length=256, strip_whitespace=True, pattern=_NO_CONTROL_CHARACTERS)]
PhoneNumber = Annotated[str, StringConstraints(pattern=r"^\+[1-9]\d{4,14}$")]


class Request(BaseModel):
    """Every request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class Response(BaseModel):
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


# ----------------------------------------------------------------------------- HTTP


class CreateUserRequest(Request):
    full_name: FullName
    email: Email
    mobile_phone_number: PhoneNumber | None = None


class CreateUserResponse(Response):
    email: str
    user_id: UUID
    status: Literal["CREATED"] = "CREATED"


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


class OnboardingTimeouts(BaseModel):
    confirmation_seconds: int = Field(gt=0)
    mfa_seconds: int = Field(gt=0)


class WorkflowFailure(BaseModel):
    """What a Catch puts at $.failure: Step Functions' Error and Cause."""

    Error: str
    Cause: str | None = None


class OnboardingInput(BaseModel):
    """The input of an onboarding execution; it holds nothing secret."""

    user_id: UUID
    email: str
    full_name: str
    mobile_phone_number: str | None = None
    request_id: str
    timeouts: OnboardingTimeouts
    failure: WorkflowFailure | None = None


class OnboardingTask(BaseModel):
    """The payload the onboarding state machine sends to its task function."""

    task: Literal[
        "create_cognito_user",
        "send_invitation",
        "await_user_action",
        "record_confirmation",
        "activate_account",
        "compensate",
    ]
    onboarding: OnboardingInput
    execution_arn: str
    action: UserAction | None = None
    task_token: SecretStr | None = None
    outcome: Literal["EXPIRED", "FAILED"] | None = None


class StatusRecord(BaseModel):
    """A user's onboarding status as stored in the status table."""

    user_id: UUID
    email: str
    status: OnboardingStatus
    steps: list[Step] = []
    updated_at: datetime
    execution_arn: str
