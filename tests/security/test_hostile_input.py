"""Hostile input written by hand, each case with the status and code it must get.

Beyond the HTTP-edge basics of tests/e2e/test_http_contract.py: broken and non-UTF-8 JSON, JSON
that is not an object, content types, the 16 KiB limit at its exact boundary, unknown fields and
wrong types, JSON nested thousands deep and numbers past the parser's limits, control characters
and markup in names (and the invitation mail that shows them), long and internationalised emails,
user ids that are not uuids, API key variants, and forged, expired and foreign tokens.

Every error must be in the one error shape and carry nosniff and no-store, the function's answers
before routing included (OWASP ASVS 5.0 3.4.4, 14.3.2); token answers carry no-store. HTTP API's own
few answers (outside the stage, over 10 MB) are its documented bodies.
"""

import base64
import hashlib
import hmac
import http.client
import json
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import jwt
import pyotp
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from moto.cognitoidp.models import cognitoidp_backends
from moto.core import DEFAULT_ACCOUNT_ID

from tests.support.client import HttpResponse, onboard
from tests.support.flows import sign_in, unique_email

pytestmark = pytest.mark.e2e

ERROR_KEYS = {"code", "message", "request_id"}


def assert_error(response, status: int, code: str) -> None:
    assert response.status == status, (response.status, response.body[:300])
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == ERROR_KEYS, body
    assert all(isinstance(v, str) and v for v in body["error"].values()), body
    assert body["error"]["code"] == code, body
    assert response.headers.get("X-Content-Type-Options") == "nosniff", response.headers
    assert response.headers.get("Cache-Control") == "no-store", response.headers


def send(api, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> HttpResponse:
    """One request with exactly these headers (urllib would add a form content type to a bare body);
    the API key is sent unless headers set it (None leaves it out)."""
    url = urlsplit(path if path.startswith("http") else api.api_url + path)
    wanted = {"x-api-key": api.api_key, **(headers or {})}
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=30)
    try:
        connection.putrequest(method, url.path + (f"?{url.query}" if url.query else ""), skip_accept_encoding=True)
        for name, value in wanted.items():
            if value is not None:
                connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body or b"")))
        connection.endheaders(body or b"")
        answer = connection.getresponse()
        return HttpResponse(answer.status, dict(answer.getheaders()), answer.read())
    finally:
        connection.close()


def _login_body(**fields) -> bytes:
    return json.dumps({"email": "nobody@example.com", "password": "Not-The-Password-1!", **fields}, ensure_ascii=False).encode()


