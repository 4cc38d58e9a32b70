"""A real HTTP receiver of webhooks on 127.0.0.1, as an app back end would run one."""

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Delivery:
    """One request the receiver got: its headers, its raw body, when, and what it answered."""

    headers: dict[str, str]
    body: bytes
    received_at: float
    answered: int

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """Answers each POST with answer(n) for the n-th request (0-based): 204 by default; a failure with
    the Retry-After header retry_after, if given; after hold(n) is set, if given (a slow endpoint)."""

    answer: Callable[[int], int] = lambda n: 204
    retry_after: str | None = None
    hold: threading.Event | None = None
    deliveries: list[Delivery] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if receiver.hold is not None:
                    receiver.hold.wait(30)
                with receiver._lock:
                    status = receiver.answer(len(receiver.deliveries))
                    receiver.deliveries.append(Delivery({k.lower(): v for k, v in self.headers.items()}, body, time.monotonic(), status))
                self.send_response(status)
                if receiver.retry_after and status >= 300:
                    self.send_header("retry-after", receiver.retry_after)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/hooks/authflow"

    def __enter__(self) -> "WebhookReceiver":
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._server.shutdown()
        self._server.server_close()

    def received(self, predicate: Callable[[Delivery], bool] = lambda d: True) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if predicate(d)]

    def wait_for(self, predicate: Callable[[list[Delivery]], bool], timeout: float = 20) -> list[Delivery]:
        """Waits until predicate holds for everything received so far; returns it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.received()
            if predicate(got):
                return got
            time.sleep(0.05)
        raise AssertionError(f"the receiver did not get what was expected in {timeout} s; it got {[d.json() for d in self.received()]}")
