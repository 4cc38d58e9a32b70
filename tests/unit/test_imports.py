"""User imports (authflow.imports) in-process: the file checked and queued on template.yaml's import
queue in moto, each row started through Onboarding.start (Step Functions faked), counted once, and
ImportCompleted published once every row is accounted for."""

import dataclasses
import json
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from authflow import errors
from authflow.imports import CALLS_PER_ROW, MAX_BUDGET_WAITS, MAX_ROW_ATTEMPTS, MAX_ROWS, ImportQueue, RowDeferred, UserImports
from authflow.models import ImportOutcome, ImportRowMessage
from authflow.status.imports import ImportRecords
from tests.unit.conftest import new_email

CSV_HEADER = "full_name,email,mobile_phone_number\n"


@pytest.fixture
def queue() -> ImportQueue:
    """A queue of this test's own (the template's import queue is shared by the tests of the process)."""
    return ImportQueue(boto3.client("sqs").create_queue(QueueName=f"unit-imports-{uuid.uuid4().hex[:8]}")["QueueUrl"])


@pytest.fixture
def imports(adapters, onboarding, queue) -> UserImports:
    return UserImports(adapters, onboarding, queue, calls_per_second=50, sleep=lambda seconds: None)


def received(queue: ImportQueue) -> list[tuple[ImportRowMessage, dict]]:
    """Every row on the queue, with the SQS message it came in (received, hence invisible a while)."""
    sqs, rows = boto3.client("sqs"), []
    while messages := sqs.receive_message(QueueUrl=queue.queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]).get(
        "Messages", []
    ):
        rows += [(ImportRowMessage.model_validate_json(m["Body"]), m) for m in messages]
    return sorted(rows, key=lambda pair: pair[0].row)


def import_all(imports: UserImports, queue: ImportQueue) -> list[ImportOutcome | None]:
    return [imports.import_row(message, receipts=1) for message, _ in received(queue)]


def completed_events(tap, import_id: str) -> list[dict]:
    return [e["detail"] for e in tap.events() if e["detail-type"] == "ImportCompleted" and e["detail"]["import_id"] == import_id]


def test_a_csv_import_queues_valid_rows_records_invalid_ones_and_completes_once(imports, queue, adapters, tap, workflows):
    ada, bob = new_email("ada"), new_email("bob")
    body = CSV_HEADER + "\n".join(
        [
            f"Ada Lovelace,{ada},+33612345678",
            f"Bob,{bob},",
            "No Email,,",
            "Look Alike,b\u043eb@example.com,",  # a Cyrillic о: POST /v1/users answers INVALID_EMAIL
            f"Ada Again,{ada.upper()},",  # the same email, upper-cased: the same user
        ]
    )
    answer = imports.submit(body, "text/csv", "req-import")
    assert (answer.rows, answer.queued, answer.invalid) == (5, 3, 2)

    status = imports.status_of(str(answer.import_id))
    assert status.status == "IN_PROGRESS" and status.counts.queued == 3 and status.counts.invalid == 2
    assert [(p.row, p.email, p.reason) for p in status.problems] == [
        (3, None, "INVALID_REQUEST"),
        (4, "b\u043eb@example.com", "INVALID_EMAIL"),
    ]

    assert import_all(imports, queue) == [ImportOutcome.CREATED, ImportOutcome.CREATED, ImportOutcome.DUPLICATE]
    status = imports.status_of(str(answer.import_id))
    assert status.status == "COMPLETED" and status.completed_at is not None
    assert status.counts.model_dump() == {"queued": 0, "created": 2, "duplicate": 1, "invalid": 2, "failed": 0}
    assert sorted(name for _, name, _ in workflows.started) == sorted([adapters.claims.user_id_for(ada), adapters.claims.user_id_for(bob)])
    [created] = [i for _, _, i in workflows.started if i["email"] == ada]
    assert (created["full_name"], created["mobile_phone_number"], created["request_id"]) == ("Ada Lovelace", "+33612345678", "req-import")

    [event] = completed_events(tap, str(answer.import_id))
    assert {k: event[k] for k in ("rows", "created", "duplicate", "invalid", "failed", "request_id")} == {
        "rows": 5,
        "created": 2,
        "duplicate": 1,
        "invalid": 2,
        "failed": 0,
        "request_id": "req-import",
    }
    assert "user_id" not in event and ada not in json.dumps(event), "no one user's, and no email"


