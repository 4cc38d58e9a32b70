"""Configuration read once, at cold start, from the environment variables template.yaml sets."""

import os
from typing import Self

from pydantic import BaseModel, ConfigDict


class EnvironmentSettings(BaseModel):
    """A function's settings, frozen (hence hashable: the adapter factories cache on them).

    A plain model rather than pydantic-settings' BaseSettings, whose import (its sources for dotenv
    files, secrets directories and three clouds' vaults) cost 20-30 ms of CPU at every cold start. Each
    function builds the one settings model it reads (defer_build), not the others."""

    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)

    @classmethod
    def from_environment(cls) -> Self:
        """Each field from the environment variable of its name in upper case (USER_POOL_ID for
        user_pool_id), converted and checked by pydantic: a missing or malformed one fails the cold start."""
        return cls.model_validate({name: os.environ[name.upper()] for name in cls.model_fields if name.upper() in os.environ})


class CommonSettings(EnvironmentSettings):
    """What every function gets from the template's Globals."""

    authflow_env: str
    app_name: str
    event_bus_name: str
    status_table_name: str
    qr_bucket_name: str
    qr_link_expiry_seconds: int
    mail_from_address: str
    temporary_password_validity_days: int
    onboarding_confirmation_limit_days: int
    auth_session_validity_minutes: int
    id_token_validity_minutes: int
    password_reset_code_validity_seconds: int
    resend_mfa_limit_per_hour: int
    mail_requests_per_email_per_hour: int
    mail_requests_per_api_key_per_hour: int
    failed_attempt_limit: int
    failed_attempt_window_seconds: int
    lockout_seconds: int
    pseudo_id_secret_arn: str
    password_minimum_length: int
    password_composition_rules: bool
    pwned_passwords_range_url: str


class CognitoSettings(CommonSettings):
    """Functions that call the user pool."""

    user_pool_id: str
    user_pool_client_id: str
    user_pool_client_secret_arn: str  # the app client's secret (Secrets Manager), for SECRET_HASH


class ApiSettings(CognitoSettings):
    """The HTTP API function."""

    onboarding_state_machine_arn: str
    login_state_machine_arn: str
    admin_group_name: str
    admin_check_cache_seconds: int
    source_ip_requests_per_window: int
    source_ip_window_seconds: int
    webhook_allow_loopback: bool
    event_archive_arn: str
    event_bus_arn: str
    webhook_events_rule_arn: str
    user_import_queue_url: str
    mail_request_queue_url: str  # forgot-password, the operator's reset and resend-confirmation-code queue their work there
    webhook_secret_key_arn: str  # the KMS key webhook signing secrets are sealed with


class ImportSettings(CognitoSettings):
    """The user import function: each row's onboarding, within a budget of Cognito calls."""

    onboarding_state_machine_arn: str
    user_import_queue_url: str
    import_admin_create_user_per_second: int  # ImportAdminCreateUserPerSecond, shared by every import


class MailRequestSettings(CognitoSettings):
    """The mail request function: starts the password resets and resends the invitations the API queued."""

    password_reset_state_machine_arn: str


class DeliverySettings(EnvironmentSettings):
    """The webhook delivery function."""

    status_table_name: str
    webhook_secret_key_arn: str
    webhook_queue_url: str
    webhook_dead_letter_queue_url: str
    webhook_retry_schedule: str  # seconds before the 2nd, 3rd, ... attempt, comma-separated
    webhook_allow_loopback: bool = False
    webhook_request_timeout_seconds: float = 5
    webhook_disable_after_days: int
    app_name: str
    mail_from_address: str
    event_bus_name: str  # WebhookEndpointDisabled goes on the bus

    @property
    def retry_delays(self) -> tuple[int, ...]:
        """WebhookRetrySchedule: the delay before each retry; the first attempt is immediate."""
        return tuple(int(step) for step in self.webhook_retry_schedule.split(",") if step.strip())
