"""WEBHOOK#<id>, DELIVERY#<event_id>: the delivery log, one item per event and subscription (TTL'd).

It says how an event's delivery to a subscription went (attempts, the last answer's status code and
latency, the next attempt, the final state), so an admin can read it (GET /v1/webhooks/{id}/deliveries)
and a retry or a duplicate SQS message never posts a delivered event twice. A subscription's log is
one partition: listing it is one Query.
"""

from datetime import datetime, timedelta
from typing import Literal

from boto3.dynamodb.conditions import Key

from authflow.models import Model
from authflow.status.table import TableStore

DELIVERY_LOG_TTL = timedelta(days=30)  # Stripe keeps 30 days of event history; replays reach as far back
DeliveryState = Literal["pending", "delivered", "failed"]


class DeliveryLogEntry(Model):
    webhook_id: str
    event_id: str
    event_type: str
    occurred_at: str
    attempts: int = 0
    state: DeliveryState = "pending"
    last_status_code: int | None = None
    last_latency_ms: int | None = None
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    updated_at: datetime | None = None


def _key(webhook_id: str, event_id: str) -> dict[str, str]:
    return {"pk": f"WEBHOOK#{webhook_id}", "sk": f"DELIVERY#{event_id}"}


class DeliveryRecords(TableStore):
    def get(self, webhook_id: str, event_id: str) -> DeliveryLogEntry | None:
        item = self._call("get_item", Key=_key(webhook_id, event_id), ConsistentRead=True).get("Item")
        return DeliveryLogEntry.model_validate(item) if item else None

    def delivered(self, event_id: str, webhook_id: str) -> bool:
        entry = self.get(webhook_id, event_id)
        return entry is not None and entry.state == "delivered"

    def put(self, entry: DeliveryLogEntry) -> None:
        item = entry.model_copy(update={"updated_at": self.clock()}).model_dump(mode="json", exclude_none=True)
        self._call("put_item", Item={**_key(entry.webhook_id, entry.event_id), **item, "expires_at": self._expires_at(DELIVERY_LOG_TTL)})

    def of_subscription(self, webhook_id: str, limit: int) -> list[DeliveryLogEntry]:
        """The subscription's latest deliveries (by the event's time), newest first."""
        items: list[dict] = []
        start: dict = {}
        while True:
            page = self._call(
                "query", KeyConditionExpression=Key("pk").eq(f"WEBHOOK#{webhook_id}") & Key("sk").begins_with("DELIVERY#"), **start
            )
            items += [item for item in page["Items"] if not self._expired(item)]
            if "LastEvaluatedKey" not in page:
                break
            start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
        entries = [DeliveryLogEntry.model_validate(item) for item in items]
        return sorted(entries, key=lambda e: (e.occurred_at, e.event_id), reverse=True)[:limit]
