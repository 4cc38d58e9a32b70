"""What every store of the status table shares: the table, the clock, keys and TTL values."""

from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from authflow.aws import raise_transient, table_client
from authflow.clock import Clock, utc_now


def user_key(user_id: str, sk: str) -> dict[str, str]:
    return {"pk": f"USER#{user_id}", "sk": sk}


def email_key(email: str) -> dict[str, str]:
    return {"pk": f"EMAIL#{email}", "sk": "CLAIM"}


class TableStore:
    """A DynamoDB table whose throttling and transient failures surface as TransientError.

    Items and keys are plain Python values (authflow.aws.table_client), as with boto3's Table resource.
    """

    def __init__(self, table_name: str, clock: Clock = utc_now, client: Any = None):
        """client: a DynamoDB client of another session made to take plain values (authflow.aws.plain_values:
        the operator's CLI); the function's own by default."""
        self.table_name = table_name
        self.client = client or table_client()
        self.clock = clock

    def _call(self, operation: str, **kwargs) -> Any:
        """An operation on this table (its TableName added)."""
        try:
            return getattr(self.client, operation)(TableName=self.table_name, **kwargs)
        except ClientError as error:
            raise_transient(error, "The status table")
            raise

    def get_many(self, keys: list[dict[str, str]]) -> list[dict | None]:
        """The items at these keys of the table (None where there is none), strongly consistent, read
        together in one BatchGetItem (DynamoDB may leave keys unprocessed under load: they are asked again)."""
        found: dict[tuple[str, str], dict] = {}
        pending = [dict(key) for key in keys]
        while pending:
            answer = self._call_batch({self.table_name: {"Keys": pending, "ConsistentRead": True}})
            for item in answer.get("Responses", {}).get(self.table_name, []):
                found[(item["pk"], item["sk"])] = item
            pending = answer.get("UnprocessedKeys", {}).get(self.table_name, {}).get("Keys", [])
        return [found.get((key["pk"], key["sk"])) for key in keys]

    def _call_batch(self, request_items: dict) -> Any:
        try:
            return self.client.batch_get_item(RequestItems=request_items)
        except ClientError as error:
            raise_transient(error, "The status table")
            raise

    def _expires_at(self, ttl: timedelta) -> int:
        """The TTL attribute's value (epoch seconds) for an item that may live ttl from now."""
        return int((self.clock() + ttl).timestamp())

    def _expired(self, item: dict) -> bool:
        """TTL deletion is lazy (up to days late): an item past expires_at must not be used."""
        return int(item["expires_at"]) < self.clock().timestamp()
