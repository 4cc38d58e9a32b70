"""The password lifecycle: reset by mailed code (a Standard workflow per request).

Unknown emails get the same answers as known ones: forgot-password returns a stable pseudo-id, and the
operator reset answers a mismatched id and email as a matching pair. Both do the same work for every
email too: they queue a request (authflow.mail_requests), and MailRequestFunction starts the reset for
an active user's email only (start_requested_reset).
"""

from collections.abc import Callable
from datetime import timedelta
from typing import ClassVar
from uuid import UUID

from pydantic import SecretStr

from authflow import errors, events
from authflow.adapters import Adapters
from authflow.attempts import AttemptLimits, Factor
from authflow.mail_requests import MailRequestQueue
from authflow.models import (
    ConfirmPasswordRequest,
    ConfirmPasswordResponse,
    ForgotPasswordRequest,
    ForgotPasswordResponse,
    MailRequest,
    MailRequestKind,
    OnboardingStatus,
    PasswordResetInput,
    PasswordResetTask,
    ResetPasswordRequest,
    ResetPasswordResponse,
    UserAction,
)
from authflow.request_limits import RequestLimits
from authflow.settings import CognitoSettings
from authflow.sign_out import SignOut

# For this long after a reset, a new authenticator needs a recovery code (authflow.mfa).
RESET_WEAKENS_NO_FACTOR_FOR = timedelta(hours=24)


