"""Settings: each function's, read from the environment the template gives it (authflow.settings)."""

import pytest
from pydantic import ValidationError

from authflow.settings import (
    ApiSettings,
    CognitoSettings,
    CommonSettings,
    DeliverySettings,
    EnvironmentSettings,
    ImportSettings,
    MailRequestSettings,
)
from measures.coldstart import functions_of_template

SETTINGS_OF: dict[str, type[EnvironmentSettings]] = {
    "ApiFunction": ApiSettings,
    "OnboardingTaskFunction": CognitoSettings,
    "PasswordResetTaskFunction": CognitoSettings,
    "UserImportFunction": ImportSettings,
    "MailRequestFunction": MailRequestSettings,
    "WebhookDeliveryFunction": DeliverySettings,
    "CognitoTriggerFunction": CommonSettings,
}


@pytest.fixture
def template_environment(monkeypatch):
    def of(logical_id: str) -> dict[str, str]:
        function = next(f for f in functions_of_template() if f.logical_id == logical_id)
        for name, value in function.environment.items():
            monkeypatch.setenv(name, value)
        return function.environment

    return of


@pytest.mark.parametrize("logical_id", sorted(SETTINGS_OF))
def test_each_function_reads_its_settings_from_the_variables_the_template_sets(template_environment, logical_id):
    environment = template_environment(logical_id)
    settings = SETTINGS_OF[logical_id].from_environment()
    read = {name: value for name, value in settings.model_dump().items() if name.upper() in environment}
    assert read, "the settings come from the environment"
    for name, value in read.items():
        given = environment[name.upper()]
        assert value == (given.lower() == "true" if isinstance(value, bool) else type(value)(given)), name


def test_settings_are_converted_and_checked(template_environment, monkeypatch):
    template_environment("WebhookDeliveryFunction")
    monkeypatch.setenv("WEBHOOK_ALLOW_LOOPBACK", "true")
    monkeypatch.setenv("WEBHOOK_DISABLE_AFTER_DAYS", "5")
    settings = DeliverySettings.from_environment()
    assert settings.webhook_allow_loopback is True and settings.webhook_disable_after_days == 5
    with pytest.raises(ValidationError, match="frozen"):
        settings.app_name = "changed"  # type: ignore[misc]
    monkeypatch.setenv("WEBHOOK_DISABLE_AFTER_DAYS", "five")
    with pytest.raises(ValidationError, match="webhook_disable_after_days"):
        DeliverySettings.from_environment()
    monkeypatch.delenv("WEBHOOK_DISABLE_AFTER_DAYS")
    with pytest.raises(ValidationError, match="webhook_disable_after_days"):
        DeliverySettings.from_environment()
