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
from authflow.models import ForgotPasswordRequest, LoginRequest, ResendConfirmationRequest, ResendMfaRequest, ResetPasswordRequest
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
def sessions(adapters, settings) -> Sessions:
    return Sessions(adapters, login_state_machine_arn=settings.login_state_machine_arn)


@pytest.fixture
def known_and_unknown(driver, adapters) -> tuple[str, str]:
    known, unknown = new_email("known"), new_email("unknown")
    driver.onboard(known)
    adapters.pseudo_ids.for_email(unknown)  # the pseudo-id key is read once per function, at its first use
    return known, unknown


@pytest.fixture
def invited_and_unknown(driver, adapters) -> tuple[str, str]:
    """An email whose user waits for confirmation (the one resend-confirmation-code mails), and one without a user."""
    invited, unknown = new_email("invited"), new_email("unknown")
    driver.invite(driver.start(invited))
    adapters.pseudo_ids.for_email(unknown)
    return invited, unknown


def answered(call, email: str) -> list[tuple[str, str]]:
    with aws_operations() as operations:
        call(email)
    return operations


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


def test_forgot_password_makes_the_same_aws_calls_for_a_known_and_an_unknown_email(passwords, known_and_unknown, mail_request_consumer):
    def forgot(email: str) -> None:
        passwords.forgot(ForgotPasswordRequest(email=email), "req")

    known, unknown = (answered(forgot, email) for email in known_and_unknown)

    assert ("sqs", "SendMessage") in known, "the request queues its work"
    assert known == unknown
    assert sorted(mail_request_consumer.deliver()) == [False, True], "then the reset starts for the account's email only"


def test_the_operator_reset_makes_the_same_aws_calls_for_a_matching_and_a_mismatched_email(
    passwords, driver, known_and_unknown, mail_request_consumer
):
    email, stranger = known_and_unknown
    user_id = driver.onboarding.claims.user_id_for(email)

    def reset(address: str) -> None:
        passwords.operator_reset(str(user_id), ResetPasswordRequest(email=address), "req")

    matching, mismatched = answered(reset, email), answered(reset, stranger)

    assert ("sqs", "SendMessage") in matching
    assert matching == mismatched
    assert sorted(mail_request_consumer.deliver()) == [False, True]


def test_resend_confirmation_code_makes_the_same_aws_calls_for_an_invited_and_an_unknown_email(
    onboarding, invited_and_unknown, mail_request_consumer
):
    def resend(email: str) -> None:
        onboarding.resend_invitation(ResendConfirmationRequest(email=email), "req")

    invited, unknown = (answered(resend, email) for email in invited_and_unknown)

    assert ("sqs", "SendMessage") in invited
    assert ("cognito-idp", "AdminCreateUser") not in invited, "the invitation is resent by the mail request function"
    assert invited == unknown
    assert sorted(mail_request_consumer.deliver()) == [False, True], "then the invitation is resent to the invited user only"
