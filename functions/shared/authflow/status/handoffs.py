"""HANDOFF#<id>, <kind>: one-time records carrying secrets between the API and a workflow task, so
that no secret enters an execution's input or output."""

import json
from datetime import timedelta

from authflow.status.table import TableStore


class Handoffs(TableStore):
    def put(self, handoff_id: str, kind: str, payload: dict, ttl: timedelta) -> None:
        self._call(
            "put_item",
            Item={"pk": f"HANDOFF#{handoff_id}", "sk": kind, "payload": json.dumps(payload), "expires_at": self._expires_at(ttl)},
        )

    def take(self, handoff_id: str, kind: str) -> dict | None:
        """Reads and deletes a handoff in one call, so its secrets can be used once only."""
        item = self._call("delete_item", Key={"pk": f"HANDOFF#{handoff_id}", "sk": kind}, ReturnValues="ALL_OLD").get("Attributes")
        if not item or self._expired(item):
            return None
        return json.loads(item["payload"])
