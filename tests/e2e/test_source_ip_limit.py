"""The per-source-IP limit over HTTP, as an attacker would meet it (issue 15 item 6; OWASP ASVS 5.0
2.4.1). The local stack lifts the limit, since every test client is 127.0.0.1: here the running API
function's limit is lowered for the test alone, and each client connects from an address of its own
in 127.0.0.0/8 (Linux routes the whole block to loopback), which the local gateway passes on as
requestContext.http.sourceIp, as API Gateway passes on the connection's address."""

import http.client
import json
import random
import uuid
from urllib.parse import urlsplit

import pytest

from tests.support.client import HttpResponse

pytestmark = pytest.mark.e2e

LIMIT = 3


@pytest.fixture
def low_limit(local_stack, monkeypatch):
    api_function = local_stack.runtime._load(local_stack.runtime.function("ApiFunction"))
    monkeypatch.setattr(api_function.source_ips, "limit", LIMIT)


def _address() -> str:
    """A loopback address no other test uses, so its counter starts at nothing."""
    return f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"


def forgot_password(api, source: str, headers: dict | None = None) -> HttpResponse:
    url = urlsplit(api.api_url + "/forgot-password")
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=30, source_address=(source, 0))
    try:
        body = json.dumps({"email": f"ip-{uuid.uuid4().hex[:12]}@example.com"})
        connection.request("POST", url.path, body, {"x-api-key": api.api_key, "content-type": "application/json", **(headers or {})})
        answer = connection.getresponse()
        return HttpResponse(answer.status, dict(answer.getheaders()), answer.read())
    finally:
        connection.close()


@pytest.mark.usefixtures("low_limit")
def test_one_address_is_throttled_with_retry_after_whatever_x_forwarded_for_says_and_another_is_not(api):
    attacker, bystander = _address(), _address()
    assert [forgot_password(api, attacker).status for _ in range(LIMIT)] == [200] * LIMIT
    refused = forgot_password(api, attacker, {"x-forwarded-for": "198.51.100.7"})
    assert refused.status == 429 and refused.json()["error"]["code"] == "THROTTLED"
    assert 0 < int(refused.headers["Retry-After"]) <= 300
    assert forgot_password(api, bystander).status == 200
