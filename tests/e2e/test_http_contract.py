"""The HTTP edge: API key, CORS, the one error shape, body rules and the OpenAPI document."""

import pytest

pytestmark = pytest.mark.e2e

ROUTES = [
    ("POST", "/users"),
    ("POST", "/users/{user_id}/confirm"),
    ("POST", "/users/{user_id}/confirm-mfa"),
    ("POST", "/forgot-password"),
    ("POST", "/users/{user_id}/confirm-password"),
    ("POST", "/login"),
    ("POST", "/mfa-verify"),
    ("POST", "/refresh-token"),
    ("GET", "/userinfo"),
    ("POST", "/logout"),
    ("POST", "/change-password"),
    ("POST", "/users/{user_id}/change-password"),
    ("POST", "/users/{user_id}/reset-password"),
    ("POST", "/resend-confirmation-code"),
    ("POST", "/resend-mfa"),
    ("GET", "/users/{user_id}/onboarding"),
    ("DELETE", "/users/{user_id}"),
]


def assert_error(response, status: int, code: str):
    assert response.status == status, response.body
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "request_id"}
    assert body["error"]["code"] == code
    assert body["error"]["request_id"]


def test_openapi_document_lists_every_v1_route_with_its_error_shape(api):
    document = api.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    operations = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert set(ROUTES) <= operations
    assert "ErrorResponse" in document["components"]["schemas"]
    assert document["components"]["securitySchemes"]["apiKey"]["name"] == "x-api-key"


@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_a_missing_or_wrong_api_key_is_403_in_the_error_shape(api, key):
    assert_error(api.post("/login", {"email": "a@example.com", "password": "x"}, headers={"x-api-key": key}), 403, "FORBIDDEN")


def test_cors_preflight_answers_without_an_api_key(api):
    answer = api.request("OPTIONS", "/login", headers={"x-api-key": None, "origin": "https://app.example.com"})
    assert answer.status in (200, 204)
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert "x-api-key" in answer.headers["Access-Control-Allow-Headers"].lower()


def test_unknown_route_is_404(api):
    assert_error(api.get("/nowhere"), 404, "NOT_FOUND")


def test_malformed_json_unknown_fields_wrong_types_and_content_type(api):
    assert_error(api.post("/login", raw=b'{"email": '), 400, "MALFORMED_JSON")
    assert_error(api.post("/login", {"email": "a@example.com", "password": "x", "admin": True}), 400, "INVALID_REQUEST")
    assert_error(api.post("/login", {"email": 42, "password": ["x"]}), 400, "INVALID_REQUEST")
    assert_error(
        api.post("/login", raw=b"email=a", headers={"content-type": "application/x-www-form-urlencoded"}), 415, "UNSUPPORTED_MEDIA_TYPE"
    )
    assert_error(api.post("/users", {"full_name": "x" * 20000, "email": "a@example.com"}), 413, "PAYLOAD_TOO_LARGE")
    assert_error(api.get("/users/not-a-user-id/onboarding"), 400, "INVALID_REQUEST")


def test_a_validation_error_never_echoes_a_password(api):
    answer = api.post("/login", {"email": "not-an-email", "password": "Sup3r-Secret-Value"})
    assert answer.status == 400
    assert b"Sup3r-Secret-Value" not in answer.body


def test_every_response_sends_nosniff(api):
    for response in (api.get("/openapi.json"), api.post("/login", {"email": "x"}), api.get("/nowhere")):
        assert response.headers.get("X-Content-Type-Options") == "nosniff"
