"""The API function's handler called in-process with generated API Gateway events, as Lambda calls it:
the answer (status, body, headers) and what it stored. Its environment is the template's; moto's
in-process Step Functions records the executions it starts (without running them)."""

import json
import uuid

import boto3
import pytest

from authflow.admins import Caller
from authflow.status import EmailClaims, StatusRecords
from tests.support.api_gateway import answer, api_gateway_event
from tests.unit.conftest import new_email


@pytest.fixture
def api(unit_stack, api_function):
    def call(method: str, path: str, body=None, headers=None) -> tuple[int, dict, dict]:
        result = api_function.handler(api_gateway_event(method, path, body, headers), unit_stack.context("ApiFunction"))
        return answer(result)

    return call


@pytest.fixture
def admin(unit_stack, monkeypatch) -> dict:
    """An admin's Authorization header: the handler's live check (Cognito's GetUser and groups, tested in
    tests/unit/test_admins.py and over HTTP in tests/e2e/test_admin_access.py) answers admin for it."""
    callers = unit_stack.load("ApiFunction").callers
    monkeypatch.setattr(callers, "identify", lambda token: Caller(user_id="admin", is_admin=token.get_secret_value() == "admin-token"))
    return {"Authorization": "Bearer admin-token"}


def test_create_user_answers_201_stores_the_record_and_starts_the_execution(api, settings):
    email = new_email("handler")
    status, body, headers = api("POST", "/users", {"full_name": "Ada Lovelace", "email": email})

    assert status == 201 and body["email"] == email and body["status"] == "CREATED"
    assert headers["Cache-Control"] == "no-store" and headers["X-Content-Type-Options"] == "nosniff"
    record = StatusRecords(settings.status_table_name).get(body["user_id"])
    assert (
        record is not None and record.status == "CREATED" and EmailClaims(settings.status_table_name).user_id_for(email) == body["user_id"]
    )
    execution = boto3.client("stepfunctions").describe_execution(executionArn=record.execution_arn)
    assert execution["status"] == "RUNNING" and execution["name"] == body["user_id"]

    assert record.status_token_digest and body["status_token"] not in str(record)
    status, onboarding, _ = api("GET", f"/users/{body['user_id']}/onboarding", headers={"X-Status-Token": body["status_token"]})
    assert status == 200 and onboarding["status"] == "CREATED" and onboarding["execution"]["arn"] == record.execution_arn
    status, refused, _ = api("GET", f"/users/{body['user_id']}/onboarding")
    assert status == 404 and refused["error"]["code"] == "USER_NOT_FOUND"


