"""The adapters the use cases call, on moto in-process where they talk to AWS: the Workflows client
(Step Functions), the user directory's error maps (Cognito), the idempotency store (DynamoDB) and the
bundle factories."""

import uuid

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto.cognitoidp.utils import check_secret_hash
from pydantic import BaseModel, SecretStr

import authflow.aws
from authflow import errors
from authflow.adapters import Adapters, delivery_adapters, lifecycle_adapters, trigger_publisher
from authflow.idempotency import Idempotency
from authflow.models import CreateUserRequest, OnboardingInput, OnboardingTimeouts
from authflow.settings import CommonSettings, DeliverySettings
from authflow.users import AuditContext, UserDirectory, secret_hash
from authflow.workflows import Workflows, execution_arn
from tests.support.in_process import PASSWORD
from tests.unit.conftest import new_email


def onboarding_input(user_id: str) -> OnboardingInput:
    timeouts = OnboardingTimeouts(confirmation_seconds=60, confirmation_limit_seconds=180, mfa_seconds=60)
    return OnboardingInput(user_id=user_id, email=new_email(), full_name="Ada", request_id="r", timeouts=timeouts)


# ----------------------------------------------------------------------------- Workflows


def test_start_is_idempotent_per_name_and_stop_ends_the_execution(settings):
    workflows, name = Workflows(), str(uuid.uuid4())
    arn = workflows.start(settings.onboarding_state_machine_arn, name, onboarding_input(name))
    assert arn == execution_arn(settings.onboarding_state_machine_arn, name)
    sfn = boto3.client("stepfunctions")
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"

    workflows.stop(arn, "UserDeleted", "test")
    assert sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"
    workflows.stop(
        execution_arn(settings.onboarding_state_machine_arn, "never-started"), "UserDeleted", "test"
    )  # nothing to stop: no error


def test_a_token_already_used_is_not_an_error_and_throttling_is_transient(unit_stack):
    workflows = Workflows()
    stale = SecretStr("a-token-no-execution-waits-for")
    workflows.resume(stale, {"received": True})
    workflows.heartbeat(stale)
    workflows.cancel(stale, "PasswordResetSuperseded", "test")

    with Stubber(authflow.aws.client("stepfunctions")) as stubber:
        stubber.add_client_error("send_task_success", "ThrottlingException", "slow down", 400)
        stubber.add_client_error("start_execution", "ServiceUnavailable", "down", 503)
        with pytest.raises(errors.TransientError):
            workflows.resume(stale, {})
        with pytest.raises(errors.TransientError):
            workflows.start("arn:aws:states:eu-west-3:123456789012:stateMachine:x", "n", onboarding_input(str(uuid.uuid4())))


def test_a_second_start_of_a_running_name_is_the_same_execution_and_other_refusals_stay_errors(settings):
    workflows, machine = Workflows(), settings.onboarding_state_machine_arn
    with Stubber(authflow.aws.client("stepfunctions")) as stubber:
        stubber.add_client_error("start_execution", "ExecutionAlreadyExists", "running", 400)
        stubber.add_client_error("start_execution", "StateMachineDoesNotExist", "gone", 400)
        stubber.add_client_error("send_task_heartbeat", "InvalidOutput", "bad", 400)
        stubber.add_client_error("stop_execution", "ValidationException", "bad", 400)
        assert workflows.start(machine, "same-name", onboarding_input(str(uuid.uuid4()))) == execution_arn(machine, "same-name")
        with pytest.raises(ClientError):
            workflows.start(machine, "other", onboarding_input(str(uuid.uuid4())))
        with pytest.raises(ClientError):
            workflows.heartbeat(SecretStr("t"))
        with pytest.raises(ClientError):
            workflows.stop(execution_arn(machine, "x"), "UserDeleted", "test")


def test_run_sync_reports_the_express_executions_answer(settings):
    workflows = Workflows()
    with Stubber(authflow.aws.client("stepfunctions")) as stubber:
        stubber.add_response(
            "start_sync_execution", {"executionArn": "arn", "startDate": "2025-01-01", "stopDate": "2025-01-01", "status": "FAILED"}
        )
        stubber.add_client_error("start_sync_execution", "ThrottlingException", "slow down", 400)
        assert (
            workflows.run_sync(settings.login_state_machine_arn, CreateUserRequest(full_name="A", email=new_email()), "Login")["status"]
            == "FAILED"
        )
        with pytest.raises(errors.TransientError, match="Login is busy; retry in a second") as throttled:
            workflows.run_sync(settings.login_state_machine_arn, CreateUserRequest(full_name="A", email=new_email()), "Login")
        assert (throttled.value.status, throttled.value.retry_after) == (429, 1), "a quota's throttling: 429 with Retry-After"


