"""template.yaml's resources in moto's in-process mock, for unit tests of use cases and handlers.

UnitStack provisions, with the local stack's own Provisioner (infra/provision.py), the resources the
functions' code calls: the user pool and its client and admin group, the status table, the QR bucket,
the event bus, the pseudo-id secret, the webhook queues, the state machines and the functions (so
their environments come from the template, resolved as in the local stack). It leaves out what only
routes or guards (rules, archives, log groups, policies): unit tests assert what the code itself
stores and answers. moto's in-process Step Functions records executions without running them
(the local stack switches execution on), so an API handler can start one and a test can describe it.

Cognito's invitation and reset mails, triggers and TOTP checks are the local stack's additions to
moto (infra/cognito.py); unit tests set a user's temporary password with AdminSetUserPassword instead
and compute TOTP codes from the secret moto hands out.
"""

from __future__ import annotations

import json
import uuid
from graphlib import TopologicalSorter
from types import ModuleType
from typing import Any

import boto3

from infra.lambda_runtime import LambdaContext, LocalFunction, LocalLambdaRuntime
from infra.provision import Provisioner, Stack
from infra.stack import LOCAL_PARAMETERS
from infra.template import load_template

PROVISIONED_TYPES = {
    "AWS::Cognito::UserPool",
    "AWS::Cognito::UserPoolClient",
    "AWS::Cognito::UserPoolGroup",
    "AWS::DynamoDB::Table",
    "AWS::S3::Bucket",
    "AWS::Events::EventBus",
    "AWS::Events::Archive",  # ApiFunction replays it to the webhook rule (its ARNs are in its environment)
    "AWS::Events::Rule",
    "AWS::SecretsManager::Secret",
    "AWS::KMS::Key",  # webhook signing secrets are sealed with it
    "AWS::SQS::Queue",
    "AWS::Logs::LogGroup",
    "AWS::Serverless::LayerVersion",
    "AWS::Serverless::Function",
    "AWS::Serverless::StateMachine",
}


class _UnitProvisioner(Provisioner):
    def _create_AWS__Events__Rule(self, logical_id: str, resource: dict) -> None:
        """The rule without its targets: its ARN is in ApiFunction's environment, but the unit tests'
        events stay out of the audit log and the webhook queue (tests read them with their own tap)."""
        super()._create_AWS__Events__Rule(logical_id, {**resource, "Properties": {**resource["Properties"], "Targets": []}})

    def provision(self) -> Stack:
        resources = self.template["Resources"]
        self.role_arn = boto3.client("iam").create_role(
            RoleName=f"{self.stack.name}-role",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )["Role"]["Arn"]
        self.stack.parameters = self.resolver.parameter_values()
        graph = {logical_id: self._resource_dependencies(logical_id, r) for logical_id, r in resources.items()}
        for logical_id in TopologicalSorter(graph).static_order():
            resource = resources[logical_id]
            if resource["Type"] in PROVISIONED_TYPES:
                getattr(self, "_create_" + resource["Type"].replace("::", "__"))(logical_id, resource)
        return self.stack


class UnitStack:
    """Call inside moto's in-process mock (tests/support/workflow.py's in_process_aws)."""

    def __init__(self, parameters: dict[str, str] | None = None):
        self.runtime = LocalLambdaRuntime()
        name = f"unit-{uuid.uuid4().hex[:8]}"
        self.stack = _UnitProvisioner(load_template(), {**LOCAL_PARAMETERS, **(parameters or {})}, self.runtime, name).provision()
        boto3.client("ses").verify_email_identity(EmailAddress=self.stack.parameters["MailFromAddress"])

    def ref(self, logical_id: str) -> Any:
        return self.stack.refs[logical_id]

    def function(self, logical_id: str) -> LocalFunction:
        return self.runtime.function(logical_id)

    def environment(self, logical_id: str) -> dict[str, str]:
        """The function's environment variables, as the template sets them."""
        return dict(self.function(logical_id).environment)

    def load(self, logical_id: str) -> ModuleType:
        """The function's handler module, imported once (a cold start) with its own environment."""
        return self.runtime._load(self.function(logical_id))

    def context(self, logical_id: str) -> LambdaContext:
        function = self.function(logical_id)
        return LambdaContext(function.name, function.arn, function.memory_mb, function.timeout_seconds)