class Passwords:
    def __init__(
        self,
        settings: CognitoSettings,
        adapters: Adapters,
        reset_state_machine_arn: str | None = None,
        mail_requests: MailRequestQueue | None = None,
    ):
        self.settings = settings
        self.reset_state_machine_arn = reset_state_machine_arn
        self.mail_requests = mail_requests
        self.users = adapters.users
        self.sign_out = SignOut(adapters)
        self.status = adapters.status
        self.claims = adapters.claims
        self.signals = adapters.signals
        self.events = adapters.events
        self.workflows = adapters.workflows
        self.pseudo_ids = adapters.pseudo_ids
        self.recent_resets = adapters.recent_resets
        self.clock = adapters.clock
        self.password_policy = adapters.password_policy
        self.attempts = AttemptLimits(adapters)
        self.limits = RequestLimits(settings, adapters)

    @property
    def _signal_ttl(self) -> timedelta:
        return timedelta(seconds=self.settings.password_reset_code_validity_seconds * 2)

    def _active_user(self, email: str) -> str | None:
        user_id = self.claims.user_id_for(email)
        record = self.status.get(user_id) if user_id else None
        return user_id if record and record.status == OnboardingStatus.ACTIVE else None

    # ------------------------------------------------------------------ API side

    def forgot(self, request: ForgotPasswordRequest, request_id: str, api_key_name: str | None = None) -> ForgotPasswordResponse:
        """Queues a reset request, which starts a reset for an active user only; every email, known or not,
        is answered its stable pseudo-id after the same work."""
        self.limits.charge(request.email, api_key_name)
        self._queue(MailRequest(kind=MailRequestKind.PASSWORD_RESET, email=request.email, request_id=request_id))
        return ForgotPasswordResponse(email=request.email, user_id=self.pseudo_ids.for_email(request.email))

    def operator_reset(
        self, user_id: str, request: ResetPasswordRequest, request_id: str, api_key_name: str | None = None
    ) -> ResetPasswordResponse:
        """CognitoApi's POST /v1/users/{id}/reset-password with the API key alone: the same reset as
        forgot-password (the current password keeps working until it completes), started only when the
        id and the email name the same active user, and answered alike, after the same work, when they
        do not. It shares forgot-password's mail limits, charged first."""
        self.limits.charge(request.email, api_key_name)
        self._queue(MailRequest(kind=MailRequestKind.PASSWORD_RESET, email=request.email, request_id=request_id, user_id=user_id))
        return ResetPasswordResponse(email=request.email, user_id=user_id)

    def _queue(self, request: MailRequest) -> None:
        if self.mail_requests is None:
            raise RuntimeError("forgot needs the mail request queue")
        self.mail_requests.send(request)

    def force_reset(self, user_id: str, request: ResetPasswordRequest, request_id: str) -> ResetPasswordResponse:
        """An administrator's reset: the current password stops working and Cognito mails a reset code,
        which POST /v1/users/{id}/confirm-password takes as after forgot-password."""
        if self._active_user(request.email) != user_id:
            raise errors.UserNotFound()
        self.users.force_password_reset(user_id)
        self.events.publish(events.PasswordResetForced(user_id=user_id, request_id=request_id))
        return ResetPasswordResponse(email=request.email, user_id=user_id, status="PASSWORD_RESET_FORCED")

    # ------------------------------------------------------------------ the mail request function

    def start_requested_reset(self, request: MailRequest) -> bool:
        """A queued reset request: the reset starts for the email's active user (the one the operator's
        request names, if it names one); False, nothing started, for any other email."""
        user_id = self._active_user(request.email)
        if user_id is None or request.user_id not in (None, UUID(user_id)):
            return False
        self._start_reset(user_id, request.request_id)
        return True

    def _start_reset(self, user_id: str, request_id: str) -> None:
        if not self.reset_state_machine_arn:
            raise RuntimeError("forgot needs the password reset state machine")
        superseded = self.signals.clear(user_id, UserAction.PASSWORD_RESET)
        if superseded is not None:
            self.workflows.cancel(superseded, "PasswordResetSuperseded", "A newer password reset was requested.")
        self.workflows.start(
            self.reset_state_machine_arn,
            f"reset-{user_id}-{int(self.clock().timestamp() * 1000)}",
            PasswordResetInput(
                user_id=user_id,
                request_id=request_id,
                code_validity_seconds=self.settings.password_reset_code_validity_seconds,
            ),
        )

    def confirm(self, user_id: str, request: ConfirmPasswordRequest) -> ConfirmPasswordResponse:
        """Sets the new password; the path's id is the one forgot-password answered (the email's pseudo-id).

        Wrong codes count towards the email's lockout, known or not (an unknown email's under its pseudo-id).
        """
        # The policy depends on the password and the email only: checked first, it answers known and unknown emails alike.
        self.password_policy.check(request.new_password, request.email)
        pseudo_id = self.pseudo_ids.for_email(request.email)
        active_user = self._active_user(request.email)

        def reset() -> str:
            if active_user is None or user_id not in (pseudo_id, active_user):
                raise errors.InvalidVerificationCode()
            self.users.reset_password(active_user, request.verification_code, request.new_password)
            return active_user

        reset_user = self.attempts.attempt(active_user or pseudo_id, Factor.RESET_CODE, reset, (errors.InvalidVerificationCode,))
        # Whoever held a session before the reset holds it no longer (ASVS 5.0 7.4.3).
        self.sign_out.everywhere(reset_user)
        self.recent_resets.record(reset_user, RESET_WEAKENS_NO_FACTOR_FOR)
        token = self.signals.receive(reset_user, UserAction.PASSWORD_RESET, self._signal_ttl)
        if token is not None:
            self._resume(token)
        return ConfirmPasswordResponse(email=request.email, user_id=user_id, other_sessions_revoked=True)

    # ------------------------------------------------------------------ password reset workflow tasks

    def _resume(self, token: SecretStr) -> None:
        self.workflows.resume(token, {"action": UserAction.PASSWORD_RESET.value, "received": True})

    def run_reset_task(self, task: PasswordResetTask) -> dict:
        self.TASKS[task.task](self, task)
        return {"task": task.task, "user_id": str(task.reset.user_id)}

    def _event_context(self, task: PasswordResetTask) -> dict:
        return {"user_id": str(task.reset.user_id), "request_id": task.reset.request_id, "execution_arn": task.execution_arn}

    def _request_reset_code(self, task: PasswordResetTask) -> None:
        self.users.send_reset_code(str(task.reset.user_id))
        self.events.publish(events.PasswordResetRequested(**self._event_context(task)))

    def _await_new_password(self, task: PasswordResetTask) -> None:
        if task.task_token is None:
            raise errors.InvalidRequest("await_new_password needs a task token")
        if self.signals.arm(str(task.reset.user_id), UserAction.PASSWORD_RESET, task.task_token, self._signal_ttl):
            self._resume(task.task_token)

    def _record_password_reset(self, task: PasswordResetTask) -> None:
        self.signals.clear(str(task.reset.user_id), UserAction.PASSWORD_RESET)
        self.events.publish(events.PasswordResetCompleted(**self._event_context(task)))

    def _expire_password_reset(self, task: PasswordResetTask) -> None:
        self.signals.clear(str(task.reset.user_id), UserAction.PASSWORD_RESET)
        self.events.publish(events.PasswordResetExpired(**self._event_context(task)))

    TASKS: ClassVar[dict[str, Callable[["Passwords", PasswordResetTask], None]]] = {
        "request_reset_code": _request_reset_code,
        "await_new_password": _await_new_password,
        "record_password_reset": _record_password_reset,
        "expire_password_reset": _expire_password_reset,
    }
