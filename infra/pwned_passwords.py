"""A loopback stand-in for the Pwned Passwords range API (https://api.pwnedpasswords.com/range/<prefix>).

It answers as the real service does: for the first 5 hex digits of a SHA-1, every known suffix of
that range as SUFFIX:COUNT lines, and with the Add-Padding header, extra lines of count 0 so that the
answer's size says nothing. It knows a handful of passwords seen in breaches, none of them in Django's
common-password list, so that a test refusing one proves the range API was asked.
"""

import hashlib
import re
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BREACHED_PASSWORDS = (
    "correcthorsebatterystaple",
    "passwordpassword",
    "iloveyouiloveyou",
    "qwertyuiopasdfghjkl",
    "letmeinletmein123",
)
_PADDING_LINES = 20


def _sha1(password: str) -> str:
    return hashlib.sha1(password.encode(), usedforsecurity=False).hexdigest().upper()


class PwnedPasswordsRange:
    def __init__(self, breached: tuple[str, ...] = BREACHED_PASSWORDS):
        self.counts = {_sha1(password): 1000 + index for index, password in enumerate(breached)}
        self.requests: list[str] = []
        self.url = ""
        self._server: ThreadingHTTPServer | None = None

    def answer(self, prefix: str, padded: bool) -> str:
        lines = [f"{digest[5:]}:{count}" for digest, count in self.counts.items() if digest.startswith(prefix)]
        if padded:
            lines += [f"{secrets.token_hex(18)[:35].upper()}:0" for _ in range(_PADDING_LINES)]
        return "\r\n".join(lines)

    def start(self) -> "PwnedPasswordsRange":
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                found = re.fullmatch(r"/range/([0-9A-Fa-f]{5})", self.path)
                if not found:
                    self.send_error(400, "The hash prefix was not in a valid format")
                    return
                prefix = found.group(1).upper()
                service.requests.append(prefix)
                body = service.answer(prefix, self.headers.get("Add-Padding", "").lower() == "true").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/range"
        threading.Thread(target=self._server.serve_forever, name="pwned-passwords", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
