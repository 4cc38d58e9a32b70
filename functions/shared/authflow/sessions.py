"""Signed-in sessions: login with MFA through the login workflow, refresh, user info, logout, password change.

The login workflow is an Express state machine run synchronously. The password, session and code go
to its task through a one-time handoff record, and its tokens come back the same way, so no secret
enters an execution's input or output.
"""

from collections.abc import Callable
from datetime import timedelta
from typing import ClassVar
from uuid import UUID, uuid4

from pydantic import SecretStr

from authflow import errors, events
from authflow.adapters import Adapters
from authflow.attempts import AttemptLimits, Factor
from authflow.models import (
    ChangePasswordAliasRequest,
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
    OnboardingStatus,
    RefreshTokenRequest,
    RefreshTokenResponse,
    TokensResponse,
    UserInfoResponse,
)
from authflow.observability import logger
from authflow.sign_out import SignOut
from authflow.tokens import TokenUse, sign_in_of, user_of
from authflow.users import AuditContext

HANDOFF_TTL = timedelta(minutes=2)
# What a login step task returns: its outcome and the secrets the API takes from the result handoff.
StepResult = tuple[LoginOutcome, dict]
# What each login task lets a caller guess, and the refusals that mean a wrong guess.
_GUESSES: dict[str, tuple[Factor, tuple[type[errors.AuthflowError], ...]]] = {
    "verify_password": (Factor.PASSWORD, (errors.InvalidCredentials,)),
    "verify_mfa_code": (Factor.TOTP, (errors.InvalidMfaCode,)),
}


# An active user whose authenticator an operator removed signs in: (user_id, email, password, request_id).
EnrolAfterOperatorReset = Callable[[str, str, SecretStr, str], None]


