"""The user flows, written once for the tests, the console scenario and the measures: onboard a user
to ACTIVE, sign in with MFA, reset a password.

The driver sends exactly the requests a client application sends (through a Client) and waits for
what its user waits for, the mail and the workflow's next step, through an Observer: the tests
observe over HTTP (tests/support/client.py), the measures in-process and uncounted (measures/flows.py).
A real client does not poll: its user reads the invitation, then confirms, then scans the QR code and
types the first code, by which time the onboarding workflow waits for them.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, Protocol

import pyotp

PASSWORD = "Correct-Horse-9-Battery"
# Read in the mail's text as a mail client shows it (mail_text).
TEMPORARY_PASSWORD = re.compile(r"temporary password: (\S+)")
RESET_CODE = re.compile(r"password reset code: (\d{6})")


class FlowError(AssertionError):
    """An answer or a wait the flow did not expect."""


class Answer(Protocol):
    status: int
    body: bytes

    def json(self) -> Any: ...


class Client(Protocol):
    """Sends one API request, as a client application does."""

    def post(self, path: str, body: dict) -> Answer: ...


class Observer(Protocol):
    """What the user sees besides the API's answers."""

    def mail(self, email: str) -> list[dict]:
        """Every mail sent to email, oldest first, each with its "subject" and HTML "body"."""
        ...

    def onboarding_record(self, user_id: str) -> dict:
        """The user's onboarding record, with its "status" ({} before there is one)."""
        ...


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Polls predicate until it returns something truthy, or fails after timeout seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise FlowError(f"timed out after {timeout}s waiting for {what}; last value {last!r}")


def expect(answer: Answer, status: int, request: str) -> Answer:
    if answer.status != status:
        raise FlowError(f"{request} answered {answer.status}, not {status}: {answer.body[:300]!r}")
    return answer


def unique_email(tag: str = "user") -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}@example.com"


# ----------------------------------------------------------------------------- mail


