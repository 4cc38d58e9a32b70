"""A full lifecycle with every secret it uses recorded, then no secret in any Standard execution's history,
in the console's and the CLI's views of the Express (login) executions, in any event, log line or queued message
(SPEC sections 2 and 3); no TOTP seed or recovery code in any mail either (the new seed reaches the user only as
the QR code behind a mailed link, recovery codes only in answers)."""

import json
import logging
import time

import boto3
import pyotp
import pytest
from typer.testing import CliRunner

from authflow.sessions import split_verification_session
from authflow_cli.app import app as cli
from tests.e2e.test_mfa import pending_seed
from tests.support.client import onboard
from tests.support.flows import current_otp, invite, reset_password, sign_in, temporary_password

pytestmark = pytest.mark.e2e


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        formatter = next((h.formatter for h in logging.getLogger(record.name).handlers if h.formatter), None)
        self.lines.append((formatter or logging.Formatter()).format(record) + " " + json.dumps(record.__dict__, default=str))


@pytest.fixture
def captured_logs(local_stack):
    # Every function imported first, so that each one's logger exists to be hooked, whatever ran before.
    local_stack.runtime.load_all()
    capture = Capture()
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict) if name.startswith("authflow")]
    for logger in loggers + [logging.getLogger()]:
        logger.addHandler(capture)
    yield capture
    for logger in loggers + [logging.getLogger()]:
        logger.removeHandler(capture)


@pytest.fixture
def queued_messages(monkeypatch) -> list[str]:
    """The body of every SendMessage the local stack's SQS takes meanwhile (the mail requests among them)."""
    from moto.sqs.models import SQSBackend

    bodies: list[str] = []
    send_message = SQSBackend.send_message

    def recording(self, queue_name: str, message_body: str, *args, **kwargs):
        bodies.append(message_body)
        return send_message(self, queue_name, message_body, *args, **kwargs)

    monkeypatch.setattr(SQSBackend, "send_message", recording)
    return bodies


def express_executions(sfn, local_stack) -> dict[str, set[str]]:
    """The names of each EXPRESS state machine's executions so far, by ARN."""
    machines = local_stack.stack.state_machines.values()
    express = [arn for arn in machines if sfn.describe_state_machine(stateMachineArn=arn)["type"] == "EXPRESS"]
    return {arn: {e["name"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]} for arn in express}


def operator_views(api, local_stack, name: str) -> list[str]:
    """What an operator reads of an execution: the console's JSON and HTML, and `authflow executions show`."""
    runner = CliRunner(env={"COLUMNS": "200", "AUTHFLOW_URL": None, "AUTHFLOW_STACK_NAME": None})
    target = ["--url", f"http://127.0.0.1:{local_stack.gateway.port}"]
    shown = [runner.invoke(cli, ["executions", "show", name, *flags, *target]) for flags in (["--json"], [])]
    assert all(result.exit_code == 0 for result in shown), [result.output for result in shown]
    html = api.get(f"{api.local_url}/executions/{name}", headers={"accept": "text/html"})
    assert html.status == 200
    return [json.dumps(api.local(f"executions/{name}")), html.body.decode(), *(result.stdout for result in shown)]


