"""Signed-in sessions: login with MFA through the login workflow, refresh, user info, logout, password change.

The login workflow is an Express state machine run synchronously. The password, session and code go
to its task through a one-time handoff record, and its tokens come back the same way, so no secret
enters an execution's input or output.
"""

from collections.abc import Callable
from datetime import timedelta
from typing import ClassVar
from uuid import uuid4

from pydantic import SecretStr

from authflow import errors, events
from authflow.adapters import Adapters
from authflow.models import (
    ChangePasswordRequest,
    ChangePasswordResponse,
    LoginInput,
    LoginOutcome,
    LoginRequest,
    LoginResponse,
    LoginResult,
    LoginStep,
    LoginTask,
    LogoutRequest,
    LogoutResponse,
    MfaVerifyRequest,
    RefreshTokenRequest,
    RefreshTokenResponse,
    TokensResponse,
    UserInfoResponse,
)
from authflow.observability import logger

HANDOFF_TTL = timedelta(minutes=2)
# What a login step task returns: its outcome and the secrets the API takes from the result handoff.
StepResult = tuple[LoginOutcome, dict]


class Sessions:
    def __init__(self, adapters: Adapters, login_state_machine_arn: str | None = None):
        self.login_state_machine_arn = login_state_machine_arn
        self.users = adapters.users
        self.status = adapters.status
        self.claims = adapters.claims
        self.handoffs = adapters.handoffs
        self.events = adapters.events
        self.workflows = adapters.workflows
        self.verifier = adapters.verifier
        self.pseudo_ids = adapters.pseudo_ids
        self.password_policy = adapters.password_policy

    # ------------------------------------------------------------------ API side

    def login(self, request: LoginRequest, request_id: str) -> LoginResponse:
        secrets = {"email": request.email, "password": request.password.get_secret_value()}
        result, handoff_id = self._run_login(LoginStep.PASSWORD, secrets, request_id)
        if result.outcome != LoginOutcome.MFA_REQUIRED:
            raise errors.by_code(result.reason)()
        session = self._take_result(handoff_id)["session"]
        return LoginResponse(email=request.email, verification_session=session)

    def verify_mfa(self, request: MfaVerifyRequest, request_id: str) -> TokensResponse:
        secrets = {
            "email": request.email,
            "session": request.verification_session.get_secret_value(),
            "code": request.otp_code.get_secret_value(),
        }
        result, handoff_id = self._run_login(LoginStep.MFA, secrets, request_id)
        if result.outcome != LoginOutcome.SIGNED_IN:
            raise errors.by_code(result.reason)()
        return TokensResponse(**self._take_result(handoff_id))

    def _run_login(self, step: LoginStep, secrets: dict, request_id: str) -> tuple[LoginResult, str]:
        handoff_id = str(uuid4())
        if not self.login_state_machine_arn:
            raise RuntimeError("login needs the login state machine")
        self.handoffs.put(handoff_id, "request", secrets, HANDOFF_TTL)
        execution_input = LoginInput(step=step, handoff_id=handoff_id, request_id=request_id)
        execution = self.workflows.run_sync(self.login_state_machine_arn, execution_input, "The login workflow")
        if execution["status"] != "SUCCEEDED":
            logger.error("login workflow did not succeed", extra={"status": execution["status"], "error": execution.get("error")})
            raise errors.TransientError("Sign-in is temporarily unavailable.")
        return LoginResult.model_validate_json(execution["output"]), handoff_id

    def _take_result(self, handoff_id: str) -> dict:
        result = self.handoffs.take(handoff_id, "result")
        if result is None:
            raise errors.TransientError("Sign-in is temporarily unavailable.")
        return result

    def refresh(self, request: RefreshTokenRequest, request_id: str) -> RefreshTokenResponse:
        tokens = self.users.refresh(request.refresh_token)
        claims = self.verifier.verify(SecretStr(tokens.access_token))
        if self.claims.user_id_for(request.email) != claims.user_id:
            raise errors.InvalidToken()
        self.events.publish(events.TokenRefreshed(user_id=claims.user_id, request_id=request_id))
        return RefreshTokenResponse(
            email=request.email,
            id_token=tokens.id_token,
            access_token=tokens.access_token,
            expires_in=tokens.expires_in,
            refresh_token=tokens.refresh_token,
        )

    def user_info(self, access_token: SecretStr) -> UserInfoResponse:
        claims = self.verifier.verify(access_token)
        attributes = self.users.attributes(access_token)
        return UserInfoResponse(
            user_id=claims.user_id,
            email=attributes.get("email", ""),
            groups=claims.groups,
            given_name=attributes.get("given_name", ""),
            family_name=attributes.get("family_name", ""),
        )

    def logout(self, request: LogoutRequest, request_id: str) -> LogoutResponse:
        claims = self.verifier.verify(request.access_token)
        if self.claims.user_id_for(request.email) != claims.user_id:
            raise errors.InvalidToken()
        self.users.sign_out_everywhere(request.access_token)
        self.events.publish(events.LoggedOut(user_id=claims.user_id, request_id=request_id))
        return LogoutResponse()

    def change_password(self, request: ChangePasswordRequest, request_id: str) -> ChangePasswordResponse:
        claims = self.verifier.verify(request.access_token)
        record = self.status.get(claims.user_id)
        self.password_policy.check(request.proposed_password, record.email if record else "")
        self.users.change_password(request.access_token, request.previous_password, request.proposed_password)
        self.events.publish(events.PasswordChanged(user_id=claims.user_id, request_id=request_id))
        return ChangePasswordResponse()

    # ------------------------------------------------------------------ login workflow tasks

    def run_login_task(self, task: LoginTask) -> LoginResult:
        secrets = self.handoffs.take(task.handoff_id, "request")
        if secrets is None:
            return LoginResult(outcome=LoginOutcome.REFUSED, user_id="unknown", reason=errors.SessionExpired.code)
        email = secrets["email"]
        user_id = self.claims.user_id_for(email)
        if user_id is None:
            # An unknown email is refused exactly like a wrong password, with a stable pseudo-id.
            return LoginResult(
                outcome=LoginOutcome.REFUSED, user_id=self.pseudo_ids.for_email(email), reason=errors.InvalidCredentials.code
            )
        try:
            outcome, result = self.TASKS[task.task](self, user_id, secrets)
        except errors.AuthflowError as refusal:
            if isinstance(refusal, errors.TransientError):
                raise
            return LoginResult(outcome=LoginOutcome.REFUSED, user_id=user_id, reason=refusal.code)
        self.handoffs.put(task.handoff_id, "result", result, HANDOFF_TTL)
        return LoginResult(outcome=outcome, user_id=user_id)

    def _verify_password(self, user_id: str, secrets: dict) -> StepResult:
        challenge = self.users.authenticate(user_id, SecretStr(secrets["password"]))
        if challenge.name != "SOFTWARE_TOKEN_MFA":
            raise errors.OnboardingIncomplete()
        return LoginOutcome.MFA_REQUIRED, {"session": challenge.session.get_secret_value()}

    def _verify_mfa_code(self, user_id: str, secrets: dict) -> StepResult:
        tokens = self.users.answer_mfa(user_id, SecretStr(secrets["session"]), SecretStr(secrets["code"]))
        result = TokensResponse(
            id_token=tokens.id_token,
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token or "",
            expires_in=tokens.expires_in,
        )
        return LoginOutcome.SIGNED_IN, result.model_dump()

    TASKS: ClassVar[dict[str, Callable[["Sessions", str, dict], StepResult]]] = {
        "verify_password": _verify_password,
        "verify_mfa_code": _verify_mfa_code,
    }
