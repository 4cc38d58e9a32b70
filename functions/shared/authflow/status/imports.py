"""IMPORT#<id>: a user import (POST /v1/user-imports), its counts and each row's outcome; and the
per-second budget of AdminCreateUser calls that every import shares (IMPORTS, RATE#<epoch second>).

The SUMMARY item holds the counts. A row's outcome is written once (ROW#<row>, a conditional put) in
the same transaction that adds it to the counts, so a row handled twice (SQS delivers at least once)
is counted once. `accounted` reaching `rows` means the import is complete; whoever marks it
(a conditional update) publishes ImportCompleted, once.
"""

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from authflow.aws import error_code, raise_transient
from authflow.errors import TransientError
from authflow.models import ImportCounts, ImportOutcome, ImportRowProblem
from authflow.status.table import TableStore

RETENTION = timedelta(days=30)
SUMMARY = "SUMMARY"
RATE_PK = "IMPORTS"
BATCH_WRITE_SIZE = 25  # DynamoDB's BatchWriteItem limit
_OUTCOMES = tuple(outcome.value for outcome in ImportOutcome)


def import_key(import_id: str, sk: str) -> dict[str, str]:
    return {"pk": f"IMPORT#{import_id}", "sk": sk}


def row_key(import_id: str, row: int) -> dict[str, str]:
    return import_key(import_id, f"ROW#{row:05d}")


@dataclass(frozen=True)
class RowOutcome:
    row: int
    outcome: ImportOutcome
    email: str | None = None
    reason: str | None = None
    user_id: str | None = None


@dataclass(frozen=True)
class ImportSummary:
    import_id: str
    rows: int
    counts: dict[str, int]
    request_id: str
    created_at: datetime
    completed_at: datetime | None

    @property
    def accounted(self) -> int:
        return sum(self.counts.values())

    def as_counts(self) -> ImportCounts:
        return ImportCounts(queued=self.rows - self.accounted, **self.counts)


BATCH_WRITE_LIMIT = 25  # DynamoDB's BatchWriteItem takes at most 25 writes
BATCH_WRITE_ATTEMPTS = 5


