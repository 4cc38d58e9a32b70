"""What an operator reads of an execution: masked data, step statuses, the path and the edges taken."""

import json
from datetime import UTC, datetime, timedelta

from infra.console.graph import END, START, state_key
from infra.console.model import execution_view, mask
from infra.console.stepfunctions import Machine, list_executions

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DEFINITION = {
    "StartAt": "Create",
    "States": {
        "Create": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Next": "Wait",
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Compensate"}],
        },
        "Wait": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Next": "Done",
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Compensate"}],
        },
        "Done": {"Type": "Succeed"},
        "Compensate": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Next": "Failed"},
        "Failed": {"Type": "Fail", "Error": "OnboardingFailed", "Cause": "A step failed."},
    },
}


class History:
    def __init__(self):
        self.events = []

    def add(self, kind: str, details_key: str | None = None, **details):
        event = {
            "id": len(self.events) + 1,
            "type": kind,
            "timestamp": T0 + timedelta(milliseconds=10 * len(self.events)),
            "previousEventId": 0,
        }
        if details_key:
            event[details_key] = details
        self.events.append(event)
        return self

    def start(self):
        return self.add("ExecutionStarted", "executionStartedEventDetails", input=json.dumps({"user_id": "u1", "password": "hunter2"}))

    def enter(self, name, kind="Task"):
        return self.add(f"{kind}StateEntered", "stateEnteredEventDetails", name=name, input='{"user_id": "u1"}')

    def exit(self, name, kind="Task"):
        return self.add(f"{kind}StateExited", "stateExitedEventDetails", name=name, output='{"user_id": "u1"}')

    def task(self, resource="invoke", token=None):
        payload = {"task": "x", **({"task_token": token} if token else {})}
        return self.add(
            "TaskScheduled",
            "taskScheduledEventDetails",
            resourceType="lambda",
            resource=resource,
            parameters=json.dumps({"FunctionName": "f", "Payload": payload}),
        )


def view(history: History, status: str) -> dict:
    return execution_view(
        name="u1",
        arn="arn:aws:states:us-east-1:1:execution:sm:u1",
        state_machine_arn="arn:aws:states:us-east-1:1:stateMachine:sm",
        state_machine_id="Sm",
        state_machine_type="STANDARD",
        definition=DEFINITION,
        history=history.events,
        described={"status": status, "startDate": T0, "input": json.dumps({"user_id": "u1", "password": "hunter2"})},
    )


def statuses(v: dict) -> dict:
    return {n["name"]: n["status"] for n in v["graph"]["nodes"]}


def taken(v: dict) -> set:
    return {(e["source"], e["target"], e["kind"]) for e in v["graph"]["edges"] if e["taken"]}


def test_mask_hides_secret_fields_also_inside_json_strings():
    parameters = json.dumps({"Payload": {"task_token": "AAAA-token", "user_id": "u1", "onboarding": {"temporary_password": "p"}}})
    masked = mask(
        {"parameters": parameters, "output": json.dumps({"StatusCode": 200, "Payload": {"access_token": "eyJ", "otp": "123456"}})}
    )
    assert "AAAA-token" not in json.dumps(masked) and '"p"' not in masked["parameters"]
    assert json.loads(masked["parameters"])["Payload"]["user_id"] == "u1"
    output = json.loads(masked["output"])
    assert output == {"StatusCode": 200, "Payload": {"access_token": "***", "otp": "***"}}
    assert mask({"verification_session": "s", "refresh_token": "r", "qr_code_secret_url": "https://x"}) == {
        "verification_session": "***",
        "refresh_token": "***",
        "qr_code_secret_url": "***",
    }


def test_a_waiting_execution_marks_the_state_that_waits_for_its_task_token():
    h = History().start().enter("Create").task().add("TaskSucceeded", "taskSucceededEventDetails", output="{}").exit("Create")
    h.enter("Wait").task("invoke.waitForTaskToken", token="secret-task-token").add("TaskStarted").add(
        "TaskSubmitted", "taskSubmittedEventDetails", output="{}"
    )
    v = view(h, "RUNNING")
    assert [p["state"] for p in v["path"]] == ["Create", "Wait"]
    assert v["current"] == ["Wait"] and v["failed_states"] == []
    assert statuses(v) | {} == {
        "Start": "succeeded",
        "Create": "succeeded",
        "Wait": "waiting",
        "Done": "not-run",
        "Compensate": "not-run",
        "Failed": "not-run",
        "End": "not-run",
    }
    assert taken(v) == {(START, state_key("Create"), "next"), (state_key("Create"), state_key("Wait"), "next")}
    text = json.dumps(v)
    assert "secret-task-token" not in text and "hunter2" not in text
    assert v["steps"][1]["parameters"]["Payload"]["task_token"] == "***"
    assert v["input"] == {"user_id": "u1", "password": "***"}


