"""Property-based fuzzing of the live API from its own OpenAPI document (schemathesis).

The document is read from the local stack's /v1/openapi.json (with the API key); for each operation
schemathesis's Hypothesis strategies (APIOperation.as_strategy) generate MAX_EXAMPLES valid
(positive) and MAX_EXAMPLES invalid (negative) requests, derandomized and without a database so CI
replays exactly the same cases, and every answer is checked:

- never a 5xx (not_a_server_error);
- every error in the one error shape {"error": {"code", "message", "request_id"}}, with nosniff;
- every status answered is documented for its route (status_code_conformance), its body conforms
  to the documented schema (response_schema_conformance) and its content type is the documented one;
- a success answer has the route's status and validates against its response model; token answers
  carry no-store.

Why not `@schema.parametrize()` with `schemathesis.pytest.from_fixture`: the lazy loader that a
fixture-provided schema needs sets `request.node._nodeid`, which pytest 9.2 no longer has
(AttributeError with schemathesis 4.32.5); the per-operation parametrization below is its equivalent.

Webhook URLs are rewritten to a private address that the SSRF guard refuses without a DNS lookup,
so no fuzzed request makes the stack resolve or call a host off this machine.
"""

import collections
import os
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from pydantic import BaseModel, ValidationError
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from authflow import models
from authflow.models import CreateWebhookResponse, DeleteWebhookResponse, WebhookListResponse
from tests.security import _summary

pytestmark = pytest.mark.e2e

# Hypothesis is derandomized (its seed derives from each test); this is schemathesis's own seed.
SEED = 20261125
# Hypothesis examples per operation and generation mode (positive, then negative): 28 operations x
# (60 positive + 60 negative), 3 360 cases, half of the suite's fuzzing time of
# 120 (AUTHFLOW_FUZZ_EXAMPLES=120 runs that deeper search).
MAX_EXAMPLES = int(os.environ.get("AUTHFLOW_FUZZ_EXAMPLES", "60"))
FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
    # No shrinking: a failure reports the generated case as it was; the run stays bounded in time.
    phases=[Phase.explicit, Phase.generate],
)
# Refused by the SSRF guard (private address, no DNS lookup): a fuzzed webhook is never registered.
UNREACHABLE_WEBHOOK_URL = "https://10.255.255.1/fuzzed"

# Each route's success status and response model (authflow.models and authflow.webhooks).
SUCCESS: dict[tuple[str, str], tuple[int, type[BaseModel]]] = {
    ("POST", "/users"): (201, models.CreateUserResponse),
    ("POST", "/users/{user_id}/confirm"): (200, models.ConfirmUserResponse),
    ("POST", "/users/{user_id}/confirm-mfa"): (200, models.ConfirmMfaResponse),
    ("POST", "/resend-confirmation-code"): (200, models.ResendConfirmationResponse),
    ("GET", "/users/{user_id}/onboarding"): (200, models.OnboardingStatusResponse),
    ("POST", "/login"): (200, models.LoginResponse),
    ("POST", "/mfa-verify"): (200, models.TokensResponse),
    ("POST", "/refresh-token"): (200, models.RefreshTokenResponse),
    ("GET", "/userinfo"): (200, models.UserInfoResponse),
    ("POST", "/logout"): (200, models.LogoutResponse),
    ("POST", "/change-password"): (200, models.ChangePasswordResponse),
    ("POST", "/users/{user_id}/change-password"): (200, models.ChangePasswordResponse),
    ("POST", "/users/{user_id}/reset-password"): (200, models.ResetPasswordResponse),
    ("POST", "/forgot-password"): (200, models.ForgotPasswordResponse),
    ("POST", "/users/{user_id}/confirm-password"): (200, models.ConfirmPasswordResponse),
    ("POST", "/resend-mfa"): (200, models.ResendMfaResponse),
    ("POST", "/recovery-codes"): (200, models.RecoveryCodesResponse),
    ("POST", "/users/{user_id}/mfa-reset"): (200, models.OperatorMfaResetResponse),
    ("POST", "/users/{user_id}/sign-out"): (200, models.OperatorSignOutResponse),
    ("DELETE", "/users/{user_id}"): (200, models.DeleteUserResponse),
    ("POST", "/webhooks"): (201, CreateWebhookResponse),
    ("GET", "/webhooks"): (200, WebhookListResponse),
    ("DELETE", "/webhooks/{webhook_id}"): (200, DeleteWebhookResponse),
    ("PATCH", "/webhooks/{webhook_id}"): (200, models.UpdateWebhookResponse),
    ("GET", "/webhooks/{webhook_id}/deliveries"): (200, models.WebhookDeliveriesResponse),
    ("POST", "/webhooks/{webhook_id}/replay"): (202, models.ReplayWebhookResponse),
    ("POST", "/user-imports"): (202, models.CreateUserImportResponse),
    ("GET", "/user-imports/{import_id}"): (200, models.UserImportStatusResponse),
}
TOKEN_ROUTES = {("POST", "/mfa-verify"), ("POST", "/refresh-token")}


