"""The mail request queue: the same work in the request for a known and an unknown email (issue 15 item 3;
OWASP ASVS 5.0 6.3.8, no user enumeration through timing).

forgot-password, the operator's reset (POST /v1/users/{id}/reset-password) and resend-confirmation-code
charge their limits, put one MailRequest on this queue and answer, whatever the email: no lookup of the
email, no execution started, no mail sent while the caller waits. MailRequestFunction takes each request
and does the slow work only where it applies: it starts the password reset of an active user
(Passwords.start_requested_reset) or resends the invitation of an invited one
(Onboarding.resend_requested_invitation); for any other email it looks the email up and stops there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from authflow.aws import client, raise_transient
from authflow.models import MailRequest, MailRequestKind

if TYPE_CHECKING:
    from authflow.onboarding import Onboarding
    from authflow.passwords import Passwords


class MailRequestQueue:
    """The API's side of the queue: one SendMessage a request."""

    def __init__(self, queue_url: str):
        self.queue_url = queue_url

    def send(self, request: MailRequest) -> None:
        try:
            client("sqs").send_message(QueueUrl=self.queue_url, MessageBody=request.model_dump_json(exclude_none=True))
        except Exception as error:
            raise_transient(error, "The mail request queue")
            raise


class MailRequests:
    """MailRequestFunction's work: each request done for the email's account in the state it applies to."""

    def __init__(self, passwords: Passwords, onboarding: Onboarding):
        self.passwords = passwords
        self.onboarding = onboarding

    def handle(self, request: MailRequest) -> bool:
        """True when something was started or mailed; False for an email without an account in that state."""
        if request.kind == MailRequestKind.PASSWORD_RESET:
            return self.passwords.start_requested_reset(request)
        return self.onboarding.resend_requested_invitation(request)