# ----------------------------------------------------------------------------- the user directory's error maps


def test_each_operation_maps_cognitos_refusals_its_own_way(settings, driver):
    users = UserDirectory(settings.user_pool_id, settings.user_pool_client_id, settings.user_pool_client_secret_arn)
    email = new_email("errors")
    user_id = driver.onboard(email)

    with pytest.raises(errors.InvalidCredentials):  # sign-in: a wrong password
        users.authenticate(user_id, SecretStr("Wrong-Passw0rd-1!"))
    challenge = users.authenticate(user_id, SecretStr(PASSWORD))
    with pytest.raises(errors.SessionExpired):  # MFA: a session string Cognito never issued
        users.answer_mfa(user_id, SecretStr("x"), SecretStr("123456"), AuditContext("req"))
    wrong = f"{(int(driver.otp()) + 1) % 1_000_000:06d}"
    with pytest.raises(errors.InvalidMfaCode):  # MFA: a wrong code
        users.answer_mfa(user_id, challenge.session, SecretStr(wrong), AuditContext("req"))
    with pytest.raises(errors.WrongOnboardingStep):  # enrolment: an active user has no temporary password to replace
        users.start_mfa_setup(user_id, SecretStr(PASSWORD), SecretStr("Another-Passw0rd-1!"))
    with pytest.raises(errors.InvalidToken):  # token calls: a token Cognito never issued
        users.attributes(SecretStr("not-a-token"))
    with pytest.raises(errors.SessionExpired):  # enrolment: an unknown session
        users.finish_mfa_setup(user_id, SecretStr("an-unknown-enrolment-session-0001"), SecretStr("123456"))
    assert users.email_of(str(uuid.uuid4())) is None and users.delete_user(str(uuid.uuid4())) is False


CLIENT_AUTHORISED = {"AdminInitiateAuth", "AdminRespondToAuthChallenge", "ForgotPassword", "ConfirmForgotPassword"}


def test_every_call_the_app_client_authorises_carries_the_secret_hash_of_its_user(settings, driver):
    """Issue 15 item 6: the client has a secret, and each sign-in step, refresh and reset names its user's SECRET_HASH."""
    users = UserDirectory(settings.user_pool_id, settings.user_pool_client_id, settings.user_pool_client_secret_arn)
    cognito = authflow.aws.client("cognito-idp")
    client = cognito.describe_user_pool_client(UserPoolId=settings.user_pool_id, ClientId=settings.user_pool_client_id)
    client_secret = client["UserPoolClient"]["ClientSecret"]
    assert boto3.client("secretsmanager").get_secret_value(SecretId=settings.user_pool_client_secret_arn)["SecretString"] == client_secret
    sent: list[tuple[str, dict]] = []

    def record(params, model, **_):
        if model.name in CLIENT_AUTHORISED:
            sent.append((model.name, params))

    user_id = driver.onboard(new_email("hash"))  # AdminInitiateAuth and NEW_PASSWORD_REQUIRED with the temporary password
    cognito.meta.events.register("provide-client-params.cognito-idp.*", record)
    try:
        challenge = users.authenticate(user_id, SecretStr(PASSWORD))
        tokens = users.answer_mfa(user_id, challenge.session, SecretStr(driver.otp()), AuditContext("req"))
        users.refresh(user_id, SecretStr(tokens.refresh_token or ""))
        users.send_reset_code(user_id)
        users.reset_password(user_id, SecretStr("123456"), SecretStr(PASSWORD))
    finally:
        cognito.meta.events.unregister("provide-client-params.cognito-idp.*", record)

    expected = secret_hash(client_secret, settings.user_pool_client_id, user_id)
    assert [name for name, _ in sent] == [
        "AdminInitiateAuth",
        "AdminRespondToAuthChallenge",
        "AdminInitiateAuth",
        "ForgotPassword",
        "ConfirmForgotPassword",
    ]
    for name, params in sent:
        given = params.get("SecretHash") or {**params.get("AuthParameters", {}), **params.get("ChallengeResponses", {})}["SECRET_HASH"]
        assert given == expected, name
        # moto's own check (AWS's algorithm, written independently) accepts it
        assert check_secret_hash(client_secret, settings.user_pool_client_id, user_id, given)