def _sized_login_body(size: int, char: str = "x") -> bytes:
    """A login body of exactly `size` bytes (its password is padded)."""
    empty = len(_login_body(password=""))
    pad = size - empty
    width = len(char.encode())
    body = _login_body(password=char * (pad // width) + "x" * (pad % width))
    assert len(body) == size
    assert char == "x" or len(body.decode()) <= 16 * 1024  # fewer characters than bytes: the limit counts bytes
    return body


# ----------------------------------------------------------------------------------- request bodies
# (raw body, content type, status, code); bodies over HTTP API's 10 MB never reach the function (below)
BODY_CASES = [
    pytest.param(b'{"email": "a@example.com", "password": "x",}', "application/json", 400, "MALFORMED_JSON", id="trailing-comma"),
    pytest.param(b"{'email': 'a@example.com', 'password': 'x'}", "application/json", 400, "MALFORMED_JSON", id="single-quotes"),
    pytest.param(_login_body() + b" trailing", "application/json", 400, "MALFORMED_JSON", id="trailing-garbage"),
    pytest.param(b"\xef\xbb\xbf" + _login_body(), "application/json", 400, "MALFORMED_JSON", id="utf8-bom"),
    pytest.param(
        '{"email": "é@example.com", "password": "x"}'.encode("latin-1"), "application/json", 400, "MALFORMED_JSON", id="latin-1-not-utf8"
    ),
    pytest.param(_login_body().decode().encode("utf-16"), "application/json", 400, "MALFORMED_JSON", id="utf-16"),
    pytest.param(b"[]", "application/json", 400, "INVALID_REQUEST", id="json-array"),
    pytest.param(b"null", "application/json", 400, "INVALID_REQUEST", id="json-null"),
    pytest.param(b'"a@example.com"', "application/json", 400, "INVALID_REQUEST", id="json-string"),
    pytest.param(b"", "application/json", 400, "INVALID_REQUEST", id="empty-body"),
    pytest.param(_login_body(), "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE", id="text-plain"),
    pytest.param(_login_body(), None, 415, "UNSUPPORTED_MEDIA_TYPE", id="no-content-type"),
    pytest.param(_login_body(), "application/jsonp", 415, "UNSUPPORTED_MEDIA_TYPE", id="json-lookalike-type"),
    pytest.param(
        b"--x\r\nContent-Disposition: form-data; name=email\r\n\r\na@example.com\r\n--x--",
        "multipart/form-data; boundary=x",
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        id="multipart",
    ),
    pytest.param(_login_body(), "application/json; charset=utf-8", 401, "INVALID_CREDENTIALS", id="json-with-charset-accepted"),
    pytest.param(_sized_login_body(16 * 1024), "application/json", 400, "INVALID_REQUEST", id="exactly-16KiB-accepted-then-validated"),
    pytest.param(_sized_login_body(16 * 1024 + 1), "application/json", 413, "PAYLOAD_TOO_LARGE", id="16KiB-plus-one-byte"),
    pytest.param(
        _sized_login_body(16 * 1024 + 2, char="é"), "application/json", 413, "PAYLOAD_TOO_LARGE", id="16KiB-counted-in-bytes-not-chars"
    ),
    pytest.param(_login_body(is_admin=True), "application/json", 400, "INVALID_REQUEST", id="unknown-field"),
    pytest.param(_login_body(__proto__={"admin": True}), "application/json", 400, "INVALID_REQUEST", id="proto-pollution-field"),
    pytest.param(_login_body(email=42), "application/json", 400, "INVALID_REQUEST", id="email-number"),
    pytest.param(_login_body(email=True), "application/json", 400, "INVALID_REQUEST", id="email-bool"),
    pytest.param(_login_body(password=None), "application/json", 400, "INVALID_REQUEST", id="password-null"),
    pytest.param(_login_body(password={"$ne": ""}), "application/json", 400, "INVALID_REQUEST", id="password-operator-object"),
    pytest.param(_login_body(email=["a@example.com"]), "application/json", 400, "INVALID_REQUEST", id="email-list"),
    pytest.param(b'{"email": NaN, "password": "x"}', "application/json", 400, "INVALID_REQUEST", id="nan-literal"),
    pytest.param(b'{"email": 1e999, "password": "x"}', "application/json", 400, "INVALID_REQUEST", id="float-overflow"),
    pytest.param(b"[" * 5000 + b"]" * 5000, "application/json", 400, "MALFORMED_JSON", id="5000-nested-arrays"),
    pytest.param(b'{"a":' * 2000 + b"1" + b"}" * 2000, "application/json", 400, "MALFORMED_JSON", id="2000-nested-objects"),
    pytest.param(
        b'{"email": ' + b"[" * 5000 + b"]" * 5000 + b', "password": "x"}',
        "application/json",
        400,
        "MALFORMED_JSON",
        id="nesting-inside-a-field",
    ),
    pytest.param(b'{"email": 1' + b"0" * 5000 + b', "password": "x"}', "application/json", 400, "MALFORMED_JSON", id="5001-digit-integer"),
]


@pytest.mark.parametrize("raw, content_type, status, code", BODY_CASES)
def test_hostile_body_gets_its_status_and_code(api, raw, content_type, status, code):
    answer = send(api, "POST", "/login", raw, {"content-type": content_type})
    assert_error(answer, status, code)


# ----------------------------------------------------------------------------------- names and mail


@pytest.mark.parametrize(
    "full_name",
    [
        pytest.param("Ada\x00Lovelace", id="nul"),
        pytest.param("Ada\x1b[2J\x1b[31mLovelace", id="ansi-escape"),
        pytest.param("Ada\r\nBcc: victim@example.com", id="crlf-header-injection"),
        pytest.param("Ada\tLovelace", id="tab"),
        pytest.param("Ada\x7f", id="del"),
        pytest.param("Ada\x85Lovelace", id="c1-next-line"),
        pytest.param("Ada\x9b2J", id="c1-csi"),
    ],
)
def test_control_characters_in_full_name_are_refused(api, full_name):
    assert_error(api.post("/users", {"full_name": full_name, "email": unique_email("ctl")}), 400, "INVALID_REQUEST")


def _invitation(api, email: str, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = api.mail(email)
        if messages:
            return messages[-1]["body"]
        time.sleep(0.1)
    raise AssertionError(f"no invitation reached {email}")


@pytest.mark.parametrize(
    "full_name, raw",
    [
        pytest.param("<script>alert(1)</script>", "<script>", id="script-tag"),
        pytest.param('"><img/src=x/onerror=alert(1)>', "<img", id="attribute-breakout"),
        pytest.param("{{7*7}}", "Hello 49,", id="template-expression"),
        pytest.param("${jndi:ldap://127.0.0.1:1/a}", "ldap:", id="jndi-lookup"),
        pytest.param("$name", "Hello Hello", id="python-template-placeholder"),
        pytest.param("https://evil.example/login Support", "evil.example", id="phishing-link"),
    ],
)
def test_anything_but_a_plain_name_in_full_name_is_accepted_and_left_out_of_the_invitation(api, full_name, raw):
    """The greeting shows only letters, spaces and '-. (a phishing line with a URL once went out)."""
    email = unique_email("markup")
    created = api.post("/users", {"full_name": full_name, "email": email})
    assert created.status == 201, created.body
    body = _invitation(api, email)
    assert "Hello there," in body, body
    assert raw not in body, body


def test_a_plain_name_is_greeted_in_the_invitation(api):
    email = unique_email("plain-name")
    assert api.post("/users", {"full_name": "Anne-Marie O'Neil", "email": email}).status == 201
    assert "Hello Anne-Marie," in _invitation(api, email)


# ----------------------------------------------------------------------------------- emails


@pytest.mark.parametrize(
    "email",
    [
        pytest.param("a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 58 + ".com", id="255-chars"),
        pytest.param("x@" + ".".join(["a" * 63] * 4) + ".com", id="261-chars"),
        pytest.param("a@" + "b" * 64 + ".com", id="domain-label-over-63"),
        pytest.param("a@example.com\x00", id="nul"),
        pytest.param("a@example.com\r\nBcc: victim@example.com", id="crlf"),
        pytest.param("a@@example.com", id="double-at"),
        pytest.param("a@[127.0.0.1]", id="ip-literal"),
        pytest.param("a@localhost", id="no-dot-domain"),
        pytest.param('"a b"@example.com', id="quoted-local-part"),
    ],
)
def test_invalid_or_overlong_emails_are_400(api, email):
    assert_error(api.post("/users", {"full_name": "Ada Lovelace", "email": email}), 400, "INVALID_REQUEST")


def test_internationalised_domains_are_accepted_normalised_and_deduplicated(api):
    """An internationalised domain (IDN) is accepted: the address is NFKC-normalised and lower-cased,
    and the IDN's punycode turned into its Unicode form, so each way of writing the same address finds
    the user already created (409), never a 5xx. The part before the @ must be ASCII (issue 15 item 7)."""
    tag = uuid.uuid4().hex[:8]
    created = api.post("/users", {"full_name": "José Núñez", "email": f"JOSE-{tag}@BÜCHER.example"})
    assert created.status == 201, created.body
    assert created.json()["email"] == f"jose-{tag}@bücher.example"
    for same in (
        f"jose-{tag}@bücher.example",  # as answered
        f"jose-{tag}@bu\u0308cher.example",  # NFD: u + combining diaeresis
        f"jose-{tag}@xn--bcher-kva.example",  # the IDN's ASCII (punycode) form
    ):
        assert_error(api.post("/users", {"full_name": "José Núñez", "email": same}), 409, "EMAIL_ALREADY_EXISTS")
    cjk = api.post("/users", {"full_name": "Li Wei", "email": f"li-{tag}@例子.广告"})
    assert cjk.status == 201, cjk.body
    assert api.post("/forgot-password", {"email": f"li-{tag}@例子.广告"}).status == 200
    for non_ascii_local_part in (f"josé-{tag}@bücher.example", f"用户{tag}@例子.广告"):
        assert_error(api.post("/users", {"full_name": "Li Wei", "email": non_ascii_local_part}), 400, "INVALID_EMAIL")


# ----------------------------------------------------------------------------------- user ids

NIL = "00000000-0000-0000-0000-000000000000"


@pytest.mark.parametrize(
    "method, path, status, code",
    [
        pytest.param("GET", "/users/123/onboarding", 400, "INVALID_REQUEST", id="number"),
        pytest.param("GET", "/users/00000000-0000-0000-0000-00000000000g/onboarding", 400, "INVALID_REQUEST", id="non-hex"),
        pytest.param("GET", "/users/'%20OR%201=1%20--/onboarding", 400, "INVALID_REQUEST", id="sql-injection"),
        pytest.param("DELETE", "/users/*", 400, "INVALID_REQUEST", id="wildcard-delete"),
        pytest.param("POST", "/users/%2E%2E/confirm", 400, "INVALID_REQUEST", id="dot-dot"),
        pytest.param("POST", "/users/..%2F..%2Fwebhooks/confirm", 404, "NOT_FOUND", id="encoded-slash-traversal"),
        pytest.param("GET", "/users/%00/onboarding", 404, "NOT_FOUND", id="nul"),
        pytest.param("GET", f"/users/{NIL}/onboarding", 404, "USER_NOT_FOUND", id="nil-uuid"),
        pytest.param(
            "GET", "/users/{3FA85F64-5717-4562-B3FC-2C963F66AFA6}/onboarding", 404, "USER_NOT_FOUND", id="braced-upper-uuid-parsed"
        ),
    ],
)
def test_user_ids_that_are_not_uuids(api, method, path, status, code):
    body = {"email": "a@example.com", "temporary_password": "x", "new_password": "y"} if method == "POST" else None
    assert_error(api.request(method, path, body), status, code)


# ----------------------------------------------------------------------------------- API key


@pytest.mark.parametrize(
    "method, path, headers",
    [
        pytest.param("POST", "/login", {"x-api-key": ""}, id="empty"),
        pytest.param("POST", "/login", {"x-api-key": "local-api-key "}, id="trailing-space"),
        pytest.param("POST", "/login", {"x-api-key": "LOCAL-API-KEY"}, id="other-case"),
        pytest.param("POST", "/login", {"x-api-key": "local-api-ke"}, id="prefix"),
        pytest.param("POST", "/login?x-api-key=local-api-key", {"x-api-key": None}, id="in-query-string"),
        pytest.param("POST", "/login", {"x-api-key": None, "authorization": "Bearer local-api-key"}, id="as-bearer"),
        pytest.param("GET", "/openapi.json", {"x-api-key": None}, id="openapi-needs-it-too"),
        pytest.param("DELETE", f"/users/{NIL}", {"x-api-key": None}, id="delete"),
    ],
)
def test_a_missing_or_wrong_api_key_is_403(api, local_stack, method, path, headers):
    assert local_stack.api_key == "local-api-key"
    assert_error(
        api.request(method, path, {"email": "a@example.com", "password": "x"} if method == "POST" else None, headers=headers),
        403,
        "FORBIDDEN",
    )


def test_the_api_key_header_name_is_case_insensitive(api, local_stack):
    answer = api.post("/login", {"email": "a@example.com", "password": "x"}, headers={"x-api-key": None, "X-API-KEY": local_stack.api_key})
    assert_error(answer, 401, "INVALID_CREDENTIALS")


# ----------------------------------------------------------------------------------- before routing

# What the function answers before any route runs (the API key, a body that is not UTF-8).
BEFORE_ROUTING = [
    pytest.param(
        "POST", "/login", _login_body(), {"x-api-key": None, "content-type": "application/json"}, 403, "FORBIDDEN", id="missing-api-key"
    ),
    pytest.param("POST", "/login", "é".encode("latin-1"), {"content-type": "application/json"}, 400, "MALFORMED_JSON", id="not-utf8"),
    pytest.param("GET", "/nowhere", None, {}, 404, "NOT_FOUND", id="unknown-route-of-the-stage"),
]


@pytest.mark.parametrize("method, path, raw, headers, status, code", BEFORE_ROUTING)
def test_answers_before_routing_are_in_the_error_shape_and_carry_nosniff_and_no_store(api, method, path, raw, headers, status, code):
    assert_error(send(api, method, path, raw, headers), status, code)


# HTTP API's own answers, which it cannot shape (it has no gateway responses): the README quotes them
# ("HTTP API, not REST"). {root}: the host, without the stage.
HTTP_API_OWN_ANSWERS = [
    pytest.param("GET", "{root}/v2/login", None, {}, 404, {"message": "Not Found"}, id="outside-the-stage"),
    pytest.param(
        "POST",
        "/login",
        b'{"email": "' + b"a" * (10 * 1024 * 1024) + b'"}',
        {"content-type": "application/json"},
        413,
        {"message": "Request Entity Too Large"},
        id="over-10MB",
    ),
]


@pytest.mark.parametrize("method, path, raw, headers, status, body", HTTP_API_OWN_ANSWERS)
def test_http_apis_own_answers_are_the_documented_bodies(api, method, path, raw, headers, status, body):
    answer = send(api, method, path.replace("{root}", api.api_url.rsplit("/", 1)[0]), raw, headers)
    assert (answer.status, answer.body) == (status, json.dumps(body, separators=(",", ":")).encode())
    assert f"`{answer.body.decode()}`" in (Path(__file__).parents[2] / "README.md").read_text()


# ----------------------------------------------------------------------------------- tokens


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segments(token: str) -> tuple[dict, dict]:
    header, payload, _ = token.split(".")
    return json.loads(base64.urlsafe_b64decode(header + "==")), json.loads(base64.urlsafe_b64decode(payload + "=="))


@pytest.fixture(scope="module")
def signed_in(api, local_stack):
    """An active user signed in through the API: (user, tokens answer)."""
    user = onboard(api, "hostile-tokens")
    tokens = sign_in(api, user).answer
    assert tokens.status == 200, tokens.body
    return user, tokens


@pytest.fixture(scope="module")
def pool_key(local_stack):
    """The local Cognito pool's own signing key: tokens signed with it pass the signature check."""
    pool = cognitoidp_backends[DEFAULT_ACCOUNT_ID][local_stack.region].user_pools[local_stack.stack.refs["UserPool"]]
    return pool.json_web_key.as_pem(private=True)


@pytest.fixture(scope="module")
def other_client_token(api, local_stack):
    """A real, correctly signed access token of the same pool issued to another app client."""
    cognito = boto3.client("cognito-idp", region_name=local_stack.region)
    pool_id = local_stack.stack.refs["UserPool"]
    other = cognito.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="security-tests-another-client",
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    user = onboard(api, "other-client")
    challenge = cognito.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=other,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": user.user_id, "PASSWORD": user.password},
    )
    assert challenge["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    result = cognito.admin_respond_to_auth_challenge(
        UserPoolId=pool_id,
        ClientId=other,
        ChallengeName="SOFTWARE_TOKEN_MFA",
        Session=challenge["Session"],
        ChallengeResponses={"USERNAME": user.user_id, "SOFTWARE_TOKEN_MFA_CODE": pyotp.TOTP(user.totp_secret).now()},
    )
    token = result["AuthenticationResult"]["AccessToken"]
    assert _segments(token)[1]["client_id"] == other
    return token


def _forged(kind: str, access_token: str, pool_key: bytes) -> str:
    header, claims = _segments(access_token)
    now = int(time.time())
    if kind == "alg-none-with-the-pool-kid":
        return f"{_b64(json.dumps({**header, 'alg': 'none'}).encode())}.{_b64(json.dumps(claims).encode())}."
    if kind == "hs256-keyed-with-the-pool-public-key":
        from cryptography.hazmat.primitives import serialization

        public = (
            serialization.load_pem_private_key(pool_key, None)
            .public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
        signing_input = f"{_b64(json.dumps({**header, 'alg': 'HS256'}).encode())}.{_b64(json.dumps(claims).encode())}"
        return f"{signing_input}.{_b64(hmac.new(public, signing_input.encode(), hashlib.sha256).digest())}"
    if kind == "foreign-rsa-key-with-the-pool-kid":
        foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return jwt.encode(claims, foreign, algorithm="RS256", headers={"kid": header["kid"]})
    if kind == "expired-signed-by-the-pool":
        return jwt.encode(
            {**claims, "iat": now - 7200, "auth_time": now - 7200, "exp": now - 60},
            pool_key,
            algorithm="RS256",
            headers={"kid": header["kid"]},
        )
    if kind == "no-exp-signed-by-the-pool":
        return jwt.encode({k: v for k, v in claims.items() if k != "exp"}, pool_key, algorithm="RS256", headers={"kid": header["kid"]})
    if kind == "another-pool-issuer-signed-by-the-same-key":
        return jwt.encode(
            {**claims, "iss": claims["iss"].rsplit("/", 1)[0] + "/us-east-1_AnotherPool"},
            pool_key,
            algorithm="RS256",
            headers={"kid": header["kid"]},
        )
    if kind == "unknown-kid":
        return jwt.encode(claims, pool_key, algorithm="RS256", headers={"kid": "not-a-key-of-the-pool"})
    raise ValueError(kind)


FORGERIES = [
    "alg-none-with-the-pool-kid",
    "hs256-keyed-with-the-pool-public-key",
    "foreign-rsa-key-with-the-pool-kid",
    "expired-signed-by-the-pool",
    "no-exp-signed-by-the-pool",
    "another-pool-issuer-signed-by-the-same-key",
    "unknown-kid",
]


@pytest.fixture(scope="module")
def victim(api):
    """Another user, whom no forged token may delete."""
    created = api.post("/users", {"full_name": "Vic Tim", "email": unique_email("victim")})
    assert created.status == 201, created.body
    return created.json()["user_id"]


def test_a_token_signed_by_the_pool_key_passes_the_verifier_so_the_forgeries_test_it(local_stack, signed_in, pool_key):
    """Control: the user's own claims re-signed with the pool's key pass the local JWT check (signature,
    issuer, expiry, client), so each forgery below is refused for the one thing it changes. (The routes
    then ask Cognito too, which knows the tokens it issued.)"""
    from pydantic import SecretStr

    from authflow.clock import utc_now
    from authflow.status import RevokedSignIns, SignOuts
    from authflow.tokens import TokenVerifier

    user, tokens = signed_in
    header, claims = _segments(tokens.json()["access_token"])
    resigned = jwt.encode(claims, pool_key, algorithm="RS256", headers={"kid": header["kid"]})
    table = local_stack.stack.refs["StatusTable"]
    revoked, sign_outs = RevokedSignIns(table, utc_now, timedelta(hours=1)), SignOuts(table, utc_now, timedelta(hours=1))
    verifier = TokenVerifier(local_stack.stack.refs["UserPool"], local_stack.stack.refs["UserPoolClient"], revoked, sign_outs)
    assert verifier.verify(SecretStr(resigned)).user_id == user.user_id


@pytest.mark.parametrize("kind", FORGERIES)
def test_forged_expired_and_foreign_tokens_are_401_on_userinfo(api, signed_in, pool_key, kind):
    _, tokens = signed_in
    token = _forged(kind, tokens.json()["access_token"], pool_key)
    assert_error(api.get("/userinfo", headers={"authorization": f"Bearer {token}"}), 401, "INVALID_TOKEN")


@pytest.mark.parametrize("kind", FORGERIES)
def test_forged_id_tokens_are_401_on_userinfo(api, signed_in, pool_key, kind):
    """CognitoApi's clients send the id token: the same forgeries of it are refused."""
    _, tokens = signed_in
    token = _forged(kind, tokens.json()["id_token"], pool_key)
    assert_error(api.get("/userinfo", headers={"authorization": f"Bearer {token}"}), 401, "INVALID_TOKEN")


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"aud": "another-app-client"}, id="another-audience"),
        pytest.param({"token_use": "refresh"}, id="another-token-use"),
        pytest.param({"origin_jti": None}, id="no-origin-jti"),
    ],
)
def test_an_id_token_re_signed_with_the_pool_key_but_for_another_client_or_use_is_401(api, signed_in, pool_key, change):
    _, tokens = signed_in
    header, claims = _segments(tokens.json()["id_token"])
    changed = {k: v for k, v in {**claims, **change}.items() if v is not None}
    token = jwt.encode(changed, pool_key, algorithm="RS256", headers={"kid": header["kid"]})
    assert_error(api.get("/userinfo", headers={"authorization": f"Bearer {token}"}), 401, "INVALID_TOKEN")
    control = jwt.encode(claims, pool_key, algorithm="RS256", headers={"kid": header["kid"]})
    assert api.get("/userinfo", headers={"authorization": f"Bearer {control}"}).status == 200, "only the change is refused"


