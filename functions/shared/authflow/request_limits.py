"""Rate limits on the routes that send mail: per email and per API key, in fixed one-hour windows.

POST /users, resend-confirmation-code, forgot-password and resend-mfa charge both counters before
anything else, so a known and an unknown email are limited alike (the email's counter is kept under
its pseudo-id, which exists for every email) and nobody can bomb a mailbox (OWASP ASVS 5.0 2.4.1;
NIST SP 800-63B-4 §3.2.2). Over a limit the answer is 429 THROTTLED with Retry-After.
"""

import hashlib
from datetime import timedelta

from authflow import errors
from authflow.adapters import Adapters
from authflow.settings import CommonSettings

WINDOW = timedelta(hours=1)


class RequestLimits:
    def __init__(self, settings: CommonSettings, adapters: Adapters):
        self.settings = settings
        self.rate_counters = adapters.rate_counters
        self.pseudo_ids = adapters.pseudo_ids

    def charge(self, email: str, api_key: str | None, purpose: str = "mail") -> None:
        """Counts one request for the email and the API key; TooManyRequests over either limit.

        POST /users counts apart ("create"): it answers 409 for a taken email by contract, and sharing the
        other routes' counter would tell them which emails were created in the last hour.
        """
        email_count = self.rate_counters.count(self.pseudo_ids.for_email(email), purpose, WINDOW)
        counts = [(email_count, self.settings.mail_requests_per_email_per_hour)]
        if api_key:
            caller = "apikey-" + hashlib.sha256(api_key.encode()).hexdigest()[:32]
            counts.append((self.rate_counters.count(caller, purpose, WINDOW), self.settings.mail_requests_per_api_key_per_hour))
        if any(count > limit for count, limit in counts):
            raise errors.TooManyRequests(retry_after=self.rate_counters.seconds_left(WINDOW))
