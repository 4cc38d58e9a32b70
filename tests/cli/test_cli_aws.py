"""`authflow --stack-name` against authflow's own stack: template.yaml translated by the SAM translator,
packaged and deployed to moto's CloudFormation in-process (mock_aws, tests/support/cloudformation.py).
The command runs in-process as an operator runs it, with only AWS settings in its environment: a
profile in a credentials/config file, or --region. What the deployed stack would hold after a user's
first steps is put where AWS puts it: an execution of the onboarding state machine, the user's
record in the status table, the bus's events in the audit log group its rule fills."""

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from authflow.models import OnboardingInput, OnboardingTimeouts
from authflow_cli.app import app
from tests.support.cloudformation import cloudformation_gaps_closed, deploy

# mock_aws patches botocore for the whole process: these tests run before the local stack starts (tests/conftest.py).
pytestmark = pytest.mark.in_process_aws

REGION = "eu-west-2"
USER_ID = "0b0e7a64-5d3c-4d0e-9a43-0c7f2b9f3d11"
EVENT_TYPES = ["UserCreated", "InvitationSent", "LoginFailed"]


def _outputs(stack: dict) -> dict[str, str]:
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


@pytest.fixture(scope="module")
def aws(tmp_path_factory) -> Iterator[dict]:
    """Stack authflow-prod as deployed; authflow-dev the same without the rule that fills its audit log."""
    from moto import mock_aws

    home = tmp_path_factory.mktemp("operator")
    (home / "credentials").write_text("[ops]\naws_access_key_id = ops\naws_secret_access_key = ops\n")
    (home / "config").write_text(f"[profile ops]\nregion = {REGION}\n")
    environment = {
        "HOME": str(home),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "operator",
        "AWS_SECRET_ACCESS_KEY": "operator",
    }
    with pytest.MonkeyPatch.context() as patch:
        # An operator's shell: no endpoint of the local stack; once deployed, no region but the profile's or --region.
        for name in ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_PROFILE", "AUTHFLOW_STACK_NAME"):
            patch.delenv(name, raising=False)
        for name, value in environment.items():
            patch.setenv(name, value)
        mock = mock_aws()
        # reset=False / remove_data=False: moto's backends are shared with the session's local stack.
        mock.start(reset=False)
        try:
            with cloudformation_gaps_closed():
                prod = _outputs(deploy("authflow-prod", "prod"))
                dev = _outputs(deploy("authflow-dev", "dev", without=("AuditEventsRule",)))
                execution_arn = _first_steps_of_a_user(prod)
                patch.delenv("AWS_DEFAULT_REGION")
                yield {"prod": prod, "dev": dev, "execution_arn": execution_arn}
        finally:
            mock.stop(remove_data=False)


def _first_steps_of_a_user(outputs: dict[str, str]) -> str:
    """An onboarding execution, its status record and three events in the audit log group; the execution's ARN."""
    timeouts = OnboardingTimeouts(confirmation_seconds=3600, confirmation_limit_seconds=3 * 3600, mfa_seconds=3600)
    execution_input = OnboardingInput(
        user_id=USER_ID, email="ada@example.com", full_name="Ada Lovelace", request_id="r-1", timeouts=timeouts
    )
    # An operator's mistake the CLI must survive: a secret in an execution's input is masked.
    started = boto3.client("stepfunctions").start_execution(
        stateMachineArn=outputs["OnboardingStateMachineArn"],
        name=USER_ID,
        input=json.dumps({**json.loads(execution_input.model_dump_json()), "password": "hunter2-Secret"}),
    )
    boto3.client("dynamodb").put_item(
        TableName=outputs["StatusTableName"],
        Item={
            "pk": {"S": f"USER#{USER_ID}"},
            "sk": {"S": "STATUS"},
            "user_id": {"S": USER_ID},
            "email": {"S": "ada@example.com"},
            "status": {"S": "INVITED"},
            "updated_at": {"S": "2026-01-01T00:00:01+00:00"},
            "execution_arn": {"S": started["executionArn"]},
            "steps": {
                "L": [{"M": {"name": {"S": "CreateCognitoUser"}, "status": {"S": "SUCCEEDED"}, "at": {"S": "2026-01-01T00:00:00+00:00"}}}]
            },
        },
    )
    logs, group = boto3.client("logs"), outputs["AuditLogGroupName"]
    logs.create_log_stream(logGroupName=group, logStreamName="bus")
    now = int(time.time() * 1000)
    detail = {"user_id": USER_ID, "occurred_at": "2026-01-01T00:00:00Z", "execution_arn": started["executionArn"]}
    logs.put_log_events(
        logGroupName=group,
        logStreamName="bus",
        logEvents=[
            {
                "timestamp": now - 2000 + n,
                "message": json.dumps(
                    {"id": f"event-{n}", "detail-type": kind, "source": "authflow", "detail": {**detail, "event_id": f"e{n}"}}
                ),
            }
            for n, kind in enumerate(EVENT_TYPES)
        ],
    )
    return started["executionArn"]


def authflow(*args: str):
    """The command, in-process, with --profile ops unless --region is given."""
    arguments = [*args] if "--region" in args else [*args, "--profile", "ops"]
    return CliRunner().invoke(app, arguments, prog_name="authflow")


