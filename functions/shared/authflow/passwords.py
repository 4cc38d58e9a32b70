"""The password lifecycle: reset by mailed code (a Standard workflow per request) and MFA QR resend.

Unknown emails get the same answers as known ones: forgot-password returns a stable pseudo-id, and
resend-mfa refuses an unknown email exactly like a wrong password.
"""

from datetime import timedelta
from time import time_ns

from authflow import errors, events, mail, workflows
from authflow.aws import client, raise_transient
from authflow.identity import PseudoIds
from authflow.models import (
    ConfirmPasswordRequest,
    ConfirmPasswordResponse,
    ForgotPasswordRequest,
    ForgotPasswordResponse,
    OnboardingStatus,
    PasswordResetInput,
    PasswordResetTask,
    ResendMfaRequest,
    ResendMfaResponse,
    UserAction,
)
from authflow.qr import QrCodeStore
from authflow.settings import CognitoSettings
from authflow.status import StatusStore
from authflow.users import UserDirectory

RESEND_MFA_WINDOW = timedelta(hours=1)


class Passwords:
    def __init__(self, settings: CognitoSettings, reset_state_machine_arn: str | None = None):
        self.settings = settings
        self.reset_state_machine_arn = reset_state_machine_arn
        self.users = UserDirectory(settings.user_pool_id, settings.user_pool_client_id)
        self.status = StatusStore(settings.status_table_name)
        self.events = events.EventPublisher(settings.event_bus_name)
        self.qr_codes = QrCodeStore(settings.qr_bucket_name, settings.qr_link_expiry_seconds)
        self.pseudo_ids = PseudoIds(settings.pseudo_id_secret_arn)

    @property
    def _signal_ttl(self) -> timedelta:
        return timedelta(seconds=self.settings.password_reset_code_validity_seconds * 2)

    def _active_user(self, email: str) -> str | None:
        user_id = self.status.user_id_for(email)
        record = self.status.get(user_id) if user_id else None
        return user_id if record and record.status == OnboardingStatus.ACTIVE else None

    # ------------------------------------------------------------------ API side

    def forgot(self, request: ForgotPasswordRequest, request_id: str) -> ForgotPasswordResponse:
        user_id = self._active_user(request.email)
        if user_id is None:
            return ForgotPasswordResponse(email=request.email, user_id=self.pseudo_ids.for_email(request.email))
        superseded = self.status.clear_signal(user_id, UserAction.PASSWORD_RESET)
        if superseded is not None:
            workflows.cancel(superseded, "PasswordResetSuperseded", "A newer password reset was requested.")
        workflows.start(
            self.reset_state_machine_arn,
            f"reset-{user_id}-{time_ns() // 1_000_000}",
            PasswordResetInput(
                user_id=user_id,
                request_id=request_id,
                code_validity_seconds=self.settings.password_reset_code_validity_seconds,
            ),
        )
        return ForgotPasswordResponse(email=request.email, user_id=user_id)

    def confirm(self, user_id: str, request: ConfirmPasswordRequest) -> ConfirmPasswordResponse:
        if self._active_user(request.email) != user_id:
            raise errors.InvalidVerificationCode()
        self.users.reset_password(user_id, request.verification_code, request.new_password)
        token = self.status.receive_signal(user_id, UserAction.PASSWORD_RESET, self._signal_ttl)
        if token is not None:
            workflows.resume(token, {"action": UserAction.PASSWORD_RESET.value, "received": True})
        return ConfirmPasswordResponse(email=request.email, user_id=user_id)

    def resend_mfa(self, request: ResendMfaRequest, request_id: str) -> ResendMfaResponse:
        user_id = self._active_user(request.email)
        if user_id is None:
            raise errors.InvalidCredentials()
        if self.status.count(user_id, "resend-mfa", RESEND_MFA_WINDOW) > self.settings.resend_mfa_limit_per_hour:
            raise errors.TooManyRequests("Too many QR code resends; try again in an hour.")
        if self.users.authenticate(user_id, request.password).name != "SOFTWARE_TOKEN_MFA":
            raise errors.OnboardingIncomplete()
        message = mail.mfa_qr_link(self.settings.app_name, self.qr_codes.link(user_id), self.settings.qr_link_expiry_seconds // 60)
        try:
            client("ses").send_email(
                Source=self.settings.mail_from_address,
                Destination={"ToAddresses": [request.email]},
                Message={"Subject": {"Data": message.subject}, "Body": {"Html": {"Data": message.html}}},
            )
        except Exception as error:
            raise_transient(error, "Mail")
            raise
        self.events.publish(events.MfaQrResent(user_id=user_id, request_id=request_id))
        return ResendMfaResponse(email=request.email)

    # ------------------------------------------------------------------ password reset workflow tasks

    def run_reset_task(self, task: PasswordResetTask) -> dict:
        user_id = str(task.reset.user_id)
        context = {"user_id": user_id, "request_id": task.reset.request_id, "execution_arn": task.execution_arn}
        if task.task == "request_reset_code":
            self.users.send_reset_code(user_id)
            self.events.publish(events.PasswordResetRequested(**context))
        elif task.task == "await_new_password":
            if task.task_token is None:
                raise errors.InvalidRequest("await_new_password needs a task token")
            if self.status.arm_signal(user_id, UserAction.PASSWORD_RESET, task.task_token, self._signal_ttl):
                workflows.resume(task.task_token, {"action": UserAction.PASSWORD_RESET.value, "received": True})
        elif task.task == "record_password_reset":
            self.status.clear_signal(user_id, UserAction.PASSWORD_RESET)
            self.events.publish(events.PasswordResetCompleted(**context))
        else:
            self.status.clear_signal(user_id, UserAction.PASSWORD_RESET)
            self.events.publish(events.PasswordResetExpired(**context))
        return {"task": task.task, "user_id": user_id}
