"""The HTTP edge shared by API routes: the one error shape, body rules and security headers.

Events are API Gateway HTTP API's payload format 2.0 (lower-case header names, the method under
requestContext.http, a body base64-encoded when it is not text).
"""

import base64
import binascii
import json
from http import HTTPStatus

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import BaseModel

from authflow import errors
from authflow.models import ErrorResponse
from authflow.observability import logger

MAX_BODY_BYTES = 16 * 1024
# POST /v1/user-imports takes a file, not a JSON body: up to 10 000 users as CSV or JSON lines, within
# Lambda's 6 MB synchronous payload (a row of POST /v1/users' longest fields is about 530 bytes).
FILE_ROUTES = {("POST", "/user-imports"): (("text/csv", "application/x-ndjson"), 6_000_000)}
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


def _error_body(status: int, code: str, message: str, request_id: str) -> dict:
    return {"error": {"code": code, "message": message, "request_id": request_id}}


def error_response(app: APIGatewayHttpResolver, status: int, code: str, message: str, retry_after: int | None = None) -> Response:
    body = _error_body(status, code, message, app.current_event.request_context.request_id or "")
    headers = SECURITY_HEADERS if retry_after is None else {**SECURITY_HEADERS, "Retry-After": str(max(1, retry_after))}
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers)


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode()
    except UnicodeDecodeError:
        return False
    return True


def _parses(body: bytes) -> bool:
    """Whether the body is UTF-8 JSON that Python can read: deep nesting and huge integers make
    json.loads raise RecursionError or ValueError, which the resolver does not catch."""
    try:
        json.loads(body.decode())
    except (RecursionError, ValueError):  # UnicodeDecodeError is a ValueError
        return False
    return True


def error_answer(event: dict, status: int, code: str, message: str, retry_after: int | None = None) -> dict:
    """An answer in the one error shape given before the resolver runs (API key, unreadable body)."""
    request_id = (event.get("requestContext") or {}).get("requestId", "")
    retry = {} if retry_after is None else {"Retry-After": str(max(1, retry_after))}
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "Access-Control-Allow-Origin": "*", **SECURITY_HEADERS, **retry},
        "body": json.dumps(_error_body(status, code, message, request_id)),
        "isBase64Encoded": False,
    }


def header(event: dict, name: str) -> str | None:
    """A request header by its lower-case name (HTTP API sends them lower-cased)."""
    return {k.lower(): v for k, v in (event.get("headers") or {}).items()}.get(name)


def _raw_body(event: dict) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return body.encode()
    return body.encode() if isinstance(body, str) else body


def _route(event: dict) -> tuple[str, str]:
    """(method, path) of the request, the path without the stage's prefix (HTTP API keeps it in rawPath)."""
    context = event.get("requestContext") or {}
    path = event.get("rawPath") or ""
    stage = context.get("stage") or "$default"
    if stage != "$default" and path.startswith(f"/{stage}/"):
        path = path[len(stage) + 1 :]
    return (context.get("http") or {}).get("method", ""), path


