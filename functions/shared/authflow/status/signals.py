"""USER#<id>, SIGNAL#<action>: the meeting point of a waiting execution and the user's action.

Whichever comes first leaves its half (the task token, or `received`); the second finds it and
resumes the execution, so neither order loses the signal. A task token is kept only while its
execution waits: the next task forgets it (forget_token, or clear), and expires_at bounds it anyway.
"""

from datetime import timedelta

from pydantic import SecretStr

from authflow.models import UserAction
from authflow.status.table import TableStore, user_key


def _key(user_id: str, action: UserAction) -> dict[str, str]:
    return user_key(user_id, f"SIGNAL#{action.value}")


class Signals(TableStore):
    def arm(self, user_id: str, action: UserAction, task_token: SecretStr, ttl: timedelta) -> bool:
        """Leaves the waiting execution's task token; True if the user's action already arrived."""
        item = self._call(
            "update_item",
            Key=_key(user_id, action),
            UpdateExpression="SET task_token = :token, expires_at = :expires",
            ExpressionAttributeValues={":token": task_token.get_secret_value(), ":expires": self._expires_at(ttl)},
            ReturnValues="ALL_NEW",
        )["Attributes"]
        return bool(item.get("received"))

    def receive(self, user_id: str, action: UserAction, ttl: timedelta) -> SecretStr | None:
        """Records that the user's action arrived; the task token if the execution is already waiting."""
        item = self._call(
            "update_item",
            Key=_key(user_id, action),
            UpdateExpression="SET received = :true, expires_at = :expires",
            ExpressionAttributeValues={":true": True, ":expires": self._expires_at(ttl)},
            ReturnValues="ALL_NEW",
        )["Attributes"]
        token = item.get("task_token")
        return SecretStr(token) if token else None

    def waiting_token(self, user_id: str, action: UserAction) -> SecretStr | None:
        """The task token of an execution still waiting for this action, if there is one."""
        item = self._call("get_item", Key=_key(user_id, action), ConsistentRead=True).get("Item")
        if not item or item.get("received") or not item.get("task_token"):
            return None
        return SecretStr(item["task_token"])

    def received(self, user_id: str, action: UserAction) -> bool:
        item = self._call("get_item", Key=_key(user_id, action), ConsistentRead=True).get("Item")
        return bool(item and item.get("received"))

    def forget_token(self, user_id: str, action: UserAction) -> None:
        """Drops the task token once its execution has moved on (it resumes nothing more); `received` stays."""
        self._call("update_item", Key=_key(user_id, action), UpdateExpression="REMOVE task_token")

    def clear(self, user_id: str, action: UserAction) -> SecretStr | None:
        """Forgets a previous signal (a new password reset starts afresh); its task token if one waited."""
        item = self._call("delete_item", Key=_key(user_id, action), ReturnValues="ALL_OLD").get("Attributes", {})
        token = item.get("task_token")
        return SecretStr(token) if token and not item.get("received") else None
