"""Attempt limits on every secret a caller can guess: passwords, TOTP codes, recovery codes, reset codes.

Failures are counted per user (per pseudo-id for an email nobody holds, so an unknown email locks the
same way); the failure that reaches the limit locks the subject, and while it is locked every attempt
is refused before it is checked, the right one included (NIST SP 800-63B-4 §3.2.2; OWASP ASVS 5.0
6.3.1). The lock is announced by an AccountLocked event naming the factor guessed. A user's lock is
also written under their email's pseudo-id: a login's password step reads it there, in the same
BatchGetItem as the email's claim, before it knows the user id (issue 13 item 3).
"""

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from authflow import errors, events
from authflow.adapters import Adapters

T = TypeVar("T")


class Factor(StrEnum):
    PASSWORD = "PASSWORD"
    TOTP = "TOTP"
    RECOVERY_CODE = "RECOVERY_CODE"
    RESET_CODE = "RESET_CODE"


class AttemptLimits:
    def __init__(self, adapters: Adapters):
        self.lockouts = adapters.lockouts
        self.events = adapters.events
        self.clock = adapters.clock
        self.status = adapters.status
        self.pseudo_ids = adapters.pseudo_ids

    def attempt(
        self,
        subject: str,
        factor: Factor,
        check: Callable[[], T],
        wrong: tuple[type[errors.AuthflowError], ...],
        request_id: str | None = None,
    ) -> T:
        """check()'s result, unless the subject is locked; a wrong answer (an error in wrong) is counted.

        The hook for every guessable secret: recovery codes go through it as Factor.RECOVERY_CODE.
        """
        self.refuse_if_locked(subject)
        try:
            return check()
        except wrong:
            self.fail(subject, factor, request_id)
            raise

    def refuse_if_locked(self, subject: str) -> None:
        self.refuse_if_lock_holds(self.lockouts.locked_until(subject))

    def refuse_if_lock_holds(self, until: datetime | None) -> None:
        """TooManyAttempts if a lock (Lockouts.locked_until_in of an item read with others) still holds."""
        if until is not None:
            raise self._locked(until)

    def fail(self, subject: str, factor: Factor, request_id: str | None = None, email_pseudo_id: str | None = None) -> None:
        """Counts a wrong answer; raises TooManyAttempts if it was the one that locks the subject.

        email_pseudo_id: the pseudo-id of the email the caller named (the subject itself for an email
        nobody holds), where the lock is mirrored; looked up from the user's record if not given.
        """
        until = self.lockouts.record_failure(subject, email_pseudo_id or self._email_pseudo_id(subject))
        if until is None:
            return
        self.events.publish(
            events.AccountLocked(
                user_id=subject, factor=factor, failures=self.lockouts.policy.limit, locked_until=until, request_id=request_id
            )
        )
        raise self._locked(until)

    def _email_pseudo_id(self, subject: str) -> str:
        record = self.status.get(subject)
        return self.pseudo_ids.for_email(record.email) if record else subject

    def retry_after(self, subject: str) -> int | None:
        """Seconds until the subject's lock ends, if it is locked."""
        until = self.lockouts.locked_until(subject)
        return None if until is None else self._seconds_until(until)

    def _seconds_until(self, until: datetime) -> int:
        return max(1, int((until - self.clock()).total_seconds() + 0.999))

    def _locked(self, until: datetime) -> errors.TooManyAttempts:
        return errors.TooManyAttempts(retry_after=self._seconds_until(until))
