"""The measures' side of the flow driver (tests/support/flows.py), which drives the user flows
through the local API as a client application would.

The driver waits for what its user waits for (the invitation mail, the workflow's next step); here
it reads them with the measurement's own AWS credentials (left out of every count, see
measures/instrument.py) and the captured mail in-process, so that the API requests counted are
exactly the ones a client sends.
"""

import http.client
import json
import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import boto3

from infra.views import LocalViews
from measures.instrument import MEASURE_ACCESS_KEY, ROUTE_HEADER
from tests.support import flows
from tests.support.flows import ActiveUser, FlowError, expect

TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
# A user id in a path, for the route's name in the timings.
USER_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def measure_client(service: str):
    """A boto3 client for the local stack whose calls the counters leave out."""
    return boto3.client(service, aws_access_key_id=MEASURE_ACCESS_KEY, aws_secret_access_key="measure")


@dataclass
class Answer:
    status: int
    body: bytes
    seconds: float

    def json(self):
        return json.loads(self.body)


@dataclass
class Timings:
    """Latency samples by route, from many threads."""

    samples: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, route: str, seconds: float, ok: bool = True) -> None:
        with self.lock:
            if ok:
                self.samples[route].append(seconds)
            else:
                self.failures[route] += 1

    def count(self) -> int:
        return sum(len(v) for v in self.samples.values()) + sum(self.failures.values())


class Api:
    """An HTTP client of the local API (one keep-alive connection per thread), timing each route."""

    def __init__(self, api_url: str, api_key: str, timings: Timings | None = None):
        parts = urlsplit(api_url)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"the measures only drive a loopback API, not {parts.hostname}")
        self.host, self.port, self.prefix = parts.hostname, parts.port, parts.path.rstrip("/")
        self.api_key = api_key
        self.timings = timings or Timings()
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        return connection

    def call(self, method: str, path: str, body: dict | None, route: str, headers: dict[str, str] | None = None) -> Answer:
        """The request, timed and its AWS round trips counted (measures/instrument.py) under `route`."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"x-api-key": self.api_key, "content-type": "application/json", ROUTE_HEADER: route, **(headers or {})}
        for attempt in range(2):
            connection = self._connection()
            started = time.perf_counter()
            try:
                connection.request(method, self.prefix + path, body=data, headers=headers)
                response = connection.getresponse()
                payload = response.read()
            except (ConnectionError, http.client.HTTPException, OSError):
                connection.close()
                self._local.connection = None
                if attempt:
                    raise
                continue
            elapsed = time.perf_counter() - started
            self.timings.add(route, elapsed, ok=response.status < 500)
            return Answer(response.status, payload, elapsed)
        raise FlowError("unreachable")

    def post(self, path: str, body: dict) -> Answer:
        return self.call("POST", path, body, f"POST {USER_ID.sub('{id}', path)}")

    def get(self, path: str, headers: dict[str, str] | None = None) -> Answer:
        return self.call("GET", path, None, f"GET {USER_ID.sub('{id}', path)}", headers)


class StackReader:
    """What the driver waits for, read without being counted."""

    def __init__(self, stack):
        self.stack = stack
        self.views = LocalViews(stack.stack)
        self.table = stack.stack.refs["StatusTable"]
        self._dynamodb = measure_client("dynamodb")
        self._states = measure_client("stepfunctions")

    # The flows' Observer (tests/support/flows.py).

    def mail(self, email: str) -> list[dict]:
        return self.views.mail(email)

    def onboarding_record(self, user_id: str) -> dict:
        return self.status_record(user_id)

    def status_record(self, user_id: str) -> dict:
        item = self._dynamodb.get_item(
            TableName=self.table, Key={"pk": {"S": f"USER#{user_id}"}, "sk": {"S": "STATUS"}}, ConsistentRead=True
        ).get("Item", {})
        return {k: next(iter(v.values())) for k, v in item.items()}

    def wait_for_execution(self, arn: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            execution = self._states.describe_execution(executionArn=arn)
            if execution["status"] in TERMINAL:
                return execution
            time.sleep(0.02)
        raise FlowError(f"execution {arn} still running after {timeout} s")


def onboard(api: Api, reader: StackReader, tag: str = "measure") -> ActiveUser:
    """The whole onboarding of a new user, to ACTIVE, and the end of its workflow (whose calls count)."""
    user = flows.onboard(api, reader, tag)
    reader.wait_for_execution(reader.status_record(user.user_id)["execution_arn"])
    return user


def login(api: Api, user: ActiveUser) -> None:
    """POST /login then POST /mfa-verify (each user can sign in three times per 90 s, see ActiveUser.next_code)."""
    expect(flows.sign_in(api, user).answer, 200, "POST /mfa-verify")


def refresh(api: Api, user: ActiveUser) -> None:
    expect(api.post("/refresh-token", {"email": user.email, "refresh_token": user.refresh_token}), 200, "POST /refresh-token")
