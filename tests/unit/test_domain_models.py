"""The models at authflow's edges: what a request may carry, and what a secret may never show."""

import uuid

import pytest
from pydantic import SecretStr, ValidationError

from authflow.models import (
    ConfirmMfaRequest,
    ConfirmUserRequest,
    CreateUserRequest,
    OnboardingInput,
    OnboardingTask,
    OnboardingTimeouts,
    Request,
    ResendConfirmationRequest,
)

PASSWORD = "Tr0ub4dor&3-Horse-Battery"
TEMPORARY = "Temp-Pa55word-xyz!"


def test_emails_are_normalised_to_lower_case():
    assert CreateUserRequest(full_name="Ada", email="Ada.Lovelace@Example.COM").email == "ada.lovelace@example.com"
    assert ConfirmMfaRequest(email="ADA@EXAMPLE.COM", otp="123456").email == "ada@example.com"
    assert ResendConfirmationRequest(email="Ada@Example.com").email == "ada@example.com"


@pytest.mark.parametrize("email", ["not-an-email", "a@", "@example.com", "a" * 250 + "@example.com"])
def test_invalid_emails_are_refused(email):
    with pytest.raises(ValidationError):
        CreateUserRequest(full_name="Ada", email=email)


@pytest.mark.parametrize(
    "model, body",
    [
        (CreateUserRequest, {"full_name": "Ada", "email": "a@example.com", "is_admin": True}),
        (ConfirmUserRequest, {"email": "a@example.com", "temporary_password": TEMPORARY, "new_password": PASSWORD, "mfa": "off"}),
        (ConfirmMfaRequest, {"email": "a@example.com", "otp": "123456", "user_id": "x"}),
        (ResendConfirmationRequest, {"email": "a@example.com", "groups": ["admin"]}),
    ],
)
def test_unknown_fields_are_refused(model, body):
    with pytest.raises(ValidationError) as refused:
        model.model_validate(body)
    assert [e["type"] for e in refused.value.errors()] == ["extra_forbidden"]


def test_every_request_model_refuses_unknown_fields():
    import authflow.models as models

    requests = [m for m in vars(models).values() if isinstance(m, type) and issubclass(m, Request) and m is not Request]
    assert requests, "the request models are found"
    assert all(m.model_config.get("extra") == "forbid" for m in requests)


@pytest.mark.parametrize("name", ["Ada\x00Lovelace", "Ada\nBcc: victim@example.com", "Ada\rX", "Ada\x1b[31m", "Ada\x7f"])
def test_control_characters_in_a_name_are_refused(name):
    with pytest.raises(ValidationError) as refused:
        CreateUserRequest(full_name=name, email="a@example.com")
    assert refused.value.errors()[0]["loc"] == ("full_name",)


def test_a_name_is_trimmed_and_must_not_be_blank_or_huge():
    assert CreateUserRequest(full_name="  Ada Lovelace  ", email="a@example.com").full_name == "Ada Lovelace"
    for bad in ("", "   ", "x" * 257):
        with pytest.raises(ValidationError):
            CreateUserRequest(full_name=bad, email="a@example.com")
    assert CreateUserRequest(full_name="Zoë Ångström-Łukasiewicz", email="a@example.com").full_name.startswith("Zoë")


def test_phone_numbers_must_be_e164():
    assert CreateUserRequest(full_name="Ada", email="a@example.com", mobile_phone_number="+447700900123").mobile_phone_number
    for bad in ("07700900123", "+0123456", "+44 7700 900123", "+1"):
        with pytest.raises(ValidationError):
            CreateUserRequest(full_name="Ada", email="a@example.com", mobile_phone_number=bad)


def test_otps_are_exactly_six_characters():
    for bad in ("12345", "1234567", ""):
        with pytest.raises(ValidationError):
            ConfirmMfaRequest(email="a@example.com", otp=bad)


def test_secrets_never_show_in_repr_str_or_dumps():
    request = ConfirmUserRequest(email="a@example.com", temporary_password=TEMPORARY, new_password=PASSWORD)
    mfa = ConfirmMfaRequest(email="a@example.com", otp="654321")
    for shown in (
        repr(request),
        str(request),
        request.model_dump_json(),
        repr(request.model_dump()),
        repr(mfa),
        str(mfa),
        mfa.model_dump_json(),
    ):
        assert PASSWORD not in shown and TEMPORARY not in shown and "654321" not in shown
    assert request.new_password.get_secret_value() == PASSWORD


def test_a_validation_error_on_another_field_does_not_show_the_passwords():
    with pytest.raises(ValidationError) as refused:
        ConfirmUserRequest(email="not-an-email", temporary_password=TEMPORARY, new_password=PASSWORD)
    for shown in (str(refused.value), repr(refused.value)):
        assert PASSWORD not in shown and TEMPORARY not in shown


@pytest.mark.parametrize(
    "model, body, secret",
    [
        (ConfirmUserRequest, {"email": "a@example.com", "temporary_password": TEMPORARY, "new_password": PASSWORD * 12}, PASSWORD),
        (ConfirmMfaRequest, {"email": "a@example.com", "otp": "6543210"}, "6543210"),
        (ConfirmUserRequest, {"email": "a@example.com", "temporary_password": TEMPORARY, "new_pasword": PASSWORD}, PASSWORD),
    ],
    ids=["password-too-long", "otp-too-long", "misspelled-password-field"],
)
def test_a_validation_error_never_shows_the_secret_that_failed(model, body, secret):
    with pytest.raises(ValidationError) as refused:
        model.model_validate(body)
    assert secret[:20] not in str(refused.value)
    assert secret[:20] not in repr(refused.value)


def test_the_workflow_input_holds_nothing_secret_and_the_task_token_is_hidden():
    fields = set(OnboardingInput.model_fields) | set(OnboardingTimeouts.model_fields)
    assert not {f for f in fields if any(word in f for word in ("password", "secret", "token", "otp", "session", "code"))}

    token = "AQCEAAAAKgAAAAMAAAAAAAAAAT-task-token"
    task = OnboardingTask.model_validate(
        {
            "task": "await_user_action",
            "state": "WaitForConfirmation",
            "action": "CONFIRMATION",
            "task_token": token,
            "execution_arn": "arn:aws:states:us-east-1:123456789012:execution:x:y",
            "onboarding": {
                "user_id": str(uuid.uuid4()),
                "email": "a@example.com",
                "full_name": "Ada",
                "request_id": "r",
                "timeouts": {"confirmation_seconds": 60, "confirmation_limit_seconds": 180, "mfa_seconds": 60},
            },
        }
    )
    assert isinstance(task.task_token, SecretStr)
    assert token not in repr(task) and token not in task.model_dump_json()


def test_the_workflow_refuses_non_positive_timeouts():
    for bad in (0, -1):
        with pytest.raises(ValidationError):
            OnboardingTimeouts(confirmation_seconds=bad, confirmation_limit_seconds=180, mfa_seconds=60)
