"""The onboarding lifecycle: the API's use cases and the onboarding workflow's tasks.

The API starts one Standard execution per user, named after the user_id, and signals it when the user
confirms; the execution's tasks do the non-interactive steps. Secret-bearing work (passwords, the TOTP
secret, Cognito sessions) happens here, never in the execution's input or output.
"""

from collections.abc import Callable
from datetime import timedelta
from typing import ClassVar
from uuid import uuid4

from pydantic import SecretStr

from authflow import errors, events, status_tokens
from authflow.adapters import Adapters
from authflow.attempts import AttemptLimits, Factor
from authflow.aws import raise_transient
from authflow.mail_requests import MailRequestQueue
from authflow.models import (
    ConfirmMfaRequest,
    ConfirmMfaResponse,
    ConfirmUserRequest,
    ConfirmUserResponse,
    CreateUserRequest,
    CreateUserResponse,
    ExecutionRef,
    MailRequest,
    MailRequestKind,
    OnboardingInput,
    OnboardingStatus,
    OnboardingStatusResponse,
    OnboardingTask,
    OnboardingTimeouts,
    ResendConfirmationRequest,
    ResendConfirmationResponse,
    StatusRecord,
    StepStatus,
    UserAction,
)
from authflow.observability import logger
from authflow.qr import qr_png
from authflow.request_limits import RequestLimits
from authflow.settings import CognitoSettings
from authflow.workflows import execution_arn

# The status an execution waiting for each action shows.
_WAITING_STATUS = {UserAction.CONFIRMATION: OnboardingStatus.INVITED, UserAction.MFA_CONFIRMATION: OnboardingStatus.MFA_PENDING}