def test_a_row_received_twice_is_one_user_counted_once(imports, queue, workflows, tap):
    answer = imports.submit(json.dumps({"full_name": "Ada", "email": new_email()}) + "\n", "application/x-ndjson", "req-1")
    [(message, _)] = received(queue)
    assert imports.import_row(message, receipts=1) == ImportOutcome.CREATED
    assert imports.import_row(message, receipts=2) is None, "SQS delivered it again: nothing more happens"
    assert len(workflows.started) == 1
    assert imports.status_of(str(answer.import_id)).counts.created == 1
    assert len(completed_events(tap, str(answer.import_id))) == 1


def test_a_row_whose_outcome_was_lost_finds_its_user_again(imports, queue, workflows, adapters, monkeypatch):
    """The function started the onboarding, then failed before recording it: the retry is the same user."""
    email = new_email()
    imports.submit(json.dumps({"full_name": "Ada", "email": email}), "application/x-ndjson", "req-1")
    [(message, _)] = received(queue)

    def unavailable(*args):
        raise errors.TransientError()

    with monkeypatch.context() as patched:
        patched.setattr(adapters.imports, "record", unavailable)
        with pytest.raises(errors.TransientError):
            imports.import_row(message, receipts=1)
    assert imports.import_row(message, receipts=2) == ImportOutcome.CREATED
    assert {name for _, name, _ in workflows.started} == {adapters.claims.user_id_for(email)}, "one user, one execution"


def test_json_lines_that_do_not_parse_or_validate_are_invalid_rows(imports, queue):
    lines = ["{not json", json.dumps({"full_name": "Ada", "email": new_email(), "role": "admin"}), "", json.dumps(["a list"])]
    answer = imports.submit("\n".join(lines), "application/x-ndjson", "req-1")
    assert (answer.rows, answer.queued, answer.invalid) == (3, 0, 3), "a blank line is no row"
    status = imports.status_of(str(answer.import_id))
    assert [(p.row, p.reason) for p in status.problems] == [(1, "MALFORMED_JSON"), (2, "INVALID_REQUEST"), (3, "INVALID_REQUEST")]
    assert status.status == "COMPLETED", "nothing was queued: every row is accounted for at once"


def test_a_file_is_refused_whole_without_rows_with_a_wrong_header_or_over_the_limit(imports):
    with pytest.raises(errors.InvalidRequest):
        imports.submit("", "application/x-ndjson", "req-1")
    with pytest.raises(errors.InvalidRequest):
        imports.submit("name,email\nAda,ada@example.com\n", "text/csv", "req-1")
    with pytest.raises(errors.ImportTooLarge):
        imports.submit(CSV_HEADER + "Ada,ada@example.com,\n" * (MAX_ROWS + 1), "text/csv", "req-1")


def test_an_unknown_import_is_not_found(imports):
    with pytest.raises(errors.ImportNotFound):
        imports.status_of("6d1e0c9b-3a4f-4b2e-8c7d-5f9a0b1c2d3e")


def test_rows_the_queue_refused_are_recorded_failed(imports, queue, monkeypatch):
    monkeypatch.setattr(queue, "_send_batch", lambda batch: [m.row for m in batch])
    answer = imports.submit(json.dumps({"full_name": "Ada", "email": new_email()}), "application/x-ndjson", "req-1")
    assert answer.queued == 0
    status = imports.status_of(str(answer.import_id))
    assert status.counts.failed == 1 and [p.reason for p in status.problems] == ["NOT_QUEUED"] and status.status == "COMPLETED"


