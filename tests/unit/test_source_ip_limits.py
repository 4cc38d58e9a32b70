"""Per-source-IP limits on the sign-in, code and resend routes (issue 15 item 6), tested in-process
with HTTP API events from different addresses: the local stack sees only 127.0.0.1, so its own
limit is lifted (infra/stack.py LOCAL_PARAMETERS). OWASP ASVS 5.0 2.4.1; NIST SP 800-63B-4 §3.2.2."""

import uuid
from datetime import UTC, datetime

import pytest

from authflow import errors
from authflow.request_limits import SourceIpLimits
from tests.support.api_gateway import answer, api_gateway_event

LIMIT = 3


@pytest.fixture
def call(api_function, unit_stack, monkeypatch):
    monkeypatch.setattr(api_function.source_ips, "limit", LIMIT)

    def call(method: str, path: str, body, source_ip: str, headers: dict | None = None):
        return answer(
            api_function.handler(api_gateway_event(method, path, body, headers, source_ip=source_ip), unit_stack.context("ApiFunction"))
        )

    return call


def _address() -> str:
    """An address of its own for each test (TEST-NET-3), so counters of earlier tests do not add up."""
    return f"203.0.113.{uuid.uuid4().int % 254 + 1}-{uuid.uuid4().hex[:6]}"


def _forgot() -> dict:
    """A forgot-password request for an email of its own (its per-email mail limit stays out of the way)."""
    return {"email": f"ip-{uuid.uuid4().hex[:12]}@example.com"}


def test_one_address_is_refused_past_the_limit_with_retry_after_and_another_is_not(call):
    address, other = _address(), _address()
    statuses = [call("POST", "/forgot-password", _forgot(), address)[0] for _ in range(LIMIT)]
    assert statuses == [200] * LIMIT
    status, body, headers = call("POST", "/forgot-password", _forgot(), address)
    assert status == 429 and body["error"]["code"] == "THROTTLED"
    assert 0 < int(headers["Retry-After"]) <= 300
    assert call("POST", "/forgot-password", _forgot(), other)[0] == 200


def test_the_sign_in_code_and_resend_routes_share_one_counter(call):
    """Once an address has used its requests on some of the routes, every one of them refuses it
    before running (a guess is never tried); a request too malformed to try anything is a 400 first."""
    address, user = _address(), uuid.uuid4()
    email, password = "nobody@example.com", "Not-The-Password-15"
    for _ in range(LIMIT):
        assert call("POST", "/forgot-password", _forgot(), address)[0] == 200
    every_route = {
        "/login": {"email": email, "password": password},
        "/mfa-verify": {"email": email, "verification_type": "SOFTWARE_TOKEN_MFA", "verification_session": "s", "otp_code": "123456"},
        "/forgot-password": _forgot(),
        "/resend-confirmation-code": _forgot(),
        "/resend-mfa": {"email": email, "password": password, "otp_code": "123456"},
        "/recovery-codes": {"email": email, "password": password, "otp_code": "123456"},
        f"/users/{user}/confirm": {"email": email, "temporary_password": password, "new_password": password + "x"},
        f"/users/{user}/confirm-mfa": {"email": email, "otp": "123456"},
        f"/users/{user}/confirm-password": {"email": email, "new_password": password, "verification_code": "123456"},
    }
    for path, body in every_route.items():
        status, answer_body, headers = call("POST", path, body, address)
        assert (status, answer_body["error"]["code"]) == (429, "THROTTLED") and "Retry-After" in headers, path


def test_x_forwarded_for_is_not_the_address(call):
    """The client writes X-Forwarded-For: rotating it must not reset the counter."""
    address = _address()
    for n in range(LIMIT):
        call("POST", "/forgot-password", _forgot(), address, {"x-forwarded-for": f"198.51.100.{n}"})
    assert call("POST", "/forgot-password", _forgot(), address, {"x-forwarded-for": "198.51.100.200"})[0] == 429


def test_other_routes_are_not_counted(call):
    address = _address()
    for _ in range(LIMIT + 2):
        assert call("POST", "/users", {"full_name": "Ada", "email": _forgot()["email"]}, address)[0] == 201
    assert call("POST", "/forgot-password", _forgot(), address)[0] == 200


def test_the_window_restarts_the_count(settings, adapters):
    """A fixed window: the counter of the next window starts from nothing (the clock is moved, not waited for)."""
    clock = {"now": 0}
    limits = SourceIpLimits(settings.model_copy(update={"source_ip_requests_per_window": 1}), adapters)
    limits.rate_counters = type(adapters.rate_counters)(settings.status_table_name, lambda: datetime.fromtimestamp(clock["now"], UTC))
    address = _address()
    limits.charge(address)
    with pytest.raises(errors.TooManyRequests) as refused:
        limits.charge(address)
    assert refused.value.retry_after == settings.source_ip_window_seconds
    clock["now"] += settings.source_ip_window_seconds
    limits.charge(address)
