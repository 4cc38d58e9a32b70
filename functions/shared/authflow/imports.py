"""Bulk onboarding: POST /v1/user-imports queues each row; the import function starts each user's onboarding.

A file is CSV (text/csv, header full_name,email,mobile_phone_number) or JSON lines
(application/x-ndjson, one POST /v1/users body a line), 10 000 rows at most. Each row is validated by
POST /v1/users' own model (CreateUserRequest: the same email policy); an invalid row is recorded with
its error code and never queued. Valid rows go to the import queue, ten per SendMessageBatch.

The import function takes each row and starts the user's onboarding with Onboarding.start, the code
POST /v1/users runs: the email's claim makes the same email twice one user (the second row is a
"duplicate"), and each row's own idempotency key makes a row handled twice (SQS delivers at least
once) the same user and execution. Every onboarding makes two AdminCreateUser calls (the user, then
its invitation), so each row first takes two calls from a per-second budget in the status table
(ImportAdminCreateUserPerSecond, shared by every instance and import), waiting for the next second
when this one is spent. A throttled or unavailable dependency returns the row to the queue with an
exponential, jittered delay; after MAX_ROW_ATTEMPTS receipts the row is recorded failed with the
reason, so every row is accounted for. The last row accounted for publishes ImportCompleted.
"""

import csv
import io
import json
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import uuid4

from pydantic import ValidationError

from authflow import errors, events
from authflow.adapters import Adapters
from authflow.aws import client
from authflow.models import (
    CreateUserImportResponse,
    CreateUserRequest,
    ImportOutcome,
    ImportRowMessage,
    UserImportStatusResponse,
)
from authflow.observability import logger
from authflow.onboarding import Onboarding
from authflow.status.imports import RowOutcome

MAX_ROWS = 10_000
CSV = "text/csv"
JSON_LINES = "application/x-ndjson"
MEDIA_TYPES = (CSV, JSON_LINES)
CSV_COLUMNS = ("full_name", "email", "mobile_phone_number")
MAX_EMAIL_SHOWN = 254
CALLS_PER_ROW = 2  # AdminCreateUser for the user (CreateCognitoUser), then for its invitation (SendInvitation)
MAX_ROW_ATTEMPTS = 8  # receipts of a row whose dependencies keep failing, before it is recorded failed
MAX_BACKOFF_SECONDS = 300
MAX_BUDGET_WAITS = 3  # seconds a row waits for the budget in the function before it returns to the queue
SEND_BATCH = 10  # SQS SendMessageBatch's limit
SEND_CONCURRENCY = 8
NOT_QUEUED = "NOT_QUEUED"


class RowDeferred(Exception):
    """The row goes back to the queue, to be received again after delay_seconds."""

    def __init__(self, delay_seconds: int, why: str):
        super().__init__(why)
        self.delay_seconds = delay_seconds


class ImportQueue:
    """The import queue: rows sent ten at a time, and a received row's return after a delay."""

    def __init__(self, queue_url: str):
        self.queue_url = queue_url

    def send(self, messages: list[ImportRowMessage]) -> list[int]:
        """Sends every row (concurrent SendMessageBatch calls of ten); the rows SQS did not take."""
        batches = [messages[i : i + SEND_BATCH] for i in range(0, len(messages), SEND_BATCH)]
        with ThreadPoolExecutor(SEND_CONCURRENCY) as pool:
            return [row for refused in pool.map(self._send_batch, batches) for row in refused]

    def _send_batch(self, batch: list[ImportRowMessage]) -> list[int]:
        entries = [{"Id": str(m.row), "MessageBody": m.model_dump_json()} for m in batch]
        try:
            answer = client("sqs").send_message_batch(QueueUrl=self.queue_url, Entries=entries)
        except Exception:  # after the SDK's retries: these rows are recorded NOT_QUEUED, not lost silently
            logger.exception("rows not queued", extra={"rows": len(batch)})
            return [m.row for m in batch]
        return [int(failed["Id"]) for failed in answer.get("Failed", [])]

    def return_later(self, receipt_handle: str, delay_seconds: int) -> None:
        client("sqs").change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=delay_seconds)


def _rows(body: str, media_type: str) -> list[Any]:
    """The file's rows, each a dict (or, for a JSON line that does not parse, None)."""
    if media_type == CSV:
        reader = csv.DictReader(io.StringIO(body))
        header = tuple(reader.fieldnames or ())
        if not {"full_name", "email"} <= set(header) or not set(header) <= set(CSV_COLUMNS):
            raise errors.InvalidRequest("The CSV header must be full_name,email,mobile_phone_number (the last column optional).")
        return [{k: v for k, v in record.items() if v not in ("", None) and k is not None} for record in reader]
    rows: list[Any] = []
    for line in body.splitlines():
        if line.strip():
            try:
                rows.append(json.loads(line))
            except (RecursionError, ValueError):
                rows.append(None)
    return rows


def _validated(row: Any) -> tuple[CreateUserRequest | None, str | None]:
    """The row as POST /v1/users takes it, or the error code POST /v1/users would answer."""
    if row is None:
        return None, "MALFORMED_JSON"
    try:
        return CreateUserRequest.model_validate(row), None
    except ValidationError as error:
        return None, "INVALID_EMAIL" if any(p.get("type") == "invalid_email" for p in error.errors()) else "INVALID_REQUEST"


