"""workflows/password_reset.asl.json in moto's interpreter: reset, expiry, superseded request, failing task."""

import json
import re
import uuid

import pytest
from moto.cognitoidp.exceptions import ResourceNotFoundError
from moto.cognitoidp.models import CognitoIdpBackend

from authflow.models import UserAction
from tests.support.client import onboard
from tests.support.flows import wait_for


@pytest.fixture(scope="module")
def reset_arn(local_stack) -> str:
    return local_stack.stack.state_machines["PasswordResetStateMachine"]


def start(sfn, reset_arn, user_id: str, validity: int) -> str:
    return sfn.start_execution(
        stateMachineArn=reset_arn,
        name=f"reset-{user_id}-{uuid.uuid4().hex[:8]}",
        input=json.dumps({"user_id": user_id, "request_id": "test", "code_validity_seconds": validity}),
    )["executionArn"]


def finished(sfn, arn: str) -> dict:
    return wait_for(lambda: (d := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d, 15, f"{arn} to end")


def path_of(sfn, arn: str) -> list[str]:
    history = sfn.get_execution_history(executionArn=arn)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]


def types(views, user_id: str) -> list[str]:
    return [e["detail-type"] for e in views.events(user_id=user_id) if e["detail-type"].startswith("PasswordReset")]


def latest_code(api, email: str) -> str:
    def find():
        codes = [re.search(r"reset code: <b>(\d{6})</b>", m["body"]) for m in api.mail(email)]
        return [c.group(1) for c in codes if c]

    return wait_for(find, 10, "a reset code")[-1]


def test_a_confirmed_code_completes_the_reset(api, sfn, reset_arn, views):
    user = onboard(api, "resetwf")
    arn = start(sfn, reset_arn, user.user_id, 60)
    code = latest_code(api, user.email)
    done = api.post(
        f"/users/{user.user_id}/confirm-password",
        {"email": user.email, "new_password": "Brand-New-Horse-77", "verification_code": code},
    )
    assert done.status == 200, done.body
    assert finished(sfn, arn)["status"] == "SUCCEEDED"
    assert path_of(sfn, arn) == ["SendResetCode", "WaitForNewPassword", "RecordPasswordReset", "PasswordResetComplete"]
    assert types(views, user.user_id)[-2:] == ["PasswordResetRequested", "PasswordResetCompleted"]
    assert code not in json.dumps(sfn.get_execution_history(executionArn=arn)["events"], default=str)


def test_an_unconfirmed_reset_expires(api, sfn, reset_arn, views):
    user = onboard(api, "resetexpire")
    arn = start(sfn, reset_arn, user.user_id, 1)
    described = finished(sfn, arn)
    assert described["status"] == "FAILED" and described["error"] == "PasswordResetExpired"
    assert path_of(sfn, arn)[-2:] == ["ExpirePasswordReset", "PasswordResetExpired"]
    assert types(views, user.user_id)[-1] == "PasswordResetExpired"


def test_a_newer_request_supersedes_a_waiting_reset(api, sfn, reset_arn, store):
    user = onboard(api, "resetsuper")
    assert api.post("/forgot-password", {"email": user.email}).status == 200
    first = wait_for(
        lambda: [e["executionArn"] for e in sfn.list_executions(stateMachineArn=reset_arn)["executions"] if user.user_id in e["name"]],
        10,
        "the first reset",
    )[0]
    wait_for(
        lambda: store.client.get_item(
            TableName=store.table_name, Key={"pk": f"USER#{user.user_id}", "sk": f"SIGNAL#{UserAction.PASSWORD_RESET.value}"}
        ).get("Item"),
        10,
        "the waiting token",
    )
    assert api.post("/forgot-password", {"email": user.email}).status == 200
    described = finished(sfn, first)
    assert described["status"] == "SUCCEEDED"
    assert path_of(sfn, first)[-1] == "PasswordResetSuperseded"


def test_a_failing_task_fails_the_reset(api, sfn, reset_arn, monkeypatch):
    user = onboard(api, "resetfail")

    def broken(*args, **kwargs):
        raise ResourceNotFoundError("injected fault")

    monkeypatch.setattr(CognitoIdpBackend, "forgot_password", broken)
    arn = start(sfn, reset_arn, user.user_id, 60)
    described = finished(sfn, arn)
    assert described["status"] == "FAILED" and described["error"] == "PasswordResetFailed"
    assert path_of(sfn, arn) == ["SendResetCode", "PasswordResetFailed"]
