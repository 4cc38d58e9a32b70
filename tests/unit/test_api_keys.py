"""The x-api-key check the API function does itself (HTTP API has no API keys): named keys stored as
SHA-256 digests in the status table, looked up by digest, remembered a minute at most per warm
function (authflow.api_keys, authflow.status.api_keys), and the handler's 403 in the one error shape
(OWASP ASVS 5.0 11.2.4, 13.3.1)."""

import boto3
import pytest

from authflow import errors
from authflow.api_keys import MAX_CACHE_SECONDS, MISSING_KEY_MESSAGE, ApiKeyCheck
from authflow.status import ApiKeys
from authflow.status.api_keys import ApiKeyNameTaken, key_digest
from tests.support.api_gateway import answer, api_gateway_event
from tests.unit.conftest import new_email


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def keys(settings) -> ApiKeys:
    return ApiKeys(settings.status_table_name)


def _stored_items(settings) -> list[dict]:
    return (
        boto3.resource("dynamodb")
        .Table(settings.status_table_name)
        .query(KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": "API_KEYS"})["Items"]
    )


def test_a_created_key_is_random_shown_once_and_stored_only_as_its_digest(keys, settings):
    first, second = keys.create("web-shop"), keys.create("back-office")
    assert first != second and len(first) >= 43  # 256 random bits, base64url
    items = _stored_items(settings)
    assert {item["sk"] for item in items} >= {"KEY#" + key_digest(first), "KEY#" + key_digest(second)}
    assert first not in str(items) and second not in str(items)
    assert keys.name_of(first) == "web-shop" and keys.name_of(second) == "back-office"
    listed = {entry.name: entry for entry in keys.entries()}
    assert {"web-shop", "back-office"} <= set(listed) and first not in str(listed)


def test_a_name_is_taken_once_and_must_be_plain(keys):
    keys.create("mobile")
    with pytest.raises(ApiKeyNameTaken):
        keys.create("mobile")
    for bad in ("", "Mobile", "has space", "x" * 64, "-lead"):
        with pytest.raises(ValueError):
            keys.create(bad)


def test_only_the_exact_key_is_accepted(keys):
    key = keys.create("exact")
    check = ApiKeyCheck(keys)
    assert check.name_of(key) == "exact"
    for wrong in (None, "", " ", key.swapcase(), key[:-1], key + "x", key + " ", " " + key):
        with pytest.raises(errors.Forbidden) as refused:
            check.name_of(wrong)
        assert refused.value.message == MISSING_KEY_MESSAGE and refused.value.status == 403


def test_a_revoked_key_stops_within_the_cache_lifetime_and_a_new_one_works_at_once(keys):
    clock = Clock()
    check = ApiKeyCheck(keys, clock=clock)
    key = keys.create("revoked-soon")
    assert check.name_of(key) == "revoked-soon"
    assert keys.revoke("revoked-soon") and not keys.revoke("revoked-soon")
    clock.now += MAX_CACHE_SECONDS - 1
    assert check.name_of(key) == "revoked-soon"  # still remembered by this warm function
    clock.now += 1
    with pytest.raises(errors.Forbidden):
        check.name_of(key)
    newer = keys.create("revoked-soon")  # the name is free again
    assert check.name_of(newer) == "revoked-soon"


def test_the_cache_never_exceeds_a_minute(keys):
    assert ApiKeyCheck(keys, ttl_seconds=3600).ttl_seconds == MAX_CACHE_SECONDS


@pytest.fixture
def handler(api_function, unit_stack):
    return lambda event: answer(api_function.handler(event, unit_stack.context("ApiFunction")))


@pytest.mark.parametrize("key", [None, "", "unit-api-key-but-wrong"])
def test_the_handler_refuses_a_missing_or_unknown_key_before_reading_the_body(handler, key):
    event = api_gateway_event("POST", "/login", "not json at all", {"content-type": "text/plain"})
    event["headers"].pop("x-api-key")
    if key is not None:
        event["headers"]["x-api-key"] = key
    status, body, headers = handler(event)
    assert status == 403 and body["error"]["code"] == "FORBIDDEN" and body["error"]["message"] == MISSING_KEY_MESSAGE
    assert body["error"]["request_id"] == event["requestContext"]["requestId"]
    assert headers["Cache-Control"] == "no-store" and headers["X-Content-Type-Options"] == "nosniff"


def test_the_mail_limit_per_key_counts_the_keys_name(handler, keys, api_function, monkeypatch):
    """Each named key has its own counter: one front end over its limit leaves the others alone."""
    limited, other = keys.create("limited-front-end"), keys.create("other-front-end")
    limits = api_function.passwords.limits
    monkeypatch.setattr(limits, "settings", limits.settings.model_copy(update={"mail_requests_per_api_key_per_hour": 2}))

    def forgot(key: str) -> int:
        return handler(api_gateway_event("POST", "/forgot-password", {"email": new_email("per-key")}, {"x-api-key": key}))[0]

    assert [forgot(limited) for _ in range(3)] == [200, 200, 429]
    assert forgot(other) == 200


def test_a_key_lookup_the_table_cannot_answer_is_a_503_to_retry_not_a_403(handler, api_function, monkeypatch):
    """A throttled status table must not turn every caller away as if their key were wrong."""

    def throttled(key: str) -> str:
        raise api_function.errors.TransientError()  # the function's own copy of the package raises its own class

    monkeypatch.setattr(api_function.api_keys, "_found", {})
    monkeypatch.setattr(api_function.api_keys.keys, "name_of", throttled)
    status, body, headers = handler(api_gateway_event("POST", "/forgot-password", {"email": new_email("throttled")}))
    assert status == 503 and body["error"]["code"] == "SERVICE_UNAVAILABLE" and headers["Cache-Control"] == "no-store"
