"""USER#<id>, RATE#<action>#<window>: per-user counters in fixed windows (resend-mfa's limit)."""

from datetime import timedelta

from authflow.status.table import TableStore, user_key


class RateCounters(TableStore):
    def count(self, user_id: str, action: str, window: timedelta) -> int:
        """Counts one more use of action by the user in the current fixed window; returns the count."""
        window_start = int(self.clock().timestamp()) // int(window.total_seconds())
        item = self._call(
            "update_item",
            Key=user_key(user_id, f"RATE#{action}#{window_start}"),
            UpdateExpression="ADD uses :one SET expires_at = :expires",
            ExpressionAttributeValues={":one": 1, ":expires": self._expires_at(window)},
            ReturnValues="ALL_NEW",
        )["Attributes"]
        return int(item["uses"])

    def seconds_left(self, window: timedelta) -> int:
        """Seconds until the current fixed window ends (when a counter of it starts again)."""
        length = int(window.total_seconds())
        return length - int(self.clock().timestamp()) % length
