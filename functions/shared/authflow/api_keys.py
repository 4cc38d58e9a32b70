"""The x-api-key check: which front end is calling (SPEC section 2), done by the API function.

HTTP API has no API keys, so the function checks them: each key is stored as its SHA-256 under a
name (authflow.status.api_keys) and a request's key is looked up by its digest, never compared in
clear (OWASP ASVS 5.0 11.2.4: no timing side channel; 13.3.1: secrets stored so a read of the
table does not reveal them). A key found is remembered for at most MAX_CACHE_SECONDS per warm
function, so `authflow api-keys revoke` takes effect within a minute without a table read per request.
A key not found is not remembered: a flood of wrong keys cannot fill the function's memory, and a key
created a moment ago works at once.
"""

import time
from collections.abc import Callable

from authflow import errors
from authflow.status.api_keys import ApiKeys, key_digest

MAX_CACHE_SECONDS = 60
MISSING_KEY_MESSAGE = "A valid x-api-key header is required."


class ApiKeyCheck:
    def __init__(self, keys: ApiKeys, ttl_seconds: float = MAX_CACHE_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.keys = keys
        self.ttl_seconds = min(ttl_seconds, MAX_CACHE_SECONDS)
        self.clock = clock
        self._found: dict[str, tuple[float, str]] = {}

    def name_of(self, key: str | None) -> str:
        """The name of the calling front end's key; Forbidden (403) for a missing, unknown or revoked key."""
        if not key:
            raise errors.Forbidden(MISSING_KEY_MESSAGE)
        now, digest = self.clock(), key_digest(key)
        cached = self._found.get(digest)
        if cached is not None and now - cached[0] < self.ttl_seconds:
            return cached[1]
        self._found = {d: entry for d, entry in self._found.items() if now - entry[0] < self.ttl_seconds}
        name = self.keys.name_of(key)
        if name is None:
            raise errors.Forbidden(MISSING_KEY_MESSAGE)
        self._found[digest] = (now, name)
        return name
