"""workflows/login.asl.json in moto's interpreter, run synchronously as the API runs it, one test per path.

Each test puts the step's secrets in a handoff record (as the API does), starts a synchronous
execution, and checks the outcome, the state path, the events and that the secrets stayed out.
"""

import json
import uuid
from datetime import timedelta

import pytest
from moto.cognitoidp.exceptions import ResourceNotFoundError
from moto.cognitoidp.models import CognitoIdpBackend

from tests.support.client import onboard
from tests.support.flows import unique_email


@pytest.fixture(scope="module")
def login_arn(local_stack) -> str:
    return local_stack.stack.state_machines["LoginStateMachine"]


@pytest.fixture(scope="module")
def user(api):
    return onboard(api, "loginwf")


def run(sfn, stores, login_arn, step: str, secrets: dict) -> tuple[dict, list[str], str]:
    handoff_id = str(uuid.uuid4())
    stores.handoffs.put(handoff_id, "request", secrets, timedelta(minutes=1))
    execution = sfn.start_sync_execution(
        stateMachineArn=login_arn, input=json.dumps({"step": step, "handoff_id": handoff_id, "request_id": "test"})
    )
    history = sfn.get_execution_history(executionArn=execution["executionArn"])["events"]
    path = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    assert stores.handoffs.take(handoff_id, "request") is None, "the task must consume the request handoff"
    text = json.dumps(history, default=str) + json.dumps(execution, default=str)
    for secret in secrets.values():
        assert secret not in text
    execution["result"] = json.loads(execution["output"]) if "output" in execution else None
    execution["handoff_id"] = handoff_id
    return execution, path, text


def login_events(views, user_id: str) -> list[dict]:
    return [e for e in views.events(user_id=user_id) if e["detail-type"].startswith("Login")]


def test_a_correct_password_asks_for_mfa(sfn, stores, login_arn, user, views):
    execution, path, _ = run(sfn, stores, login_arn, "PASSWORD", {"email": user.email, "password": user.password})
    assert execution["status"] == "SUCCEEDED"
    assert execution["result"] == {"outcome": "MFA_REQUIRED", "user_id": user.user_id, "reason": "NONE"}
    assert path == ["ChooseLoginStep", "VerifyPassword", "PasswordAccepted?", "AwaitMfaCode"]
    assert stores.handoffs.take(execution["handoff_id"], "result")["session"]


def test_a_wrong_password_is_refused_and_recorded(sfn, stores, login_arn, user, views):
    execution, path, _ = run(sfn, stores, login_arn, "PASSWORD", {"email": user.email, "password": "Wrong-Password-99"})
    assert execution["result"]["outcome"] == "REFUSED" and execution["result"]["reason"] == "INVALID_CREDENTIALS"
    assert path == ["ChooseLoginStep", "VerifyPassword", "PasswordAccepted?", "RecordPasswordRefused", "LoginRefused"]
    failed = login_events(views, user.user_id)[-1]
    assert failed["detail-type"] == "LoginFailed"
    assert failed["detail"]["step"] == "PASSWORD" and failed["detail"]["reason"] == "INVALID_CREDENTIALS"
    assert failed["detail"]["execution_arn"] == execution["executionArn"]


def test_an_unknown_email_is_refused_like_a_wrong_password_with_a_stable_pseudo_id(sfn, stores, login_arn):
    email = unique_email("ghost")
    first, _, _ = run(sfn, stores, login_arn, "PASSWORD", {"email": email, "password": "Whatever-123456"})
    second, _, _ = run(sfn, stores, login_arn, "PASSWORD", {"email": email, "password": "Whatever-123456"})
    assert first["result"]["reason"] == "INVALID_CREDENTIALS"
    assert first["result"]["user_id"] == second["result"]["user_id"]
    uuid.UUID(first["result"]["user_id"])


def test_the_mfa_step_signs_in_and_records_it(sfn, stores, login_arn, user, views):
    password_step, _, _ = run(sfn, stores, login_arn, "PASSWORD", {"email": user.email, "password": user.password})
    session = stores.handoffs.take(password_step["handoff_id"], "result")["session"]
    code = user.otp()
    execution, path, _ = run(sfn, stores, login_arn, "MFA", {"email": user.email, "session": session, "code": code})
    assert execution["result"] == {"outcome": "SIGNED_IN", "user_id": user.user_id, "reason": "NONE"}
    assert path == ["ChooseLoginStep", "VerifyMfaCode", "MfaCodeAccepted?", "SignedIn"]
    tokens = stores.handoffs.take(execution["handoff_id"], "result")
    assert set(tokens) == {"id_token", "access_token", "refresh_token", "expires_in"}
    # Cognito's post authentication trigger records the sign-in, naming the request and this execution.
    recorded = login_events(views, user.user_id)[-1]
    assert recorded["detail-type"] == "LoginSucceeded"
    assert recorded["detail"]["request_id"] == "test" and recorded["detail"]["execution_arn"] == execution["executionArn"]


def test_a_wrong_mfa_code_is_refused_and_recorded(sfn, stores, login_arn, user, views):
    password_step, _, _ = run(sfn, stores, login_arn, "PASSWORD", {"email": user.email, "password": user.password})
    session = stores.handoffs.take(password_step["handoff_id"], "result")["session"]
    wrong = "000000" if user.otp() != "000000" else "111111"
    execution, path, _ = run(sfn, stores, login_arn, "MFA", {"email": user.email, "session": session, "code": wrong})
    assert execution["result"]["reason"] == "INVALID_MFA_CODE"
    assert path[-2:] == ["RecordMfaRefused", "LoginRefused"]
    event = login_events(views, user.user_id)[-1]
    assert event["detail-type"] == "LoginFailed" and event["detail"]["step"] == "MFA"


def test_an_unknown_step_fails_the_execution(sfn, login_arn):
    execution = sfn.start_sync_execution(
        stateMachineArn=login_arn, input=json.dumps({"step": "TELEPATHY", "handoff_id": "x", "request_id": "test"})
    )
    assert execution["status"] == "FAILED" and execution["error"] == "UnknownLoginStep"


def test_a_failing_task_ends_in_login_unavailable(sfn, stores, login_arn, user, monkeypatch):
    def broken(*args, **kwargs):
        raise ResourceNotFoundError("injected fault")

    monkeypatch.setattr(CognitoIdpBackend, "admin_initiate_auth", broken)
    execution, path, _ = run(sfn, stores, login_arn, "PASSWORD", {"email": user.email, "password": user.password})
    assert execution["status"] == "FAILED" and execution["error"] == "LoginUnavailable"
    assert path[-1] == "LoginUnavailable"