def as_json(answer) -> Any:
    assert answer.exit_code == 0, answer.stderr or answer.output
    return json.loads(answer.stdout)


def test_the_stack_is_the_real_template(aws):
    resources = boto3.Session(profile_name="ops").client("cloudformation").list_stack_resources(StackName="authflow-prod")
    kinds = {r["LogicalResourceId"]: r["ResourceType"] for r in resources["StackResourceSummaries"]}
    assert kinds["OnboardingStateMachine"] == kinds["LoginStateMachine"] == "AWS::StepFunctions::StateMachine"
    assert kinds["AuditLogGroup"] == "AWS::Logs::LogGroup" and kinds["ApiFunction"] == "AWS::Lambda::Function"
    assert sum(kind == "AWS::Logs::LogGroup" for kind in kinds.values()) > 1, "events tail must pick the audit log group among others"


def test_executions_list_reads_the_stacks_state_machines(aws):
    rows = as_json(authflow("executions", "list", "--stack-name", "authflow-prod", "--json"))
    assert [(r["name"], r["state_machine"], r["state_machine_id"]) for r in rows] == [
        (USER_ID, "authflow-prod-onboarding", "OnboardingStateMachine")
    ]
    table = authflow("executions", "list", "--stack-name", "authflow-prod", "--region", REGION)
    assert table.exit_code == 0, table.stderr
    # An 80-column terminal: the name is cut at the end, not dropped.
    assert f"stack authflow-prod ({REGION})" in table.stdout and USER_ID[:8] in table.stdout


def test_executions_show_reads_the_history_and_masks_secrets(aws):
    view = as_json(authflow("--stack-name", "authflow-prod", "executions", "show", USER_ID, "--json"))
    assert view["arn"] == aws["execution_arn"] and view["state_machine_id"] == "OnboardingStateMachine"
    assert view["history"][0]["type"] == "ExecutionStarted"
    assert view["input"]["user_id"] == USER_ID and view["input"]["password"] == "***"
    assert "hunter2-Secret" not in json.dumps(view)
    table = authflow("executions", "show", USER_ID, "--stack-name", "authflow-prod")
    assert table.exit_code == 0 and "Event history" in table.stdout and "ExecutionStarted" in table.stdout


def test_users_status_reads_the_status_table(aws):
    status = as_json(authflow("users", "status", USER_ID, "--stack-name", "authflow-prod", "--json"))
    assert status["status"] == "INVITED" and status["execution"]["name"] == USER_ID
    assert status["steps"] == [{"name": "CreateCognitoUser", "status": "SUCCEEDED", "at": "2026-01-01T00:00:00+00:00"}]
    missing = authflow("users", "status", "no-such-user", "--stack-name", "authflow-prod")
    assert missing.exit_code == 1 and "No user no-such-user" in missing.stderr


def test_events_tail_reads_the_audit_log_group_the_bus_rule_fills(aws):
    events = as_json(authflow("events", "tail", "--stack-name", "authflow-prod", "--json"))
    assert [e["detail-type"] for e in events] == EVENT_TYPES
    failed = as_json(authflow("events", "tail", "--type", "LoginFailed", "--stack-name", "authflow-prod", "--json"))
    assert [e["id"] for e in failed] == ["event-2"]


def test_events_tail_explains_a_stack_whose_events_reach_no_log_group(aws):
    answer = authflow("events", "tail", "--stack-name", "authflow-dev")
    assert answer.exit_code == 2
    message = " ".join(answer.stderr.split())
    assert "Stack authflow-dev has no CloudWatch log group of its events" in message
    assert "events on authflow-dev go to their rules' targets" in message
    assert "Add a rule that sends the bus's events to a log group" in message
    named = as_json(authflow("events", "tail", "--stack-name", "authflow-dev", "--log-group", aws["dev"]["AuditLogGroupName"], "--json"))
    assert named == []


def test_api_keys_are_made_in_the_stacks_status_table_and_stored_hashed(aws):
    """After `sam deploy` an operator makes each front end's key with their AWS credentials."""
    created = as_json(authflow("api-keys", "create", "web-shop", "--stack-name", "authflow-prod", "--json"))
    assert created["name"] == "web-shop" and len(created["key"]) >= 43
    table = aws["prod"]["StatusTableName"]
    items = boto3.Session(profile_name="ops").client("dynamodb").scan(TableName=table)["Items"]
    stored = [item for item in items if item["pk"]["S"] == "API_KEYS"]
    assert [item["name"]["S"] for item in stored] == ["web-shop"] and created["key"] not in json.dumps(stored)
    assert [row["name"] for row in as_json(authflow("api-keys", "list", "--stack-name", "authflow-prod", "--json"))] == ["web-shop"]
    assert as_json(authflow("api-keys", "list", "--stack-name", "authflow-dev", "--json")) == []
    assert as_json(authflow("api-keys", "revoke", "web-shop", "--stack-name", "authflow-prod", "--json"))["revoked"] is True


def test_an_unknown_stack_is_a_clear_error(aws):
    answer = authflow("executions", "list", "--stack-name", "no-such-stack")
    assert answer.exit_code == 2 and f"Reading stack no-such-stack in {REGION}" in answer.stderr
