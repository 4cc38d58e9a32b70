"""An active user's authenticator: enrolling a new one, confirming it, and recovery codes.

A new authenticator needs the password and a second factor (ASVS 5.0 6.4.3, NIST SP 800-63B-4
4.2.1): a current code from the enrolled one (adding a device), or a recovery code (lost device).
Control of the mailbox alone, which a password reset gives, is never enough; for 24 hours after a
reset only a recovery code will do, so that a reset is never a step towards replacing the factor. The new seed's QR code
is mailed as a short-lived link, never answered, and deleted once the seed is verified.
"""

from datetime import timedelta

from pydantic import SecretStr

from authflow import errors, events, mail
from authflow.adapters import Adapters
from authflow.attempts import AttemptLimits, Factor
from authflow.models import (
    ConfirmMfaRequest,
    ConfirmMfaResponse,
    OnboardingStatus,
    OperatorMfaResetResponse,
    OperatorSignOutResponse,
    RecoveryCodesRequest,
    RecoveryCodesResponse,
    ResendMfaRequest,
    ResendMfaResponse,
)
from authflow.onboarding import Onboarding
from authflow.qr import qr_png
from authflow.request_limits import RequestLimits
from authflow.settings import CognitoSettings
from authflow.sign_out import SignOut
from authflow.users import AuditContext, MfaSetup

RESEND_MFA_WINDOW = timedelta(hours=1)