def test_a_caught_failure_and_the_fail_state_show_where_the_execution_failed():
    h = History().start().enter("Create").task().add("TaskFailed", "taskFailedEventDetails", error="Boom", cause="it broke").exit("Create")
    h.enter("Compensate").task().add("TaskSucceeded").exit("Compensate").enter("Failed", "Fail")
    h.add("ExecutionFailed", "executionFailedEventDetails", error="OnboardingFailed", cause="A step failed.")
    v = view(h, "FAILED")
    assert statuses(v)["Create"] == "caught" and statuses(v)["Compensate"] == "succeeded" and statuses(v)["Failed"] == "failed"
    assert v["failed_states"] == ["Failed"] and v["error"] == "OnboardingFailed"
    assert (state_key("Create"), state_key("Compensate"), "catch") in taken(v)
    assert (state_key("Create"), state_key("Wait"), "next") not in taken(v)
    assert (state_key("Failed"), END, "end") in taken(v)
    assert v["steps"][0]["error"] == "Boom"
    failed_rows = [r for r in v["history"] if r["type"] == "TaskFailed"]
    assert failed_rows[0]["state"] == "Create"


def test_an_uncaught_failure_fails_the_state_it_stopped_in_and_a_retry_counts_attempts():
    h = History().start().enter("Create").task().add("TaskFailed", "taskFailedEventDetails", error="TransientError").task()
    h.add("TaskFailed", "taskFailedEventDetails", error="TransientError").add(
        "ExecutionFailed", "executionFailedEventDetails", error="States.Runtime"
    )
    v = view(h, "FAILED")
    assert v["path"] == [{"state": "Create", "entered": v["path"][0]["entered"], "exited": None, "status": "failed", "type": "Task"}]
    assert v["steps"][0]["attempts"] == 2
    assert statuses(v)["End"] == "not-run"


def test_a_succeeded_execution_reaches_end():
    h = History().start().enter("Create").task().exit("Create").enter("Wait").task("invoke.waitForTaskToken").exit("Wait")
    h.enter("Done", "Succeed").exit("Done", "Succeed").add("ExecutionSucceeded", "executionSucceededEventDetails", output="{}")
    v = view(h, "SUCCEEDED")
    assert statuses(v)["End"] == "succeeded" and (state_key("Done"), END, "end") in taken(v)
    assert v["current"] == []


class _ClientError(Exception):
    def __init__(self, code):
        self.response = {"Error": {"Code": code}}


class _StepFunctions:
    """A Step Functions client as AWS answers for an EXPRESS machine: ListExecutions is refused."""

    def get_paginator(self, name):
        class Paginator:
            def paginate(self, stateMachineArn, **_):
                if "express" in stateMachineArn:
                    raise _ClientError("StateMachineTypeNotSupported")
                yield {
                    "executions": [
                        {
                            "executionArn": f"{stateMachineArn}:e1".replace("stateMachine", "execution"),
                            "stateMachineArn": stateMachineArn,
                            "name": "e1",
                            "status": "SUCCEEDED",
                            "startDate": T0,
                            "stopDate": T0 + timedelta(seconds=2),
                        }
                    ]
                }

        return Paginator()


def test_an_express_machine_that_cannot_be_listed_is_a_note_not_an_error():
    machines = [
        Machine("OnboardingStateMachine", "arn:aws:states:us-east-1:1:stateMachine:standard", "standard", "STANDARD"),
        Machine("LoginStateMachine", "arn:aws:states:us-east-1:1:stateMachine:express", "express", "EXPRESS"),
    ]
    rows, notes = list_executions(_StepFunctions(), machines)
    assert [(r["name"], r["state_machine"], r["duration_s"], r["type"]) for r in rows] == [("e1", "standard", 2.0, "STANDARD")]
    assert len(notes) == 1 and "express is an EXPRESS state machine" in notes[0] and "CloudWatch" in notes[0]
