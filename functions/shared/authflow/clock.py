"""The clock adapters read the time from, so tests can move it (expiry, rate windows, backoff)."""

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)
