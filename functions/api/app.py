"""The v1 HTTP API: each route parses its request, calls a use case and returns its model."""

import json
from http import HTTPStatus
from typing import Annotated
from uuid import UUID

from access import BEARER, STATUS_TOKEN_OR_BEARER, bearer_token, required_bearer_token, status_token
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from imports import document_import_body, imports_router
from webhooks import webhooks_router

from authflow import errors
from authflow.accounts import Accounts
from authflow.adapters import archive_replays, import_queue, lifecycle_adapters, mail_request_queue, secret_sealer, webhook_routing
from authflow.admins import Callers
from authflow.api_keys import ApiKeyCheck
from authflow.http import build_resolver, error_answer, header, refuse_unreadable_body, responses
from authflow.idempotency import Idempotency, SealedStatusToken
from authflow.imports import UserImports
from authflow.mfa import Mfa
from authflow.models import (
    ChangePasswordAliasRequest,
    ChangePasswordRequest,
    ChangePasswordResponse,
    ConfirmMfaRequest,
    ConfirmMfaResponse,
    ConfirmPasswordRequest,
    ConfirmPasswordResponse,
    ConfirmUserRequest,
    ConfirmUserResponse,
    CreateUserRequest,
    CreateUserResponse,
    DeleteUserResponse,
    ForgotPasswordRequest,
    ForgotPasswordResponse,
    LoginRequest,
    LoginResponse,
    LogoutRequest,
    LogoutResponse,
    MfaVerifyRequest,
    OnboardingStatusResponse,
    OperatorMfaResetResponse,
    OperatorSignOutResponse,
    RecoveryCodesRequest,
    RecoveryCodesResponse,
    RefreshTokenRequest,
    RefreshTokenResponse,
    ResendConfirmationRequest,
    ResendConfirmationResponse,
    ResendMfaRequest,
    ResendMfaResponse,
    ResetPasswordRequest,
    ResetPasswordResponse,
    TokensResponse,
    UserInfoResponse,
)
from authflow.observability import logger, metrics
from authflow.onboarding import Onboarding
from authflow.passwords import Passwords
from authflow.request_limits import SourceIpLimits
from authflow.sessions import Sessions
from authflow.settings import ApiSettings
from authflow.webhooks import Webhooks

settings = ApiSettings.from_environment()
adapters = lifecycle_adapters(settings)
mail_requests = mail_request_queue(settings.mail_request_queue_url)
onboarding = Onboarding(settings, adapters, state_machine_arn=settings.onboarding_state_machine_arn, mail_requests=mail_requests)
mfa = Mfa(settings, adapters, onboarding)
sessions = Sessions(adapters, settings.login_state_machine_arn, enrol_after_operator_reset=mfa.enrol_after_operator_reset)
passwords = Passwords(settings, adapters, mail_requests=mail_requests)
callers = Callers(adapters.verifier, settings.user_pool_id, settings.admin_group_name, ttl_seconds=settings.admin_check_cache_seconds)
accounts = Accounts(adapters, callers)
webhooks = Webhooks(
    adapters,
    allow_loopback=settings.webhook_allow_loopback,
    replays=archive_replays(settings),
    sealer=secret_sealer(settings),
    routing=webhook_routing(settings),
)
# One for every route that takes an Idempotency-Key; the handler gives it each invocation's context.
idempotency = Idempotency(settings.status_table_name)
created_users = SealedStatusToken(CreateUserResponse, lambda: adapters.pseudo_ids.key)
api_keys = ApiKeyCheck(adapters.api_keys)
source_ips = SourceIpLimits(settings, adapters)
app = build_resolver()
app.include_router(webhooks_router(webhooks, idempotency, callers))
app.include_router(imports_router(UserImports(adapters, queue=import_queue(settings.user_import_queue_url)), idempotency, callers))

UserId = Annotated[UUID, Path(description="The user's id, as POST /v1/users returned it.")]
S = HTTPStatus


def _request_id() -> str:
    return app.current_event.request_context.request_id


def _api_key_name() -> str:
    """The name of the API key the handler checked: the calling front end, which the mail routes' limits count."""
    return app.context["api_key_name"]