@pytest.mark.parametrize("kind", FORGERIES)
def test_forged_admin_tokens_cannot_delete_another_user(api, signed_in, pool_key, victim, kind):
    """The same forgeries, claiming to be the victim and an administrator, on DELETE /users/{id}."""
    _, tokens = signed_in
    header, claims = _segments(tokens.json()["access_token"])
    escalated = (
        f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps({**claims, 'username': victim, 'cognito:groups': ['admins']}).encode())}.x"
    )
    token = _forged(kind, escalated, pool_key)
    assert_error(api.request("DELETE", f"/users/{victim}", headers={"authorization": f"Bearer {token}"}), 401, "INVALID_TOKEN")
    assert api.onboarding(victim).status == 200


def test_a_real_token_cannot_delete_another_user(api, signed_in, victim):
    _, tokens = signed_in
    answer = api.request("DELETE", f"/users/{victim}", headers={"authorization": f"Bearer {tokens.json()['access_token']}"})
    assert_error(answer, 403, "FORBIDDEN")
    assert api.onboarding(victim).status == 200


def test_a_token_of_another_app_client_is_401(api, other_client_token):
    """A real token of the same pool, correctly signed, but issued to another app client."""
    user_id = _segments(other_client_token)[1]["username"]
    bearer = {"authorization": f"Bearer {other_client_token}"}
    assert_error(api.get("/userinfo", headers=bearer), 401, "INVALID_TOKEN")
    assert_error(api.request("DELETE", f"/users/{user_id}", headers=bearer), 401, "INVALID_TOKEN")
    assert api.onboarding(user_id).json()["status"] == "ACTIVE"


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Basic dXNlcjpwYXNz", id="basic-scheme"),
        pytest.param("Bearer", id="scheme-only"),
        pytest.param("Bearer ", id="empty-token"),
        pytest.param("Token abc.def.ghi", id="other-scheme"),
        pytest.param("Bearer a.b", id="two-segments"),
        pytest.param("Bearer " + "A" * 7000, id="huge-garbage"),
    ],
)
def test_malformed_authorization_headers_are_401(api, authorization):
    assert_error(api.get("/userinfo", headers={"authorization": authorization}), 401, "INVALID_TOKEN")


def test_token_answers_carry_no_store_and_nosniff(api, signed_in):
    user, tokens = signed_in
    assert tokens.headers.get("Cache-Control") == "no-store"
    assert tokens.headers.get("X-Content-Type-Options") == "nosniff"
    refreshed = api.post("/refresh-token", {"email": user.email, "refresh_token": tokens.json()["refresh_token"]})
    assert refreshed.status == 200, refreshed.body
    assert refreshed.headers.get("Cache-Control") == "no-store"
    assert refreshed.headers.get("X-Content-Type-Options") == "nosniff"


def test_an_unknown_refresh_token_is_401(api, signed_in):
    user, _ = signed_in
    assert_error(api.post("/refresh-token", {"email": user.email, "refresh_token": "not-a-refresh-token"}), 401, "INVALID_TOKEN")
