"""The user flows the measures drive through the local API, as a client application would.

A real client does not poll: its user reads the invitation mail, then confirms, then scans the QR
code and types the first code, by which time the onboarding workflow waits for them. The driver
waits for those moments itself, reading the stack with the measurement's own AWS credentials
(left out of every count, see measures/instrument.py) and the captured mail in-process, so that the
API requests counted are exactly the ones a client sends.
"""

import html
import http.client
import json
import re
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import boto3
import pyotp

from infra.views import LocalViews
from measures.instrument import MEASURE_ACCESS_KEY

PASSWORD = "Correct-Horse-9-Battery"
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


class FlowError(AssertionError):
    pass


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
        self.host, self.port, self.prefix = parts.hostname, parts.port, parts.path.rstrip("/")
        if self.host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"the measures only drive a loopback API, not {self.host}")
        self.api_key = api_key
        self.timings = timings or Timings()
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        return connection

    def call(self, method: str, path: str, body: dict | None, route: str) -> Answer:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"x-api-key": self.api_key, "content-type": "application/json"}
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

    def post(self, path: str, body: dict, route: str | None = None) -> Answer:
        return self.call("POST", path, body, route or f"POST {path}")


@dataclass
class User:
    email: str
    user_id: str
    password: str
    totp_secret: str
    refresh_token: str = ""
    used_steps: set = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def next_code(self) -> str:
        """A code no login of this user has used: Cognito accepts the previous, current and next
        30-s step's code and refuses a code used within 90 s, so a user has three logins per 90 s."""
        step = current_step()
        with self.lock:
            # The previous step's code last: it is the one the MFA enrolment used (see enrolment_code).
            free = [s for s in (step, step + 1, step - 1) if s not in self.used_steps]
            if not free:
                raise FlowError(f"{self.email} has used its three codes of this 90 s")
            self.used_steps.add(free[0])
        return pyotp.TOTP(self.totp_secret).at(free[0] * 30)


_pauses = threading.local()


def paused_seconds() -> float:
    """Seconds this thread spent waiting for a TOTP step (flow timings leave them out)."""
    return getattr(_pauses, "seconds", 0.0)


def current_step() -> int:
    """The current 30-s TOTP step, never in its last 3 s: the previous step's code stays valid
    only until this step ends, and a request under load can take a second or two."""
    while 30 - time.time() % 30 < 3:
        time.sleep(0.25)
        _pauses.seconds = paused_seconds() + 0.25
    return int(time.time() // 30)


def enrolment_code(secret: str) -> str:
    """The code that confirms MFA enrolment: the previous step's, so that the current and next
    steps' codes are surely free for the first logins."""
    return pyotp.TOTP(secret).at((current_step() - 1) * 30)


class StackReader:
    """What the driver waits for, read without being counted."""

    def __init__(self, stack):
        self.stack = stack
        self.views = LocalViews(stack.stack)
        self.table = stack.stack.refs["StatusTable"]
        self._dynamodb = measure_client("dynamodb")
        self._states = measure_client("stepfunctions")

    def temporary_password(self, email: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in reversed(self.views.mail(email)):
                found = re.search(r"temporary password: <b>(.*?)</b>", message["body"])
                if found:
                    return html.unescape(found.group(1))
            time.sleep(0.02)
        raise FlowError(f"no invitation reached {email}")

    def status_record(self, user_id: str) -> dict:
        item = self._dynamodb.get_item(
            TableName=self.table, Key={"pk": {"S": f"USER#{user_id}"}, "sk": {"S": "STATUS"}}, ConsistentRead=True
        ).get("Item", {})
        return {k: next(iter(v.values())) for k, v in item.items()}

    def wait_for_status(self, user_id: str, status: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        record = {}
        while time.monotonic() < deadline:
            record = self.status_record(user_id)
            if record.get("status") == status:
                return record
            time.sleep(0.02)
        raise FlowError(f"user {user_id} never reached {status}: {record.get('status')}")

    def wait_for_execution(self, arn: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            execution = self._states.describe_execution(executionArn=arn)
            if execution["status"] in TERMINAL:
                return execution
            time.sleep(0.02)
        raise FlowError(f"execution {arn} still running after {timeout} s")


def unique_email(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}@example.com"


def onboard(api: Api, reader: StackReader, tag: str = "measure", wait_for_workflow: bool = True) -> User:
    """The whole onboarding of a new user, to ACTIVE: three API requests, as a client sends them."""
    email = unique_email(tag)
    created = api.post("/users", {"full_name": "Ada Lovelace", "email": email}, "POST /users")
    if created.status != 201:
        raise FlowError(f"POST /users answered {created.status}: {created.body[:300]!r}")
    user_id = created.json()["user_id"]
    # The newest invitation once the workflow has recorded it (a retried SendInvitation mails a new password).
    reader.wait_for_status(user_id, "INVITED")
    temporary = reader.temporary_password(email)
    confirmed = api.post(
        f"/users/{user_id}/confirm",
        {"email": email, "temporary_password": temporary, "new_password": PASSWORD},
        "POST /users/{id}/confirm",
    )
    if confirmed.status != 200:
        raise FlowError(f"confirm answered {confirmed.status}: {confirmed.body[:300]!r}")
    secret = confirmed.json()["qr_code_secret"]
    reader.wait_for_status(user_id, "MFA_PENDING")
    code = enrolment_code(secret)
    enrolled = api.post(f"/users/{user_id}/confirm-mfa", {"email": email, "otp": code}, "POST /users/{id}/confirm-mfa")
    if enrolled.status != 200:
        raise FlowError(f"confirm-mfa answered {enrolled.status}: {enrolled.body[:300]!r}")
    if wait_for_workflow:
        record = reader.wait_for_status(user_id, "ACTIVE")
        reader.wait_for_execution(record["execution_arn"])
    return User(email, user_id, PASSWORD, secret)


def login(api: Api, user: User) -> None:
    """POST /login then POST /mfa-verify (each user can log in three times per 90 s, see User.next_code)."""
    first = api.post("/login", {"email": user.email, "password": user.password}, "POST /login")
    if first.status != 200:
        raise FlowError(f"login answered {first.status}: {first.body[:300]!r}")
    tokens = api.post(
        "/mfa-verify",
        {
            "email": user.email,
            "verification_type": "SOFTWARE_TOKEN_MFA",
            "verification_session": first.json()["verification_session"],
            "otp_code": user.next_code(),
        },
        "POST /mfa-verify",
    )
    if tokens.status != 200:
        raise FlowError(f"mfa-verify answered {tokens.status}: {tokens.body[:300]!r}")
    user.refresh_token = tokens.json()["refresh_token"]


def refresh(api: Api, user: User) -> None:
    answer = api.post("/refresh-token", {"email": user.email, "refresh_token": user.refresh_token}, "POST /refresh-token")
    if answer.status != 200:
        raise FlowError(f"refresh-token answered {answer.status}: {answer.body[:300]!r}")