class _MailReader(HTMLParser):
    """What a mail client shows of an HTML body: the text, tags gone and character references decoded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def mail_text(body: str) -> str:
    """The text a user reads in a mail, its whitespace collapsed as a mail client renders it."""
    reader = _MailReader()
    reader.feed(body)
    reader.close()
    return " ".join("".join(reader.parts).split())


def in_mail(pattern: re.Pattern[str], message: dict) -> str | None:
    """The value pattern finds in a mail as the user reads it (mail_text of its HTML body)."""
    found = pattern.search(mail_text(message["body"]))
    return found.group(1) if found else None


def newest_in_mail(observer: Observer, email: str, pattern: re.Pattern[str], previous: str | None = None, timeout: float = 20) -> str:
    """The value in the newest mail to email that has one other than previous (waits for it to arrive)."""

    def newest() -> str | None:
        values = (in_mail(pattern, message) for message in reversed(observer.mail(email)))
        return next((value for value in values if value and value != previous), None)

    return wait_for(newest, timeout, f"a mail to {email} matching {pattern.pattern!r}")


def temporary_password(observer: Observer, email: str, previous: str | None = None) -> str:
    return newest_in_mail(observer, email, TEMPORARY_PASSWORD, previous)


def reset_code(observer: Observer, email: str, previous: str | None = None) -> str:
    return newest_in_mail(observer, email, RESET_CODE, previous)


def wait_for_status(observer: Observer, user_id: str, status: str, timeout: float = 30) -> dict:
    """The onboarding record once it says status."""
    return wait_for(
        lambda: (record := observer.onboarding_record(user_id)).get("status") == status and record, timeout, f"{user_id} to be {status}"
    )


# ----------------------------------------------------------------------------- TOTP

_pauses = threading.local()


def paused_seconds() -> float:
    """Seconds this thread spent waiting for a TOTP step (the measures' flow timings leave them out)."""
    return getattr(_pauses, "seconds", 0.0)


def current_step(margin: float = 3) -> int:
    """The current 30-s TOTP step, never in its last `margin` seconds: the previous step's code stays
    valid only until this step ends, and a request under load can take a second or two."""
    while 30 - time.time() % 30 < margin:
        time.sleep(0.25)
        _pauses.seconds = paused_seconds() + 0.25
    return int(time.time() // 30)


def current_otp(secret: str) -> str:
    """The authenticator app's current code."""
    return pyotp.TOTP(secret).at(current_step() * 30)


@dataclass
class ActiveUser:
    email: str
    user_id: str
    password: str
    totp_secret: str
    # The single-use recovery codes confirm-mfa answered.
    recovery_codes: list[str] = field(default_factory=list)
    # The newest sign-in's refresh token.
    refresh_token: str = ""
    # TOTP steps whose code this user has sent (Cognito refuses a code used within 90 s).
    used_steps: set[int] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def otp(self, step_offset: int = 0) -> str:
        """The code of the current step, or of a neighbouring one (Cognito accepts one step of skew);
        next_code will not hand it out again."""
        step = current_step() + step_offset
        with self.lock:
            self.used_steps.add(step)
        return pyotp.TOTP(self.totp_secret).at(step * 30)

    def next_code(self) -> str:
        """A code this user has not sent: Cognito accepts the previous, current and next step's code,
        so a user has up to three sign-ins per 90 s; one more waits, as a user would, for the next step.
        The previous step's code is taken only with half its step left (it expires when the step ends)."""
        while True:
            now = time.time()
            step, left = int(now // 30), 30 - now % 30
            with self.lock:
                free = [s for s in (step, step + 1, step - 1) if s not in self.used_steps and (s >= step or left > 15)]
                if free:
                    self.used_steps.add(free[0])
                    return pyotp.TOTP(self.totp_secret).at(free[0] * 30)
            time.sleep(left + 0.05)
            _pauses.seconds = paused_seconds() + left + 0.05


# ----------------------------------------------------------------------------- the flows


@dataclass
class Invitation:
    user_id: str
    email: str
    temporary_password: str


def invite(client: Client, observer: Observer, tag: str = "user", full_name: str = "Ada Lovelace") -> Invitation:
    """POST /users, then the user's invitation mail once the workflow waits for the confirmation."""
    email = unique_email(tag)
    created = expect(client.post("/users", {"full_name": full_name, "email": email}), 201, "POST /users")
    user_id = created.json()["user_id"]
    # The newest invitation once the workflow has recorded it (a retried SendInvitation mails a new password).
    wait_for_status(observer, user_id, "INVITED")
    return Invitation(user_id, email, temporary_password(observer, email))


def confirm(client: Client, observer: Observer, invitation: Invitation, password: str = PASSWORD) -> dict:
    """POST /users/{id}/confirm with the mailed password; its answer, once the workflow waits for MFA."""
    confirmed = expect(
        client.post(
            f"/users/{invitation.user_id}/confirm",
            {"email": invitation.email, "temporary_password": invitation.temporary_password, "new_password": password},
        ),
        200,
        "POST /users/{id}/confirm",
    )
    wait_for_status(observer, invitation.user_id, "MFA_PENDING")
    return confirmed.json()


def enrol_mfa(client: Client, observer: Observer, user: ActiveUser) -> str:
    """POST /users/{id}/confirm-mfa with the first code of the authenticator app; the code, once ACTIVE.

    The recovery codes it answers are kept on the user."""
    # The current step's code stays valid until the next step ends (30 s or more, however slow the
    # machine); the sign-ins that follow take the other steps' codes (next_code).
    code = user.next_code()
    answer = expect(
        client.post(f"/users/{user.user_id}/confirm-mfa", {"email": user.email, "otp": code}), 200, "POST /users/{id}/confirm-mfa"
    )
    user.recovery_codes = answer.json()["recovery_codes"]
    wait_for_status(observer, user.user_id, "ACTIVE")
    return code


def onboard(client: Client, observer: Observer, tag: str = "user", full_name: str = "Ada Lovelace") -> ActiveUser:
    """A new user taken through the whole onboarding to ACTIVE: three API requests."""
    invitation = invite(client, observer, tag, full_name)
    user = ActiveUser(invitation.email, invitation.user_id, PASSWORD, confirm(client, observer, invitation)["qr_code_secret"])
    enrol_mfa(client, observer, user)
    return user


@dataclass
class SignIn:
    login: dict  # POST /login's answer
    answer: Answer  # POST /mfa-verify's

    @property
    def session(self) -> str:
        return self.login["verification_session"]

    @property
    def tokens(self) -> dict:
        return expect(self.answer, 200, "POST /mfa-verify").json()


def sign_in(client: Client, user: ActiveUser, otp: str | None = None) -> SignIn:
    """POST /login with the password, then POST /mfa-verify with otp (by default a code the user has not sent)."""
    login = expect(client.post("/login", {"email": user.email, "password": user.password}), 200, "POST /login").json()
    answer = client.post(
        "/mfa-verify",
        {
            "email": user.email,
            "verification_type": "SOFTWARE_TOKEN_MFA",
            "verification_session": login["verification_session"],
            "otp_code": otp or user.next_code(),
        },
    )
    if answer.status == 200:
        user.refresh_token = answer.json()["refresh_token"]
    return SignIn(login, answer)


def reset_password(client: Client, observer: Observer, user: ActiveUser, new_password: str) -> str:
    """POST /forgot-password, the mailed code, POST /users/{id}/confirm-password; the code used."""
    before = next((in_mail(RESET_CODE, m) for m in reversed(observer.mail(user.email)) if in_mail(RESET_CODE, m)), None)
    expect(client.post("/forgot-password", {"email": user.email}), 200, "POST /forgot-password")
    code = reset_code(observer, user.email, previous=before)
    expect(
        client.post(
            f"/users/{user.user_id}/confirm-password", {"email": user.email, "new_password": new_password, "verification_code": code}
        ),
        200,
        "POST /users/{id}/confirm-password",
    )
    user.password = new_password
    return code