def refuse_unreadable_body(event: dict) -> dict | None:
    """413 for bodies over 16 KiB, 415 for bodies that are not JSON and 400 for JSON that is not UTF-8
    or not readable, before routing and validation (the resolver would otherwise parse a form body and
    answer a misleading 400). A file route (FILE_ROUTES) takes its own media types and size instead, and
    UTF-8 text. A body HTTP API sent base64-encoded (any media type but text/*, JSON and XML) is decoded
    for the resolver; the limits apply to the decoded body."""
    raw = _raw_body(event)
    method, path = _route(event)
    media_types, max_bytes = FILE_ROUTES.get((method, path), (("application/json",), MAX_BODY_BYTES))
    refusal = None
    if len(raw) > max_bytes:
        limit = "16 KiB" if max_bytes == MAX_BODY_BYTES else f"{max_bytes // 1_000_000} MB"
        refusal = (413, "PAYLOAD_TOO_LARGE", f"The request body is larger than {limit}.")
    elif raw and method in ("POST", "PUT", "PATCH"):
        media_type = (header(event, "content-type") or "").split(";")[0].strip().lower()
        if media_type not in media_types:
            refusal = (415, "UNSUPPORTED_MEDIA_TYPE", "Send the request body as " + " or ".join(media_types) + ".")
        elif media_type == "application/json" and not _parses(raw):
            refusal = (400, "MALFORMED_JSON", "The request body is not valid JSON.")
        elif not _is_utf8(raw):
            refusal = (400, "INVALID_REQUEST", "The request body is not UTF-8 text.")
        else:
            # Media types are case-insensitive; the resolver compares them exactly.
            event["headers"] = {**{k: v for k, v in event["headers"].items() if k.lower() != "content-type"}, "content-type": media_type}
            event["body"], event["isBase64Encoded"] = raw.decode(), False
    if refusal is None:
        return None
    return error_answer(event, *refusal)


def responses(success: type[BaseModel], *errors: HTTPStatus, status: HTTPStatus = HTTPStatus.OK, body: bool = True) -> dict:
    """The OpenAPI responses of a route: its success model, then every error it answers in the one
    error shape, including API Gateway's 403 (API key) and, for routes with a body, 413 and 415."""
    error_content = {"application/json": {"model": ErrorResponse}}
    statuses = {HTTPStatus.FORBIDDEN, *errors}
    if body:
        statuses |= {HTTPStatus.BAD_REQUEST, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, HTTPStatus.UNSUPPORTED_MEDIA_TYPE}
    documented = {int(status): {"description": status.phrase, "content": {"application/json": {"model": success}}}}
    documented.update({int(s): {"description": s.phrase, "content": error_content} for s in sorted(statuses)})
    return documented


def _describe_validation(error: RequestValidationError) -> tuple[str, str]:
    """Names the invalid fields and why, never their values (which may be passwords)."""
    problems = error.errors()
    if any(p.get("type") == "json_invalid" for p in problems):
        return "MALFORMED_JSON", "The request body is not valid JSON."
    refused_emails = sorted({p["msg"] for p in problems if p.get("type") == "invalid_email"})
    if refused_emails:
        return "INVALID_EMAIL", "The email address is not accepted: " + "; ".join(refused_emails) + "."
    parts = []
    for problem in problems:
        location = ".".join(str(part) for part in problem.get("loc", ()) if part != "body") or "body"
        parts.append(f"{location} ({problem.get('type', 'invalid')})")
    return "INVALID_REQUEST", "Invalid request: " + ", ".join(sorted(set(parts)))


def add_security_headers(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
    response = next_middleware(app)
    response.headers.update(SECURITY_HEADERS)
    return response


def build_resolver() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(
        enable_validation=True,
        cors=CORSConfig(
            allow_origin="*",
            allow_headers=["Content-Type", "Authorization", "X-Api-Key", "Idempotency-Key", "X-Status-Token"],
            max_age=600,
        ),
    )
    app.use(middlewares=[add_security_headers])

    @app.exception_handler(errors.AuthflowError)
    def domain_error(error: errors.AuthflowError) -> Response:
        return error_response(app, error.status, error.code, error.message, error.retry_after)

    @app.exception_handler(RequestValidationError)
    def invalid_request(error: RequestValidationError) -> Response:
        code, message = _describe_validation(error)
        return error_response(app, 400, code, message)

    @app.not_found
    def not_found(_: NotFoundError) -> Response:
        return error_response(app, 404, "NOT_FOUND", "No such route.")

    @app.exception_handler(Exception)
    def internal_error(error: Exception) -> Response:
        logger.exception("unhandled error", extra={"error_type": type(error).__name__})
        return error_response(app, 500, "INTERNAL_ERROR", "Internal error.")

    return app
