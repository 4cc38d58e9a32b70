"""What the use-case unit tests put behind the adapters where moto's in-process mock cannot serve.

- FakeWorkflows: moto's in-process Step Functions records executions without running them, and no
  state machine holds a task token: the fake records starts, callbacks and stops, and runs a login
  step as workflows/login.asl.json does: the step's Task state's Cognito call with its Parameters, its
  ResultSelector, or its Catch and the refusal state's Parameters (tests/workflow runs the ASL itself).
- MotoJwksVerifier: the token verifier fetches the pool's JWKS over HTTP, which the in-process mock
  does not serve; this one reads moto's signing keys from moto's package. Verification is the real one.
- EventTap: an EventBridge rule on the bus to an SQS queue (in moto), to read what was published.
- MailRequestConsumer: the unit stack runs no SQS event source; it hands each queued mail request to
  the use cases as MailRequestFunction does.
"""

from __future__ import annotations

import gzip
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError
from pydantic import BaseModel, SecretStr

from authflow.aws import client
from authflow.mail_requests import MailRequests
from authflow.models import IN_FLIGHT, LoginInput, MailRequest
from authflow.tokens import TokenVerifier
from authflow.workflows import Workflows, execution_arn

LOGIN_ASL = json.loads((Path(__file__).resolve().parents[2] / "workflows" / "login.asl.json").read_text())
LOGIN_STEP_STATES = {"PASSWORD": "VerifyPassword", "MFA": "VerifyMfaCode"}


def _resolve(template: dict, data: dict, context: dict) -> dict:
    """An ASL Parameters or ResultSelector template, its "key.$" paths ($. or $$.) read from data or context."""
    resolved: dict[str, Any] = {}
    for key, value in template.items():
        if isinstance(value, dict):
            resolved[key] = _resolve(value, data, context)
        elif key.endswith(".$"):
            source, path = (context, value[3:]) if value.startswith("$$.") else (data, value[2:])
            for part in filter(None, path.split(".")):
                source = source[part]
            resolved[key[:-2]] = source
        else:
            resolved[key] = value
    return resolved


@dataclass
class FakeWorkflows(Workflows):
    started: list[tuple[str, str, dict]] = field(default_factory=list)
    resumed: list[tuple[str, dict]] = field(default_factory=list)
    heartbeats: list[str] = field(default_factory=list)
    cancelled: list[tuple[str, str]] = field(default_factory=list)
    stopped: list[tuple[str, str]] = field(default_factory=list)
    login_status: str = "SUCCEEDED"
    # The login state machine's DefinitionSubstitutions.
    substitutions: dict[str, str] = field(default_factory=dict)

    def start(self, state_machine_arn: str, name: str, execution_input: BaseModel) -> str:
        self.started.append((state_machine_arn, name, json.loads(execution_input.model_dump_json(exclude_none=True))))
        return execution_arn(state_machine_arn, name)

    def run_sync(self, state_machine_arn: str, execution_input: BaseModel, what: str) -> dict:
        assert isinstance(execution_input, LoginInput)
        arn = execution_arn(state_machine_arn, str(uuid.uuid4()))
        if self.login_status != "SUCCEEDED":
            return {"executionArn": arn, "status": self.login_status, "error": "LoginUnavailable"}
        data = json.loads(execution_input.model_dump_json(context=IN_FLIGHT, exclude_none=True))
        context = {"Execution": {"Id": arn}}
        state = LOGIN_ASL["States"][LOGIN_STEP_STATES[data["step"]]]
        definition = json.dumps(state["Parameters"])
        for name, value in self.substitutions.items():
            definition = definition.replace("${" + name + "}", value)
        operation = re.sub(r"(?<!^)(?=[A-Z])", "_", state["Resource"].rsplit(":", 1)[1]).lower()
        try:
            answer = getattr(client("cognito-idp"), operation)(**_resolve(json.loads(definition), data, context))
        except ClientError as error:
            name = f"CognitoIdentityProvider.{error.response['Error']['Code']}"
            catch = state["Catch"][0]
            if name not in catch["ErrorEquals"]:
                return {"executionArn": arn, "status": "FAILED", "error": "LoginUnavailable"}
            refusal = {"refusal": {"Error": name, "Cause": error.response["Error"].get("Message", "")}}
            output = _resolve(LOGIN_ASL["States"][catch["Next"]]["Parameters"], refusal, context)
        else:
            output = _resolve(state["ResultSelector"], answer, context)
        return {"executionArn": arn, "status": "SUCCEEDED", "output": json.dumps(output)}

    def resume(self, token: SecretStr, output: dict) -> None:
        self.resumed.append((token.get_secret_value(), output))

    def heartbeat(self, token: SecretStr) -> None:
        self.heartbeats.append(token.get_secret_value())

    def cancel(self, token: SecretStr, error: str, cause: str) -> None:
        self.cancelled.append((token.get_secret_value(), error))

    def stop(self, arn: str, error: str, cause: str) -> None:
        self.stopped.append((arn, error))


