"""The local API Gateway: serves the template's HTTP API on 127.0.0.1 as API Gateway does in AWS.

It answers CORS preflight from the HttpApi's CorsConfiguration (without calling the function, as AWS
does) and sets the configured CORS headers on the function's answers in place of the function's own,
answers what HTTP API answers itself (a path outside the stage, a body over 10 MB, a failed
invocation) with HTTP API's own bodies, and hands every other request to the route's function as
the payload format 2.0 event AWS sends. /_local/* serves the local views (infra/views.py).
"""

import base64
import json
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
# HTTP API's own answers (they cannot be shaped: HTTP API has no gateway responses). README, "HTTP API, not REST".
NOT_FOUND = (404, {"message": "Not Found"})
TOO_LARGE = (413, {"message": "Request Entity Too Large"})
INTEGRATION_FAILED = (500, {"message": "Internal Server Error"})
# Media types HTTP API passes to Lambda as text; any other body arrives base64-encoded.
TEXT_MEDIA_TYPES = re.compile(r"^(text/.*|application/(json|xml|javascript|.*\+json|.*\+xml))$")


def _route_pattern(path: str) -> re.Pattern:
    pattern = re.sub(r"\{(\w+)\+\}", r"(?P<\1>.+)", path)
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
    return re.compile(f"^{pattern}$")


class LocalApiGateway:
    def __init__(self, stack: Stack, runtime: LocalLambdaRuntime, views: Callable[[Request], Response]):
        if len(stack.apis) != 1:
            raise ValueError("the local gateway serves exactly one HttpApi")
        ((self.api_id, self.api),) = stack.apis.items()
        self.stage = self.api.get("StageName", "$default")
        routes = [(path, method, function) for api, path, method, function in stack.api_routes if api == self.api_id]
        self.routes = [(_route_pattern(path), path, method, function) for path, method, function in routes if path != "$default"]
        self.default_route = next((function for path, _, function in routes if path == "$default"), None)
        self.cors = self.api.get("CorsConfiguration")
        self.runtime = runtime
        self.views = views
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ API Gateway behaviour

    @staticmethod
    def _own_answer(answer: tuple[int, dict], request_id: str) -> Response:
        status, body = answer
        return Response(
            json.dumps(body, separators=(",", ":")), status=status, content_type="application/json", headers={"apigw-requestid": request_id}
        )

    def _cors_headers(self, request: Request) -> dict[str, str]:
        """What HTTP API adds to an answer for a cross-origin request (it drops the backend's own CORS headers)."""
        origin = request.headers.get("origin")
        if not self.cors or not origin:
            return {}
        allowed = self.cors.get("AllowOrigins", [])
        if "*" not in allowed and origin not in allowed:
            return {}
        headers = {"Access-Control-Allow-Origin": "*" if "*" in allowed else origin}
        if self.cors.get("ExposeHeaders"):
            headers["Access-Control-Expose-Headers"] = ",".join(self.cors["ExposeHeaders"])
        return headers

    def _preflight(self, request: Request, cors: dict) -> Response:
        headers = self._cors_headers(request)
        if headers:
            headers["Access-Control-Allow-Methods"] = ",".join(cors.get("AllowMethods", ["*"]))
            headers["Access-Control-Allow-Headers"] = ",".join(cors.get("AllowHeaders", ["*"]))
            if "MaxAge" in cors:
                headers["Access-Control-Max-Age"] = str(cors["MaxAge"])
        return Response("", status=204, headers=headers)

    def _event(self, request: Request, route_key: str, path_parameters: dict, raw_body: bytes, request_id: str) -> dict:
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            name = name.lower()
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        cookies = [c.strip() for c in headers.pop("cookie", "").split(";") if c.strip()]
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        as_text = None
        if TEXT_MEDIA_TYPES.match(media_type):
            try:
                as_text = raw_body.decode("utf-8")
            except UnicodeDecodeError:
                as_text = None
        query = {key: ",".join(request.args.getlist(key)) for key in request.args}
        now = time.time()
        source_ip = request.remote_addr or "127.0.0.1"
        event = {
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": request.path,
            "rawQueryString": request.query_string.decode("latin-1"),
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": self.api_id.lower(),
                "domainName": request.host,
                "domainPrefix": request.host.split(".")[0],
                "http": {
                    "method": request.method,
                    "path": request.path,
                    "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                    "sourceIp": source_ip,
                    "userAgent": request.user_agent.string,
                },
                "requestId": request_id,
                "routeKey": route_key,
                "stage": self.stage,
                "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "timeEpoch": int(now * 1000),
            },
            "isBase64Encoded": bool(raw_body) and as_text is None,
        }
        if cookies:
            event["cookies"] = cookies
        if query:
            event["queryStringParameters"] = query
        if path_parameters:
            event["pathParameters"] = path_parameters
        if raw_body:
            event["body"] = as_text if as_text is not None else base64.b64encode(raw_body).decode()
        return event

    def _route(self, request: Request, path: str) -> tuple[str, dict, str] | None:
        """(route key, path parameters, function) of the request, as HTTP API picks it: the most specific route, else $default."""
        for pattern, route_path, method, function in self.routes:
            if (found := pattern.match(path)) and method in ("ANY", request.method):
                return f"{method} {route_path}", found.groupdict(), function
        return ("$default", {}, self.default_route) if self.default_route else None

    def _answer(self, result: dict, request: Request) -> Response:
        """The function's payload 2.0 answer, with HTTP API's CORS headers instead of the function's."""
        body = result.get("body") or ""
        data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
        response = Response(data, status=int(result.get("statusCode", 200)))
        response.headers.clear()
        for key, value in (result.get("headers") or {}).items():
            if not key.lower().startswith("access-control-"):
                response.headers[key] = str(value)
        for key, value in self._cors_headers(request).items():
            response.headers[key] = value
        for cookie in result.get("cookies") or []:
            response.headers.add("Set-Cookie", cookie)
        return response

    def handle(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        if request.path.startswith("/_local"):
            return self.views(request)
        prefix = "" if self.stage == "$default" else f"/{self.stage}"
        if not (request.path == prefix or request.path.startswith(prefix + "/")):
            return self._own_answer(NOT_FOUND, request_id)
        if request.method == "OPTIONS" and self.cors:
            return self._preflight(request, self.cors)
        route = self._route(request, request.path[len(prefix) :] or "/")
        if route is None:
            return self._own_answer(NOT_FOUND, request_id)
        if (request.content_length or 0) > API_GATEWAY_MAX_BODY:
            return self._own_answer(TOO_LARGE, request_id)
        route_key, path_parameters, function = route
        event = self._event(request, route_key, path_parameters, request.get_data(cache=False), request_id)
        try:
            result = self.runtime.invoke(function, event)
        except InvocationError:
            return self._own_answer(INTEGRATION_FAILED, request_id)
        return self._answer(result, request)

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
