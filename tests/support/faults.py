"""Fault injection into the local stack's AWS services: moto's backends raise AWS's throttling errors.

Faults are injected at moto's backend methods, in-process, so every caller sees them as AWS would
send them: the API, the workflow tasks, the Cognito trigger. The orchestration itself (Lambda
Invoke, Step Functions) is left alone.
"""

import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from moto.cognitoidp.models import CognitoIdpBackend
from moto.core.exceptions import JsonRESTError
from moto.dynamodb.models import DynamoDBBackend
from moto.events.models import EventsBackend
from moto.s3.exceptions import S3ClientError
from moto.s3.models import S3Backend
from moto.ses.exceptions import SesError
from moto.ses.models import SESBackend

# Each service's own error classes, so moto serialises the fault in that service's protocol.
TRANSIENT = {
    "cognito-idp": (
        CognitoIdpBackend,
        ["admin_create_user", "admin_get_user", "admin_delete_user", "admin_initiate_auth"],
        JsonRESTError,
        "TooManyRequestsException",
    ),
    "dynamodb": (
        DynamoDBBackend,
        ["put_item", "get_item", "update_item", "delete_item", "query", "transact_write_items"],
        JsonRESTError,
        "ProvisionedThroughputExceededException",
    ),
    "events": (EventsBackend, ["put_events"], JsonRESTError, "ThrottlingException"),
    "s3": (S3Backend, ["put_object", "delete_object"], S3ClientError, "SlowDown"),
    "ses": (SESBackend, ["send_email"], SesError, "Throttling"),
}


class FaultStorm:
    """Counts the faults it injected, per service."""

    def __init__(self, rate: float, seed: int):
        self.rate = rate
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.depth = threading.local()
        self.injected: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()

    def strike(self, service: str) -> bool:
        with self.lock:
            self.calls[service] += 1
            if self.random.random() < self.rate:
                self.injected[service] += 1
                return True
            return False


@contextmanager
def fault_storm(monkeypatch, services: list[str], rate: float, seed: int = 7) -> Iterator[FaultStorm]:
    storm = FaultStorm(rate, seed)
    for service in services:
        backend, methods, error_class, code = TRANSIENT[service]
        for name in methods:
            original = getattr(backend, name)

            def faulty(self, *args, __original=original, __service=service, __error=error_class, __code=code, **kwargs):
                # Only the request's own operation fails, as in AWS; moto's backends also call each
                # other internally (a transaction's puts), and those never see a fault.
                outermost = not getattr(storm.depth, "value", 0)
                if outermost and storm.strike(__service):
                    raise __error(__code, "Rate exceeded (injected by the test)")
                storm.depth.value = getattr(storm.depth, "value", 0) + 1
                try:
                    return __original(self, *args, **kwargs)
                finally:
                    storm.depth.value -= 1

            monkeypatch.setattr(backend, name, faulty)
    yield storm
    monkeypatch.undo()


class CognitoQuota:
    """Cognito's per-second quota on AdminCreateUser, lowered by a test: calls past it are throttled.

    With throttle_every=n, every n-th call is throttled too: a busy machine may never reach the
    lowered quota, and the test must still see its back-off exercised."""

    def __init__(self, per_second: int, throttle_every: int = 0):
        self.per_second = per_second
        self.throttle_every = throttle_every
        self.lock = threading.Lock()
        self.window: tuple[int, int] = (0, 0)  # (epoch second, calls in it)
        self.calls = 0
        self.throttled = 0

    def admit(self) -> bool:
        second = int(time.time())
        with self.lock:
            self.calls += 1
            start, count = self.window
            count = count + 1 if start == second else 1
            self.window = (second, count)
            if count > self.per_second or (self.throttle_every and self.calls % self.throttle_every == 0):
                self.throttled += 1
                return False
            return True


@contextmanager
def admin_create_user_quota(monkeypatch, per_second: int, throttle_every: int = 0) -> Iterator[CognitoQuota]:
    """AdminCreateUser answers TooManyRequestsException past per_second calls in a second, as Cognito does
    past its quota (50 a second per account, shared by the create and the invitation's resend), and to
    every throttle_every-th call if given (CognitoQuota)."""
    quota = CognitoQuota(per_second, throttle_every)
    original = CognitoIdpBackend.admin_create_user

    def limited(self, *args, **kwargs):
        if not quota.admit():
            raise JsonRESTError("TooManyRequestsException", "Too many requests (the test's lowered quota)")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(CognitoIdpBackend, "admin_create_user", limited)
    yield quota
    monkeypatch.undo()