class _StaticJwks:
    def __init__(self, keys: dict):
        import jwt

        self.keys = jwt.PyJWKSet.from_dict(keys)

    def get_signing_key_from_jwt(self, token: str) -> Any:
        import jwt

        kid = jwt.get_unverified_header(token).get("kid")
        return next(key for key in self.keys.keys if key.key_id == kid)


class MotoJwksVerifier(TokenVerifier):
    @cached_property
    def _jwks(self) -> Any:
        import moto.cognitoidp

        path = Path(moto.cognitoidp.__file__).parent / "resources" / "jwks-public.json.gz"
        return _StaticJwks(json.loads(gzip.decompress(path.read_bytes())))


def sqs_record(message: dict) -> dict:
    """A message from ReceiveMessage (with AttributeNames=All) as the SQS event source mapping hands it to Lambda."""
    region = boto3.session.Session().region_name
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message["Attributes"],
        "messageAttributes": {},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{region}:123456789012:queue",
        "awsRegion": region,
    }


def drained(queue_url: str) -> Iterator[str]:
    """The body of every message on the queue (in moto), each deleted once the caller has taken it."""
    sqs = boto3.client("sqs")
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            yield message["Body"]
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


@dataclass
class MailRequestConsumer:
    queue_url: str
    requests: MailRequests

    def deliver(self) -> list[bool]:
        """Handles every queued request; for each, whether it started or mailed something."""
        return [self.requests.handle(MailRequest.model_validate_json(body)) for body in drained(self.queue_url)]


class EventTap:
    """Every event on the bus from now on, through a rule to a queue (moto delivers synchronously)."""

    def __init__(self, bus_name: str):
        name = f"unit-tap-{uuid.uuid4().hex[:8]}"
        sqs, events = boto3.client("sqs"), boto3.client("events")
        self.queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=name, EventBusName=bus_name, EventPattern=json.dumps({"source": ["authflow"]}))
        events.put_targets(Rule=name, EventBusName=bus_name, Targets=[{"Id": "tap", "Arn": arn}])
        self.seen: list[dict] = []

    def events(self) -> list[dict]:
        self.seen.extend(json.loads(body) for body in drained(self.queue_url))
        return self.seen

    def types(self, user_id: str | None = None) -> list[str]:
        return [e["detail-type"] for e in self.events() if user_id is None or e["detail"].get("user_id") == user_id]


# ----------------------------------------------------------------------------- the onboarding, in-process

TEMPORARY_PASSWORD = "Temporary-Passw0rd!"
PASSWORD = "Chosen-Passw0rd-42!"


@dataclass
class OnboardingDriver:
    """Runs the onboarding as the API and the state machine would, in-process: the API's use cases,
    and each task of workflows/onboarding.asl.json in its order, with its state name."""

    onboarding: Any  # authflow.onboarding.Onboarding
    workflows: FakeWorkflows
    user_pool_id: str
    totp_secret: str

    def start(self, email: str, full_name: str = "Ada Lovelace") -> str:
        from authflow.models import CreateUserRequest

        return str(
            self.onboarding.start(CreateUserRequest(full_name=full_name, email=email), request_id=f"req-{uuid.uuid4().hex[:8]}").user_id
        )

    def run(self, user_id: str, task: str, state: str, **fields: Any) -> dict:
        from authflow.models import OnboardingTask

        arn, name, execution_input = next(s for s in self.workflows.started if s[1] == user_id)
        payload = OnboardingTask(task=task, state=state, onboarding=execution_input, execution_arn=execution_arn(arn, name), **fields)
        return self.onboarding.run_task(payload)

    def invite(self, user_id: str) -> None:
        """CreateCognitoUser and SendInvitation, then the temporary password the invitation mail would carry."""
        self.run(user_id, "create_cognito_user", "CreateCognitoUser")
        self.run(user_id, "send_invitation", "SendInvitation")
        boto3.client("cognito-idp").admin_set_user_password(
            UserPoolId=self.user_pool_id, Username=user_id, Password=TEMPORARY_PASSWORD, Permanent=False
        )

    def otp(self) -> str:
        """The current code, never in its step's last seconds: moto's in-process mock accepts no skew."""
        from tests.support.flows import current_otp

        return current_otp(self.totp_secret)

    def onboard(self, email: str) -> str:
        """A user onboarded to ACTIVE; their user_id (password PASSWORD, TOTP secret totp_secret)."""
        from authflow.models import ConfirmMfaRequest, ConfirmUserRequest

        user_id = self.start(email)
        self.invite(user_id)
        self.run(user_id, "await_user_action", "WaitForConfirmation", action="CONFIRMATION", task_token="token-confirmation")
        self.onboarding.confirm(user_id, ConfirmUserRequest(email=email, temporary_password=TEMPORARY_PASSWORD, new_password=PASSWORD))
        self.run(user_id, "record_confirmation", "RecordConfirmation")
        self.run(user_id, "await_user_action", "WaitForMfaConfirmation", action="MFA_CONFIRMATION", task_token="token-mfa")
        self.onboarding.confirm_mfa(user_id, ConfirmMfaRequest(email=email, otp=self.otp()))
        self.run(user_id, "activate_account", "ActivateAccount")
        return user_id