class ImportRecords(TableStore):
    def _call_unnamed(self, operation: str, **kwargs) -> Any:
        """An operation that names its tables itself (BatchWriteItem)."""
        try:
            return getattr(self.client, operation)(**kwargs)
        except ClientError as error:
            raise_transient(error, "The status table")
            raise

    def create(self, import_id: str, rows: int, request_id: str, outcomes: list[RowOutcome]) -> None:
        """The import's summary, then the rows already decided (invalid ones) with their counts."""
        self._call(
            "put_item",
            Item={
                **import_key(import_id, SUMMARY),
                "rows": rows,
                "request_id": request_id,
                "created_at": self.clock().isoformat(),
                "expires_at": self._expires_at(RETENTION),
                **{outcome: 0 for outcome in _OUTCOMES},
                "accounted": 0,
            },
            ConditionExpression="attribute_not_exists(pk)",
        )
        self.record_many(import_id, outcomes)

    def record_many(self, import_id: str, outcomes: list[RowOutcome]) -> None:
        """Rows the API decided itself (invalid, or not queued): written in batches, then counted at once."""
        if not outcomes:
            return
        items = [{"PutRequest": {"Item": self._row_item(import_id, outcome)}} for outcome in outcomes]
        for start in range(0, len(items), BATCH_WRITE_LIMIT):
            pending: dict = {self.table_name: items[start : start + BATCH_WRITE_LIMIT]}
            for attempt in range(BATCH_WRITE_ATTEMPTS):
                pending = self._call_unnamed("batch_write_item", RequestItems=pending).get("UnprocessedItems") or {}
                if not pending:
                    break
                time.sleep(0.05 * 2**attempt)  # DynamoDB left some writes unprocessed (throttling): back off, resend them
            else:
                raise TransientError("The status table is temporarily unavailable.")
        added: dict[str, int] = {}
        for outcome in outcomes:
            added[outcome.outcome.value] = added.get(outcome.outcome.value, 0) + 1
        self._call(
            "update_item",
            Key=import_key(import_id, SUMMARY),
            UpdateExpression="ADD " + ", ".join(f"#{name} :{name}" for name in added) + ", accounted :accounted",
            ExpressionAttributeNames={f"#{name}": name for name in added},
            ExpressionAttributeValues={**{f":{name}": count for name, count in added.items()}, ":accounted": len(outcomes)},
        )

    def record(self, import_id: str, outcome: RowOutcome) -> bool:
        """Writes the row's outcome and counts it, in one transaction; False if the row already had one."""
        name = outcome.outcome.value
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": self._row_item(import_id, outcome),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": import_key(import_id, SUMMARY),
                            "UpdateExpression": "ADD #outcome :one, accounted :one",
                            "ConditionExpression": "attribute_exists(pk)",
                            "ExpressionAttributeNames": {"#outcome": name},
                            "ExpressionAttributeValues": {":one": 1},
                        }
                    },
                ]
            )
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":
                raise_transient(error, "The status table")
                raise
            reasons = [reason.get("Code") for reason in error.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return False
            raise_transient(error, "The status table")
            raise
        return True

    def outcome_of(self, import_id: str, row: int) -> str | None:
        item = self._call("get_item", Key=row_key(import_id, row), ConsistentRead=True).get("Item")
        return item["outcome"] if item else None

    def get(self, import_id: str) -> ImportSummary | None:
        item = self._call("get_item", Key=import_key(import_id, SUMMARY), ConsistentRead=True).get("Item")
        if not item or self._expired(item):
            return None
        return ImportSummary(
            import_id=import_id,
            rows=int(item["rows"]),
            counts={outcome: int(item[outcome]) for outcome in _OUTCOMES},
            request_id=item["request_id"],
            created_at=datetime.fromisoformat(item["created_at"]),
            completed_at=datetime.fromisoformat(item["completed_at"]) if item.get("completed_at") else None,
        )

    def problems(self, import_id: str) -> list[ImportRowProblem]:
        """Each invalid or failed row, in row order."""
        problems = []
        query: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :rows)",
            "FilterExpression": "outcome IN (:invalid, :failed)",
            "ExpressionAttributeValues": {
                ":pk": f"IMPORT#{import_id}",
                ":rows": "ROW#",
                ":invalid": ImportOutcome.INVALID.value,
                ":failed": ImportOutcome.FAILED.value,
            },
        }
        while True:
            page = self._call("query", **query)
            problems += [ImportRowProblem(row=int(i["row"]), email=i.get("email"), reason=i["reason"]) for i in page["Items"]]
            if "LastEvaluatedKey" not in page:
                return problems
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def mark_completed(self, import_id: str) -> ImportSummary | None:
        """Marks a fully accounted import completed; its summary if this call did, None otherwise."""
        try:
            self._call(
                "update_item",
                Key=import_key(import_id, SUMMARY),
                UpdateExpression="SET completed_at = :now",
                ConditionExpression="accounted = #rows AND attribute_not_exists(completed_at)",
                ExpressionAttributeNames={"#rows": "rows"},
                ExpressionAttributeValues={":now": self.clock().isoformat()},
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return None
            raise
        return self.get(import_id)

    def unmark_completed(self, import_id: str) -> None:
        """Undoes mark_completed when its event could not be published, so that a retry publishes it."""
        self._call("update_item", Key=import_key(import_id, SUMMARY), UpdateExpression="REMOVE completed_at")

    def take_calls(self, calls: int, per_second: int) -> bool:
        """Takes calls from this second's shared budget of per_second; False (nothing taken) if it has not enough."""
        second = int(self.clock().timestamp())
        try:
            self._call(
                "update_item",
                Key={"pk": RATE_PK, "sk": f"RATE#{second}"},
                UpdateExpression="ADD calls :calls SET expires_at = :expires",
                ConditionExpression="attribute_not_exists(calls) OR calls <= :most",
                ExpressionAttributeValues={":calls": calls, ":most": per_second - calls, ":expires": second + 60},
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _row_item(self, import_id: str, outcome: RowOutcome) -> dict[str, Any]:
        item: dict[str, Any] = {
            **row_key(import_id, outcome.row),
            "row": outcome.row,
            "outcome": outcome.outcome.value,
            "expires_at": self._expires_at(RETENTION),
        }
        for name in ("email", "reason", "user_id"):
            if getattr(outcome, name) is not None:
                item[name] = getattr(outcome, name)
        return item
