"""The v1 HTTP API: each route parses its request, calls a use case and returns its model."""

from http import HTTPStatus
from typing import Annotated
from uuid import UUID

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, Server
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from authflow.http import build_resolver, error_responses
from authflow.models import (
    ConfirmMfaRequest,
    ConfirmMfaResponse,
    ConfirmUserRequest,
    ConfirmUserResponse,
    CreateUserRequest,
    CreateUserResponse,
    OnboardingStatusResponse,
    ResendConfirmationRequest,
    ResendConfirmationResponse,
)
from authflow.observability import logger, metrics, tracer
from authflow.onboarding import Onboarding
from authflow.settings import ApiSettings

settings = ApiSettings()
onboarding = Onboarding(settings, state_machine_arn=settings.onboarding_state_machine_arn)
app = build_resolver()

UserId = Annotated[UUID, Path(description="The user's id, as POST /v1/users returned it.")]
S = HTTPStatus


def _request_id() -> str:
    return app.current_event.request_context.request_id


@app.post("/users", responses=error_responses(S.BAD_REQUEST, S.CONFLICT), tags=["Onboarding"])
def create_user(request: Annotated[CreateUserRequest, Body()]) -> tuple[CreateUserResponse, int]:
    """Creates a user and starts their onboarding; the invitation mail carries a temporary password."""
    return onboarding.start(request, _request_id()), 201


@app.post(
    "/users/<user_id>/confirm",
    responses=error_responses(S.BAD_REQUEST, S.UNAUTHORIZED, S.NOT_FOUND, S.CONFLICT),
    tags=["Onboarding"],
)
def confirm_user(user_id: UserId, request: Annotated[ConfirmUserRequest, Body()]) -> ConfirmUserResponse:
    """Replaces the temporary password and returns the TOTP secret and a link to its QR code."""
    return onboarding.confirm(str(user_id), request)


@app.post(
    "/users/<user_id>/confirm-mfa",
    responses=error_responses(S.BAD_REQUEST, S.UNAUTHORIZED, S.NOT_FOUND, S.CONFLICT),
    tags=["Onboarding"],
)
def confirm_mfa(user_id: UserId, request: Annotated[ConfirmMfaRequest, Body()]) -> ConfirmMfaResponse:
    """Verifies the first code of the authenticator app; the account becomes ACTIVE."""
    return onboarding.confirm_mfa(str(user_id), request)


@app.post("/resend-confirmation-code", responses=error_responses(S.BAD_REQUEST), tags=["Onboarding"])
def resend_confirmation_code(request: Annotated[ResendConfirmationRequest, Body()]) -> ResendConfirmationResponse:
    """Mails a new temporary password to a user who has not confirmed yet (same answer for any email)."""
    return onboarding.resend_invitation(request, _request_id())


@app.get("/users/<user_id>/onboarding", responses=error_responses(S.BAD_REQUEST, S.NOT_FOUND), tags=["Onboarding"])
def onboarding_status(user_id: UserId) -> OnboardingStatusResponse:
    """The user's onboarding status, its steps and its execution."""
    return onboarding.status_of(str(user_id))


@app.get("/openapi.json", include_in_schema=False)
def openapi_document() -> Response:
    document = app.get_openapi_json_schema(
        title="authflow",
        version="1.0.0",
        description="Authentication and user-lifecycle API (CognitoApi v1 contract).",
        servers=[Server(url="/v1")],
        security_schemes={"apiKey": APIKey(name="x-api-key", **{"in": APIKeyIn.header})},
        security=[{"apiKey": []}],
    )
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=document)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    metrics.add_metric(name="ApiRequests", unit=MetricUnit.Count, value=1)
    return app.resolve(event, context)
