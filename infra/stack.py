"""The local stack: moto as a server on 127.0.0.1, authflow's resources made from template.yaml,
the real handlers run in-process, and the local API gateway in front."""

import logging
import os
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import boto3

from authflow.status import ApiKeys
from infra import cognito, eventbridge, moto_hot_paths, sqs, stepfunctions
from infra.event_sources import SqsPoller
from infra.gateway import LocalApiGateway
from infra.lambda_runtime import LocalLambdaRuntime
from infra.provision import Provisioner, Stack
from infra.pwned_passwords import PwnedPasswordsRange
from infra.template import load_template
from infra.views import LocalViews

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer

DEFAULT_API_KEY = "local-api-key"
# The name the local stack's key is stored under (authflow api-keys list shows it); what the mail
# routes' per-key limit counts.
LOCAL_API_KEY_NAME = "local"
# Template parameters the local stack overrides by default: webhooks to the loopback receivers of a
# local run, and delivery retries in seconds rather than hours. PwnedPasswordsRangeUrl points to the
# loopback stand-in of the Pwned Passwords range API (infra/pwned_passwords.py). Every local client
# shares the one API key and comes from 127.0.0.1, so the per-key mail limit and the per-source-IP
# limit are lifted (the per-email limits and the attempt limits stay; tests/unit/test_source_ip_limits.py
# tests the per-IP rule with events from several addresses).
LOCAL_PARAMETERS = {
    "WebhookAllowLoopback": "true",
    "WebhookRetrySchedule": "1,2",
    "MailRequestsPerApiKeyPerHour": "1000000",
    "SourceIpRequestsPerWindow": "1000000",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _aws_environment(moto_port: int, region: str) -> dict[str, str]:
    """What boto3 and moto read: the endpoint and fake credentials (infra/cognito.py checks TOTP codes)."""
    return {
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
        "MOTO_PORT": str(moto_port),
        # StartSyncExecution's "sync-" host prefix would turn 127.0.0.1 into sync-127.0.0.1.
        "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }


@dataclass
class LocalStack:
    api_port: int = 3000
    moto_port: int = 0
    api_key: str = DEFAULT_API_KEY
    parameters: dict[str, str] = field(default_factory=dict)
    region: str = "us-east-1"
    stack_name: str = "authflow-local"
    with_gateway: bool = True

    def __post_init__(self) -> None:
        self.runtime = LocalLambdaRuntime()
        self._stack: Stack | None = None
        self.gateway: LocalApiGateway | None = None
        self._moto: ThreadedMotoServer | None = None
        self._poller: SqsPoller | None = None
        self.pwned_passwords = PwnedPasswordsRange()
        self.parameters = {**LOCAL_PARAMETERS, **self.parameters}

    @property
    def stack(self) -> Stack:
        """The resources made from template.yaml (once started)."""
        if self._stack is None:
            raise RuntimeError("the local stack is not started")
        return self._stack

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self._gateway_port()}/v1"

    @property
    def local_url(self) -> str:
        return f"http://127.0.0.1:{self._gateway_port()}/_local"

    def _gateway_port(self) -> int:
        if self.gateway is None:
            raise RuntimeError("the local stack runs without its API gateway")
        return self.gateway.port

    def start(self) -> "LocalStack":
        from moto.core.config import default_user_config
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.moto_port = self.moto_port or free_port()
        os.environ.update(_aws_environment(self.moto_port, self.region))
        default_user_config["stepfunctions"] = {"execute_state_machine": True}
        self.runtime.install()
        self.pwned_passwords.start()
        self.parameters.setdefault("PwnedPasswordsRangeUrl", self.pwned_passwords.url)
        moto_hot_paths.install()
        cognito.install(self.runtime)
        stepfunctions.install()
        eventbridge.install()
        sqs.install()
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=self.moto_port, verbose=False)
        self._moto.start()
        self._stack = Provisioner(load_template(), self.parameters, self.runtime, self.stack_name).provision()
        # A deploy prerequisite in AWS (README, Deploy): the sender of authflow's own mail is a verified SES identity.
        boto3.client("ses").verify_email_identity(EmailAddress=self.stack.parameters["MailFromAddress"])
        # What an operator does after a deploy (authflow api-keys create), with the local stack's fixed key.
        ApiKeys(self.stack.refs["StatusTable"]).create(LOCAL_API_KEY_NAME, self.api_key)
        if self.with_gateway:
            self.gateway = LocalApiGateway(self.stack, self.runtime, LocalViews(self.stack))
            self.gateway.start(self.api_port)
        self._poller = SqsPoller(load_template(), self.parameters, self.stack, self.runtime).start()
        return self

    def stop(self) -> None:
        if self._poller:
            self._poller.stop()
        if self.gateway:
            self.gateway.stop()
        if self._moto:
            self._stop_running_executions()
            self._moto.stop()
        self.pwned_passwords.stop()

    def _stop_running_executions(self) -> None:
        """Waiting executions would otherwise wake up against a stopped server and fail their compensation."""
        sfn = boto3.client("stepfunctions")
        for arn in self.stack.state_machines.values():
            for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn, statusFilter="RUNNING"):
                for execution in page["executions"]:
                    sfn.stop_execution(executionArn=execution["executionArn"], error="LocalStackStopped")
