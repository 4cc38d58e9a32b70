"""An HTTP client for the local stack's API and local views, as a user with curl would use them."""

import json
import re
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pyotp


class _MailReader(HTMLParser):
    """What a mail client shows of an HTML body: the text, tags gone and character references decoded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def mail_text(body: str) -> str:
    """The text a user reads in a mail, its whitespace collapsed as a mail client renders it."""
    reader = _MailReader()
    reader.feed(body)
    reader.close()
    return " ".join("".join(reader.parts).split())


def mailed_temporary_password(body: str) -> str | None:
    """The temporary password as the user reads it in the invitation, or None if it has none."""
    found = re.search(r"temporary password: (\S+)", mail_text(body))
    return found.group(1) if found else None


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

    def mail_to(self, email: str) -> list[dict]:
        return [m for m in self.local("mail") if email in m["to"]]

    def temporary_password(self, email: str, previous: str | None = None, timeout: float = 10) -> str:
        """The temporary password of the newest invitation to email (waits for it to arrive)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in reversed(self.mail_to(email)):
                password = mailed_temporary_password(message["body"])
                if password and password != previous:
                    return password
            time.sleep(0.1)
        raise AssertionError(f"no invitation reached {email}")

    def reset_code(self, email: str, timeout: float = 10) -> str:
        """The code of the newest password reset mail to email (waits for it to arrive)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in reversed(self.mail_to(email)):
                found = re.search(r"password reset code: <b>(\d{6})</b>", message["body"])
                if found:
                    return found.group(1)
            time.sleep(0.1)
        raise AssertionError(f"no reset code reached {email}")

    def onboarding(self, user_id: str, headers: dict | None = None) -> HttpResponse:
        """GET /users/{id}/onboarding as the user's creator, with the status token POST /users answered."""
        return self.get(f"/users/{user_id}/onboarding", headers={"x-status-token": self.status_tokens.get(user_id), **(headers or {})})

    def wait_for_status(self, user_id: str, status: str, timeout: float = 15) -> dict:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.onboarding(user_id).json()
            if last.get("status") == status:
                return last
            time.sleep(0.1)
        raise AssertionError(f"user {user_id} never reached {status}; last answer {last}")


def unique_email(tag: str = "user") -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.com"


NEW_PASSWORD = "Correct-Horse-9-Battery"


def current_otp(secret: str) -> str:
    """The authenticator app's current code, avoiding the last second of a 30-second step."""
    totp = pyotp.TOTP(secret)
    if 30 - time.time() % 30 < 1.5:
        time.sleep(1.6)
    return totp.now()


def wrong_otp(secret: str) -> str:
    valid = {pyotp.TOTP(secret).at(time.time() + offset) for offset in (-30, 0, 30)}
    return next(code for code in (f"{n:06d}" for n in range(1000000)) if code not in valid)


@dataclass
class ActiveUser:
    email: str
    user_id: str
    password: str
    totp_secret: str
    recovery_codes: list[str] = field(default_factory=list)

    def otp(self, step_offset: int = 0) -> str:
        """A valid code: the current step's, or a neighbouring step's (Cognito accepts one step of skew)."""
        if step_offset:
            return pyotp.TOTP(self.totp_secret).at(time.time() + 30 * step_offset)
        return current_otp(self.totp_secret)


def sign_in(api: ApiClient, user: ActiveUser, step_offset: int = 0) -> HttpResponse:
    """The answer (200, the tokens) of a full sign-in over HTTP: password, then the authenticator's code
    (of a neighbouring step for a second sign-in within 30 s: a code is accepted once)."""
    first = api.post("/login", {"email": user.email, "password": user.password})
    assert first.status == 200, first.body
    tokens = api.post(
        "/mfa-verify",
        {
            "email": user.email,
            "verification_type": "SOFTWARE_TOKEN_MFA",
            "verification_session": first.json()["verification_session"],
            "otp_code": user.otp(step_offset),
        },
    )
    assert tokens.status == 200, tokens.body
    return tokens


def onboard(api: ApiClient, tag: str = "active", full_name: str = "Ada Lovelace") -> ActiveUser:
    """A user taken through the whole onboarding to ACTIVE over HTTP."""
    email = unique_email(tag)
    created = api.post("/users", {"full_name": full_name, "email": email})
    assert created.status == 201, created.body
    user_id = created.json()["user_id"]
    api.wait_for_status(user_id, "INVITED")
    temporary = api.temporary_password(email)
    confirmed = api.post(f"/users/{user_id}/confirm", {"email": email, "temporary_password": temporary, "new_password": NEW_PASSWORD})
    assert confirmed.status == 200, confirmed.body
    secret = confirmed.json()["qr_code_secret"]
    api.wait_for_status(user_id, "MFA_PENDING")
    # The next step's code: the code of the current step stays free for the first login.
    enrolled = api.post(f"/users/{user_id}/confirm-mfa", {"email": email, "otp": pyotp.TOTP(secret).at(time.time() - 30)})
    assert enrolled.status == 200, enrolled.body
    api.wait_for_status(user_id, "ACTIVE")
    return ActiveUser(email, user_id, NEW_PASSWORD, secret, enrolled.json()["recovery_codes"])


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
    return Admin(user, sign_in(api, user).json()["access_token"])
