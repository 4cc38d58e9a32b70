"""`authflow --stack-name` against "AWS": a moto server in its own process (so nothing is shared with
the local stack), holding a CloudFormation stack with authflow's kinds of resources. The installed
`authflow` command runs as an operator runs it, with only AWS settings in its environment: a profile
in a credentials/config file, or --region."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

REGION = "eu-west-1"
DEFINITION = {
    "StartAt": "CreateCognitoUser",
    "States": {
        "CreateCognitoUser": {"Type": "Pass", "Next": "OnboardingComplete"},
        "OnboardingComplete": {"Type": "Succeed"},
    },
}
USER_ID = "0b0e7a64-5d3c-4d0e-9a43-0c7f2b9f3d11"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stack_template(name: str, with_log_group: bool) -> str:
    role = "arn:aws:iam::123456789012:role/authflow-states"
    resources = {
        "OnboardingStateMachine": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {"StateMachineName": f"{name}-onboarding", "DefinitionString": json.dumps(DEFINITION), "RoleArn": role},
        },
        "StatusTable": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "TableName": f"{name}-status",
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            },
        },
        "EventBus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": name}},
    }
    if with_log_group:
        resources["EventLogGroup"] = {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": f"/{name}/events"}}
    return json.dumps({"Resources": resources})


@pytest.fixture(scope="module")
def aws(tmp_path_factory):
    """A moto server on 127.0.0.1 with stacks authflow-prod (with an event log group) and authflow-bare."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("the moto server standing in for AWS did not start")
                time.sleep(0.1)
        session = boto3.Session(aws_access_key_id="ops", aws_secret_access_key="ops", region_name=REGION)
        cloudformation = session.client("cloudformation", endpoint_url=endpoint)
        cloudformation.create_stack(StackName="authflow-prod", TemplateBody=_stack_template("authflow-prod", True))
        cloudformation.create_stack(StackName="authflow-bare", TemplateBody=_stack_template("authflow-bare", False))
        sfn = session.client("stepfunctions", endpoint_url=endpoint)
        machine = next(m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"] if m["name"] == "authflow-prod-onboarding")
        execution_arn = sfn.start_execution(
            stateMachineArn=machine, name=USER_ID, input=json.dumps({"user_id": USER_ID, "password": "hunter2-Secret"})
        )["executionArn"]
        session.client("dynamodb", endpoint_url=endpoint).put_item(
            TableName="authflow-prod-status",
            Item={
                "pk": {"S": f"USER#{USER_ID}"},
                "sk": {"S": "STATUS"},
                "user_id": {"S": USER_ID},
                "email": {"S": "ada@example.com"},
                "status": {"S": "INVITED"},
                "updated_at": {"S": "2026-01-01T00:00:01+00:00"},
                "execution_arn": {"S": execution_arn},
                "steps": {
                    "L": [
                        {"M": {"name": {"S": "CreateCognitoUser"}, "status": {"S": "SUCCEEDED"}, "at": {"S": "2026-01-01T00:00:00+00:00"}}}
                    ]
                },
            },
        )
        logs = session.client("logs", endpoint_url=endpoint)
        logs.create_log_stream(logGroupName="/authflow-prod/events", logStreamName="bus")
        now = int(time.time() * 1000)
        logs.put_log_events(
            logGroupName="/authflow-prod/events",
            logStreamName="bus",
            logEvents=[
                {
                    "timestamp": now - 2000 + i,
                    "message": json.dumps(
                        {
                            "id": f"event-{i}",
                            "detail-type": kind,
                            "source": "authflow",
                            "time": "2026-01-01T00:00:00Z",
                            "detail": {
                                "event_id": f"e{i}",
                                "user_id": USER_ID,
                                "occurred_at": "2026-01-01T00:00:00Z",
                                "execution_arn": execution_arn,
                            },
                        }
                    ),
                }
                for i, kind in enumerate(["UserCreated", "InvitationSent", "LoginFailed"])
            ],
        )
        home = tmp_path_factory.mktemp("operator")
        (home / "credentials").write_text("[ops]\naws_access_key_id = ops\naws_secret_access_key = ops\n")
        (home / "config").write_text(f"[profile ops]\nregion = {REGION}\n")
        yield {"endpoint": endpoint, "home": home, "execution_arn": execution_arn}
    finally:
        server.terminate()
        server.wait(timeout=10)


def authflow(aws, *args: str, profile: bool = True):
    """The installed command, with nothing in its environment but what an operator's shell has."""
    command = Path(sys.executable).with_name("authflow")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(aws["home"]),
        "COLUMNS": "200",
        "AWS_ENDPOINT_URL": aws["endpoint"],
        "AWS_SHARED_CREDENTIALS_FILE": str(aws["home"] / "credentials"),
        "AWS_CONFIG_FILE": str(aws["home"] / "config"),
    }
    if not profile:
        env.update(AWS_ACCESS_KEY_ID="ops", AWS_SECRET_ACCESS_KEY="ops")
    return subprocess.run([str(command), *args], capture_output=True, text=True, env=env, timeout=60)


