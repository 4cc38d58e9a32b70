"""The local API Gateway: serves the template's REST API on 127.0.0.1 as API Gateway does in AWS.

It checks the API key, answers CORS preflight from the Api's Cors settings, renders the Api's
GatewayResponses for its own errors, and hands every other request to the API function as the
REST proxy event AWS sends. /_local/* serves the local views (infra/views.py).
"""

import re
import threading
import time
import uuid
from collections.abc import Callable

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from infra.lambda_runtime import InvocationError, LocalLambdaRuntime
from infra.provision import Stack

API_GATEWAY_MAX_BODY = 10 * 1024 * 1024


def _unquote(value: str) -> str:
    return value.strip("'")


def _path_pattern(path: str) -> re.Pattern:
    pattern = re.sub(r"\{(\w+)\+\}", r"(?P<\1>.+)", path)
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
    return re.compile(f"^{pattern}$")


class LocalApiGateway:
    def __init__(self, stack: Stack, runtime: LocalLambdaRuntime, api_key: str, views: Callable[[Request], Response]):
        if len(stack.apis) != 1:
            raise ValueError("the local gateway serves exactly one Api")
        ((self.api_id, self.api),) = stack.apis.items()
        self.stage = self.api.get("StageName", "Prod")
        self.routes = [
            (_path_pattern(path), path, method, function) for api, path, method, function in stack.api_routes if api == self.api_id
        ]
        self.runtime = runtime
        self.api_key = api_key
        self.views = views
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ API Gateway behaviour

    def _gateway_response(self, kind: str, request_id: str, default_status: int) -> Response:
        configured = self.api.get("GatewayResponses", {}).get(kind) or self.api.get("GatewayResponses", {}).get(
            "DEFAULT_5XX" if default_status >= 500 else "DEFAULT_4XX", {}
        )
        template = configured.get("ResponseTemplates", {}).get("application/json", f'{{"message": "{kind}"}}')
        status = int(configured.get("StatusCode", default_status))
        body = template.replace("$context.requestId", request_id)
        # ResponseParameters values are API Gateway literals in single quotes.
        headers = {k: _unquote(v) for k, v in configured.get("ResponseParameters", {}).get("Headers", {}).items()}
        return Response(body, status=status, content_type="application/json", headers={**self._cors_headers(), **headers})

    def _cors_headers(self) -> dict:
        cors = self.api.get("Cors")
        return {"Access-Control-Allow-Origin": _unquote(cors["AllowOrigin"])} if cors else {}

    def _preflight(self) -> Response:
        cors = self.api["Cors"]
        headers = {
            "Access-Control-Allow-Origin": _unquote(cors["AllowOrigin"]),
            "Access-Control-Allow-Methods": _unquote(cors.get("AllowMethods", "'*'")),
            "Access-Control-Allow-Headers": _unquote(cors.get("AllowHeaders", "'*'")),
        }
        return Response("", status=200, headers=headers)

    def _proxy_event(self, request: Request, resource: str, path: str, path_parameters: dict, body: str) -> dict:
        headers = dict(request.headers.items())
        return {
            "resource": resource,
            "path": path,
            "httpMethod": request.method,
            "headers": headers,
            "multiValueHeaders": {k: request.headers.getlist(k) for k in headers},
            "queryStringParameters": dict(request.args) or None,
            "multiValueQueryStringParameters": {k: request.args.getlist(k) for k in request.args} or None,
            "pathParameters": path_parameters or None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": resource,
                "httpMethod": request.method,
                "path": f"/{self.stage}{path}",
                "stage": self.stage,
                "requestId": str(uuid.uuid4()),
                "requestTimeEpoch": int(time.time() * 1000),
                "accountId": "123456789012",
                "apiId": self.api_id.lower(),
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "identity": {
                    "sourceIp": request.remote_addr,
                    "userAgent": request.user_agent.string,
                    "apiKey": request.headers.get("x-api-key"),
                },
            },
            "body": body or None,
            "isBase64Encoded": False,
        }

    def handle(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        prefix = f"/{self.stage}"
        if request.path.startswith("/_local"):
            return self.views(request)
        if not (request.path == prefix or request.path.startswith(prefix + "/")):
            return self._gateway_response("MISSING_AUTHENTICATION_TOKEN", request_id, 403)
        path = request.path[len(prefix) :] or "/"
        match = next(
            (
                (found, resource, function)
                for pattern, resource, method, function in self.routes
                if (found := pattern.match(path)) and method in ("ANY", request.method)
            ),
            None,
        )
        if match is None:
            return self._gateway_response("MISSING_AUTHENTICATION_TOKEN", request_id, 403)
        if request.method == "OPTIONS" and self.api.get("Cors"):
            return self._preflight()
        if self.api.get("Auth", {}).get("ApiKeyRequired") and request.headers.get("x-api-key") != self.api_key:
            return self._gateway_response("INVALID_API_KEY", request_id, 403)
        if (request.content_length or 0) > API_GATEWAY_MAX_BODY:
            return self._gateway_response("REQUEST_TOO_LARGE", request_id, 413)
        found, resource, function = match
        raw = request.get_data(cache=False)
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return self._gateway_response("BAD_REQUEST_BODY", request_id, 400)
        event = self._proxy_event(request, resource, path, found.groupdict(), body)
        try:
            result = self.runtime.invoke(function, event)
        except InvocationError:
            return self._gateway_response("DEFAULT_5XX", request_id, 502)
        response = Response(result.get("body", ""), status=int(result.get("statusCode", 200)))
        response.headers.clear()
        for key, value in (result.get("headers") or {}).items():
            response.headers[key] = str(value)
        for key, values in (result.get("multiValueHeaders") or {}).items():
            for value in values:
                response.headers.add(key, str(value))
        return response

    # ------------------------------------------------------------------ server

    def wsgi(self, environ, start_response):
        return self.handle(Request(environ))(environ, start_response)

    def start(self, port: int) -> None:
        self._server = server = make_server("127.0.0.1", port, self.wsgi, threaded=True)
        self._thread = threading.Thread(target=server.serve_forever, name="local-api-gateway", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the local API gateway is not started")
        return self._server.server_port

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)