def test_creating_the_same_user_again_is_a_no_op_but_not_for_another_email(settings):
    users, user_id, email = (
        UserDirectory(settings.user_pool_id, settings.user_pool_client_id, settings.user_pool_client_secret_arn),
        str(uuid.uuid4()),
        new_email(),
    )
    users.create_user(user_id, email, "Ada Lovelace", "+33612345678")
    users.create_user(user_id, email, "Ada Lovelace", "+33612345678")
    with pytest.raises(Exception, match="UsernameExists"):
        users.create_user(user_id, new_email(), "Ada Lovelace", None)


def test_too_many_password_attempts_and_throttling_have_their_own_errors(settings):
    users = UserDirectory(settings.user_pool_id, settings.user_pool_client_id, settings.user_pool_client_secret_arn)
    with Stubber(authflow.aws.client("cognito-idp")) as stubber:
        stubber.add_client_error("admin_initiate_auth", "NotAuthorizedException", "Password attempts exceeded", 400)
        stubber.add_client_error("admin_initiate_auth", "TooManyRequestsException", "Rate exceeded", 400)
        stubber.add_client_error("change_password", "LimitExceededException", "Attempt limit exceeded", 400)
        stubber.add_client_error("confirm_forgot_password", "ExpiredCodeException", "expired", 400)
        with pytest.raises(errors.TooManyAttempts):
            users.authenticate("u", SecretStr("p"))
        with pytest.raises(errors.TransientError) as throttled:
            users.authenticate("u", SecretStr("p"))
        # Cognito's UserAuthentication quota: the API answers 429 THROTTLED with Retry-After, a workflow retries it by name.
        assert (throttled.value.status, throttled.value.code, throttled.value.retry_after) == (429, "THROTTLED", 1)
        assert type(throttled.value).__name__ == "TransientError"
        with pytest.raises(errors.TooManyRequests):
            users.change_password(SecretStr("t"), SecretStr("a"), SecretStr("b"))
        with pytest.raises(errors.InvalidVerificationCode):
            users.reset_password("u", SecretStr("123456"), SecretStr("New-Passw0rd-1!"))


# ----------------------------------------------------------------------------- idempotency


class Echo(BaseModel):
    value: str


def test_idempotency_runs_once_per_key_and_refuses_bad_keys(settings, unit_stack):
    idempotency, calls = Idempotency(settings.status_table_name), []
    idempotency.config.register_lambda_context(unit_stack.context("ApiFunction"))

    def action() -> Echo:
        calls.append(1)
        return Echo(value=f"run-{len(calls)}")

    payload = Echo(value="body")
    assert idempotency.run("scope", None, payload, action, Echo).value == "run-1"
    key = f"k-{uuid.uuid4()}"
    assert idempotency.run("scope", key, payload, action, Echo).value == "run-2"
    assert idempotency.run("scope", key, payload, action, Echo).value == "run-2", "the first answer, replayed"
    assert len(calls) == 2
    with pytest.raises(errors.IdempotencyKeyReused):
        idempotency.run("scope", key, Echo(value="another body"), action, Echo)
    for bad in ("", "x" * 256, "tab\there"):
        with pytest.raises(errors.InvalidRequest):
            idempotency.run("scope", bad, payload, action, Echo)


def test_a_key_still_in_progress_is_refused_and_a_failing_store_is_transient(settings, unit_stack):
    idempotency, key = Idempotency(settings.status_table_name), f"k-{uuid.uuid4()}"
    idempotency.config.register_lambda_context(unit_stack.context("ApiFunction"))

    def reenter() -> Echo:
        return idempotency.run("scope", key, Echo(value="b"), lambda: Echo(value="inner"), Echo)

    with pytest.raises(errors.RequestInProgress):
        idempotency.run("scope", key, Echo(value="b"), reenter, Echo)

    with Stubber(idempotency.persistence.client) as stubber:
        stubber.add_client_error("put_item", "InternalServerError", "down", 500)
        with pytest.raises(errors.TransientError):
            idempotency.run("scope", f"k-{uuid.uuid4()}", Echo(value="b"), lambda: Echo(value="x"), Echo)


# ----------------------------------------------------------------------------- the factories


def test_each_function_builds_its_bundle_once(unit_stack, settings):
    assert lifecycle_adapters(settings) is lifecycle_adapters(settings)
    assert isinstance(lifecycle_adapters(settings), Adapters)
    delivery = DeliverySettings(**{k.lower(): v for k, v in unit_stack.environment("WebhookDeliveryFunction").items()})
    assert delivery_adapters(delivery) is delivery_adapters(delivery)
    common = CommonSettings(**{k.lower(): v for k, v in unit_stack.environment("CognitoTriggerFunction").items()})
    assert trigger_publisher(common).event_bus_name == settings.event_bus_name