def test_a_throttled_start_returns_the_row_with_a_backoff_then_records_it_failed(imports, queue, workflows, adapters):
    email = new_email()
    answer = imports.submit(json.dumps({"full_name": "Ada", "email": email}), "application/x-ndjson", "req-1")
    [(message, _)] = received(queue)

    def throttled(*args):
        raise errors.TransientError("The workflow service is temporarily unavailable.")

    workflows.start = throttled
    for receipts in range(1, MAX_ROW_ATTEMPTS):
        with pytest.raises(RowDeferred) as deferred:
            imports.import_row(message, receipts)
        assert 1 <= deferred.value.delay_seconds <= 2**receipts
        assert adapters.claims.user_id_for(email) is None, "the failed start released the email: nothing half-made"
    assert imports.import_row(message, MAX_ROW_ATTEMPTS) == ImportOutcome.FAILED
    status = imports.status_of(str(answer.import_id))
    assert [(p.row, p.email, p.reason) for p in status.problems] == [(1, email, "SERVICE_UNAVAILABLE")]


def test_each_row_takes_two_calls_from_the_shared_budget_and_waits_for_the_next_second(adapters, onboarding, queue):
    """A budget of 4 calls a second is two rows a second: the third waits for the next second."""
    now = [datetime(2026, 11, 27, 12, 0, 0, 100_000, tzinfo=UTC)]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 3))
        now[0] += timedelta(seconds=seconds)

    records = ImportRecords(adapters.imports.table_name, clock=lambda: now[0])
    bundle = dataclasses.replace(adapters, imports=records)
    imports = UserImports(bundle, onboarding, queue, calls_per_second=2 * CALLS_PER_ROW, sleep=sleep)
    imports.submit("\n".join(json.dumps({"full_name": "Ada", "email": new_email()}) for _ in range(3)), "application/x-ndjson", "r")
    outcomes = [imports.import_row(message, receipts=1) for message, _ in received(queue)]
    assert outcomes == [ImportOutcome.CREATED] * 3
    assert slept == [0.9], "the third row waited for the next second"


def test_a_row_that_finds_no_budget_goes_back_to_the_queue(adapters, onboarding, queue, workflows):
    now = datetime(2026, 11, 27, 12, 0, 5, tzinfo=UTC)
    records = ImportRecords(adapters.imports.table_name, clock=lambda: now)  # a clock that never reaches the next second
    imports = UserImports(
        dataclasses.replace(adapters, imports=records), onboarding, queue, calls_per_second=CALLS_PER_ROW, sleep=lambda s: None
    )
    imports.submit("\n".join(json.dumps({"full_name": "Ada", "email": new_email()}) for _ in range(2)), "application/x-ndjson", "r")
    first, second = (message for message, _ in received(queue))
    assert imports.import_row(first, receipts=1) == ImportOutcome.CREATED
    with pytest.raises(RowDeferred) as deferred:
        imports.import_row(second, receipts=1)
    assert deferred.value.delay_seconds == 1 and len(workflows.started) == 1, f"it waited {MAX_BUDGET_WAITS} times, then went back"


def test_the_import_function_returns_deferred_rows_to_the_queue_with_their_delay(unit_stack, settings, queue, monkeypatch):
    """The handler: a deferred row is a batch item failure whose visibility is its delay; the others are done."""
    module = unit_stack.load("UserImportFunction")
    monkeypatch.setattr(module.imports, "queue", queue)
    module.imports.submit(json.dumps({"full_name": "Ada", "email": new_email()}), "application/x-ndjson", "req-1")
    [(message, raw)] = received(queue)
    record = {
        "messageId": raw["MessageId"],
        "receiptHandle": raw["ReceiptHandle"],
        "body": raw["Body"],
        "attributes": raw["Attributes"],
        "messageAttributes": {},
        "md5OfBody": raw["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:authflow-dev-user-imports",
        "awsRegion": "eu-west-1",
    }

    def defer(*args, **kwargs):
        raise module.RowDeferred(7, "the import budget of AdminCreateUser calls is spent")  # the function's own copy of the class

    returned: list[tuple[str, int]] = []
    monkeypatch.setattr(module.imports, "import_row", defer)
    monkeypatch.setattr(module.queue, "return_later", lambda handle, delay: returned.append((handle, delay)))
    answer = module.handler({"Records": [record]}, unit_stack.context("UserImportFunction"))
    assert answer == {"batchItemFailures": [{"itemIdentifier": raw["MessageId"]}]}
    assert returned == [(raw["ReceiptHandle"], 7)] and message.row == 1
