"""API Gateway REST proxy events for calling the API handler in-process (the shape infra/gateway.py sends).

Like the Powertools cookbook's generate_api_gw_event: the template routes every path of the v1 stage
to ApiFunction through /{proxy+}, so that is the event's resource.
"""

import json
import time
import uuid
from typing import Any

API_KEY = "unit-api-key"


def api_gateway_event(
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> dict:
    """The event for `method /v1<path>`; a dict or list body is sent as JSON."""
    text = body if isinstance(body, str) or body is None else json.dumps(body)
    all_headers = {
        "Host": "api.unit.test",
        "x-api-key": API_KEY,
        **({"Content-Type": "application/json"} if text else {}),
        **(headers or {}),
    }
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": f"/v1{path}",
            "stage": "v1",
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "accountId": "123456789012",
            "apiId": "unitapi",
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": "192.0.2.10", "userAgent": "unit-test", "apiKey": API_KEY},
        },
        "body": text,
        "isBase64Encoded": False,
    }


def answer(result: dict) -> tuple[int, Any, dict[str, str]]:
    """The handler's status code, JSON body and headers (a REST proxy answer may carry them multi-valued)."""
    headers = {**{k: v[-1] for k, v in (result.get("multiValueHeaders") or {}).items()}, **(result.get("headers") or {})}
    return result["statusCode"], json.loads(result["body"]) if result.get("body") else None, headers