def _per_source_ip(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
    """The sign-in, code and resend routes count each request against its source IP's limit first."""
    source_ips.charge(app.current_event.request_context.http.source_ip)
    return next_middleware(app)


# The routes where passwords, codes and mails can be tried by the thousand (issue 15 item 6).
PER_SOURCE_IP = [_per_source_ip]


def _idempotency_key() -> str | None:
    return app.current_event.get_header_value("idempotency-key", case_sensitive=False)


@app.post("/users", responses=responses(CreateUserResponse, S.CONFLICT, S.TOO_MANY_REQUESTS, status=S.CREATED), tags=["Onboarding"])
def create_user(request: Annotated[CreateUserRequest, Body()]) -> tuple[CreateUserResponse, int]:
    """Creates a user and starts their onboarding; the invitation mail carries a temporary password.

    The answer's status_token, sent as X-Status-Token, lets the creator poll the onboarding.
    With an Idempotency-Key header, a retry of the same request gets the first answer (for a day).
    """
    request_id, key = _request_id(), _idempotency_key()
    created = idempotency.run(
        "create-user", key, request, lambda: onboarding.start(request, request_id, key, _api_key_name()), CreateUserResponse, created_users
    )
    return created, 201


@app.post(
    "/users/<user_id>/confirm",
    responses=responses(ConfirmUserResponse, S.UNAUTHORIZED, S.NOT_FOUND, S.CONFLICT, S.TOO_MANY_REQUESTS),
    tags=["Onboarding"],
    middlewares=PER_SOURCE_IP,
)
def confirm_user(user_id: UserId, request: Annotated[ConfirmUserRequest, Body()]) -> ConfirmUserResponse:
    """Replaces the temporary password and returns the TOTP secret and a link to its QR code."""
    return onboarding.confirm(str(user_id), request)


@app.post(
    "/users/<user_id>/confirm-mfa",
    responses=responses(ConfirmMfaResponse, S.UNAUTHORIZED, S.NOT_FOUND, S.CONFLICT, S.TOO_MANY_REQUESTS),
    tags=["Onboarding"],
    middlewares=PER_SOURCE_IP,
)
def confirm_mfa(user_id: UserId, request: Annotated[ConfirmMfaRequest, Body()]) -> ConfirmMfaResponse:
    """Verifies the first code of a new authenticator app and answers ten single-use recovery codes.

    At onboarding the account becomes ACTIVE; for an active user (after POST /v1/resend-mfa) the new
    authenticator replaces the old one and every other session is revoked."""
    return mfa.confirm_mfa(str(user_id), request, _request_id())


@app.post(
    "/resend-confirmation-code",
    responses=responses(ResendConfirmationResponse, S.TOO_MANY_REQUESTS),
    tags=["Onboarding"],
    middlewares=PER_SOURCE_IP,
)
def resend_confirmation_code(request: Annotated[ResendConfirmationRequest, Body()]) -> ResendConfirmationResponse:
    """Mails a new temporary password to a user who has not confirmed yet (same answer for any email)."""
    return onboarding.resend_invitation(request, _request_id(), _api_key_name())


@app.get(
    "/users/<user_id>/onboarding",
    responses=responses(OnboardingStatusResponse, S.BAD_REQUEST, S.UNAUTHORIZED, S.NOT_FOUND, body=False),
    tags=["Onboarding"],
    security=STATUS_TOKEN_OR_BEARER,
)
def onboarding_status(user_id: UserId) -> OnboardingStatusResponse:
    """The user's onboarding status, its steps and its execution.

    For the creator, with the X-Status-Token POST /v1/users answered, or for an admin (Authorization:
    Bearer); anyone else gets 404 USER_NOT_FOUND, as for an unknown id. An invalid bearer token is 401.
    """
    token = bearer_token(app.current_event)
    by_admin = token is not None and callers.identify(token).is_admin
    return onboarding.status_of(str(user_id), status_token(app.current_event), by_admin=by_admin)


@app.post(
    "/login",
    responses=responses(LoginResponse, S.UNAUTHORIZED, S.CONFLICT, S.TOO_MANY_REQUESTS),
    tags=["Sign-in"],
    middlewares=PER_SOURCE_IP,
)
def login(request: Annotated[LoginRequest, Body()]) -> LoginResponse:
    """The password step; answers an MFA session for the authenticator code (unknown emails look like wrong passwords).

    After an operator's MFA reset: 409 MFA_ENROLMENT_REQUIRED, and the user is mailed a link to a new
    authenticator's QR code, to confirm with POST /v1/users/{user_id}/confirm-mfa."""
    return sessions.login(request, _request_id())


@app.post(
    "/mfa-verify", responses=responses(TokensResponse, S.UNAUTHORIZED, S.TOO_MANY_REQUESTS), tags=["Sign-in"], middlewares=PER_SOURCE_IP
)
def mfa_verify(request: Annotated[MfaVerifyRequest, Body()]) -> TokensResponse:
    """The MFA step; answers the id, access and refresh tokens."""
    return sessions.verify_mfa(request, _request_id())


@app.post("/refresh-token", responses=responses(RefreshTokenResponse, S.UNAUTHORIZED), tags=["Sign-in"])
def refresh_token(request: Annotated[RefreshTokenRequest, Body()]) -> RefreshTokenResponse:
    """New id and access tokens from a refresh token."""
    return sessions.refresh(request, _request_id())


@app.get("/userinfo", responses=responses(UserInfoResponse, S.UNAUTHORIZED, body=False), tags=["Sign-in"], security=BEARER)
def userinfo() -> UserInfoResponse:
    """The signed-in user, from a verified access or id token (Authorization: Bearer)."""
    return sessions.user_info(required_bearer_token(app.current_event))


@app.post("/logout", responses=responses(LogoutResponse, S.UNAUTHORIZED), tags=["Sign-in"])
def logout(request: Annotated[LogoutRequest, Body()]) -> LogoutResponse:
    """Revokes every refresh token of the user; their access tokens stop working too."""
    return sessions.logout(request, _request_id())


@app.post(
    "/users/<user_id>/change-password",
    responses=responses(ChangePasswordResponse, S.UNAUTHORIZED, S.NOT_FOUND, S.TOO_MANY_REQUESTS),
    tags=["Passwords"],
)
def change_password(user_id: UserId, request: Annotated[ChangePasswordRequest, Body()]) -> ChangePasswordResponse:
    """Changes the signed-in user's password (CognitoApi's route and field names)."""
    return sessions.change_password(str(user_id), request, _request_id())


@app.post("/change-password", responses=responses(ChangePasswordResponse, S.UNAUTHORIZED, S.TOO_MANY_REQUESTS), tags=["Passwords"])
def change_password_alias(request: Annotated[ChangePasswordAliasRequest, Body()]) -> ChangePasswordResponse:
    """Alias of /users/{user_id}/change-password; previous_password/proposed_password are deprecated names."""
    return sessions.change_password_alias(request, _request_id())


@app.post(
    "/forgot-password", responses=responses(ForgotPasswordResponse, S.TOO_MANY_REQUESTS), tags=["Passwords"], middlewares=PER_SOURCE_IP
)
def forgot_password(request: Annotated[ForgotPasswordRequest, Body()]) -> ForgotPasswordResponse:
    """Mails a reset code (same answer for any email)."""
    return passwords.forgot(request, _request_id(), _api_key_name())


@app.post(
    "/users/<user_id>/reset-password",
    responses=responses(ResetPasswordResponse, S.UNAUTHORIZED, S.NOT_FOUND, S.TOO_MANY_REQUESTS),
    tags=["Passwords"],
    security=[{"apiKey": []}, *BEARER],
)
def reset_password(user_id: UserId, request: Annotated[ResetPasswordRequest, Body()]) -> ResetPasswordResponse:
    """CognitoApi's operator reset: mails a reset code as forgot-password does (same answer whether the id and email match or not).

    With force and an administrator's access token, the current password stops working at once.
    """
    if request.force:
        callers.require_admin(required_bearer_token(app.current_event))
        return passwords.force_reset(str(user_id), request, _request_id())
    return passwords.operator_reset(str(user_id), request, _request_id(), _api_key_name())


@app.post(
    "/users/<user_id>/confirm-password",
    responses=responses(ConfirmPasswordResponse, S.NOT_FOUND, S.TOO_MANY_REQUESTS),
    tags=["Passwords"],
    middlewares=PER_SOURCE_IP,
)
def confirm_password(user_id: UserId, request: Annotated[ConfirmPasswordRequest, Body()]) -> ConfirmPasswordResponse:
    """Sets a new password with the mailed reset code."""
    return passwords.confirm(str(user_id), request)


@app.post(
    "/resend-mfa",
    responses=responses(ResendMfaResponse, S.UNAUTHORIZED, S.CONFLICT, S.TOO_MANY_REQUESTS),
    tags=["MFA"],
    middlewares=PER_SOURCE_IP,
)
def resend_mfa(request: Annotated[ResendMfaRequest, Body()]) -> ResendMfaResponse:
    """Enrols a new authenticator: needs the password and otp_code (adding a device) or recovery_code (lost device).

    Mails the user a short-lived link to the new seed's QR code (never in the response); confirm it with
    POST /v1/users/{user_id}/confirm-mfa. Without a second factor: 400 MFA_PROOF_REQUIRED, no mail."""
    return mfa.enrol_new_authenticator(request, _request_id(), _api_key_name())


@app.post(
    "/recovery-codes",
    responses=responses(RecoveryCodesResponse, S.UNAUTHORIZED, S.CONFLICT, S.TOO_MANY_REQUESTS),
    tags=["MFA"],
    middlewares=PER_SOURCE_IP,
)
def recovery_codes(request: Annotated[RecoveryCodesRequest, Body()]) -> RecoveryCodesResponse:
    """Issues ten new recovery codes (password and a current code); the previous set stops working."""
    return mfa.new_recovery_codes(request, _request_id())


@app.delete(
    "/users/<user_id>",
    responses=responses(DeleteUserResponse, S.BAD_REQUEST, S.UNAUTHORIZED, S.FORBIDDEN, S.NOT_FOUND, body=False),
    tags=["Onboarding"],
    security=BEARER,
)
def delete_user(user_id: UserId) -> DeleteUserResponse:
    """Deletes the user (their own access or id token, or an admin's, checked live with Cognito): Cognito
    user, QR code, status records. A revoked token is 401; another user's token 403."""
    return accounts.delete(str(user_id), required_bearer_token(app.current_event), _request_id())


def _require_admin() -> None:
    """401 without a token Cognito accepts, 403 for a token of anyone outside the admin group (checked live)."""
    callers.require_admin(required_bearer_token(app.current_event))


@app.post(
    "/users/<user_id>/mfa-reset",
    responses=responses(OperatorMfaResetResponse, S.BAD_REQUEST, S.UNAUTHORIZED, S.FORBIDDEN, S.NOT_FOUND, body=False),
    tags=["MFA"],
    security=BEARER,
)
def operator_mfa_reset(user_id: UserId) -> OperatorMfaResetResponse:
    """Removes the user's authenticator and recovery codes and ends their sessions (admin token).

    The user's next sign-in answers 409 MFA_ENROLMENT_REQUIRED and mails them a new QR code's link."""
    _require_admin()
    return mfa.reset_by_operator(str(user_id), _request_id())


@app.post(
    "/users/<user_id>/sign-out",
    responses=responses(OperatorSignOutResponse, S.BAD_REQUEST, S.UNAUTHORIZED, S.FORBIDDEN, S.NOT_FOUND, body=False),
    tags=["MFA"],
    security=BEARER,
)
def operator_sign_out(user_id: UserId) -> OperatorSignOutResponse:
    """Ends every session of the user: all their refresh tokens are revoked (admin token)."""
    _require_admin()
    return mfa.sign_out_by_operator(str(user_id), _request_id())


@app.get("/openapi.json", include_in_schema=False)
def openapi_document():
    # Powertools' OpenAPI models (~40 ms of CPU to build) are imported by this route only, not at every cold start.
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBearer, Server

    document = app.get_openapi_json_schema(
        title="authflow",
        version="1.0.0",
        description="Authentication and user-lifecycle API (CognitoApi v1 contract).",
        servers=[Server(url="/v1")],
        security_schemes={
            "apiKey": APIKey(name="x-api-key", **{"in": APIKeyIn.header}),
            "bearerAuth": HTTPBearer(bearerFormat="JWT"),
            "statusToken": APIKey(name="X-Status-Token", **{"in": APIKeyIn.header}),
        },
        security=[{"apiKey": []}],
    )
    return Response(
        status_code=200, content_type=content_types.APPLICATION_JSON, body=json.dumps(document_import_body(json.loads(document)))
    )


# API Gateway's stage metrics count requests, 4xx, 5xx and latency for free: the function's EMF
# lines carry only what nothing else counts (ImportRowsFailed), and a request without one writes none.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    idempotency.config.register_lambda_context(context)
    # The key first, as API Gateway checked it before anything else: a caller without one learns nothing.
    try:
        key_name = api_keys.name_of(header(event, "x-api-key"))
    except errors.AuthflowError as refused:
        return error_answer(event, refused.status, refused.code, refused.message, refused.retry_after)
    refusal = refuse_unreadable_body(event)
    if refusal:
        return refusal
    app.append_context(api_key_name=key_name)
    return app.resolve(event, context)
