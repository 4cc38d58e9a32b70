"""USER#<id>, LOCKOUT: a user's failed code attempts in the current window, and the lock they set.

The id is a user_id, or for an email nobody holds its pseudo-id (a keyed hash of the email), so an
unknown email is locked exactly like a known one.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError

from authflow.aws import error_code
from authflow.clock import Clock
from authflow.status.table import TableStore, user_key

LOCKOUT_SK = "LOCKOUT"


def lockout_key(subject: str) -> dict[str, str]:
    return user_key(subject, LOCKOUT_SK)


@dataclass(frozen=True)
class LockoutPolicy:
    """limit failures within window lock the subject for duration (the template's FailedAttempt* and LockoutSeconds)."""

    limit: int
    window: timedelta
    duration: timedelta


class Lockouts(TableStore):
    def __init__(self, table_name: str, clock: Clock, policy: LockoutPolicy):
        super().__init__(table_name, clock)
        self.policy = policy

    def locked_until(self, subject: str) -> datetime | None:
        """When the subject's lock ends, or None if it is not locked."""
        return self.locked_until_in(self._call("get_item", Key=lockout_key(subject), ConsistentRead=True).get("Item"))

    def locked_until_in(self, item: dict | None) -> datetime | None:
        """When the lock the item read at lockout_key(subject) holds ends, or None if it holds none
        (the login steps read it with other items in one BatchGetItem)."""
        if item is None or "locked_until" not in item:
            return None
        until = datetime.fromtimestamp(int(item["locked_until"]), UTC)
        return until if until > self.clock() else None

    def record_failure(self, subject: str, mirror: str) -> datetime | None:
        """Counts one failure; the one that reaches the policy's limit locks the subject and returns the lock's end.

        The lock is also written under mirror (the subject's email's pseudo-id), where a login's password
        step finds it without knowing the user id; for an unknown email mirror is the subject itself,
        written twice so that a known and an unknown email make the same calls.
        """
        if self._count_failure(subject, self.policy.window) < self.policy.limit:
            return None
        until = self._lock(subject, self.policy.duration)
        self._lock(mirror, self.policy.duration, until)
        return until

    def _count_failure(self, subject: str, window: timedelta) -> int:
        """Counts one failure in the window that began with the first failure; returns the count.

        A failure after the window has passed starts a new window (and forgets an ended lock).
        """
        now = int(self.clock().timestamp())
        try:
            item = self._call(
                "update_item",
                Key=lockout_key(subject),
                UpdateExpression="ADD failures :one",
                ConditionExpression="window_started > :window_floor",
                ExpressionAttributeValues={":one": 1, ":window_floor": now - int(window.total_seconds())},
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            self._call(
                "put_item",
                Item={**lockout_key(subject), "failures": 1, "window_started": now, "expires_at": self._expires_at(window)},
            )
            return 1
        return int(item["failures"])

    def _lock(self, subject: str, duration: timedelta, until: datetime | None = None) -> datetime:
        """Locks the subject for duration (until then, if given); failures start again from zero once it ends."""
        until = until or self.clock() + duration
        self._call(
            "put_item",
            Item={
                **lockout_key(subject),
                "failures": 0,
                "window_started": 0,
                "locked_until": int(until.timestamp()),
                "expires_at": self._expires_at(duration),
            },
        )
        return until