class Mfa:
    def __init__(self, settings: CognitoSettings, adapters: Adapters, onboarding: Onboarding):
        self.settings = settings
        self.onboarding = onboarding
        self.users = adapters.users
        self.sign_out = SignOut(adapters)
        self.status = adapters.status
        self.claims = adapters.claims
        self.mfa_sessions = adapters.mfa_sessions
        self.recovery_codes = adapters.recovery_codes
        self.recent_resets = adapters.recent_resets
        self.rate_counters = adapters.rate_counters
        self.events = adapters.events
        self.qr_codes = adapters.qr_codes
        self.mailer = adapters.mailer
        self.pseudo_ids = adapters.pseudo_ids
        self.attempts = AttemptLimits(adapters)
        self.limits = RequestLimits(settings, adapters)

    def _active_user_or_none(self, email: str) -> str | None:
        user_id = self.claims.user_id_for(email)
        # An unknown email reads the status record of its pseudo-id (there is none): the same reads either way.
        record = self.status.get(user_id or self.pseudo_ids.for_email(email))
        if user_id is None or record is None or record.status != OnboardingStatus.ACTIVE:
            return None
        return user_id

    def _active_user(self, email: str) -> str:
        """The active user with this email; an unknown email is refused exactly like a wrong password."""
        user_id = self._active_user_or_none(email)
        if user_id is None:
            raise errors.InvalidCredentials()
        return user_id

    @property
    def _enrolment_ttl(self) -> timedelta:
        return timedelta(seconds=self.settings.qr_link_expiry_seconds)

    def enrol_new_authenticator(self, request: ResendMfaRequest, request_id: str, api_key_name: str | None = None) -> ResendMfaResponse:
        """POST /v1/resend-mfa: a new seed, proven by the password and a second factor; its QR link is mailed.

        A wrong password counts towards the lockout as at login, and without it a known and an unknown email
        answer alike (401, then 429 once locked). The resend counter is charged only after the right password,
        so nobody can use up another's resends; a wrong current code or recovery code counts as a guess too.
        """
        if request.otp_code is None and request.recovery_code is None:
            raise errors.MfaProofRequired()
        self.limits.charge(request.email, api_key_name)
        known_user = self._active_user_or_none(request.email)

        def authenticate() -> str:
            # An unknown email makes the same Cognito call under its pseudo-id (the name of no user), so that
            # both cost the same (issue 15 item 3); Cognito refuses it as a wrong password.
            challenge = self.users.authenticate(known_user or subject, request.password)
            if known_user is None:
                raise errors.InvalidCredentials()
            challenge_name = challenge.name
            # MFA_SETUP: a lost-device enrolment failed after clearing the TOTP; its recovery code was given back.
            if challenge_name != "SOFTWARE_TOKEN_MFA" and not (challenge_name == "MFA_SETUP" and request.recovery_code is not None):
                raise errors.OnboardingIncomplete()
            return known_user

        subject = known_user or self.pseudo_ids.for_email(request.email)
        user_id = self.attempts.attempt(subject, Factor.PASSWORD, authenticate, (errors.InvalidCredentials,), request_id)
        self._charge_qr_mail(user_id)
        if request.otp_code is not None:
            otp_code = request.otp_code
            tokens = self.attempts.attempt(
                user_id,
                Factor.TOTP,
                lambda: self.users.prove_totp(user_id, request.password, otp_code, AuditContext(request_id)),
                (errors.InvalidMfaCode,),
                request_id,
            )
            # Checked after both factors, so that the answer tells no one without them about a reset.
            if self.recent_resets.recent(user_id):
                raise errors.RecoveryCodeRequired()
            access_token = SecretStr(tokens.access_token)
            secret = self.users.associate_new_token(access_token)
            self.mfa_sessions.save(user_id, access_token, self._enrolment_ttl, by_access_token=True)
            proof = "otp_code"
        else:
            setup = self._enrol_with_recovery_code(user_id, request.password, request.recovery_code, request_id)
            secret = setup.secret
            self.mfa_sessions.save(user_id, setup.session, self._enrolment_ttl)
            proof = "recovery_code"
        self._mail_enrolment_link(user_id, request.email, secret)
        self.events.publish(events.MfaEnrolmentStarted(user_id=user_id, proof=proof, request_id=request_id))
        return ResendMfaResponse(email=request.email)

    def _charge_qr_mail(self, user_id: str) -> None:
        """Counts one QR link mail for the user (resend-mfa's and the sign-ins after an operator's reset
        alike); TooManyRequests past ResendMfaLimitPerHour."""
        if self.rate_counters.count(user_id, "resend-mfa", RESEND_MFA_WINDOW) > self.settings.resend_mfa_limit_per_hour:
            raise errors.TooManyRequests(
                "Too many QR code resends; try again in an hour.", retry_after=self.rate_counters.seconds_left(RESEND_MFA_WINDOW)
            )

    def _mail_enrolment_link(self, user_id: str, email: str, secret: SecretStr) -> None:
        self.qr_codes.put(user_id, qr_png(secret, account=email, issuer=self.settings.app_name), reenrolment=True)
        link = self.qr_codes.link(user_id, reenrolment=True)
        self.mailer.send(email, mail.mfa_enrolment_link(self.settings.app_name, link, self.settings.qr_link_expiry_seconds // 60))

    def _enrol_with_recovery_code(self, user_id: str, password: SecretStr, recovery_code: SecretStr | None, request_id: str) -> MfaSetup:
        """Lost device, after the password was checked (a wrong one spends no code): the code is spent, then
        the lost seed is cleared so that the password step answers MFA_SETUP for the new one."""
        if recovery_code is None:
            raise errors.MfaProofRequired()
        code = recovery_code.get_secret_value()

        def spend() -> None:
            if not self.recovery_codes.use(user_id, code):
                raise errors.InvalidRecoveryCode()

        self.attempts.attempt(user_id, Factor.RECOVERY_CODE, spend, (errors.InvalidRecoveryCode,), request_id)
        try:
            self.users.clear_totp(user_id)
            return self.users.start_new_enrolment(user_id, password)
        except Exception:
            # Spent first, so that two requests cannot both use it; given back if Cognito failed, so that
            # a transient failure costs the user no code (the TOTP may be cleared already: a retry allows that).
            self.recovery_codes.restore(user_id, code)
            raise

    def confirm_mfa(self, user_id: str, request: ConfirmMfaRequest, request_id: str) -> ConfirmMfaResponse:
        """POST /v1/users/{user_id}/confirm-mfa: onboarding's first code, or an active user's new authenticator."""
        record = self.status.get(user_id)
        if record is None or record.email != request.email:
            raise errors.UserNotFound()
        if record.status != OnboardingStatus.ACTIVE:
            return self.onboarding.confirm_mfa(user_id, request)
        pending = self.mfa_sessions.get(user_id)
        if pending is None:
            self.qr_codes.delete(user_id)  # an enrolment that expired unconfirmed leaves no picture of its seed
            raise errors.WrongOnboardingStep("No new authenticator is waiting for confirmation; enrol one with POST /v1/resend-mfa.")
        if pending.by_access_token:
            self.users.verify_new_token(user_id, pending.credential, request.otp)
        else:
            self.users.finish_mfa_setup(user_id, pending.credential, request.otp)
        self.mfa_sessions.discard(user_id)
        self.qr_codes.delete(user_id)
        # A factor changed: sessions opened with the old one end (ASVS 5.0 7.4.3).
        self.sign_out.everywhere(user_id)
        recovery_codes = self.recovery_codes.replace(user_id)
        self.mailer.send(request.email, mail.mfa_changed(self.settings.app_name, "A new authenticator app replaced your previous one."))
        self.events.publish(events.MfaReplaced(user_id=user_id, request_id=request_id))
        return ConfirmMfaResponse(email=request.email, user_id=user_id, recovery_codes=recovery_codes, other_sessions_revoked=True)

    # ------------------------------------------------------------------ operators (admin routes and CLI)

    def reset_by_operator(self, user_id: str, request_id: str) -> OperatorMfaResetResponse:
        """Clears the user's TOTP, recovery codes and any enrolment under way, and ends their sessions:
        their next sign-in enrols a new authenticator (POST /v1/login answers MFA_ENROLMENT_REQUIRED)."""
        record = self.status.get(user_id)
        if record is None or record.status != OnboardingStatus.ACTIVE:
            raise errors.UserNotFound()
        self.users.clear_totp(user_id)
        self.recovery_codes.void(user_id)
        self.mfa_sessions.discard(user_id)
        self.qr_codes.delete(user_id)
        self.sign_out.everywhere(user_id)
        self.mailer.send(
            record.email,
            mail.mfa_changed(
                self.settings.app_name, "An administrator removed your authenticator app; you will enrol a new one at your next sign-in."
            ),
        )
        self.events.publish(events.MfaResetByOperator(user_id=user_id, request_id=request_id))
        return OperatorMfaResetResponse(user_id=user_id, other_sessions_revoked=True)

    def sign_out_by_operator(self, user_id: str, request_id: str) -> OperatorSignOutResponse:
        """Ends every session of the user (AdminUserGlobalSignOut)."""
        if self.status.get(user_id) is None:
            raise errors.UserNotFound()
        self.sign_out.everywhere(user_id)
        self.events.publish(events.SignedOutByOperator(user_id=user_id, request_id=request_id))
        return OperatorSignOutResponse(user_id=user_id)

    def enrol_after_operator_reset(self, user_id: str, email: str, password: SecretStr, request_id: str) -> None:
        """The sign-in of a user whose authenticator an operator removed: a new seed, its QR link mailed
        (the password and the mailbox, as the operator's reset intends), confirmed with confirm-mfa.

        Each sign-in mails a link: like resend-mfa's, the mails count per email (the mail routes' limit)
        and per user (ResendMfaLimitPerHour), so signing in again and again cannot flood the mailbox.
        """
        self.limits.charge(email, None)
        self._charge_qr_mail(user_id)
        setup = self.users.start_new_enrolment(user_id, password)
        self.mfa_sessions.save(user_id, setup.session, self._enrolment_ttl)
        self._mail_enrolment_link(user_id, email, setup.secret)
        self.events.publish(events.MfaEnrolmentStarted(user_id=user_id, proof="operator_reset", request_id=request_id))

    def new_recovery_codes(self, request: RecoveryCodesRequest, request_id: str) -> RecoveryCodesResponse:
        """POST /v1/recovery-codes: a new set, proven by the password and a current code; the old set stops working."""
        user_id = self._active_user(request.email)
        self.users.prove_totp(user_id, request.password, request.otp_code, AuditContext(request_id))
        recovery_codes = self.recovery_codes.replace(user_id)
        self.mailer.send(request.email, mail.mfa_changed(self.settings.app_name, "New recovery codes replaced your previous ones."))
        self.events.publish(events.RecoveryCodesRegenerated(user_id=user_id, request_id=request_id))
        return RecoveryCodesResponse(email=request.email, recovery_codes=recovery_codes)
