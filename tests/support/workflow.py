"""Helpers for tests that drive the onboarding state machine directly, and for domain unit tests.

- start_onboarding() does what the API's Onboarding.start does (status record + email claim, then
  StartExecution named after the user_id), with the timeouts a test chooses;
- waits with a deadline (never a fixed long sleep), through the flows' wait_for;
- readers of an execution's history (the state path, the events' text);
- in_process_aws: moto's in-process mock for domain unit tests, made safe to run in the same pytest
  process as the session-wide local stack (see its docstring).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest

import authflow.aws
from authflow import status_tokens
from authflow.models import OnboardingInput, OnboardingTimeouts, StepStatus
from authflow.status import EmailClaims, MfaSessions, Signals, StatusRecords
from tests.support.flows import wait_for

TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
# The states a completed onboarding passes through, in order.
HAPPY_PATH = [
    "CreateCognitoUser",
    "SendInvitation",
    "WaitForConfirmation",
    "RecordConfirmation",
    "WaitForMfaConfirmation",
    "ActivateAccount",
    "OnboardingComplete",
]
# The steps the status record holds after a completed onboarding: each task state, under its own name.
HAPPY_PATH_STEPS = [
    ("CreateCognitoUser", StepStatus.SUCCEEDED),
    ("SendInvitation", StepStatus.SUCCEEDED),
    ("WaitForConfirmation", StepStatus.WAITING),
    ("RecordConfirmation", StepStatus.SUCCEEDED),
    ("WaitForMfaConfirmation", StepStatus.WAITING),
    ("ActivateAccount", StepStatus.SUCCEEDED),
]
ONBOARDING_EVENT_TYPES = (
    "UserCreated",
    "InvitationSent",
    "UserConfirmed",
    "MfaEnrolled",
    "OnboardingCompleted",
    "OnboardingExpired",
    "OnboardingFailed",
)


# ----------------------------------------------------------------------------- executions


@dataclass
class OnboardingRun:
    user_id: str
    email: str
    full_name: str
    request_id: str
    execution_arn: str
    status_token: str


def execution_arn_for(state_machine_arn: str, name: str) -> str:
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"


def start_onboarding(
    sfn,
    store: StatusRecords,
    state_machine_arn: str,
    *,
    confirmation_seconds: int,
    mfa_seconds: int,
    confirmation_limit_seconds: int | None = None,
    full_name: str = "Ada Lovelace",
    email: str | None = None,
    user_id: str | None = None,
) -> OnboardingRun:
    """Writes the CREATED record (with a status token's digest) and the email claim, then starts the
    execution, as the API does."""
    user_id = user_id or str(uuid.uuid4())
    email = email or f"wf-{user_id[:12]}@example.com"
    request_id = f"req-{uuid.uuid4().hex[:12]}"
    arn = execution_arn_for(state_machine_arn, user_id)
    status_token = status_tokens.new_status_token()
    store.create(user_id, email, arn, status_tokens.digest(status_token))
    execution_input = OnboardingInput(
        user_id=user_id,
        email=email,
        full_name=full_name,
        request_id=request_id,
        timeouts=OnboardingTimeouts(
            confirmation_seconds=confirmation_seconds,
            confirmation_limit_seconds=confirmation_limit_seconds or 3 * confirmation_seconds,
            mfa_seconds=mfa_seconds,
        ),
    )
    started = sfn.start_execution(stateMachineArn=state_machine_arn, name=user_id, input=execution_input.model_dump_json(exclude_none=True))
    assert started["executionArn"] == arn
    return OnboardingRun(
        user_id=user_id,
        email=email,
        full_name=full_name,
        request_id=request_id,
        execution_arn=arn,
        status_token=status_token.get_secret_value(),
    )


@dataclass
class TableStores:
    """The status table's stores a test reads besides the status records (authflow.status)."""

    claims: EmailClaims
    signals: Signals
    mfa_sessions: MfaSessions

    @classmethod
    def on(cls, table_name: str) -> TableStores:
        return cls(EmailClaims(table_name), Signals(table_name), MfaSessions(table_name))


def history(sfn, execution_arn: str) -> list[dict]:
    events: list[dict] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        events.extend(page["events"])
    return events


def event_details(event: dict) -> dict:
    """The one *EventDetails member of a history event ({} if it has none)."""
    return next((value for key, value in event.items() if key.endswith("EventDetails")), {})


def state_path(events: list[dict]) -> list[str]:
    """The states entered, in order, as the Step Functions console draws the path."""
    return [event_details(e)["name"] for e in events if e["type"].endswith("StateEntered")]


def wait_until_finished(sfn, execution_arn: str, timeout: float = 20) -> dict:
    return wait_for(
        lambda: (d := sfn.describe_execution(executionArn=execution_arn))["status"] in TERMINAL and d,
        timeout,
        f"execution {execution_arn.rsplit(':', 1)[1]} to finish",
    )


def wait_until_entered(sfn, execution_arn: str, state: str, timeout: float = 20) -> list[dict]:
    """Waits until the execution has entered state; the history so far."""

    def entered():
        events = history(sfn, execution_arn)
        if state in state_path(events):
            return events
        status = sfn.describe_execution(executionArn=execution_arn)["status"]
        if status in TERMINAL:
            raise AssertionError(f"execution ended {status} before entering {state}: {state_path(events)}")
        return None

    return wait_for(entered, timeout, f"execution to enter {state}")


def onboarding_event_types(views, user_id: str) -> list[str]:
    return [e["detail-type"] for e in views.events(user_id=user_id) if e["detail-type"] in ONBOARDING_EVENT_TYPES]


# ----------------------------------------------------------------------------- in-process moto

UNIT_REGION = "eu-west-3"


@pytest.fixture
def in_process_aws(monkeypatch) -> Iterator[str]:
    """moto's in-process mock (mock_aws) for domain unit tests; yields the region the test works in.

    Unit tests share the pytest process with the session-scoped local stack, a moto server whose
    backends are moto's process-wide BackendDicts. Hence:
    - the mock starts with reset=False and stops with remove_data=False: mock_aws's default start and
      stop reset every backend, which would wipe the local stack's user pool, table and state machine;
    - unit tests work in UNIT_REGION, so they never see or touch the local stack's us-east-1 resources;
    - AWS_ENDPOINT_URL (set by the local stack) is removed for the test, otherwise boto3 would send the
      test's calls to the local server instead of the in-process mock;
    - authflow.aws's cached clients are dropped before (so the domain code makes its clients inside
      the mock) and after (so later tests don't reuse a client bound to the mock); so are Powertools'
      parameter providers (PseudoIds reads its secret through one), which every function of the local
      stack shares, since Powertools is not part of the per-function copy of authflow.
    """
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS
    from moto import mock_aws

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for name, value in {
        "AWS_DEFAULT_REGION": UNIT_REGION,
        "AWS_REGION": UNIT_REGION,
        "AWS_ACCESS_KEY_ID": "unit",
        "AWS_SECRET_ACCESS_KEY": "unit",
    }.items():
        monkeypatch.setenv(name, value)
    authflow.aws.client.cache_clear()
    authflow.aws.table_client.cache_clear()
    DEFAULT_PROVIDERS.clear()
    mock = mock_aws()
    mock.start(reset=False)
    try:
        yield UNIT_REGION
    finally:
        mock.stop(remove_data=False)
        authflow.aws.client.cache_clear()
        authflow.aws.table_client.cache_clear()
        DEFAULT_PROVIDERS.clear()


def create_status_table(name: str) -> None:
    """A table with the StatusTable's key schema, read from template.yaml so the two stay in step."""
    from infra.template import load_template

    properties = load_template()["Resources"]["StatusTable"]["Properties"]
    boto3.client("dynamodb").create_table(
        TableName=name,
        AttributeDefinitions=properties["AttributeDefinitions"],
        KeySchema=properties["KeySchema"],
        BillingMode=properties["BillingMode"],
    )


# ----------------------------------------------------------------------------- the local stack's clients


def stack_client(local_stack, service: str):
    """A boto3 client bound to the local stack's moto server explicitly (not through the environment,
    which in-process unit tests change for their duration)."""
    return boto3.client(
        service,
        endpoint_url=f"http://127.0.0.1:{local_stack.moto_port}",
        region_name=local_stack.region,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
