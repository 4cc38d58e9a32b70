"""`authflow` against the local stack (its default target), run with typer's CliRunner: tables for
people, --json for scripts, and errors that say what to do."""

import json
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from authflow_cli.app import app
from tests.console.scenario import failed_login, invite, onboard

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def url(local_stack) -> str:
    return f"http://127.0.0.1:{local_stack.gateway.port}"


@pytest.fixture(scope="module")
def run(url):
    runner = CliRunner(env={"COLUMNS": "200", "AUTHFLOW_URL": None, "AUTHFLOW_STACK_NAME": None})

    def invoke(*args: str, target: bool = True):
        result = runner.invoke(app, [*args, *(["--url", url] if target else [])])
        return result

    return invoke


@pytest.fixture(scope="module")
def users(api):
    active = onboard(api, tag="cli")
    waiting = invite(api, tag="cli-waiting")
    return {"active": active, "waiting": waiting}


def parsed(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_executions_list_json_has_both_onboardings(run, users):
    rows = parsed(run("executions", "list", "--json"))
    by_name = {r["name"]: r for r in rows}
    assert by_name[users["active"][0]]["status"] == "SUCCEEDED"
    assert by_name[users["waiting"][0]]["status"] == "RUNNING"
    assert set(by_name[users["active"][0]]) >= {"name", "state_machine", "status", "start", "duration_s", "state_machine_id", "type"}


def test_executions_list_filters_by_state_machine_and_status(run, users):
    rows = parsed(run("executions", "list", "--json", "--state-machine", "OnboardingStateMachine", "--status", "running"))
    names = {r["name"] for r in rows}
    assert users["waiting"][0] in names and users["active"][0] not in names
    assert {r["status"] for r in rows} == {"RUNNING"}


def test_executions_list_table(run, users):
    result = run("executions", "list")
    assert result.exit_code == 0, result.output
    assert "Executions · local stack http://127.0.0.1:" in result.stdout
    assert users["waiting"][0] in result.stdout and "RUNNING" in result.stdout and "SUCCEEDED" in result.stdout
    assert "authflow executions show NAME" in result.stdout


def test_executions_show_table_gives_the_path_and_history(run, users):
    result = run("executions", "show", users["waiting"][0])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Waiting at" in out and "WaitForConfirmation" in out
    assert "Path taken" in out and "✔" in out and "⏸" in out
    assert "Event history (" in out and "TaskSubmitted" in out and "lambda:invoke.waitForTaskToken" in out


def test_executions_show_json_is_the_console_view(run, users):
    view = parsed(run("executions", "show", users["active"][0], "--json"))
    assert view["status"] == "SUCCEEDED"
    assert [p["state"] for p in view["path"]][-1] == "OnboardingComplete"
    assert {n["name"]: n["status"] for n in view["graph"]["nodes"]}["End"] == "succeeded"
    token_fields = [e for e in view["history"] if e["type"] == "TaskScheduled" and "task_token" in e["detail"].get("parameters", "")]
    assert token_fields and all('"task_token": "***"' in e["detail"]["parameters"] for e in token_fields)


def test_an_unknown_execution_exits_1_with_a_hint(run):
    result = run("executions", "show", "no-such-execution")
    assert result.exit_code == 1
    assert "No execution named no-such-execution" in result.stderr and "authflow executions list" in result.stderr


def test_users_status_shows_the_onboarding_and_where_its_execution_stands(run, api, users):
    user_id = users["waiting"][0]
    result = run("users", "status", user_id)
    assert result.exit_code == 0, result.output
    assert "INVITED" in result.stdout and "SendInvitation" in result.stdout and "waiting at WaitForConfirmation" in result.stdout
    status = parsed(run("users", "status", user_id, "--json"))
    assert status == api.onboarding(user_id).json()
    missing = run("users", "status", "00000000-0000-4000-8000-000000000000")
    assert missing.exit_code == 1 and "No user" in missing.stderr


def test_admins_add_puts_an_onboarded_user_in_the_admins_group(run, users, local_stack):
    from tests.support.workflow import stack_client

    user_id, email = users["active"]
    result = run("admins", "add", email.upper())
    assert result.exit_code == 0, result.output
    assert f"(user {user_id}) is an admin" in result.stdout
    groups = stack_client(local_stack, "cognito-idp").admin_list_groups_for_user(
        UserPoolId=local_stack.stack.refs["UserPool"], Username=user_id
    )
    assert [g["GroupName"] for g in groups["Groups"]] == ["admins"]
    assert parsed(run("admins", "add", email, "--json")) == {"user_id": user_id, "email": email, "admin": True}
    unknown = run("admins", "add", "nobody-at-all@example.com")
    assert unknown.exit_code == 1 and "No user with the email nobody-at-all@example.com" in unknown.stderr


def test_api_keys_create_list_and_revoke_as_an_operator_does(run, api, local_stack, monkeypatch):
    """A key made by the CLI opens the API at once; revoked, it is refused once the function's cache
    (a minute at most) has passed, which the test shortens instead of waiting."""
    name = f"cli-{time.monotonic_ns() % 10**9}"
    created = run("api-keys", "create", name)
    assert created.exit_code == 0, created.output
    key = created.stdout.split("\n")[1].strip()
    assert len(key) >= 43 and "copy it now" in created.stdout
    assert api.post("/forgot-password", {"email": "nobody@example.com"}, headers={"x-api-key": key}).status == 200
    listed = {row["name"]: row for row in parsed(run("api-keys", "list", "--json"))}
    assert {"local", name} <= set(listed) and key not in json.dumps(listed)
    again = run("api-keys", "create", name)
    assert again.exit_code == 1 and f"An API key named {name} exists" in again.stderr
    assert parsed(run("api-keys", "revoke", name, "--json")) == {"name": name, "revoked": True}
    api_function = local_stack.runtime._load(local_stack.runtime.function("ApiFunction"))
    monkeypatch.setattr(api_function.api_keys, "ttl_seconds", 0)  # the minute the warm function may remember it, passed
    refused = api.post("/forgot-password", {"email": "nobody@example.com"}, headers={"x-api-key": key})
    assert refused.status == 403 and refused.json()["error"]["code"] == "FORBIDDEN"
    assert name not in {row["name"] for row in parsed(run("api-keys", "list", "--json"))}
    missing = run("api-keys", "revoke", name)
    assert missing.exit_code == 1 and f"No API key named {name}" in missing.stderr


def test_events_tail_shows_the_latest_events_filtered(run, users):
    user_id = users["active"][0]
    events = parsed(run("events", "tail", "--json", "--user-id", user_id, "-n", "50"))
    types = [e["detail-type"] for e in events]
    assert types[0] == "UserCreated" and "OnboardingCompleted" in types
    assert {e["detail"]["user_id"] for e in events} == {user_id}
    only = parsed(run("events", "tail", "--json", "--type", "OnboardingCompleted", "-n", "1"))
    assert len(only) == 1 and only[0]["detail-type"] == "OnboardingCompleted"
    table = run("events", "tail", "--user-id", user_id)
    assert table.exit_code == 0 and "OnboardingCompleted" in table.stdout and user_id in table.stdout


def test_events_tail_follow_prints_new_events_as_they_arrive(run, api):
    created: list[str] = []

    def create_user_soon():
        time.sleep(1.0)
        created.append(invite(api, tag="cli-follow")[0])

    worker = threading.Thread(target=create_user_soon)
    worker.start()
    result = run("events", "tail", "--follow", "--json", "-n", "0", "--interval", "0.3", "--timeout", "5", "--type", "UserCreated")
    worker.join()
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{") and '"detail-type"' in line]
    assert created and created[0] in [e["detail"]["user_id"] for e in lines]
    assert {e["detail-type"] for e in lines} == {"UserCreated"}


def test_the_failed_login_is_listed_and_shows_its_path(run, api, users):
    name = failed_login(api, *users["active"])
    rows = parsed(run("executions", "list", "--json", "--state-machine", "LoginStateMachine"))
    assert name in {r["name"] for r in rows}
    view = parsed(run("executions", "show", name, "--json"))
    assert "PasswordRefused" in [p["state"] for p in view["path"]]
    assert view["outcome"] == "REFUSED (CognitoIdentityProvider.NotAuthorizedException)"
    table = run("executions", "show", name, "--no-history")
    assert (
        table.exit_code == 0
        and "REFUSED (CognitoIdentityProvider.NotAuthorizedException)" in table.stdout
        and "Event history" not in table.stdout
    )


def test_target_options_also_go_before_the_command(run, url, users):
    result = run("--url", url, "executions", "list", "--json", "--limit", "1", target=False)
    assert len(parsed(result)) == 1


def test_no_local_stack_is_a_clear_error():
    result = CliRunner().invoke(app, ["executions", "list", "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 2
    assert "No local stack answers at http://127.0.0.1:9" in result.stderr and "make run" in result.stderr


def test_the_project_installs_the_authflow_command(url):
    command = Path(sys.executable).with_name("authflow")
    assert command.exists() or shutil.which("authflow"), "pip install -e . installs the `authflow` script"
    answer = subprocess.run(
        [str(command), "executions", "list", "--json", "--limit", "1", "--url", url], capture_output=True, text=True, timeout=60
    )
    assert answer.returncode == 0, answer.stderr
    assert isinstance(json.loads(answer.stdout), list)
    help_text = subprocess.run(
        [sys.executable, "-m", "authflow_cli", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"COLUMNS": "120", "PATH": "/usr/bin:/bin"},
    )
    assert help_text.returncode == 0 and "executions" in help_text.stdout and "events" in help_text.stdout and "users" in help_text.stdout


def test_users_mfa_reset_and_sign_out_call_the_admin_routes_with_the_operators_token(run, api):
    from tests.support.client import make_admin
    from tests.support.client import onboard as onboard_active

    admin, user = make_admin(api, "cliadmin"), onboard_active(api, "climfa")
    signed_in = api.post("/login", {"email": user.email, "password": user.password}).json()
    verify = {"email": user.email, "verification_type": "SOFTWARE_TOKEN_MFA", "verification_session": signed_in["verification_session"]}
    tokens = api.post("/mfa-verify", {**verify, "otp_code": user.otp()}).json()

    signed_out = parsed(run("users", "sign-out", user.user_id, "--admin-token", admin.access_token, "--json"))
    assert signed_out == {"user_id": user.user_id, "status": "SIGNED_OUT"}
    assert api.post("/refresh-token", {"email": user.email, "refresh_token": tokens["refresh_token"]}).status == 401

    reset = run("users", "mfa-reset", user.user_id, "--admin-token", admin.access_token)
    assert reset.exit_code == 0, reset.output
    assert "authenticator was removed" in reset.stdout
    login = api.post("/login", {"email": user.email, "password": user.password})
    assert login.status == 409 and login.json()["error"]["code"] == "MFA_ENROLMENT_REQUIRED"

    not_admin = run("users", "sign-out", user.user_id, "--admin-token", tokens["access_token"])
    assert not_admin.exit_code == 2 and "401" in not_admin.output


def test_users_import_and_import_status_call_the_import_routes_with_the_operators_token(run, api, tmp_path):
    from tests.support.client import make_admin
    from tests.support.flows import wait_for

    admin = make_admin(api, "cliimport")
    file = tmp_path / "users.csv"
    file.write_text(f"full_name,email\nAda Lovelace,cli-import-{uuid.uuid4().hex[:8]}@example.com\nNobody,not-an-email\n")
    queued = run("users", "import", str(file), "--admin-token", admin.access_token, "--json")
    answer = parsed(queued)
    assert (answer["rows"], answer["queued"], answer["invalid"]) == (2, 1, 1)

    def completed():
        status = parsed(run("users", "import-status", answer["import_id"], "--admin-token", admin.access_token, "--json"))
        return status if status["status"] == "COMPLETED" else None

    status = wait_for(completed, 30, "the import to complete", interval=0.5)
    assert status["counts"] == {"queued": 0, "created": 1, "duplicate": 0, "invalid": 1, "failed": 0}
    shown = run("users", "import-status", answer["import_id"], "--admin-token", admin.access_token)
    assert shown.exit_code == 0 and "not-an-email" in shown.stdout and "INVALID_REQUEST" in shown.stdout
    unknown = run("users", "import-status", str(uuid.uuid4()), "--admin-token", admin.access_token)
    assert unknown.exit_code == 2 and "IMPORT_NOT_FOUND" in unknown.output
