"""An HTTP client for the local stack's API and local views, as a user with curl would use them."""

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

import pyotp

from tests.support import flows
from tests.support.flows import ActiveUser


@dataclass
class HttpResponse:
    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class ApiClient:
    """Keeps the status token of every user it creates, as the creating back end does, to poll their onboarding."""

    api_url: str
    local_url: str
    api_key: str
    status_tokens: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, body=None, headers: dict | None = None, raw: bytes | None = None) -> HttpResponse:
        all_headers = {"x-api-key": self.api_key, "content-type": "application/json", **(headers or {})}
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        url = path if path.startswith("http") else self.api_url + path
        request = urllib.request.Request(url, data=data, method=method, headers={k: v for k, v in all_headers.items() if v is not None})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answer = HttpResponse(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return HttpResponse(error.code, dict(error.headers), error.read())
        if (method, path) == ("POST", "/users") and answer.status == 201:
            created = answer.json()
            self.status_tokens[created["user_id"]] = created["status_token"]
        return answer

    def post(self, path: str, body=None, **kwargs) -> HttpResponse:
        return self.request("POST", path, body, **kwargs)

    def get(self, path: str, **kwargs) -> HttpResponse:
        return self.request("GET", path, **kwargs)

    def local(self, view: str):
        return self.get(f"{self.local_url}/{view}", headers={"accept": "application/json"}).json()

    def onboarding(self, user_id: str, headers: dict | None = None) -> HttpResponse:
        """GET /users/{id}/onboarding as the user's creator, with the status token POST /users answered."""
        return self.get(f"/users/{user_id}/onboarding", headers={"x-status-token": self.status_tokens.get(user_id), **(headers or {})})

    # The flows' Observer (tests/support/flows.py), as a user with curl sees the stack.

    def mail(self, email: str) -> list[dict]:
        return self.local(f"mail?to={urllib.parse.quote(email)}")

    def onboarding_record(self, user_id: str) -> dict:
        answer = self.onboarding(user_id)
        return answer.json() if answer.status == 200 else {}

    def temporary_password(self, email: str, previous: str | None = None) -> str:
        """The temporary password of the newest invitation to email (waits for it to arrive)."""
        return flows.temporary_password(self, email, previous)

    def reset_code(self, email: str, previous: str | None = None) -> str:
        """The code of the newest password reset mail to email (waits for it to arrive)."""
        return flows.reset_code(self, email, previous)

    def wait_for_status(self, user_id: str, status: str, timeout: float = 30) -> dict:
        return flows.wait_for_status(self, user_id, status, timeout)


def wrong_otp(secret: str) -> str:
    valid = {pyotp.TOTP(secret).at(time.time() + offset) for offset in (-30, 0, 30)}
    return next(code for code in (f"{n:06d}" for n in range(1000000)) if code not in valid)


def onboard(api: ApiClient, tag: str = "active", full_name: str = "Ada Lovelace") -> ActiveUser:
    """A user taken through the whole onboarding to ACTIVE over HTTP (the API client observes too)."""
    return flows.onboard(api, api, tag, full_name)


@dataclass
class Admin:
    user: ActiveUser
    access_token: str

    @property
    def headers(self) -> dict:
        return {"authorization": f"Bearer {self.access_token}"}


def make_admin(api: ApiClient, tag: str = "admin") -> Admin:
    """An onboarded user added to the admins group as an operator does it (`authflow admins add`), signed in."""
    from authflow_cli.sources import LocalSource

    user = onboard(api, tag)
    LocalSource(url=api.local_url.removesuffix("/_local")).add_admin(user.email)
    return Admin(user, flows.sign_in(api, user).tokens["access_token"])