def _email_given(row: Any) -> str | None:
    email = row.get("email") if isinstance(row, dict) else None
    return email[:MAX_EMAIL_SHOWN] if isinstance(email, str) else None


def full_jitter_backoff(attempt: int) -> int:
    """Seconds before a row's next attempt: exponential in its receipts, full jitter, at least one."""
    return max(1, int(random.uniform(0, min(MAX_BACKOFF_SECONDS, 2**attempt))))


class UserImports:
    def __init__(
        self,
        adapters: Adapters,
        onboarding: Onboarding | None = None,
        queue: ImportQueue | None = None,
        calls_per_second: int = 0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.imports = adapters.imports
        self.events = adapters.events
        self.onboarding = onboarding
        self.queue = queue
        self.calls_per_second = calls_per_second
        self.sleep = sleep

    # ------------------------------------------------------------------ API use cases

    def submit(self, body: str, media_type: str, request_id: str) -> CreateUserImportResponse:
        """Records the import and its invalid rows, queues the valid ones; answers before any is onboarded."""
        if self.queue is None:
            raise RuntimeError("submit needs the import queue")
        rows = _rows(body, media_type)
        if not rows:
            raise errors.InvalidRequest("The import has no rows.")
        if len(rows) > MAX_ROWS:
            raise errors.ImportTooLarge()
        import_id = str(uuid4())
        invalid, valid = [], []
        for number, row in enumerate(rows, start=1):
            user, reason = _validated(row)
            if user is None:
                invalid.append(RowOutcome(number, ImportOutcome.INVALID, _email_given(row), reason))
            else:
                valid.append(ImportRowMessage(import_id=import_id, row=number, request_id=request_id, user=user))
        self.imports.create(import_id, len(rows), request_id, invalid)
        refused = set(self.queue.send(valid))
        self.imports.record_many(
            import_id, [RowOutcome(m.row, ImportOutcome.FAILED, m.user.email, NOT_QUEUED) for m in valid if m.row in refused]
        )
        self.complete_if_done(import_id)
        logger.info("import queued", extra={"import_id": import_id, "rows": len(rows), "invalid": len(invalid), "not_queued": len(refused)})
        return CreateUserImportResponse(import_id=import_id, rows=len(rows), queued=len(valid) - len(refused), invalid=len(invalid))

    def status_of(self, import_id: str) -> UserImportStatusResponse:
        summary = self.imports.get(import_id)
        if summary is None:
            raise errors.ImportNotFound()
        return UserImportStatusResponse(
            import_id=import_id,
            status="COMPLETED" if summary.completed_at else "IN_PROGRESS",
            rows=summary.rows,
            counts=summary.as_counts(),
            problems=self.imports.problems(import_id),
            created_at=summary.created_at,
            completed_at=summary.completed_at,
        )

    # ------------------------------------------------------------------ the import function

    def import_row(self, message: ImportRowMessage, receipts: int) -> ImportOutcome | None:
        """Starts the row's onboarding and records what became of it; None if the row was done before.

        RowDeferred when the row must come back later (the budget is spent, or a dependency throttled)."""
        if self.onboarding is None:
            raise RuntimeError("import_row needs onboarding")
        if self.imports.outcome_of(message.import_id, message.row) is not None:
            self.complete_if_done(message.import_id)
            return None
        self._take_budget()
        outcome = self._start(message, receipts)
        if not self.imports.record(message.import_id, outcome):
            return None
        self.complete_if_done(message.import_id)
        return outcome.outcome

    def _take_budget(self) -> None:
        for _ in range(MAX_BUDGET_WAITS):
            if self.imports.take_calls(CALLS_PER_ROW, self.calls_per_second):
                return
            now = self.imports.clock().timestamp()
            self.sleep(1 - now % 1)  # this second's budget is spent: the next second has a new one
        raise RowDeferred(1, "the import budget of AdminCreateUser calls is spent")

    def _start(self, message: ImportRowMessage, receipts: int) -> RowOutcome:
        assert self.onboarding is not None
        email = message.user.email
        try:
            created = self.onboarding.start(
                message.user, message.request_id, idempotency_key=f"import:{message.import_id}:{message.row}", by_admin=True
            )
        except errors.EmailAlreadyExists:
            return RowOutcome(message.row, ImportOutcome.DUPLICATE, email)
        except errors.TransientError as error:
            if receipts < MAX_ROW_ATTEMPTS:
                raise RowDeferred(full_jitter_backoff(receipts), error.code) from error
            return RowOutcome(message.row, ImportOutcome.FAILED, email, error.code)
        except errors.AuthflowError as error:  # a refusal of POST /v1/users, e.g. THROTTLED (the email's hourly limit)
            return RowOutcome(message.row, ImportOutcome.FAILED, email, error.code)
        return RowOutcome(message.row, ImportOutcome.CREATED, email, user_id=str(created.user_id))

    def complete_if_done(self, import_id: str) -> None:
        """Publishes ImportCompleted once, when every row is accounted for."""
        summary = self.imports.mark_completed(import_id)
        if summary is None:
            return
        try:
            self.events.publish(
                events.ImportCompleted(import_id=import_id, rows=summary.rows, request_id=summary.request_id, **summary.counts)
            )
        except Exception:
            self.imports.unmark_completed(import_id)  # the row that completed it comes back and publishes again
            raise
        logger.info("import completed", extra={"import_id": import_id, "counts": summary.counts})
