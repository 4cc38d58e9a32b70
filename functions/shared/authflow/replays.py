"""Webhook replays: the bus archive's events sent again, to the webhook rule only (StartReplay).

A replay names what it is for in its description ({"webhook_id", "event_id"}): the delivery function
reads it (DescribeReplay) and posts a replayed event to that subscription only, whether or not it was
delivered before, with the event's own event_id as webhook-id.
"""

import json
from dataclasses import dataclass
from datetime import datetime

from botocore.exceptions import ClientError

from authflow.aws import client, error_code


@dataclass(frozen=True)
class ReplayTarget:
    webhook_id: str
    event_id: str | None  # None: every event of the replay's window


class ArchiveReplays:
    def __init__(self, archive_arn: str = "", bus_arn: str = "", rule_arn: str = ""):
        self.archive_arn, self.bus_arn, self.rule_arn = archive_arn, bus_arn, rule_arn

    def start(self, name: str, target: ReplayTarget, start: datetime, end: datetime) -> None:
        client("events").start_replay(
            ReplayName=name,
            Description=json.dumps({"webhook_id": target.webhook_id, "event_id": target.event_id}),
            EventSourceArn=self.archive_arn,
            EventStartTime=start,
            EventEndTime=end,
            Destination={"Arn": self.bus_arn, "FilterArns": [self.rule_arn]},
        )

    def target(self, name: str) -> ReplayTarget | None:
        """Whom a replay is for; None for a replay authflow did not start (an operator's, say)."""
        try:
            description = json.loads(client("events").describe_replay(ReplayName=name).get("Description") or "")
            return ReplayTarget(description["webhook_id"], description.get("event_id"))
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                return None
            raise
        except (ValueError, KeyError, TypeError):
            return None
