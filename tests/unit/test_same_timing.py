"""Same work for a known and an unknown email (issue 15 item 3; OWASP ASVS 5.0 6.3.8, no user enumeration
through timing), shown deterministically: the AWS operations a request makes, in order, recorded
in-process (botocore's client, under every boto3 client and resource), are the same for an account's
email and for an email without one. No clock is read: the measured latency figures are the security
tests' (tests/security/test_same_timing.py).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import pytest
from botocore.client import BaseClient

from authflow import errors
from authflow.mfa import Mfa
from authflow.models import LoginRequest, ResendMfaRequest
from authflow.sessions import Sessions
from tests.unit.conftest import new_email

WRONG_PASSWORD = "Not-The-Password-4711"


@contextmanager
def aws_operations() -> Iterator[list[tuple[str, str]]]:
    """Every AWS call made meanwhile, as (service, operation)."""
    recorded: list[tuple[str, str]] = []
    make_api_call = BaseClient._make_api_call

    def recording(client, operation_name, api_params):
        recorded.append((client.meta.service_model.service_name, operation_name))
        return make_api_call(client, operation_name, api_params)

    with mock.patch.object(BaseClient, "_make_api_call", recording):
        yield recorded


@pytest.fixture
def sessions(adapters, workflows, settings) -> Sessions:
    sessions = Sessions(adapters, login_state_machine_arn=settings.login_state_machine_arn)
    workflows.login_task = sessions.run_login_task  # the login task function, run as the Express execution would
    return sessions


@pytest.fixture
def known_and_unknown(driver, adapters) -> tuple[str, str]:
    known, unknown = new_email("known"), new_email("unknown")
    driver.onboard(known)
    adapters.pseudo_ids.for_email(unknown)  # the pseudo-id key is read once per function, at its first use
    return known, unknown


def refused_alike(call, email: str) -> list[tuple[str, str]]:
    with aws_operations() as operations, pytest.raises(errors.InvalidCredentials):
        call(email)
    return operations


def test_a_login_makes_the_same_aws_calls_for_a_known_and_an_unknown_email(sessions, known_and_unknown):
    def login(email: str) -> None:
        sessions.login(LoginRequest(email=email, password=WRONG_PASSWORD), "req")

    known, unknown = (refused_alike(login, email) for email in known_and_unknown)

    assert ("cognito-idp", "AdminInitiateAuth") in known, "the password is checked by Cognito"
    assert known == unknown


def test_resend_mfa_makes_the_same_aws_calls_for_a_known_and_an_unknown_email(settings, adapters, onboarding, known_and_unknown):
    mfa = Mfa(settings, adapters, onboarding)

    def resend(email: str) -> None:
        mfa.enrol_new_authenticator(ResendMfaRequest(email=email, password=WRONG_PASSWORD, otp_code="123456"), "req")

    known, unknown = (refused_alike(resend, email) for email in known_and_unknown)

    assert ("cognito-idp", "AdminInitiateAuth") in known
    assert known == unknown
