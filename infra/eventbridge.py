"""Where moto's EventBridge falls short of AWS: StartReplay.

moto (5.2.5) replays every event of the archive, whatever the replay's EventStartTime and
EventEndTime, and to every rule of the bus, whatever its Destination.FilterArns. AWS replays only the
events whose time is in [EventStartTime, EventEndTime), and, with FilterArns, only to those rules.
authflow's webhook replays rely on both (one event, or the events since a time, to the webhook rule
only: not to the audit log again). The replay here does what AWS does.
"""

import uuid
from datetime import datetime

from moto.core.utils import unix_time
from moto.events.models import Archive, Replay, ReplayState, events_backends


def _epoch(value) -> float:
    """An event's or a replay's time as epoch seconds: moto keeps numbers or ISO 8601 strings."""
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def replay_events(self: Replay, archive: Archive) -> None:
    backend = events_backends[self.account_id][self.region]
    bus = backend.describe_event_bus(self.destination["Arn"].split("/")[-1])
    start, end = _epoch(self.event_start_time), _epoch(self.event_end_time)
    rules = [rule for rule in bus.rules.values() if not self.destination.get("FilterArns") or rule.arn in self.destination["FilterArns"]]
    for event in archive.events:
        if not start <= _epoch(event["time"]) < end:
            continue
        for rule in rules:
            rule.send_to_targets({**event, "id": str(uuid.uuid4()), "replay-name": self.name}, transform_input=False)
    self.state = ReplayState.COMPLETED
    self.end_time = unix_time()


def install() -> None:
    Replay.replay_events = replay_events  # type: ignore[method-assign]
