"""Fixtures for driving workflows/onboarding.asl.json in moto's Step Functions interpreter.

The executions run on the session's local stack (tests/conftest.py), with the real task handler;
tests start them directly with StartExecution, as the API would, and choose the timeouts.
"""

import os
from collections.abc import Callable, Iterator

import pytest

import authflow.aws
from authflow.status import StatusRecords
from tests.support.workflow import OnboardingRun, TableStores, start_onboarding


@pytest.fixture(scope="module")
def store(local_stack) -> StatusRecords:
    """The API's status records on the local stack's table (through AWS_ENDPOINT_URL, as the API reaches it)."""
    assert os.environ.get("AWS_ENDPOINT_URL") == f"http://127.0.0.1:{local_stack.moto_port}"
    authflow.aws.client.cache_clear()
    authflow.aws.table_client.cache_clear()
    return StatusRecords(local_stack.stack.refs["StatusTable"])


@pytest.fixture(scope="module")
def stores(store) -> TableStores:
    """The table's other stores (claims, signals, MFA sessions), as the API reaches them."""
    return TableStores.on(store.table_name)


@pytest.fixture(scope="module")
def state_machine_arn(local_stack) -> str:
    return local_stack.stack.state_machines["OnboardingStateMachine"]


@pytest.fixture(scope="module")
def executions() -> list[str]:
    """Every execution this module started (their histories are scanned for secrets)."""
    return []


@pytest.fixture(scope="module")
def secrets_used() -> dict[str, set[str]]:
    """Every secret this module's runs used, by kind (the history scan looks for each)."""
    return {"password": set(), "totp_secret": set(), "otp": set(), "session": set()}


@pytest.fixture(scope="module")
def start(sfn, store, state_machine_arn, executions, api) -> Callable[..., OnboardingRun]:
    def start(**kwargs) -> OnboardingRun:
        run = start_onboarding(sfn, store, state_machine_arn, **kwargs)
        executions.append(run.execution_arn)
        api.status_tokens[run.user_id] = run.status_token  # the creator polls with it
        return run

    return start


@pytest.fixture
def cognito_fault(monkeypatch) -> Iterator[Callable]:
    """Makes moto's AdminCreateUser fail, in-process, for one user and one MessageAction.

    fault(username, action, error, times=None) -> list of the matching calls; `error` is a factory of
    the moto exception to raise, for the first `times` matching calls (all of them if None). moto's
    backend method is restored when the test ends (the local stack's own patch of it included).
    """
    from moto.cognitoidp.models import CognitoIdpBackend

    def fault(username: str, action: str, error: Callable[[], Exception], times: int | None = None) -> list:
        current = CognitoIdpBackend.admin_create_user
        calls: list = []

        def admin_create_user(self, user_pool_id, user_name, message_action, *args, **kwargs):
            if user_name == username and message_action == action:
                calls.append(message_action)
                if times is None or len(calls) <= times:
                    raise error()
            return current(self, user_pool_id, user_name, message_action, *args, **kwargs)

        monkeypatch.setattr(CognitoIdpBackend, "admin_create_user", admin_create_user)
        return calls

    yield fault