class Sessions:
    def __init__(
        self,
        adapters: Adapters,
        login_state_machine_arn: str | None = None,
        enrol_after_operator_reset: EnrolAfterOperatorReset | None = None,
    ):
        self.login_state_machine_arn = login_state_machine_arn
        self.enrol_after_operator_reset = enrol_after_operator_reset
        self.users = adapters.users
        self.sign_out = SignOut(adapters)
        self.status = adapters.status
        self.claims = adapters.claims
        self.handoffs = adapters.handoffs
        self.recovery_codes = adapters.recovery_codes
        self.events = adapters.events
        self.workflows = adapters.workflows
        self.verifier = adapters.verifier
        self.revoked_sign_ins = adapters.revoked_sign_ins
        self.sign_outs = adapters.sign_outs
        self.pseudo_ids = adapters.pseudo_ids
        self.password_policy = adapters.password_policy
        self.attempts = AttemptLimits(adapters)

    # ------------------------------------------------------------------ API side

    def login(self, request: LoginRequest, request_id: str) -> LoginResponse:
        secrets = {"email": request.email, "password": request.password.get_secret_value()}
        result, handoff_id = self._run_login(LoginStep.PASSWORD, secrets, request_id)
        if result.reason == errors.MfaEnrolmentRequired.code and self.enrol_after_operator_reset:
            # The password was right and the pool asks for a new authenticator: its QR link is mailed.
            self.enrol_after_operator_reset(result.user_id, request.email, request.password, request_id)
        if result.outcome != LoginOutcome.MFA_REQUIRED:
            raise self._refusal(result)
        session = self._take_result(handoff_id)["session"]
        return LoginResponse(email=request.email, verification_session=session)

    def verify_mfa(self, request: MfaVerifyRequest, request_id: str) -> TokensResponse:
        secrets = {
            "email": str(request.email),
            "session": request.verification_session.get_secret_value(),
            "code": request.otp_code.get_secret_value(),
        }
        result, handoff_id = self._run_login(LoginStep.MFA, secrets, request_id)
        if result.outcome != LoginOutcome.SIGNED_IN:
            raise self._refusal(result)
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

    def _refusal(self, result: LoginResult) -> errors.AuthflowError:
        """The error a refused login step answers; a lockout says when it ends."""
        refusal = errors.by_code(result.reason)
        if issubclass(refusal, errors.TooManyAttempts):
            return refusal(retry_after=self.attempts.retry_after(result.user_id))
        return refusal()

    def _take_result(self, handoff_id: str) -> dict:
        result = self.handoffs.take(handoff_id, "result")
        if result is None:
            raise errors.TransientError("Sign-in is temporarily unavailable.")
        return result

    def refresh(self, request: RefreshTokenRequest, request_id: str) -> RefreshTokenResponse:
        user_id = self.claims.user_id_for(request.email, consistent=False)
        if user_id is None:
            raise errors.InvalidToken()
        # Cognito refuses a refresh token that any sign-out revoked (GlobalSignOut at logout,
        # AdminUserGlobalSignOut otherwise): authflow records no revocation Cognito did not make, so
        # reading those records here would protect nothing (issue 13 item 3: one read, not three).
        tokens = self.users.refresh(user_id, request.refresh_token)
        if user_of(tokens.access_token) != user_id:
            raise errors.InvalidToken()
        return RefreshTokenResponse(
            email=request.email,
            id_token=tokens.id_token,
            access_token=tokens.access_token,
            expires_in=tokens.expires_in,
            refresh_token=tokens.refresh_token,
        )

    def user_info(self, token: SecretStr) -> UserInfoResponse:
        """The signed-in user, from their access token or (as CognitoApi's clients send) their id token."""
        claims = self.verifier.verify_signed(token, accept=(TokenUse.ACCESS, TokenUse.ID))
        if claims.token_use == TokenUse.ACCESS:
            # GetUser refuses an access token any sign-out revoked: no revocation read (issue 13 item 3).
            attributes = self.users.attributes(token)
        else:
            # Nobody but authflow checks an id token for revocation (issue 12 item 1).
            self.verifier.refuse_revoked(claims)
            attributes = self.users.attributes_of(claims.user_id)
        given_name, family_name = attributes.get("given_name", ""), attributes.get("family_name", "")
        return UserInfoResponse(
            # Users created before authflow stored `name` have only its two halves.
            name=attributes.get("name") or f"{given_name} {family_name}".strip(),
            recovery_codes_left=self.recovery_codes.left(claims.user_id),
            user_id=claims.user_id,
            email=attributes.get("email", ""),
            phone_number=attributes.get("phone_number"),
            groups=claims.groups,
            given_name=given_name,
            family_name=family_name,
        )

    def logout(self, request: LogoutRequest, request_id: str) -> LogoutResponse:
        claims = self.verifier.verify(request.access_token)
        if not self.claims.owned_by(request.email, claims.user_id):
            raise errors.InvalidToken()
        self.sign_out.everywhere_by_the_user(claims.user_id, request.access_token)
        self.revoked_sign_ins.revoke(claims.origin_jti)
        self.events.publish(events.LoggedOut(user_id=claims.user_id, request_id=request_id))
        return LogoutResponse()

    def change_password(self, user_id: str, request: ChangePasswordRequest, request_id: str) -> ChangePasswordResponse:
        """CognitoApi's route: the path's user, the email and the access token must all name the same user."""
        return self._change_password(request.access_token, request.old_password, request.new_password, request_id, user_id, request.email)

    def change_password_alias(self, request: ChangePasswordAliasRequest, request_id: str) -> ChangePasswordResponse:
        """POST /v1/change-password: the token names the user; an email, if sent, must name the same one."""
        return self._change_password(request.access_token, request.old, request.new, request_id, None, request.email)

    def _change_password(
        self, access_token: SecretStr, old: SecretStr, new: SecretStr, request_id: str, user_id: str | None, email: str | None
    ) -> ChangePasswordResponse:
        claims = self.verifier.verify(access_token)
        if (user_id is not None and user_id != claims.user_id) or (email is not None and not self.claims.owned_by(email, claims.user_id)):
            raise errors.InvalidToken()
        record = self.status.get(claims.user_id)
        self.password_policy.check(new, record.email if record else "")
        self.users.change_password(access_token, old, new)
        # Cognito cannot revoke all refresh tokens but one: every session ends, this one too (ASVS 5.0 7.4.3).
        self.sign_out.everywhere(claims.user_id)
        self.events.publish(events.PasswordChanged(user_id=claims.user_id, request_id=request_id))
        return ChangePasswordResponse(other_sessions_revoked=True)

    # ------------------------------------------------------------------ login workflow tasks

    def run_login_task(self, task: LoginTask) -> LoginResult:
        secrets = self.handoffs.take(task.handoff_id, "request")
        if secrets is None:
            return LoginResult(outcome=LoginOutcome.REFUSED, user_id="unknown", reason=errors.SessionExpired.code)
        identifier = secrets["email"]
        user_id = self._user_id_for(identifier)
        # An unknown email or user id is refused exactly like a wrong password, and locked alike, under its stable pseudo-id.
        subject = user_id or self.pseudo_ids.for_email(identifier)
        factor, wrong = _GUESSES[task.task]
        try:
            outcome, result = self.attempts.attempt(
                subject, factor, lambda: self.TASKS[task.task](self, user_id, secrets, task), wrong, task.request_id
            )
        except errors.TransientError:
            # The workflow retries this task: it must find the secrets it took (within their lifetime).
            self.handoffs.put(task.handoff_id, "request", secrets, HANDOFF_TTL)
            raise
        except errors.AuthflowError as refusal:
            return LoginResult(outcome=LoginOutcome.REFUSED, user_id=subject, reason=refusal.code)
        self.handoffs.put(task.handoff_id, "result", result, HANDOFF_TTL)
        return LoginResult(outcome=outcome, user_id=subject)

    def _user_id_for(self, identifier: str) -> str | None:
        """The user an email or a user id names (CognitoApi's client sends the user id to mfa-verify), or None."""
        try:
            user_id = str(UUID(identifier))
        except ValueError:
            return self.claims.user_id_for(identifier)
        return user_id if self.status.get(user_id) is not None else None

    def _verify_password(self, user_id: str | None, secrets: dict, task: LoginTask) -> StepResult:
        # An unknown email makes the same Cognito call as a known one, under its pseudo-id (the name of no
        # user: Cognito refuses it as a wrong password), so both cost the same (issue 15 item 3).
        challenge = self.users.authenticate(user_id or self.pseudo_ids.for_email(secrets["email"]), SecretStr(secrets["password"]))
        if user_id is None:
            raise errors.InvalidCredentials()
        if challenge.name == "MFA_SETUP" and self._is_active(user_id):
            raise errors.MfaEnrolmentRequired()
        if challenge.name != "SOFTWARE_TOKEN_MFA":
            raise errors.OnboardingIncomplete()
        return LoginOutcome.MFA_REQUIRED, {"session": challenge.session.get_secret_value()}

    def _is_active(self, user_id: str) -> bool:
        record = self.status.get(user_id)
        return record is not None and record.status == OnboardingStatus.ACTIVE

    def _verify_mfa_code(self, user_id: str | None, secrets: dict, task: LoginTask) -> StepResult:
        if user_id is None:
            # An unknown email or user id is refused like an unknown email at the password step.
            raise errors.InvalidCredentials()
        audit = AuditContext(task.request_id, task.execution_arn)
        tokens = self.users.answer_mfa(user_id, SecretStr(secrets["session"]), SecretStr(secrets["code"]), audit)
        # A sign-in just after the user's sessions ended (in the same second, maybe) is not taken for one of them.
        try:
            self.sign_outs.note_sign_in(user_id, *sign_in_of(tokens.id_token))
        except errors.TransientError:
            # Cognito has used the session and the code: failing now would lose a completed sign-in for a
            # note that matters only if a sign-out fell in the same second.
            logger.warning("fresh sign-in not noted; its tokens are refused if a sign-out fell in its second", extra={"user_id": user_id})
        result = TokensResponse(
            id_token=tokens.id_token,
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token or "",
            expires_in=tokens.expires_in,
        )
        return LoginOutcome.SIGNED_IN, result.model_dump()

    TASKS: ClassVar[dict[str, Callable[["Sessions", str | None, dict, LoginTask], StepResult]]] = {
        "verify_password": _verify_password,
        "verify_mfa_code": _verify_mfa_code,
    }