def test_invalid_input_gets_the_one_error_shape_and_changes_nothing(api, settings):
    email = new_email("bad")
    status, body, _ = api("POST", "/users", {"full_name": "Ada", "email": email, "password": "Secret-Value-1!"})
    assert status == 400 and body["error"]["code"] == "INVALID_REQUEST" and body["error"]["request_id"]
    assert "Secret-Value-1!" not in str(body)
    assert EmailClaims(settings.status_table_name).user_id_for(email) is None

    status, body, _ = api("POST", "/users", "full_name=Ada", {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 415 and body["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    status, body, _ = api("GET", f"/users/{uuid.uuid4()}/onboarding")
    assert status == 404 and body["error"]["code"] == "USER_NOT_FOUND"
    status, body, _ = api("GET", "/no-such-route")
    assert status == 404 and body["error"]["code"] == "NOT_FOUND"


def test_an_idempotency_key_replays_the_first_answer_and_refuses_another_body(api):
    key = {"Idempotency-Key": f"key-{uuid.uuid4()}"}
    request = {"full_name": "Ada Lovelace", "email": new_email("idem")}
    first = api("POST", "/users", request, key)
    again = api("POST", "/users", request, key)
    other = api("POST", "/users", {**request, "full_name": "Someone Else"}, key)

    assert first[0] == again[0] == 201 and first[1] == again[1]
    assert other[0] == 409 and other[1]["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_webhook_routes_share_the_functions_idempotency(api, admin):
    key = {"Idempotency-Key": f"hook-{uuid.uuid4()}", **admin}
    request = {"url": "http://localhost:9/hook", "events": ["UserCreated"]}  # the local stack's template allows loopback
    status, created, _ = api("POST", "/webhooks", request, key)
    replayed = api("POST", "/webhooks", request, key)[1]
    assert status == 201 and replayed == created, "the retry gets the same id and secret, no second subscription"

    status, listed, _ = api("GET", "/webhooks", headers=admin)
    assert status == 200 and [w["id"] for w in listed["webhooks"]].count(created["id"]) == 1
    assert all("secret" not in w for w in listed["webhooks"])
    assert api("DELETE", f"/webhooks/{created['id']}", headers=admin)[0] == 200
    status, body, _ = api("DELETE", f"/webhooks/{created['id']}", headers=admin)
    assert status == 404 and body["error"]["code"] == "WEBHOOK_NOT_FOUND"


def test_routes_needing_a_token_refuse_without_one(api):
    status, body, _ = api("GET", "/userinfo")
    assert status == 401 and body["error"]["code"] == "INVALID_TOKEN"
    status, body, _ = api("DELETE", f"/users/{uuid.uuid4()}", headers={"Authorization": "Bearer not-a-jwt"})
    assert status == 401 and body["error"]["code"] == "INVALID_TOKEN"
    status, body, _ = api("GET", "/webhooks")
    assert status == 401 and body["error"]["code"] == "INVALID_TOKEN"


def test_the_openapi_document_lists_the_routes(api):
    status, document, _ = api("GET", "/openapi.json")
    assert status == 200 and {"/users", "/login", "/webhooks"} <= set(document["paths"])


def test_a_webhook_creation_in_progress_expires_with_the_invocation_not_after_a_day(api, admin, settings):
    """The handler gives the one Idempotency the Lambda context, so an in-progress record (a timed-out
    attempt's) ends with the invocation's remaining time, and a retry is not refused with 409 for a day."""
    table = boto3.resource("dynamodb").Table(settings.status_table_name)

    def records() -> dict:
        items = table.query(KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": "IDEMPOTENCY"})["Items"]
        return {item["sk"]: item for item in items}

    before = records()
    status, _, _ = api(
        "POST", "/webhooks", {"url": "http://localhost:9/hook", "events": ["LoggedOut"]}, {"Idempotency-Key": str(uuid.uuid4()), **admin}
    )
    (new,) = [item for sk, item in records().items() if sk not in before]
    assert status == 201 and "in_progress_expiration" in new


def test_a_user_import_takes_a_csv_file_from_an_admin_once_per_idempotency_key(api, admin, unit_stack):
    body = (
        "full_name,email,mobile_phone_number\n" + "\n".join(f"Ada {i},{new_email('import')}," for i in range(12)) + "\nBad,not-an-email,\n"
    )
    headers = {"Content-Type": "text/csv; charset=utf-8", "Idempotency-Key": f"import-{uuid.uuid4()}", **admin}
    status, created, _ = api("POST", "/user-imports", body, headers)
    assert status == 202 and (created["rows"], created["queued"], created["invalid"], created["status"]) == (13, 12, 1, "QUEUED")
    assert api("POST", "/user-imports", body, headers)[1] == created, "the same file again: the first answer"
    status, refused, _ = api("POST", "/user-imports", body + "Eve,eve@example.com,\n", headers)
    assert (status, refused["error"]["code"]) == (409, "IDEMPOTENCY_KEY_REUSED")

    queue_url = unit_stack.environment("ApiFunction")["USER_IMPORT_QUEUE_URL"]
    depth = boto3.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    assert int(depth["Attributes"]["ApproximateNumberOfMessages"]) >= 12
    status, progress, _ = api("GET", f"/user-imports/{created['import_id']}", headers=admin)
    assert status == 200 and progress["status"] == "IN_PROGRESS" and progress["counts"]["queued"] == 12
    assert progress["problems"] == [{"row": 13, "email": "not-an-email", "reason": "INVALID_REQUEST"}]


def test_a_user_import_of_json_lines_arrives_base64_encoded_and_is_read_as_its_text(api, admin):
    """HTTP API sends an application/x-ndjson body base64-encoded (not a text media type): the rows are
    the decoded lines, the 6 MB limit is the file's size, and a file that is not UTF-8 is refused."""
    lines = [{"full_name": "Ada Ünal", "email": new_email("ndjson")}, {"full_name": "Bad", "email": "not-an-email"}]
    body = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines).encode()
    headers = {"Content-Type": "application/x-ndjson", **admin}
    assert api_gateway_event("POST", "/user-imports", body, headers)["isBase64Encoded"]
    status, created, _ = api("POST", "/user-imports", body, headers)
    assert status == 202 and (created["rows"], created["queued"], created["invalid"]) == (2, 1, 1)
    status, refused, _ = api("POST", "/user-imports", b"\n" * 6_000_001, headers)
    assert (status, refused["error"]["code"]) == (413, "PAYLOAD_TOO_LARGE")
    status, refused, _ = api("POST", "/user-imports", "full_name,email\nAda,ada@example.com\n".encode("utf-16"), headers)
    assert (status, refused["error"]["code"]) == (400, "INVALID_REQUEST")


def test_user_imports_need_an_admin_a_file_media_type_and_a_known_id(api, admin):
    body = "full_name,email\nAda,ada@example.com\n"
    status, refused, _ = api("POST", "/user-imports", body, {"Content-Type": "text/csv"})
    assert (status, refused["error"]["code"]) == (401, "INVALID_TOKEN")
    status, refused, _ = api("POST", "/user-imports", {"full_name": "Ada", "email": "ada@example.com"}, admin)
    assert (status, refused["error"]["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")
    status, refused, _ = api("POST", "/user-imports", "x" * 6_000_001, {"Content-Type": "text/csv", **admin})
    assert (status, refused["error"]["code"]) == (413, "PAYLOAD_TOO_LARGE")
    status, refused, _ = api("POST", "/users", "x" * 17_000, {"Content-Type": "text/csv"})
    assert (status, refused["error"]["code"]) == (413, "PAYLOAD_TOO_LARGE"), "other routes keep their 16 KiB"
    status, refused, _ = api("GET", f"/user-imports/{uuid.uuid4()}", headers=admin)
    assert (status, refused["error"]["code"]) == (404, "IMPORT_NOT_FOUND")
    status, refused, _ = api("GET", f"/user-imports/{uuid.uuid4()}")
    assert (status, refused["error"]["code"]) == (401, "INVALID_TOKEN")