def _key(case) -> tuple[str, str]:
    return case.operation.method.upper(), case.operation.path


def _header(response, name: str) -> str | None:
    for key, value in response.headers.items():
        if key.lower() == name.lower():
            return value[0] if isinstance(value, list) else value
    return None


def one_error_shape(ctx, response, case):
    """Every error: JSON {"error": {"code", "message", "request_id"}}, non-empty strings, nosniff."""
    if response.status_code < 400:
        return None
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, f"not the error shape: {response.text[:300]}"
    error = body["error"]
    assert isinstance(error, dict) and set(error) == {"code", "message", "request_id"}, response.text[:300]
    assert all(isinstance(error[k], str) and error[k] for k in error), response.text[:300]
    assert _header(response, "X-Content-Type-Options") == "nosniff", f"{response.status_code} without nosniff"
    return None


def success_matches_model(ctx, response, case):
    """A success answer has the route's success status and validates against its response model."""
    if response.status_code >= 400:
        return None
    status, model = SUCCESS[_key(case)]
    assert response.status_code == status, f"{case.operation.label} answered {response.status_code}, not {status}"
    try:
        model.model_validate(response.json())
    except ValidationError as error:
        raise AssertionError(f"{case.operation.label}: success body does not match {model.__name__}: {error}") from None
    if _key(case) in TOKEN_ROUTES:
        assert _header(response, "Cache-Control") == "no-store"
    return None


CHECKS = [
    not_a_server_error,
    one_error_shape,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
    success_matches_model,
]


@pytest.fixture(scope="session")
def openapi_schema(local_stack):
    """The live document, as a client would fetch it (with the API key)."""
    headers = {"x-api-key": local_stack.api_key}
    config = SchemathesisConfig.from_dict({"seed": SEED, "headers": headers, "request-timeout": 30})
    return schemathesis.openapi.from_url(f"{local_stack.api_url}/openapi.json", config=config, headers=headers)


def _has_inputs(operation) -> bool:
    """Whether the operation takes anything besides the API key (which the fuzzing keeps valid)."""
    parameters = [p for p in operation.iter_parameters() if p.name.lower() != "x-api-key"]
    return bool(parameters) or bool(operation.body)


def _fuzz(operation, mode: GenerationMode, api_key: str, test: str) -> None:
    """Runs MAX_EXAMPLES generated cases of one mode against one operation, every check on each."""

    @given(case=operation.as_strategy(generation_mode=mode, headers={"x-api-key": api_key}))
    @FUZZ_SETTINGS
    def run(case):
        if _key(case) == ("POST", "/webhooks") and isinstance(case.body, dict) and isinstance(case.body.get("url"), str):
            case.body["url"] = UNREACHABLE_WEBHOOK_URL
        response = case.call(headers={"x-api-key": api_key}, timeout=30)
        _summary.fuzz_cases[(test, case.operation.label, response.status_code)] += 1
        case.validate_response(response, checks=CHECKS)

    run()


OPERATIONS = [pytest.param(f"{method} {path}", id=f"{method} {path}") for method, path in SUCCESS]


def test_every_operation_of_the_document_is_fuzzed(openapi_schema):
    documented = {op.ok().label for op in openapi_schema.get_all_operations()}
    assert documented == {f"{method} {path}" for method, path in SUCCESS}


@pytest.mark.parametrize("label", OPERATIONS)
def test_fuzz_operation(openapi_schema, local_stack, label):
    operation = openapi_schema.find_operation_by_label(label)
    started = time.perf_counter()
    try:
        _fuzz(operation, GenerationMode.POSITIVE, local_stack.api_key, "positive")
        if _has_inputs(operation):
            _fuzz(operation, GenerationMode.NEGATIVE, local_stack.api_key, "negative")
    finally:
        _summary.durations[f"fuzz {label}"] = round(time.perf_counter() - started, 1)


def test_openapi_documents_every_success_status(api):
    document = api.get("/openapi.json").json()
    missing = collections.defaultdict(list)
    for (method, path), (status, _) in SUCCESS.items():
        responses = document["paths"][path][method.lower()]["responses"]
        if str(status) not in responses:
            missing[f"{method} {path}"].append(status)
    assert not missing, f"success statuses missing from /v1/openapi.json: {dict(missing)}"