def test_no_password_code_token_or_secret_in_histories_events_logs_or_queues(api, admin, local_stack, captured_logs, queued_messages):
    sfn = boto3.client("stepfunctions")
    express_before = express_executions(sfn, local_stack)
    invited = invite(api, api, "leak-invited")
    assert api.post("/resend-confirmation-code", {"email": invited.email}).status == 200
    secrets = {invited.temporary_password, temporary_password(api, invited.email, previous=invited.temporary_password)}
    user = onboard(api, "leak")
    secrets |= {user.password, user.totp_secret, api.status_tokens[user.user_id], temporary_password(api, user.email)}
    # The API key every request of the lifecycle carries, and a key sent wrong (a near miss of it).
    secrets |= {api.api_key, api.api_key + "-wrong"}
    assert api.post("/login", {"email": user.email, "password": "x"}, headers={"x-api-key": api.api_key + "-wrong"}).status == 403

    wrong = api.post("/login", {"email": user.email, "password": "Wrong-Password-4711"})
    assert wrong.status == 401
    secrets.add("Wrong-Password-4711")
    otp = user.otp()
    signed_in = sign_in(api, user, otp)
    tokens = signed_in.tokens
    # The verification session carries the user id before Cognito's session, which the MFA step's execution carries.
    secrets |= {
        signed_in.session,
        split_verification_session(signed_in.session)[1],
        tokens["access_token"],
        tokens["refresh_token"],
        tokens["id_token"],
    }
    if otp != "000000":
        secrets.add(otp)
    refreshed = api.post("/refresh-token", {"email": user.email, "refresh_token": tokens["refresh_token"]}).json()
    secrets |= {refreshed["access_token"], refreshed["id_token"]}
    # CognitoApi's client: userinfo with the id token, its change-password route, then logout (revoking the id token too).
    assert api.get("/userinfo", headers={"authorization": f"Bearer {refreshed['id_token']}"}).status == 200
    changed_password = "Leak-Changed-Horse-17"
    change = {
        "email": user.email,
        "old_password": user.password,
        "new_password": changed_password,
        "access_token": refreshed["access_token"],
    }
    assert api.post(f"/users/{user.user_id}/change-password", change).status == 200
    secrets.add(changed_password)
    # The change ended every session, this one too (ASVS 5.0 7.4.3).
    assert api.post("/logout", {"email": user.email, "access_token": refreshed["access_token"]}).status == 401

    new_password = "Leak-Check-Horse-42"
    secrets |= {reset_password(api, api, user, new_password), new_password}
    assert api.post("/resend-mfa", {"email": user.email, "password": new_password}).status == 400
    mfa_secrets = set(user.recovery_codes)
    enrol = {"email": user.email, "password": new_password, "recovery_code": user.recovery_codes[0]}
    assert api.post("/resend-mfa", enrol).status == 200
    new_seed = pending_seed(local_stack, user.user_id)
    confirmed = api.post(f"/users/{user.user_id}/confirm-mfa", {"email": user.email, "otp": current_otp(new_seed)})
    assert confirmed.status == 200, confirmed.body
    mfa_secrets |= {new_seed, *confirmed.json()["recovery_codes"]}
    regenerate = {"email": user.email, "password": new_password, "otp_code": pyotp.TOTP(new_seed).at(time.time() + 30)}
    regenerated = api.post("/recovery-codes", regenerate)
    assert regenerated.status == 200, regenerated.body
    mfa_secrets |= set(regenerated.json()["recovery_codes"])
    mails_text = json.dumps(api.local("mail"))
    for secret in mfa_secrets:
        assert secret not in mails_text, "a seed or a recovery code was mailed"
    secrets |= mfa_secrets
    # A lockout: with the wrong password above, five in 15 minutes; the AccountLocked and LoginFailed
    # events name none of them.
    guesses = [f"Leak-Lockout-Guess-{n}" for n in range(4)]
    answers = [api.post("/login", {"email": user.email, "password": guess}).status for guess in guesses]
    assert answers == [401] * 3 + [429]
    secrets.update(guesses)

    # A webhook's signing secret, and the one its rotation answers (deliveries are signed with both).
    webhook = api.post("/webhooks", {"url": "http://127.0.0.1:9/leak", "events": ["UserCreated"]}, headers=admin.headers).json()
    rotated = api.request("PATCH", f"/webhooks/{webhook['id']}", {"rotate_secret": True}, headers=admin.headers).json()
    secrets |= {webhook["secret"], rotated["secret"]}
    # At rest (issue 15 item 9): the status table holds both only sealed with the stack's KMS key.
    stored = boto3.client("dynamodb").get_item(
        TableName=local_stack.stack.refs["StatusTable"], Key={"pk": {"S": "WEBHOOKS"}, "sk": {"S": f"SUBSCRIPTION#{webhook['id']}"}}
    )["Item"]
    assert {"sealed_secret", "previous_sealed_secret"} <= set(stored)
    for secret in (webhook["secret"], rotated["secret"]):
        assert secret.removeprefix("whsec_") not in json.dumps(stored), "a webhook secret is stored in plaintext"
    onboard(api, "leak-hooked")  # a UserCreated for the webhook, posted with both signatures
    api.request("DELETE", f"/webhooks/{webhook['id']}", headers=admin.headers)

    histories = []
    task_tokens = set()
    # An Express execution keeps no history in AWS and the login state machine logs no execution data
    # (tests/security/test_template_security.py), so SPEC section 3 lets a login step carry its secrets
    # in flight. moto keeps the execution's input, output and history locally, which AWS does not: its
    # raw history is left out of the scan, and what an operator reads of it (the console, the CLI) is in.
    express_raw, express_views = [], []
    for arn, names in express_executions(sfn, local_stack).items():
        for name in names - express_before[arn]:
            express_arn = arn.replace(":stateMachine:", ":execution:") + f":{name}"
            express_raw.append(json.dumps(sfn.get_execution_history(executionArn=express_arn, maxResults=1000)["events"], default=str))
            express_views.extend(operator_views(api, local_stack, name))
    assert express_views, "the scan saw no login execution"
    assert "Wrong-Password-4711" in "\n".join(express_raw), "the login steps carry their secrets: the views must mask them"
    for arn in local_stack.stack.state_machines.values():
        if arn in express_before:
            continue
        for execution in sfn.list_executions(stateMachineArn=arn)["executions"]:
            events = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
            for event in events:
                parameters = event.get("taskScheduledEventDetails", {}).get("parameters")
                if parameters and "task_token" in parameters:
                    # AWS's callback pattern hands $$.Task.Token to the task in TaskScheduled's
                    # parameters; the token must appear nowhere else.
                    task_tokens.add(json.loads(parameters)["Payload"]["task_token"])
                    event["taskScheduledEventDetails"]["parameters"] = "(callback parameters)"
            histories.append(json.dumps(events, default=str))
    assert task_tokens, "the scan saw no callback task"
    events_text = json.dumps(api.local("events"))
    logs_text = "\n".join(captured_logs.lines)
    assert captured_logs.lines, "no log line was captured"
    queued_text = "\n".join(queued_messages)
    assert '"kind":"INVITATION_RESEND"' in queued_text and '"kind":"PASSWORD_RESET"' in queued_text, "the scan saw no mail request"
    for secret in secrets | task_tokens:
        assert len(secret) >= 6
        texts = (
            ("execution history", "\n".join(histories)),
            ("the console's and the CLI's views of login executions", "\n".join(express_views)),
            ("events", events_text),
            ("logs", logs_text),
            ("queued messages", queued_text),
        )
        for name, text in texts:
            assert secret not in text, f"a secret ({len(secret)} characters) appears in {name}"
