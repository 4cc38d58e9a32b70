"""API Gateway HTTP API events (payload format 2.0) for calling the API handler in-process (the shape
infra/gateway.py sends).

The template routes every request of the v1 stage to ApiFunction through the $default route, so that
is the event's routeKey; header names are lower-case, as HTTP API sends them.
"""

import base64
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from infra.gateway import TEXT_MEDIA_TYPES

API_KEY = "unit-api-key"
SOURCE_IP = "192.0.2.10"


def api_gateway_event(
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    source_ip: str = SOURCE_IP,
) -> dict:
    """The event for `method /v1<path>`; a dict or list body is sent as JSON, a str or bytes body as
    given, base64-encoded as HTTP API sends a body whose media type is not text (application/x-ndjson)."""
    if isinstance(body, bytes | str) or body is None:
        raw = body.encode() if isinstance(body, str) else body
    else:
        raw = json.dumps(body).encode()
    all_headers = {
        "host": "api.unit.test",
        "x-api-key": API_KEY,
        **({"content-type": "application/json"} if raw else {}),
        **{name.lower(): value for name, value in (headers or {}).items()},
    }
    sent = {} if raw is None else _sent_body(raw, all_headers.get("content-type", ""))
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": f"/v1{path}",
        "rawQueryString": urlencode(query or {}),
        "headers": all_headers,
        **({"queryStringParameters": query} if query else {}),
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "unitapi",
            "domainName": "api.unit.test",
            "domainPrefix": "api",
            "http": {"method": method, "path": f"/v1{path}", "protocol": "HTTP/1.1", "sourceIp": source_ip, "userAgent": "unit-test"},
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "v1",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
        **sent,
    }


def _sent_body(raw: bytes, content_type: str) -> dict:
    """body and isBase64Encoded as HTTP API sends them: text media types as UTF-8 text, anything else encoded."""
    if TEXT_MEDIA_TYPES.match(content_type.split(";")[0].strip().lower()):
        try:
            return {"body": raw.decode(), "isBase64Encoded": False}
        except UnicodeDecodeError:
            pass
    return {"body": base64.b64encode(raw).decode(), "isBase64Encoded": True}


def answer(result: dict) -> tuple[int, Any, dict[str, str]]:
    """The handler's status code, JSON body and headers (payload 2.0 answers carry them single-valued)."""
    return result["statusCode"], json.loads(result["body"]) if result.get("body") else None, result.get("headers") or {}