def as_json(answer):
    assert answer.returncode == 0, answer.stderr
    return json.loads(answer.stdout)


def test_executions_list_reads_the_stacks_state_machines(aws):
    rows = as_json(authflow(aws, "executions", "list", "--stack-name", "authflow-prod", "--profile", "ops", "--json"))
    assert [(r["name"], r["state_machine"], r["state_machine_id"]) for r in rows] == [
        (USER_ID, "authflow-prod-onboarding", "OnboardingStateMachine")
    ]
    table = authflow(aws, "executions", "list", "--stack-name", "authflow-prod", "--region", REGION, profile=False)
    assert table.returncode == 0, table.stderr
    assert f"stack authflow-prod ({REGION})" in table.stdout and USER_ID in table.stdout


def test_executions_show_reads_the_history(aws):
    view = as_json(authflow(aws, "--stack-name", "authflow-prod", "--profile", "ops", "executions", "show", USER_ID, "--json"))
    assert view["arn"] == aws["execution_arn"] and view["state_machine_id"] == "OnboardingStateMachine"
    assert view["history"][0]["type"] == "ExecutionStarted"
    assert view["input"] == {"user_id": USER_ID, "password": "***"}
    assert "hunter2-Secret" not in json.dumps(view)
    table = authflow(aws, "executions", "show", USER_ID, "--stack-name", "authflow-prod", "--profile", "ops")
    assert table.returncode == 0 and "Event history" in table.stdout and "ExecutionStarted" in table.stdout


def test_users_status_reads_the_status_table(aws):
    status = as_json(authflow(aws, "users", "status", USER_ID, "--stack-name", "authflow-prod", "--profile", "ops", "--json"))
    assert status["status"] == "INVITED" and status["execution"]["name"] == USER_ID
    assert status["steps"] == [{"name": "CreateCognitoUser", "status": "SUCCEEDED", "at": "2026-01-01T00:00:00+00:00"}]
    missing = authflow(aws, "users", "status", "no-such-user", "--stack-name", "authflow-prod", "--profile", "ops")
    assert missing.returncode == 1 and "No user no-such-user" in missing.stderr


def test_events_tail_reads_the_event_log_group(aws):
    events = as_json(authflow(aws, "events", "tail", "--stack-name", "authflow-prod", "--profile", "ops", "--json"))
    assert [e["detail-type"] for e in events] == ["UserCreated", "InvitationSent", "LoginFailed"]
    failed = as_json(
        authflow(aws, "events", "tail", "--type", "LoginFailed", "--stack-name", "authflow-prod", "--profile", "ops", "--json")
    )
    assert [e["id"] for e in failed] == ["event-2"]


def test_events_tail_explains_a_stack_without_an_event_log(aws):
    answer = authflow(aws, "events", "tail", "--stack-name", "authflow-bare", "--profile", "ops")
    assert answer.returncode == 2
    message = " ".join(answer.stderr.split())
    assert "Stack authflow-bare has no CloudWatch log group of its events" in message
    assert "events on authflow-bare" in message or "events on EventBus" in message  # moto leaves the bus's physical id empty
    assert "Add a rule that sends the bus's events to a log group" in message


def test_an_unknown_stack_is_a_clear_error(aws):
    answer = authflow(aws, "executions", "list", "--stack-name", "no-such-stack", "--profile", "ops")
    assert answer.returncode == 2 and "Reading stack no-such-stack in eu-west-1" in answer.stderr
