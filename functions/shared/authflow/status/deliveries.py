"""DELIVERY#<event_id>, SUBSCRIPTION#<id>: the event reached the subscription (TTL'd), so a retry or a
duplicate SQS message never posts it twice."""

from datetime import timedelta

from authflow.status.table import TableStore

DELIVERY_RECORD_TTL = timedelta(days=15)  # longer than any message can stay on the queues


def _key(event_id: str, webhook_id: str) -> dict[str, str]:
    return {"pk": f"DELIVERY#{event_id}", "sk": f"SUBSCRIPTION#{webhook_id}"}


class DeliveryRecords(TableStore):
    def delivered(self, event_id: str, webhook_id: str) -> bool:
        return "Item" in self._call("get_item", Key=_key(event_id, webhook_id), ConsistentRead=True)

    def mark_delivered(self, event_id: str, webhook_id: str, status: int) -> None:
        now = self.clock()
        self._call(
            "put_item",
            Item={
                **_key(event_id, webhook_id),
                "delivered_at": now.isoformat(),
                "http_status": status,
                "expires_at": self._expires_at(DELIVERY_RECORD_TTL),
            },
        )