class Onboarding:
    def __init__(
        self,
        settings: CognitoSettings,
        adapters: Adapters,
        state_machine_arn: str | None = None,
        mail_requests: MailRequestQueue | None = None,
    ):
        self.settings = settings
        self.state_machine_arn = state_machine_arn
        self.mail_requests = mail_requests
        self.users = adapters.users
        self.status = adapters.status
        self.claims = adapters.claims
        self.signals = adapters.signals
        self.mfa_sessions = adapters.mfa_sessions
        self.recovery_codes = adapters.recovery_codes
        self.events = adapters.events
        self.qr_codes = adapters.qr_codes
        self.workflows = adapters.workflows
        self.password_policy = adapters.password_policy
        self.attempts = AttemptLimits(adapters)
        self.limits = RequestLimits(settings, adapters)

    @property
    def timeouts(self) -> OnboardingTimeouts:
        return OnboardingTimeouts(
            confirmation_seconds=self.settings.temporary_password_validity_days * 86400,
            confirmation_limit_seconds=max(self.settings.onboarding_confirmation_limit_days, self.settings.temporary_password_validity_days)
            * 86400,
            mfa_seconds=self.settings.auth_session_validity_minutes * 60,
        )

    @property
    def _signal_ttl(self) -> timedelta:
        return timedelta(days=self.settings.temporary_password_validity_days + 1)

    # ------------------------------------------------------------------ API use cases

    def start(
        self,
        request: CreateUserRequest,
        request_id: str,
        idempotency_key: str | None = None,
        api_key_name: str | None = None,
        by_admin: bool = False,
    ) -> CreateUserResponse:
        """Claims the email and starts the user's execution, named after the user_id (a random v4).

        With an idempotency key the claim keeps the key's digest, so a retry after a partial failure finds
        the same user_id, claim and execution instead of a conflict. An admin's user import (by_admin) is
        not charged POST /v1/users' per-email limit, a guard against strangers with the API key: a row
        retried after throttling would use it up, and the claim already gives an email one invitation.
        """
        if not self.state_machine_arn:
            raise RuntimeError("start needs the onboarding state machine")
        if not by_admin:
            self.limits.charge(request.email, api_key_name, purpose="create")
        retried = self.claims.user_id_for_retry(request.email, idempotency_key) if idempotency_key else None
        user_id = retried or str(uuid4())
        arn = execution_arn(self.state_machine_arn, user_id)
        status_token = status_tokens.new_status_token()
        token_digest = status_tokens.digest(status_token)
        if self.status.create(user_id, request.email, arn, token_digest, idempotency_key).status_token_digest != token_digest:
            # A retry that found this user already created: only this answer's token works from now on.
            self.status.replace_status_token(user_id, token_digest)
        execution_input = OnboardingInput(
            user_id=user_id,
            email=request.email,
            full_name=request.full_name,
            mobile_phone_number=request.mobile_phone_number,
            request_id=request_id,
            timeouts=self.timeouts,
        )
        try:
            self.workflows.start(self.state_machine_arn, user_id, execution_input)
        except Exception as error:
            self.claims.release(request.email, user_id)
            self.status.delete_user_items(user_id, keep_status=False)
            raise_transient(error, "The workflow service")
            raise
        logger.debug("onboarding started", extra={"user_id": user_id})
        return CreateUserResponse(email=request.email, user_id=user_id, status_token=status_token.get_secret_value())

    def confirm(self, user_id: str, request: ConfirmUserRequest) -> ConfirmUserResponse:
        record = self._record(user_id, request.email)
        if record.status not in (OnboardingStatus.CREATED, OnboardingStatus.INVITED) or self.signals.received(
            user_id, UserAction.CONFIRMATION
        ):
            raise errors.WrongOnboardingStep("This user is not waiting for confirmation.")
        self.password_policy.check(request.new_password, request.email)
        setup = self.attempts.attempt(
            user_id,
            Factor.PASSWORD,
            lambda: self.users.start_mfa_setup(user_id, request.temporary_password, request.new_password),
            (errors.InvalidCredentials,),
        )
        self.qr_codes.put(user_id, qr_png(setup.secret, account=request.email, issuer=self.settings.app_name))
        self.mfa_sessions.save(user_id, setup.session, timedelta(minutes=self.settings.auth_session_validity_minutes))
        self._signal(user_id, UserAction.CONFIRMATION)
        return ConfirmUserResponse(
            email=request.email,
            user_id=user_id,
            qr_code_secret=setup.secret.get_secret_value(),
            qr_code_secret_url=self.qr_codes.link(user_id),
        )

    def confirm_mfa(self, user_id: str, request: ConfirmMfaRequest) -> ConfirmMfaResponse:
        record = self._record(user_id, request.email)
        waiting = record.status in (OnboardingStatus.INVITED, OnboardingStatus.CONFIRMED, OnboardingStatus.MFA_PENDING)
        if not waiting or self.signals.received(user_id, UserAction.MFA_CONFIRMATION):
            raise errors.WrongOnboardingStep("This user is not waiting for MFA confirmation.")
        pending = self.mfa_sessions.get(user_id)
        if pending is None:
            raise errors.WrongOnboardingStep("Confirm the user before confirming MFA.")
        self.attempts.attempt(
            user_id, Factor.TOTP, lambda: self.users.finish_mfa_setup(user_id, pending.credential, request.otp), (errors.InvalidMfaCode,)
        )
        # Cognito's enrolment session is spent by the verification: not kept until activation.
        self.mfa_sessions.discard(user_id)
        # Handed out here only: never mailed, logged, or put in an execution or an event.
        recovery_codes = self.recovery_codes.replace(user_id)
        self._signal(user_id, UserAction.MFA_CONFIRMATION)
        return ConfirmMfaResponse(email=request.email, user_id=user_id, recovery_codes=recovery_codes)

    def resend_invitation(
        self, request: ResendConfirmationRequest, request_id: str, api_key_name: str | None = None
    ) -> ResendConfirmationResponse:
        """Queues the resend, which mails a new temporary password to an invited user only; answers an
        unknown or already confirmed email the same way, after the same work."""
        if self.mail_requests is None:
            raise RuntimeError("resend_invitation needs the mail request queue")
        self.limits.charge(request.email, api_key_name)
        self.mail_requests.send(MailRequest(kind=MailRequestKind.INVITATION_RESEND, email=request.email, request_id=request_id))
        return ResendConfirmationResponse(email=request.email)

    def resend_requested_invitation(self, request: MailRequest) -> bool:
        """A queued resend (the mail request function): a new temporary password for the email's invited
        user, whose wait for confirmation starts again; False, nothing sent, for any other email."""
        user_id = self.claims.user_id_for(request.email)
        record = self.status.get(user_id) if user_id else None
        if not (user_id and record and record.status == OnboardingStatus.INVITED):
            return False
        self.users.send_invitation(user_id, self.password_policy.temporary_password())
        # The new temporary password is valid for the full period again, and so is the wait.
        token = self.signals.waiting_token(user_id, UserAction.CONFIRMATION)
        if token is not None:
            self.workflows.heartbeat(token)
        self.events.publish(
            events.InvitationSent(
                user_id=user_id,
                resend=True,
                request_id=request.request_id,
                execution_arn=record.execution_arn,
            )
        )
        return True

    def status_of(self, user_id: str, status_token: SecretStr | None, by_admin: bool) -> OnboardingStatusResponse:
        """For an admin, or for whoever holds the user's status token; anyone else learns nothing,
        not even that the user exists."""
        record = self.status.get(user_id)
        if record is None or not (by_admin or status_tokens.matches(status_token, record.status_token_digest)):
            raise errors.UserNotFound()
        return OnboardingStatusResponse(
            user_id=record.user_id,
            status=record.status,
            steps=record.steps,
            updated_at=record.updated_at,
            execution=ExecutionRef(name=str(record.user_id), arn=record.execution_arn),
        )

    def _record(self, user_id: str, email: str) -> StatusRecord:
        """The user's record; an unknown user and a wrong email get the same answer."""
        record = self.status.get(user_id)
        if record is None or record.email != email:
            raise errors.UserNotFound()
        return record

    def _signal(self, user_id: str, action: UserAction) -> None:
        token = self.signals.receive(user_id, action, self._signal_ttl)
        if token is not None:
            self._resume(token, action)

    def _resume(self, token: SecretStr, action: UserAction) -> None:
        self.workflows.resume(token, {"action": action.value, "received": True})

    # ------------------------------------------------------------------ workflow tasks
    # Each task records the step under the state's own name (task.state), so the status route's
    # steps follow the state machine's names without retyping them here.

    def run_task(self, task: OnboardingTask) -> dict:
        self.TASKS[task.task](self, task)
        return {"task": task.task, "user_id": str(task.onboarding.user_id)}

    def _event_context(self, task: OnboardingTask) -> dict:
        return {
            "user_id": str(task.onboarding.user_id),
            "request_id": task.onboarding.request_id,
            "execution_arn": task.execution_arn,
        }

    def _create_cognito_user(self, task: OnboardingTask) -> None:
        o = task.onboarding
        self.users.create_user(str(o.user_id), o.email, o.full_name, o.mobile_phone_number)
        self.status.record_step(str(o.user_id), task.state, StepStatus.SUCCEEDED)
        self.events.publish(events.UserCreated(**self._event_context(task)))

    def _send_invitation(self, task: OnboardingTask) -> None:
        o = task.onboarding
        self.users.send_invitation(str(o.user_id), self.password_policy.temporary_password())
        self.status.record_step(str(o.user_id), task.state, StepStatus.SUCCEEDED, OnboardingStatus.INVITED)
        self.events.publish(events.InvitationSent(resend=False, **self._event_context(task)))

    def _await_user_action(self, task: OnboardingTask) -> None:
        if task.action is None or task.task_token is None:
            raise errors.InvalidRequest("await_user_action needs an action and a task token")
        user_id = str(task.onboarding.user_id)
        self.status.record_step(user_id, task.state, StepStatus.WAITING, _WAITING_STATUS[task.action])
        if self.signals.arm(user_id, task.action, task.task_token, self._signal_ttl):
            self._resume(task.task_token, task.action)

    def _record_confirmation(self, task: OnboardingTask) -> None:
        user_id = str(task.onboarding.user_id)
        # The execution has left WaitForConfirmation: its task token is of no more use, and not kept.
        self.signals.forget_token(user_id, UserAction.CONFIRMATION)
        self.status.record_step(user_id, task.state, StepStatus.SUCCEEDED, OnboardingStatus.CONFIRMED)
        self.events.publish(events.UserConfirmed(**self._event_context(task)))

    def _activate_account(self, task: OnboardingTask) -> None:
        user_id = str(task.onboarding.user_id)
        # The seed is shown once: once enrolled, its QR code is served by no route again (ASVS 6.4.3).
        self.qr_codes.delete(user_id)
        self.status.delete_user_items(user_id, keep_status=True, keep_recovery_codes=True)
        self.status.record_step(user_id, task.state, StepStatus.SUCCEEDED, OnboardingStatus.ACTIVE)
        context = self._event_context(task)
        self.events.publish(events.MfaEnrolled(**context), events.OnboardingCompleted(**context))

    def _compensate(self, task: OnboardingTask) -> None:
        o = task.onboarding
        user_id = str(o.user_id)
        record = self.status.get(user_id)
        self.users.delete_user(user_id)
        self.qr_codes.delete(user_id)
        self.claims.release(o.email, user_id)
        self.status.delete_user_items(user_id, keep_status=True)
        context = self._event_context(task)
        if task.outcome == "EXPIRED":
            waiting_for = "MFA_CONFIRMATION" if record and record.status == OnboardingStatus.MFA_PENDING else "CONFIRMATION"
            self.status.record_step(user_id, task.state, StepStatus.SUCCEEDED, OnboardingStatus.EXPIRED)
            self.events.publish(events.OnboardingExpired(waiting_for=waiting_for, **context))
        else:
            error = o.failure.Error if o.failure else "Unknown"
            self.status.record_step(user_id, task.state, StepStatus.SUCCEEDED, OnboardingStatus.FAILED)
            self.events.publish(events.OnboardingFailed(error=error, **context))
        logger.debug("onboarding compensated", extra={"user_id": user_id, "outcome": task.outcome})

    TASKS: ClassVar[dict[str, Callable[["Onboarding", OnboardingTask], None]]] = {
        "create_cognito_user": _create_cognito_user,
        "send_invitation": _send_invitation,
        "await_user_action": _await_user_action,
        "record_confirmation": _record_confirmation,
        "activate_account": _activate_account,
        "compensate": _compensate,
    }
