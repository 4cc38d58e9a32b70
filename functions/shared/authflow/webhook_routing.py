"""Which events reach the webhook queue: the webhook rule's EventPattern, kept to the subscribed types.

SPEC section 4: only subscribed event types reach the delivery queue. The rule (template.yaml,
WebhookEventsRule) starts with a pattern that matches nothing; each subscription change rewrites it
(PutRule) to the detail-types some subscription names, so an event nobody subscribed to costs no SQS
message and no delivery invocation. Replays (authflow.replays) go through the same rule: a
subscription's own types are always in its pattern.
"""

import json
from collections.abc import Iterable

from authflow.aws import client, raise_transient
from authflow.events import SOURCE

# A detail-type no event has (a model's name has no space nor colon): the pattern of no subscription,
# as EventBridge refuses an empty list. template.yaml's WebhookEventsRule starts with it.
NO_SUBSCRIPTION = "none: no webhook subscription"
DESCRIPTION = "The subscribed detail-types to the webhook delivery queue (kept by the API: authflow.webhook_routing)."


def event_pattern(event_types: Iterable[str]) -> dict:
    return {"source": [SOURCE], "detail-type": sorted(set(event_types)) or [NO_SUBSCRIPTION]}


def rule_name_and_bus(rule_arn: str) -> tuple[str, str]:
    """A rule's name and bus from its ARN (arn:...:rule/<bus>/<name>; the default bus's rules omit it)."""
    path = rule_arn.split(":", 5)[-1].removeprefix("rule/")
    bus, _, name = path.rpartition("/")
    return name, bus or "default"


class WebhookRouting:
    def __init__(self, rule_arn: str):
        self.rule_name, self.bus_name = rule_name_and_bus(rule_arn)

    def route(self, event_types: Iterable[str]) -> None:
        """The rule sends these detail-types to the queue, and no other (none for an empty set)."""
        try:
            client("events").put_rule(
                Name=self.rule_name,
                EventBusName=self.bus_name,
                EventPattern=json.dumps(event_pattern(event_types)),
                State="ENABLED",
                Description=DESCRIPTION,
            )
        except Exception as error:
            raise_transient(error, "The event bus")
            raise
