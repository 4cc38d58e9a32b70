"""Fixtures of the use-case and handler unit tests: template.yaml's resources in moto's in-process mock.

The UnitStack is provisioned once per test process (its data stays in moto's backends between the
tests' mocks; see in_process_aws) and lives in a region of its own, apart from the local stack's.
"""

import base64
import dataclasses
import secrets
from types import ModuleType

import pytest

from authflow.adapters import Adapters, lifecycle_adapters
from authflow.mail_requests import MailRequestQueue, MailRequests
from authflow.passwords import Passwords
from authflow.settings import ApiSettings, MailRequestSettings
from authflow.status import ApiKeys
from tests.support.api_gateway import API_KEY
from tests.support.in_process import EventTap, FakeWorkflows, MailRequestConsumer, MotoJwksVerifier, OnboardingDriver, drained
from tests.support.unit_stack import UnitStack
from tests.support.workflow import in_process_aws  # noqa: F401 (fixture)

_stack: list[UnitStack] = []
TOTP_SECRET = base64.b32encode(secrets.token_bytes(20)).decode()  # 160 bits, as Cognito's


@pytest.fixture
def unit_stack(in_process_aws, monkeypatch) -> UnitStack:  # noqa: F811
    """The stack, with moto checking TOTP codes against a Cognito-sized secret (moto's own is 60 bits)."""
    import moto.cognitoidp.models

    monkeypatch.setenv("MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP", "true")
    monkeypatch.setattr(moto.cognitoidp.models, "COGNITO_TOTP_MFA_SECRET", TOTP_SECRET)
    if not _stack:
        _stack.append(UnitStack())
    return _stack[0]


@pytest.fixture
def settings(unit_stack) -> ApiSettings:
    """The API function's settings, from the environment the template gives it."""
    return ApiSettings(**{name.lower(): value for name, value in unit_stack.environment("ApiFunction").items()})


@pytest.fixture
def api_function(unit_stack, settings) -> ModuleType:
    """The API function's handler module, with tests/support/api_gateway.py's key among its API keys
    (what `authflow api-keys create` stores after a deploy)."""
    keys = ApiKeys(settings.status_table_name)
    if keys.name_of(API_KEY) is None:
        keys.create("unit", API_KEY)
    return unit_stack.load("ApiFunction")


@pytest.fixture
def workflows(settings) -> FakeWorkflows:
    return FakeWorkflows(substitutions={"UserPoolId": settings.user_pool_id, "UserPoolClientId": settings.user_pool_client_id})


@pytest.fixture
def adapters(settings, workflows) -> Adapters:
    """The API's bundle, built afresh (not the cached one) inside this test's mock, with the fakes of in_process."""
    built = lifecycle_adapters.__wrapped__(settings)
    verifier = MotoJwksVerifier(settings.user_pool_id, settings.user_pool_client_id, built.revoked_sign_ins, built.sign_outs)
    return dataclasses.replace(built, workflows=workflows, verifier=verifier)


@pytest.fixture
def tap(settings) -> EventTap:
    return EventTap(settings.event_bus_name)


@pytest.fixture
def mail_requests(settings) -> MailRequestQueue:
    """The API's mail request queue, emptied of the requests earlier tests left on it (SQS purges once a minute at most)."""
    list(drained(settings.mail_request_queue_url))
    return MailRequestQueue(settings.mail_request_queue_url)


@pytest.fixture
def onboarding(settings, adapters, mail_requests):
    from authflow.onboarding import Onboarding

    return Onboarding(settings, adapters, state_machine_arn=settings.onboarding_state_machine_arn, mail_requests=mail_requests)


@pytest.fixture
def passwords(settings, adapters, mail_requests) -> Passwords:
    return Passwords(settings, adapters, mail_requests=mail_requests)


@pytest.fixture
def mail_request_settings(unit_stack) -> MailRequestSettings:
    """The mail request function's settings, from the environment the template gives it."""
    return MailRequestSettings(**{name.lower(): value for name, value in unit_stack.environment("MailRequestFunction").items()})


@pytest.fixture
def mail_request_consumer(mail_request_settings, adapters, onboarding, mail_requests) -> MailRequestConsumer:
    """MailRequestFunction's work, in-process with this test's bundle (its fake workflows)."""
    passwords = Passwords(mail_request_settings, adapters, reset_state_machine_arn=mail_request_settings.password_reset_state_machine_arn)
    return MailRequestConsumer(mail_requests.queue_url, MailRequests(passwords, onboarding))


@pytest.fixture
def driver(onboarding, workflows, settings) -> OnboardingDriver:
    return OnboardingDriver(onboarding, workflows, settings.user_pool_id, TOTP_SECRET)


def new_email(prefix: str = "unit") -> str:
    return f"{prefix}-{secrets.token_hex(4)}@example.com"
