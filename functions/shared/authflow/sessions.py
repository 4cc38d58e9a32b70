"""Signed-in sessions: login with MFA through the login workflow, refresh, user info, logout, password change.

Each login step is one synchronous Express execution of the login workflow, which calls Cognito itself
(SPEC section 3: the password or the session and code, and the SECRET_HASH this function computes, are
in flight only). Before it, one BatchGetItem reads what the step must know; after it, a refusal is
counted (the lockout) and published (LoginFailed). Three AWS round trips besides Cognito's call on the
success path, with the API's per-source-IP limit (issue 13 item 3).
"""

from collections.abc import Callable
from datetime import datetime
from typing import NoReturn
from uuid import UUID

from pydantic import SecretStr

from authflow import errors, events
from authflow.adapters import Adapters
from authflow.attempts import AttemptLimits, Factor
from authflow.models import (
    ChangePasswordAliasRequest,
    ChangePasswordRequest,
    ChangePasswordResponse,
    LoginAnswer,
    LoginInput,
    LoginRequest,
    LoginResponse,
    LoginStep,
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
from authflow.status.claims import claim_key
from authflow.status.lockouts import lockout_key
from authflow.status.records import status_key
from authflow.status.recovery_codes import count_key
from authflow.status.sign_outs import signed_out_key
from authflow.tokens import TokenUse, sign_in_of, user_of
from authflow.users import login_step_refusal

# The verification session /login answers is the user id, this separator and Cognito's session: the MFA
# step reads the user's lockout and last sign-out with the email's claim, in one BatchGetItem, before
# Cognito is called (a user id that is not the email's is refused as an expired session).
SESSION_USER_SEPARATOR = ":"
_USER_ID_LENGTH = 36

# An active user whose authenticator an operator removed signs in: (user_id, email, password, request_id).
EnrolAfterOperatorReset = Callable[[str, str, SecretStr, str], None]


def verification_session(user_id: str, cognito_session: str) -> str:
    return f"{user_id}{SESSION_USER_SEPARATOR}{cognito_session}"


def split_verification_session(session: str) -> tuple[str | None, str]:
    """The user id and Cognito's session a verification session carries (None: not one /login answered)."""
    user_id, separator, cognito_session = (
        session[:_USER_ID_LENGTH],
        session[_USER_ID_LENGTH : _USER_ID_LENGTH + 1],
        session[_USER_ID_LENGTH + 1 :],
    )
    try:
        UUID(user_id)
    except ValueError:
        return None, session
    return (user_id, cognito_session) if separator == SESSION_USER_SEPARATOR and cognito_session else (None, session)


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
        self.lockouts = adapters.lockouts
        self.recovery_codes = adapters.recovery_codes
        self.events = adapters.events
        self.workflows = adapters.workflows
        self.verifier = adapters.verifier
        self.revoked_sign_ins = adapters.revoked_sign_ins
        self.sign_outs = adapters.sign_outs
        self.pseudo_ids = adapters.pseudo_ids
        self.password_policy = adapters.password_policy
        self.attempts = AttemptLimits(adapters)

    # ------------------------------------------------------------------ login, one step per request

    def login(self, request: LoginRequest, request_id: str) -> LoginResponse:
        email_pseudo_id = self.pseudo_ids.for_email(request.email)
        # A user's lock is mirrored under their email's pseudo-id (AttemptLimits), so the claim and the
        # lock are read together; an unknown email's own lock is there too.
        claim, lock = self.claims.get_many([claim_key(request.email), lockout_key(email_pseudo_id)])
        user_id = self.claims.user_id_in(claim)
        # An unknown email makes the same calls as a known one under its stable pseudo-id (the name of no
        # user: Cognito refuses it as a wrong password), and is locked alike (issue 15 item 3).
        subject = user_id or email_pseudo_id
        step = _Step(self, LoginStep.PASSWORD, subject, request_id, email_pseudo_id)
        step.refuse_if_locked(self.lockouts.locked_until_in(lock))
        answer = step.run(password=request.password)
        challenge = answer.challenge or {}
        if user_id is None:
            step.refuse(errors.InvalidCredentials())
        if challenge.get("ChallengeName") == "MFA_SETUP" and self._is_active(user_id):
            if self.enrol_after_operator_reset:
                # The password was right and the pool asks for a new authenticator: its QR link is mailed.
                self.enrol_after_operator_reset(user_id, request.email, request.password, request_id)
            step.refuse(errors.MfaEnrolmentRequired())
        if challenge.get("ChallengeName") != "SOFTWARE_TOKEN_MFA":
            step.refuse(errors.OnboardingIncomplete())
        return LoginResponse(email=request.email, verification_session=verification_session(user_id, challenge["Session"]))

    def verify_mfa(self, request: MfaVerifyRequest, request_id: str) -> TokensResponse:
        identifier = str(request.email)
        session_user_id, cognito_session = split_verification_session(request.verification_session.get_secret_value())
        named_user_id = _as_user_id(identifier)
        # CognitoApi's client sends the user id as the email: then the user's record says they exist.
        user_key = status_key(named_user_id) if named_user_id else claim_key(identifier)
        unknown_subject = self.pseudo_ids.for_email(identifier)
        subject_of_reads = session_user_id or named_user_id or unknown_subject
        found, lock, signed_out = self.claims.get_many([user_key, lockout_key(subject_of_reads), signed_out_key(subject_of_reads)])
        if named_user_id:
            user_id = named_user_id if self.status.record_in(found) is not None else None
        else:
            user_id = self.claims.user_id_in(found)
        step = _Step(self, LoginStep.MFA, user_id or unknown_subject, request_id, None if named_user_id else unknown_subject)
        if user_id is None or session_user_id != user_id:
            # No session /login answered names an unknown email or user id: it is refused exactly like a
            # session of another user, so this step cannot tell whether an account exists (ASVS 5.0 6.3.8).
            step.refuse(errors.SessionExpired())
        step.refuse_if_locked(self.lockouts.locked_until_in(lock))
        answer = step.run(session=SecretStr(cognito_session), code=request.otp_code)
        tokens = answer.tokens or {}
        # A sign-in just after the user's sessions ended (in the same second, maybe) is not taken for one of them.
        try:
            self.sign_outs.note_sign_in(user_id, *sign_in_of(tokens["IdToken"]), read_before=signed_out)
        except errors.TransientError:
            # Cognito has used the session and the code: failing now would lose a completed sign-in for a
            # note that matters only if a sign-out fell in the same second.
            logger.warning("fresh sign-in not noted; its tokens are refused if a sign-out fell in its second", extra={"user_id": user_id})
        return TokensResponse(
            id_token=tokens["IdToken"],
            access_token=tokens["AccessToken"],
            refresh_token=tokens.get("RefreshToken") or "",
            expires_in=tokens["ExpiresIn"],
        )

    def _is_active(self, user_id: str) -> bool:
        record = self.status.get(user_id)
        return record is not None and record.status == OnboardingStatus.ACTIVE

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
            codes_left = self.recovery_codes.left(claims.user_id)
        else:
            # Nobody but authflow checks an id token for revocation (issue 12 item 1); the recovery
            # codes' count is read in the same round trip (issue 13 item 3).
            (count,) = self.verifier.refuse_revoked(claims, also_read=(count_key(claims.user_id),))
            attributes = self.users.attributes_of(claims.user_id)
            codes_left = self.recovery_codes.left_in(claims.user_id, count)
        given_name, family_name = attributes.get("given_name", ""), attributes.get("family_name", "")
        return UserInfoResponse(
            # Users created before authflow stored `name` have only its two halves.
            name=attributes.get("name") or f"{given_name} {family_name}".strip(),
            recovery_codes_left=codes_left,
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


def _as_user_id(identifier: str) -> str | None:
    try:
        return str(UUID(identifier))
    except ValueError:
        return None


class _Step:
    """One login step of one request: its execution, and what a refusal of it does."""

    # What each step lets a caller guess, and the refusal that means a wrong guess.
    GUESSES = {LoginStep.PASSWORD: (Factor.PASSWORD, errors.InvalidCredentials), LoginStep.MFA: (Factor.TOTP, errors.InvalidMfaCode)}

    def __init__(self, sessions: Sessions, step: LoginStep, subject: str, request_id: str, email_pseudo_id: str | None = None):
        self.sessions = sessions
        self.step = step
        self.subject = subject
        self.request_id = request_id
        self.email_pseudo_id = email_pseudo_id
        self.execution_arn: str | None = None

    def refuse_if_locked(self, until: datetime | None) -> None:
        try:
            self.sessions.attempts.refuse_if_lock_holds(until)
        except errors.TooManyAttempts as locked:
            self._publish_refusal(locked)
            raise

    def run(self, **secrets: SecretStr) -> LoginAnswer:
        """Cognito's answer to the step; a refusal is counted (a wrong guess), published and raised."""
        sessions = self.sessions
        if not sessions.login_state_machine_arn:
            raise RuntimeError("login needs the login state machine")
        execution_input = LoginInput(
            step=self.step,
            request_id=self.request_id,
            username=self.subject,
            secret_hash=sessions.users.secret_hash_of(self.subject),
            **secrets,
        )
        execution = sessions.workflows.run_sync(sessions.login_state_machine_arn, execution_input, "The login workflow")
        self.execution_arn = execution.get("executionArn")
        if execution["status"] != "SUCCEEDED":
            logger.error("login workflow did not succeed", extra={"status": execution["status"], "error": execution.get("error")})
            raise errors.TransientError("Sign-in is temporarily unavailable.")
        answer = LoginAnswer.model_validate_json(execution["output"])
        if answer.outcome == "REFUSED":
            refusal = login_step_refusal(self.step, answer.reason or "", answer.cause)
            if isinstance(refusal, errors.TransientError):
                raise errors.TransientError("Sign-in is temporarily unavailable.")
            if isinstance(refusal, errors.TooManyAttempts):
                # Cognito's own lockout of the user's password attempts: when authflow's lock ends, if it holds one.
                refusal = errors.TooManyAttempts(retry_after=self.sessions.attempts.retry_after(self.subject))
            self.refuse(refusal)
        return answer

    def refuse(self, refusal: errors.AuthflowError) -> NoReturn:
        """Counts a wrong guess (the one that locks answers TooManyAttempts), publishes LoginFailed, raises."""
        factor, wrong = self.GUESSES[self.step]
        if isinstance(refusal, wrong):
            try:
                self.sessions.attempts.fail(self.subject, factor, self.request_id, self.email_pseudo_id)
            except errors.TooManyAttempts as locked:
                refusal = locked
        self._publish_refusal(refusal)
        raise refusal

    def _publish_refusal(self, refusal: errors.AuthflowError) -> None:
        failed = events.LoginFailed(
            user_id=self.subject, step=self.step, reason=refusal.code, request_id=self.request_id, execution_arn=self.execution_arn
        )
        try:
            self.sessions.events.publish(failed)
        except errors.TransientError:
            # The refusal is answered and counted all the same: a bus outage must not turn it into a 503.
            logger.warning("LoginFailed not published", extra={"user_id": self.subject, "reason": refusal.code})
