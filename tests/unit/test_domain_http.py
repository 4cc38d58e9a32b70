"""The HTTP edge (authflow.http): one error shape for every failure, and never an input value in it.

A resolver from build_resolver() with a few routes over the real request models is driven with the
HTTP API (payload 2.0) events API Gateway sends, through the same two steps as the API handler
(refuse_unreadable_body, then the resolver); no AWS is involved.
"""

import base64
import json
from typing import Annotated

import pytest
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import ValidationError

from authflow import errors
from authflow.http import MAX_BODY_BYTES, _describe_validation, build_resolver, refuse_unreadable_body
from authflow.models import ConfirmMfaRequest, ConfirmUserRequest, CreateUserRequest
from tests.support.api_gateway import api_gateway_event

PASSWORD = "Sup3r-Secret-Passw0rd!"
TEMPORARY = "Temp-Pa55word-xyz!"


@pytest.fixture(scope="module")
def app():
    app = build_resolver()

    @app.post("/confirm")
    def confirm(request: Annotated[ConfirmUserRequest, Body()]) -> dict:
        return {"email": request.email}

    @app.post("/confirm-mfa")
    def confirm_mfa(request: Annotated[ConfirmMfaRequest, Body()]) -> dict:
        return {"email": request.email}

    @app.post("/users")
    def create(request: Annotated[CreateUserRequest, Body()]) -> dict:
        raise errors.EmailAlreadyExists()

    @app.post("/boom")
    def boom() -> dict:
        raise RuntimeError(f"An error occurred (NotAuthorizedException) with password {PASSWORD}")

    @app.post("/throttled")
    def throttled() -> dict:
        raise errors.TransientError()

    return app


def call(app, path: str, body=None, *, raw: str | bytes | None = None, content_type: str | None = "application/json", method="POST"):
    """A request as HTTP API sends it (tests/support/api_gateway.py), a bytes body base64-encoded as it does."""
    text = raw if raw is not None else (json.dumps(body) if body is not None else None)
    event = api_gateway_event(method, path, None, {"content-type": content_type} if content_type else {})
    if isinstance(text, bytes):
        event.update(body=base64.b64encode(text).decode(), isBase64Encoded=True)
    elif text is not None:
        event["body"] = text
    response = handle(app, event)
    return (
        response["statusCode"],
        json.loads(response["body"]) if response.get("body") else None,
        response,
        event["requestContext"]["requestId"],
    )


def handle(app, event: dict) -> dict:
    """What functions/api/app.py's handler does with an event."""
    return refuse_unreadable_body(event) or app.resolve(event, None)


def assert_error_shape(body: dict, code: str, request_id: str) -> None:
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "request_id"}
    assert body["error"]["code"] == code
    assert body["error"]["request_id"] == request_id
    assert body["error"]["message"]


def test_invalid_fields_are_named_with_the_reason_but_never_their_values(app):
    status, body, response, request_id = call(
        app,
        "/confirm",
        {"email": "not-an-email", "temporary_password": TEMPORARY * 20, "new_password": "", "new_pasword": PASSWORD},
    )
    assert status == 400
    assert_error_shape(body, "INVALID_REQUEST", request_id)
    message = body["error"]["message"]
    for field in ("email", "temporary_password", "new_password", "new_pasword"):
        assert field in message
    raw = response["body"]
    assert PASSWORD not in raw and TEMPORARY not in raw and "not-an-email" not in raw


def test_a_wrong_length_otp_is_not_echoed(app):
    status, body, response, request_id = call(app, "/confirm-mfa", {"email": "a@example.com", "otp": "9876543"})
    assert status == 400
    assert_error_shape(body, "INVALID_REQUEST", request_id)
    assert "9876543" not in response["body"] and "otp" in body["error"]["message"]


def test_malformed_json_has_its_own_code(app):
    status, body, _, request_id = call(app, "/confirm", raw='{"email": "a@example.com", "new_password": "' + PASSWORD)
    assert status == 400
    assert_error_shape(body, "MALFORMED_JSON", request_id)
    assert PASSWORD not in json.dumps(body)


@pytest.mark.parametrize("path", ["/confirm", "/boom"])
def test_a_body_over_16_kib_is_refused_before_validation(app, path):
    padding = "x" * (MAX_BODY_BYTES + 1)
    status, body, response, request_id = call(app, path, raw=json.dumps({"email": "a@example.com", "pad": padding}))
    assert status == 413
    assert_error_shape(body, "PAYLOAD_TOO_LARGE", request_id)
    assert response["headers"]["Access-Control-Allow-Origin"] == "*"


