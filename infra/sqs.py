"""Where moto's SQS falls short of AWS: SendMessage's cost grows with the queue's depth.

moto (5.2.5) reads `Queue.attributes` on every SendMessage (for ContentBasedDeduplication), and that
property computes every attribute, among them ApproximateNumberOfMessages, ...Delayed and
...NotVisible, each a pass over every message in the queue. Queuing n messages costs O(n²): a user
import of 2 000 rows took 78 s to queue in-process, where SQS answers each SendMessageBatch in
milliseconds whatever the depth. Here `attributes` is a mapping that computes an attribute only when
it is read, so a send reads one flag; GetQueueAttributes still reads them all, with moto's values.
"""

import json
from collections.abc import Iterator, Mapping
from typing import Any

from moto.core.utils import camelcase_to_underscores
from moto.sqs.models import Queue


class LazyQueueAttributes(Mapping):
    """Queue.attributes as moto computes it, each value computed when read."""

    def __init__(self, queue: Queue):
        self.queue = queue
        names = list(Queue.BASE_ATTRIBUTES)
        if queue.fifo_queue:
            names += Queue.FIFO_ATTRIBUTES
        if queue.kms_master_key_id:  # type: ignore[attr-defined]
            names += Queue.KMS_ATTRIBUTES
        if queue.policy:
            names.append("Policy")
        if queue.redrive_policy:
            names.append("RedrivePolicy")
        self.names = names

    def __getitem__(self, name: str) -> Any:
        if name not in self.names:
            raise KeyError(name)
        return moto_attributes(self.queue, [name])[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


def moto_attributes(queue: Queue, names: list[str]) -> dict[str, Any]:
    """The named attributes as moto's Queue.attributes gives them (booleans as "true"/"false")."""
    computed = {}
    for name in names:
        if name == "Policy":
            value = queue.policy
        elif name == "RedrivePolicy":
            value = json.dumps(queue.redrive_policy)
        else:
            value = getattr(queue, camelcase_to_underscores(name))
        computed[name] = str(value).lower() if isinstance(value, bool) else value
    return computed


def install() -> None:
    Queue.attributes = property(LazyQueueAttributes)  # type: ignore[assignment, method-assign]  # the gap it closes
