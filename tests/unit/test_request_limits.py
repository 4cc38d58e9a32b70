"""Rate limits on the mail routes (authflow.request_limits): per email, known or not, and per API key,
charged before anything else (OWASP ASVS 5.0 2.4.1; NIST SP 800-63B-4 §3.2.2)."""

import pytest

from authflow import errors
from authflow.models import CreateUserRequest, ForgotPasswordRequest, ResendConfirmationRequest
from authflow.request_limits import RequestLimits
from tests.unit.conftest import new_email


def test_the_default_is_five_mail_requests_per_email_an_hour(settings):
    assert settings.mail_requests_per_email_per_hour == 5


@pytest.mark.parametrize("known", [True, False], ids=["known", "unknown"])
def test_forgot_password_is_limited_per_email_alike_for_known_and_unknown_emails(
    passwords, driver, workflows, mail_request_consumer, known
):
    email = new_email("limit-forgot")
    if known:
        driver.onboard(email)
    answers = [passwords.forgot(ForgotPasswordRequest(email=email), "req") for _ in range(5)]
    with pytest.raises(errors.TooManyRequests) as refusal:
        passwords.forgot(ForgotPasswordRequest(email=email), "req")
    assert len({a.user_id for a in answers}) == 1
    assert 0 < refusal.value.retry_after <= 3600
    assert mail_request_consumer.deliver() == [known] * 5, "the refused sixth request queued nothing"
    resets = [s for s in workflows.started if s[1].startswith("reset-") and s[2]["user_id"] in {str(a.user_id) for a in answers}]
    assert resets == [], "the answer's id is the pseudo-id, never the account's"


@pytest.mark.parametrize("known", [True, False], ids=["invited", "unknown"])
def test_resend_confirmation_code_is_limited_per_email_alike(onboarding, driver, known):
    email = new_email("limit-resend")
    if known:
        driver.invite(driver.start(email))
    for _ in range(5):
        onboarding.resend_invitation(ResendConfirmationRequest(email=email), "req")
    with pytest.raises(errors.TooManyRequests):
        onboarding.resend_invitation(ResendConfirmationRequest(email=email), "req")


def test_creating_the_same_email_again_and_again_is_limited(onboarding):
    email = new_email("limit-create")
    onboarding.start(CreateUserRequest(full_name="Ada", email=email), "req")
    for _ in range(4):
        with pytest.raises(errors.EmailAlreadyExists):
            onboarding.start(CreateUserRequest(full_name="Ada", email=email), "req")
    with pytest.raises(errors.TooManyRequests):
        onboarding.start(CreateUserRequest(full_name="Ada", email=email), "req")


def test_one_api_key_is_limited_across_emails_and_another_key_is_not(settings, adapters):
    limits = RequestLimits(settings.model_copy(update={"mail_requests_per_api_key_per_hour": 3}), adapters)
    key = new_email("key")
    for _ in range(3):
        limits.charge(new_email(), key)
    with pytest.raises(errors.TooManyRequests) as refusal:
        limits.charge(new_email(), key)
    assert refusal.value.retry_after > 0
    limits.charge(new_email(), new_email("other-key"))