def test_a_body_of_exactly_16_kib_is_read(app):
    body = json.dumps({"email": "a@example.com", "otp": "123456"})
    padded = body[:-1] + " " * (MAX_BODY_BYTES - len(body)) + "}"
    assert len(padded.encode()) == MAX_BODY_BYTES
    status, _, _, _ = call(app, "/confirm-mfa", raw=padded)
    assert status == 200


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None])
def test_a_body_that_is_not_json_is_refused_as_unsupported_media(app, content_type):
    status, body, response, request_id = call(
        app, "/confirm", raw=f"email=a@example.com&new_password={PASSWORD}", content_type=content_type
    )
    assert status == 415
    assert_error_shape(body, "UNSUPPORTED_MEDIA_TYPE", request_id)
    assert PASSWORD not in response["body"]


def test_a_base64_body_is_decoded_and_one_that_is_not_utf8_is_malformed_json(app):
    """HTTP API base64-encodes a body it does not take for text; the function reads it as the JSON it must be."""
    status, body, _, _ = call(app, "/confirm-mfa", raw=json.dumps({"email": "a@example.com", "otp": "123456"}).encode())
    assert (status, body) == (200, {"email": "a@example.com"})
    status, body, _, request_id = call(app, "/confirm-mfa", raw='{"email": "é@example.com", "otp": "123456"}'.encode("latin-1"))
    assert status == 400
    assert_error_shape(body, "MALFORMED_JSON", request_id)


def test_json_with_a_charset_is_json(app):
    status, body, _, _ = call(
        app, "/confirm-mfa", {"email": "A@example.com", "otp": "123456"}, content_type="application/json; charset=utf-8"
    )
    assert (status, body) == (200, {"email": "a@example.com"})


@pytest.mark.parametrize("content_type", ["Application/JSON", "APPLICATION/JSON; charset=UTF-8"])
def test_json_media_type_is_case_insensitive(app, content_type):
    status, body, _, _ = call(app, "/confirm-mfa", {"email": "a@example.com", "otp": "123456"}, content_type=content_type)
    assert (status, body) == (200, {"email": "a@example.com"})


def test_a_post_without_a_body_is_not_a_media_type_error(app):
    status, body, _, request_id = call(app, "/throttled", content_type=None)
    assert status == 503
    assert_error_shape(body, "SERVICE_UNAVAILABLE", request_id)


def test_domain_errors_keep_their_status_and_stable_code(app):
    status, body, _, request_id = call(app, "/users", {"full_name": "Ada", "email": "a@example.com"})
    assert status == 409
    assert_error_shape(body, "EMAIL_ALREADY_EXISTS", request_id)

    status, body, _, request_id = call(app, "/throttled")
    assert status == 503
    assert_error_shape(body, "SERVICE_UNAVAILABLE", request_id)


def test_an_unexpected_error_is_a_bare_500_without_its_text(app):
    status, body, response, request_id = call(app, "/boom")
    assert status == 500
    assert_error_shape(body, "INTERNAL_ERROR", request_id)
    assert "NotAuthorizedException" not in response["body"] and PASSWORD not in response["body"]
    assert "Traceback" not in response["body"]


def test_an_unknown_route_is_404_in_the_same_shape(app):
    status, body, _, request_id = call(app, "/nope", {})
    assert status == 404
    assert_error_shape(body, "NOT_FOUND", request_id)


def test_error_responses_carry_the_security_headers(app):
    for path, payload in (("/confirm", {"email": "x"}), ("/boom", None), ("/nope", {})):
        _, _, response, _ = call(app, path, payload)
        headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
        multi = {k.lower(): v for k, v in (response.get("multiValueHeaders") or {}).items()}
        for name, value in (("x-content-type-options", "nosniff"), ("cache-control", "no-store")):
            assert headers.get(name) == value or multi.get(name) == [value], (path, name, response)


def test_describe_validation_names_locations_and_types_only():
    try:
        ConfirmUserRequest.model_validate({"email": "a@example.com", "temporary_password": TEMPORARY, "new_password": PASSWORD * 20})
    except ValidationError as error:
        problems = [{**e, "loc": ("body", *e["loc"])} for e in error.errors()]
    code, message = _describe_validation(RequestValidationError(problems, body={"new_password": PASSWORD * 20}))
    assert code == "INVALID_REQUEST"
    assert message == "Invalid request: new_password (too_long)"
    assert PASSWORD not in message


def test_describe_validation_of_a_body_level_problem_names_the_body():
    code, message = _describe_validation(
        RequestValidationError([{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}])
    )
    assert (code, message) == ("INVALID_REQUEST", "Invalid request: body (missing)")
