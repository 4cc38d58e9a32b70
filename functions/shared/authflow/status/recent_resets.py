"""USER#<id>, PASSWORD_RESET: the user's password was reset recently (the item lives as long as that matters).

A reset proves control of the mailbox only; while this item lives, a new authenticator needs a
recovery code, not a current code (NIST SP 800-63B-4 4.2.1: a lost factor is not replaced on the
strength of a weaker one).
"""

from datetime import timedelta

from authflow.status.table import TableStore, user_key


class RecentResets(TableStore):
    def record(self, user_id: str, remembered_for: timedelta) -> None:
        self._call("put_item", Item={**user_key(user_id, "PASSWORD_RESET"), "expires_at": self._expires_at(remembered_for)})

    def recent(self, user_id: str) -> bool:
        item = self._call("get_item", Key=user_key(user_id, "PASSWORD_RESET"), ConsistentRead=True).get("Item")
        return bool(item) and not self._expired(item)
