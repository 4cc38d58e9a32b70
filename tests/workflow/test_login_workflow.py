"""workflows/login.asl.json in moto's interpreter, run synchronously as the API runs it, one test per path.

Each test starts a synchronous execution with the step's secrets and SECRET_HASH in its input (as the
API does: SPEC section 3 lets an Express execution carry them in flight), and checks Cognito's answer or
the name of the Cognito error the execution caught, and the state path an operator reads.
"""

import json
from pathlib import Path

import pytest
from moto.cognitoidp.exceptions import ResourceNotFoundError
from moto.cognitoidp.models import CognitoIdpBackend

from authflow.users import LOGIN_STEP_ERRORS, MALFORMED_PARAMETER, PASSWORD_ATTEMPTS_EXCEEDED, UserDirectory
from tests.support.client import onboard
from tests.support.flows import unique_email

ASL = json.loads((Path(__file__).resolve().parents[2] / "workflows" / "login.asl.json").read_text())


@pytest.fixture(scope="module")
def login_arn(local_stack) -> str:
    return local_stack.stack.state_machines["LoginStateMachine"]


@pytest.fixture(scope="module")
def directory(local_stack) -> UserDirectory:
    refs = local_stack.stack.refs
    return UserDirectory(refs["UserPool"], refs["UserPoolClient"], refs["AppClientSecret"])


@pytest.fixture(scope="module")
def user(api):
    return onboard(api, "loginwf")


def run(sfn, directory, login_arn, step: str, username: str, **secrets: str) -> tuple[dict, list[str]]:
    execution_input = {"step": step, "request_id": "test", "username": username, **secrets}
    execution_input["secret_hash"] = directory.secret_hash_of(username).get_secret_value()
    execution = sfn.start_sync_execution(stateMachineArn=login_arn, input=json.dumps(execution_input))
    history = sfn.get_execution_history(executionArn=execution["executionArn"])["events"]
    path = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    execution["result"] = json.loads(execution["output"]) if "output" in execution else None
    return execution, path


def password_step(sfn, directory, login_arn, user) -> str:
    execution, _ = run(sfn, directory, login_arn, "PASSWORD", user.user_id, password=user.password)
    return execution["result"]["challenge"]["Session"]


def test_a_correct_password_answers_cognitos_mfa_challenge(sfn, directory, login_arn, user):
    execution, path = run(sfn, directory, login_arn, "PASSWORD", user.user_id, password=user.password)
    assert execution["status"] == "SUCCEEDED"
    assert execution["result"]["outcome"] == "CHALLENGE"
    assert execution["result"]["challenge"]["ChallengeName"] == "SOFTWARE_TOKEN_MFA" and execution["result"]["challenge"]["Session"]
    assert path == ["ChooseLoginStep", "VerifyPassword"]
    assert user.password not in execution["output"], "the output carries Cognito's answer, not the input"


def test_a_wrong_password_ends_with_cognitos_error_name(sfn, directory, login_arn, user):
    execution, path = run(sfn, directory, login_arn, "PASSWORD", user.user_id, password="Wrong-Password-99")
    assert execution["status"] == "SUCCEEDED"
    assert execution["result"]["outcome"] == "REFUSED"
    assert execution["result"]["reason"] == "CognitoIdentityProvider.NotAuthorizedException"
    assert path == ["ChooseLoginStep", "VerifyPassword", "PasswordRefused"]
    assert "Wrong-Password-99" not in execution["output"]


def test_a_name_cognito_does_not_know_is_refused_like_a_wrong_password(sfn, directory, login_arn):
    execution, _ = run(sfn, directory, login_arn, "PASSWORD", unique_email("ghost"), password="Whatever-123456")
    assert execution["result"]["outcome"] == "REFUSED"
    assert execution["result"]["reason"] in {
        "CognitoIdentityProvider.NotAuthorizedException",
        "CognitoIdentityProvider.UserNotFoundException",
    }


def test_the_mfa_step_signs_in_and_cognitos_trigger_records_it(sfn, directory, login_arn, user, views):
    session = password_step(sfn, directory, login_arn, user)
    execution, path = run(sfn, directory, login_arn, "MFA", user.user_id, session=session, code=user.otp())
    assert execution["result"]["outcome"] == "TOKENS"
    assert set(execution["result"]["tokens"]) >= {"IdToken", "AccessToken", "RefreshToken", "ExpiresIn"}
    assert path == ["ChooseLoginStep", "VerifyMfaCode"]
    # Cognito's post authentication trigger records the sign-in, naming the request and this execution.
    recorded = [e for e in views.events(user_id=user.user_id) if e["detail-type"] == "LoginSucceeded"][-1]
    assert recorded["detail"]["request_id"] == "test" and recorded["detail"]["execution_arn"] == execution["executionArn"]


def test_a_wrong_mfa_code_ends_with_cognitos_error_name(sfn, directory, login_arn, user):
    session = password_step(sfn, directory, login_arn, user)
    wrong = "000000" if user.otp() != "000000" else "111111"
    execution, path = run(sfn, directory, login_arn, "MFA", user.user_id, session=session, code=wrong)
    assert execution["result"]["reason"] == "CognitoIdentityProvider.CodeMismatchException"
    assert path == ["ChooseLoginStep", "VerifyMfaCode", "MfaCodeRefused"]


def test_an_unknown_step_fails_the_execution(sfn, login_arn):
    execution = sfn.start_sync_execution(stateMachineArn=login_arn, input=json.dumps({"step": "TELEPATHY", "request_id": "test"}))
    assert execution["status"] == "FAILED" and execution["error"] == "UnknownLoginStep"


def test_an_unexpected_cognito_error_ends_in_login_unavailable(sfn, directory, login_arn, user, monkeypatch):
    def broken(*args, **kwargs):
        raise ResourceNotFoundError("injected fault")

    monkeypatch.setattr(CognitoIdpBackend, "admin_initiate_auth", broken)
    execution, path = run(sfn, directory, login_arn, "PASSWORD", user.user_id, password=user.password)
    assert execution["status"] == "FAILED" and execution["error"] == "LoginUnavailable"
    assert path[-1] == "LoginUnavailable"


@pytest.mark.parametrize(("state", "step"), [("VerifyPassword", "PASSWORD"), ("VerifyMfaCode", "MFA")])
def test_each_step_catches_exactly_the_cognito_errors_the_api_maps(state, step):
    caught = ASL["States"][state]["Catch"][0]["ErrorEquals"]
    mapped = set(LOGIN_STEP_ERRORS[step]) - {PASSWORD_ATTEMPTS_EXCEEDED, MALFORMED_PARAMETER}
    assert sorted(caught) == sorted(f"CognitoIdentityProvider.{name}" for name in mapped)
