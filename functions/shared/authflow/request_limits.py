"""Rate limits: on the routes that send mail, per email and per API key (by its name), in fixed one-hour
windows; on the sign-in, code and resend routes, per source IP (SourceIpLimits).

POST /users, resend-confirmation-code, forgot-password and resend-mfa charge both counters before
anything else, so a known and an unknown email are limited alike (the email's counter is kept under
its pseudo-id, which exists for every email) and nobody can bomb a mailbox (OWASP ASVS 5.0 2.4.1;
NIST SP 800-63B-4 §3.2.2). Over a limit the answer is 429 THROTTLED with Retry-After.
"""

from datetime import timedelta

from authflow import errors
from authflow.adapters import Adapters
from authflow.settings import ApiSettings, CommonSettings

WINDOW = timedelta(hours=1)


class RequestLimits:
    def __init__(self, settings: CommonSettings, adapters: Adapters):
        self.settings = settings
        self.rate_counters = adapters.rate_counters
        self.pseudo_ids = adapters.pseudo_ids

    def charge(self, email: str, api_key_name: str | None, purpose: str = "mail") -> None:
        """Counts one request for the email and the API key named api_key_name; TooManyRequests over either limit.

        POST /users counts apart ("create"): it answers 409 for a taken email by contract, and sharing the
        other routes' counter would tell them which emails were created in the last hour.
        """
        email_count = self.rate_counters.count(self.pseudo_ids.for_email(email), purpose, WINDOW)
        counts = [(email_count, self.settings.mail_requests_per_email_per_hour)]
        if api_key_name:
            caller = "apikey-" + api_key_name
            counts.append((self.rate_counters.count(caller, purpose, WINDOW), self.settings.mail_requests_per_api_key_per_hour))
        if any(count > limit for count, limit in counts):
            raise errors.TooManyRequests(retry_after=self.rate_counters.seconds_left(WINDOW))


class SourceIpLimits:
    """Requests from one source IP to the sign-in, code and resend routes, counted together in a fixed window.

    HTTP API has no WAF, so this is the rate-based rule, kept by the function (issue 15 item 6; OWASP
    ASVS 5.0 2.4.1 anti-automation, NIST SP 800-63B-4 §3.2.2 rate limiting). The address is the one
    API Gateway saw the connection come from (requestContext.http.sourceIp), never X-Forwarded-For,
    which the client writes. One window's counter per address lives in the status table until the
    window ends. Over the limit: 429 THROTTLED with Retry-After, the request refused before its route runs.
    """

    def __init__(self, settings: ApiSettings, adapters: Adapters):
        self.limit = settings.source_ip_requests_per_window
        self.window = timedelta(seconds=settings.source_ip_window_seconds)
        self.rate_counters = adapters.rate_counters

    def charge(self, source_ip: str) -> None:
        if self.rate_counters.count("ip-" + source_ip, "sign-in", self.window) > self.limit:
            raise errors.TooManyRequests(retry_after=self.rate_counters.seconds_left(self.window))
