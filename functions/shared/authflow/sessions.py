"""Signed-in sessions: login with MFA through the login workflow, refresh, user info, logout, password change.

The login workflow is an Express state machine run synchronously. The password, session and code go
to its task through a one-time handoff record, and its tokens come back the same way, so no secret
enters an execution's input or output.
"""

from datetime import timedelta
from uuid import uuid4

from pydantic import SecretStr

from authflow import errors, events
from authflow.aws import client, raise_transient
from authflow.identity import PseudoIds
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
from authflow.settings import CognitoSettings
from authflow.status import StatusStore
from authflow.tokens import AccessTokenVerifier
from authflow.users import UserDirectory

HANDOFF_TTL = timedelta(minutes=2)


class Sessions:
    def __init__(self, settings: CognitoSettings, login_state_machine_arn: str | None = None):
        self.settings = settings
        self.login_state_machine_arn = login_state_machine_arn
        self.users = UserDirectory(settings.user_pool_id, settings.user_pool_client_id)
        self.status = StatusStore(settings.status_table_name)
        self.events = events.EventPublisher(settings.event_bus_name)
        self.verifier = AccessTokenVerifier(settings.user_pool_id, settings.user_pool_client_id)
        self.pseudo_ids = PseudoIds(settings.pseudo_id_secret_arn)

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
        self.status.put_handoff(handoff_id, "request", secrets, HANDOFF_TTL)
        execution_input = LoginInput(step=step, handoff_id=handoff_id, request_id=request_id)
        try:
            execution = client("stepfunctions").start_sync_execution(
                stateMachineArn=self.login_state_machine_arn, input=execution_input.model_dump_json()
            )
        except Exception as error:
            raise_transient(error, "The login workflow")
            raise
        if execution["status"] != "SUCCEEDED":
            logger.error("login workflow did not succeed", extra={"status": execution["status"], "error": execution.get("error")})
            raise errors.TransientError("Sign-in is temporarily unavailable.")
        return LoginResult.model_validate_json(execution["output"]), handoff_id

    def _take_result(self, handoff_id: str) -> dict:
        result = self.status.take_handoff(handoff_id, "result")
        if result is None:
            raise errors.TransientError("Sign-in is temporarily unavailable.")
        return result

    def refresh(self, request: RefreshTokenRequest, request_id: str) -> RefreshTokenResponse:
        tokens = self.users.refresh(request.refresh_token)
        claims = self.verifier.verify(_secret(tokens.access_token))
        if self.status.user_id_for(request.email) != claims.user_id:
            raise errors.InvalidToken()
        self.events.publish(events.TokenRefreshed(user_id=claims.user_id, request_id=request_id))
        return RefreshTokenResponse(
            email=request.email,
            id_token=tokens.id_token,
            access_token=tokens.access_token,
            expires_in=tokens.expires_in,
            refresh_token=tokens.refresh_token,
        )

    def user_info(self, access_token) -> UserInfoResponse:
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
        if self.status.user_id_for(request.email) != claims.user_id:
            raise errors.InvalidToken()
        self.users.sign_out_everywhere(request.access_token)
        self.events.publish(events.LoggedOut(user_id=claims.user_id, request_id=request_id))
        return LogoutResponse()

    def change_password(self, request: ChangePasswordRequest, request_id: str) -> ChangePasswordResponse:
        claims = self.verifier.verify(request.access_token)
        self.users.change_password(request.access_token, request.previous_password, request.proposed_password)
        self.events.publish(events.PasswordChanged(user_id=claims.user_id, request_id=request_id))
        return ChangePasswordResponse()

    # ------------------------------------------------------------------ login workflow tasks

    def run_login_task(self, task: LoginTask) -> LoginResult:
        secrets = self.status.take_handoff(task.handoff_id, "request")
        if secrets is None:
            return LoginResult(outcome=LoginOutcome.REFUSED, user_id="unknown", reason=errors.SessionExpired.code)
        email = secrets["email"]
        user_id = self.status.user_id_for(email)
        if user_id is None:
            # An unknown email is refused exactly like a wrong password, with a stable pseudo-id.
            return LoginResult(
                outcome=LoginOutcome.REFUSED, user_id=self.pseudo_ids.for_email(email), reason=errors.InvalidCredentials.code
            )
        try:
            if task.step == LoginStep.PASSWORD:
                challenge = self.users.authenticate(user_id, _secret(secrets["password"]))
                if challenge.name != "SOFTWARE_TOKEN_MFA":
                    raise errors.OnboardingIncomplete()
                result = {"session": challenge.session.get_secret_value()}
                outcome = LoginOutcome.MFA_REQUIRED
            else:
                tokens = self.users.answer_mfa(user_id, _secret(secrets["session"]), _secret(secrets["code"]))
                result = TokensResponse(
                    id_token=tokens.id_token,
                    access_token=tokens.access_token,
                    refresh_token=tokens.refresh_token or "",
                    expires_in=tokens.expires_in,
                ).model_dump()
                outcome = LoginOutcome.SIGNED_IN
        except errors.AuthflowError as refusal:
            if isinstance(refusal, errors.TransientError):
                raise
            return LoginResult(outcome=LoginOutcome.REFUSED, user_id=user_id, reason=refusal.code)
        self.status.put_handoff(task.handoff_id, "result", result, HANDOFF_TTL)
        return LoginResult(outcome=outcome, user_id=user_id)


def _secret(value: str) -> SecretStr:
    return SecretStr(value)
