"""Creates template.yaml's resources in moto, in dependency order, resolving every intrinsic function.

Each resource type the template uses is handled below or named in NOT_PROVISIONED with the reason;
an unknown type stops the local stack rather than being skipped silently.
"""

import io
import json
import zipfile
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from typing import Any

import boto3

from infra.lambda_runtime import LocalFunction, LocalLambdaRuntime
from infra.template import ROOT, Resolver, dependencies

NOT_PROVISIONED = {
    "AWS::Serverless::HttpApi": "served by the local API gateway (infra/gateway.py) from this resource's settings",
    "AWS::Lambda::Permission": "moto does not check resource policies on Invoke",
    "AWS::XRay::SamplingRule": "the local stack records no traces",
}
LOCAL_ROLE = "authflow-local-execution-role"


@dataclass
class Stack:
    """What provisioning made: logical id to physical id, and the settings the gateway serves."""

    name: str
    parameters: dict[str, str] = field(default_factory=dict)
    refs: dict[str, Any] = field(default_factory=dict)
    attributes: dict[tuple[str, str], Any] = field(default_factory=dict)
    apis: dict[str, dict] = field(default_factory=dict)
    # api, route path ("$default" for the default route), method ("ANY" for any), function
    api_routes: list[tuple[str, str, str, str]] = field(default_factory=list)
    state_machines: dict[str, str] = field(default_factory=dict)  # logical id -> ARN


def _empty_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README", "The local stack runs this function's code in-process from the repository.")
    return buffer.getvalue()


def _denies_plain_http(statement: dict) -> bool:
    """The TLS-only Deny: the local stack speaks plain HTTP on loopback, and moto enforces bucket
    policies, so this one statement is left out locally (in AWS every request is TLS)."""
    return statement.get("Effect") == "Deny" and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}


def _without_none(**kwargs) -> dict:
    return {k: v for k, v in kwargs.items() if v is not None}


class Provisioner:
    def __init__(self, template: dict, parameters: dict[str, str], runtime: LocalLambdaRuntime, stack_name: str):
        self.template = template
        self.runtime = runtime
        self.region = boto3.session.Session().region_name
        self.account = "123456789012"
        self.stack = Stack(name=stack_name)
        self.resolver = Resolver(
            template,
            parameters,
            pseudo={
                "AWS::Region": self.region,
                "AWS::AccountId": self.account,
                "AWS::Partition": "aws",
                "AWS::StackName": stack_name,
                "AWS::URLSuffix": "amazonaws.com",
            },
            refs=self.stack.refs,
            attributes=self.stack.attributes,
        )
        self.role_arn = ""

    def _resource_dependencies(self, logical_id: str, resource: dict) -> set[str]:
        found = dependencies(resource.get("Properties", {}))
        if resource["Type"] == "AWS::Serverless::Function":
            found |= dependencies(self.template.get("Globals", {}).get("Function", {}))
        depends_on = resource.get("DependsOn", [])
        found |= {depends_on} if isinstance(depends_on, str) else set(depends_on)
        return found & set(self.template["Resources"]) - {logical_id}

    def provision(self) -> Stack:
        resources = self.template["Resources"]
        unknown = (
            {r["Type"] for r in resources.values()}
            - set(NOT_PROVISIONED)
            - {name.removeprefix("_create_").replace("__", "::") for name in dir(self) if name.startswith("_create_")}
        )
        if unknown:
            raise NotImplementedError(f"the local stack cannot create {sorted(unknown)}")
        if broken := self.resolver.broken_rules():
            raise ValueError(f"the template's rules refuse these parameters: {broken}")
        iam = boto3.client("iam")
        self.role_arn = iam.create_role(
            RoleName=LOCAL_ROLE,
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
        self.stack.parameters = self.resolver.parameter_values()
        graph = {logical_id: self._resource_dependencies(logical_id, r) for logical_id, r in resources.items()}
        for logical_id in TopologicalSorter(graph).static_order():
            resource = resources[logical_id]
            if resource["Type"] in NOT_PROVISIONED and resource["Type"] != "AWS::Serverless::HttpApi":
                continue
            create = getattr(self, "_create_" + resource["Type"].replace("::", "__"))
            create(logical_id, resource)
        return self.stack

    def _properties(self, resource: dict) -> dict:
        return self.resolver.resolve(resource.get("Properties", {}))

    def _set(self, logical_id: str, ref: Any, **attributes: Any) -> None:
        self.stack.refs[logical_id] = ref
        for name, value in attributes.items():
            self.stack.attributes[(logical_id, name)] = value

    def _physical_name(self, logical_id: str) -> str:
        return f"{self.stack.name}-{logical_id}".lower()

    # ------------------------------------------------------------------ resource types

    def _create_AWS__Cognito__UserPool(self, logical_id: str, resource: dict) -> None:
        p = self._properties(resource)
        policy = p.get("Policies", {}).get("PasswordPolicy", {})
        for key in ("MinimumLength", "TemporaryPasswordValidityDays"):
            if key in policy:
                policy[key] = int(policy[key])
        cognito = boto3.client("cognito-idp")
        pool = cognito.create_user_pool(
            **_without_none(
                PoolName=p["UserPoolName"],
                Policies=p.get("Policies"),
                MfaConfiguration=p.get("MfaConfiguration"),
                AliasAttributes=p.get("AliasAttributes"),
                UsernameAttributes=p.get("UsernameAttributes"),
                AutoVerifiedAttributes=p.get("AutoVerifiedAttributes"),
                UsernameConfiguration=p.get("UsernameConfiguration"),
                AdminCreateUserConfig=p.get("AdminCreateUserConfig"),
                Schema=p.get("Schema"),
                EmailConfiguration=p.get("EmailConfiguration"),
                LambdaConfig=p.get("LambdaConfig"),
                AccountRecoverySetting=p.get("AccountRecoverySetting"),
                DeletionProtection=p.get("DeletionProtection"),
                UserPoolTier=p.get("UserPoolTier"),
            )
        )["UserPool"]
        if "SOFTWARE_TOKEN_MFA" in p.get("EnabledMfas", []):
            cognito.set_user_pool_mfa_config(
                UserPoolId=pool["Id"],
                SoftwareTokenMfaConfiguration={"Enabled": True},
                MfaConfiguration=p.get("MfaConfiguration", "OPTIONAL"),
            )
        self._set(logical_id, pool["Id"], Arn=pool["Arn"], ProviderName=f"cognito-idp.{self.region}.amazonaws.com/{pool['Id']}")

    def _create_AWS__Cognito__UserPoolClient(self, logical_id: str, resource: dict) -> None:
        p = self._properties(resource)
        numbers = ("AuthSessionValidity", "AccessTokenValidity", "IdTokenValidity", "RefreshTokenValidity")
        client = boto3.client("cognito-idp").create_user_pool_client(**{k: int(v) if k in numbers else v for k, v in p.items()})[
            "UserPoolClient"
        ]
        # GenerateSecret: moto draws a secret as Cognito does, and GetAtt ClientSecret gives it (to the secret
        # the functions read, AppClientSecret).
        self._set(logical_id, client["ClientId"], ClientSecret=client.get("ClientSecret"))

    def _create_AWS__DynamoDB__Table(self, logical_id: str, resource: dict) -> None:
        p = self._properties(resource)
        dynamodb = boto3.client("dynamodb")
        name = p.get("TableName") or self._physical_name(logical_id)
        table = dynamodb.create_table(
            **_without_none(
                TableName=name,
                AttributeDefinitions=p["AttributeDefinitions"],
                KeySchema=p["KeySchema"],
                BillingMode=p.get("BillingMode"),
                # CloudFormation spells the API's SSESpecification.Enabled as SSEEnabled.
                SSESpecification={"Enabled": p["SSESpecification"]["SSEEnabled"]} if "SSESpecification" in p else None,
            )
        )["TableDescription"]
        if "TimeToLiveSpecification" in p:
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=p["TimeToLiveSpecification"])
        self._set(logical_id, name, Arn=table["TableArn"])

    def _create_AWS__S3__Bucket(self, logical_id: str, resource: dict) -> None:
        p = self._properties(resource)
        s3 = boto3.client("s3")
        name = p.get("BucketName") or self._physical_name(logical_id)
        location = {} if self.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": self.region}}
        s3.create_bucket(Bucket=name, **location)
        if "BucketEncryption" in p:
            # CloudFormation's ServerSideEncryptionByDefault is the API's ApplyServerSideEncryptionByDefault.
            rules = [
                {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
                for rule in p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            ]
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
        if "LifecycleConfiguration" in p:
            # CloudFormation's Prefix and ExpirationInDays are the API's Filter.Prefix and Expiration.Days.
            lifecycle = [
                {
                    "ID": rule["Id"],
                    "Status": rule["Status"],
                    "Filter": {"Prefix": rule["Prefix"]},
                    "Expiration": {"Days": rule["ExpirationInDays"]},
                }
                for rule in p["LifecycleConfiguration"]["Rules"]
            ]
            s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": lifecycle})
        if "PublicAccessBlockConfiguration" in p:
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=p["PublicAccessBlockConfiguration"])
        if "OwnershipControls" in p:
            s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=p["OwnershipControls"])
        self._set(logical_id, name, Arn=f"arn:aws:s3:::{name}", DomainName=f"{name}.s3.amazonaws.com")

    def _create_AWS__S3__BucketPolicy(self, logical_id: str, resource: dict) -> None:
        p = self._properties(resource)
        document = {**p["PolicyDocument"], "Statement": [s for s in p["PolicyDocument"]["Statement"] if not _denies_plain_http(s)]}
        if document["Statement"]:
            boto3.client("s3").put_bucket_policy(Bucket=p["Bucket"], Policy=json.dumps(document))
        self._set(logical_id, p["Bucket"])

    def _create_AWS__Events__EventBus(self, logical_id: str, resource: dict) -> None:
        p = self._properties(resource)
        arn = boto3.client("events").create_event_bus(Name=p["Name"])["EventBusArn"]
        self._set(logical_id, p["Name"], Arn=arn, Name=p["Name"])

    def _create_AWS__Events__Rule(self, logical_id: str, resource: dict) -> None:
        p = self._properties(resource)
        events = boto3.client("events")
        name = p.get("Name") or self._physical_name(logical_id)
        bus = p.get("EventBusName", "default")
        arn = events.put_rule(
            **_without_none(
                Name=name,
                EventBusName=bus,
                EventPattern=json.dumps(p["EventPattern"]) if "EventPattern" in p else None,
                ScheduleExpression=p.get("ScheduleExpression"),
                State=p.get("State", "ENABLED"),
                Description=p.get("Description"),
            )
        )["RuleArn"]
        # A log group's GetAtt Arn ends in ":*"; EventBridge accepts either form, moto only the bare one.
        targets = [{**t, "Arn": t["Arn"].removesuffix(":*") if ":log-group:" in t["Arn"] else t["Arn"]} for t in p.get("Targets", [])]
        if targets:
            events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
        self._set(logical_id, name if bus == "default" else f"{bus}|{name}", Arn=arn)

    def _create_AWS__Logs__ResourcePolicy(self, logical_id: str, resource: dict) -> None:
        p = self._properties(resource)
        document = p["PolicyDocument"] if isinstance(p["PolicyDocument"], str) else json.dumps(p["PolicyDocument"])
        boto3.client("logs").put_resource_policy(policyName=p["PolicyName"], policyDocument=document)
        self._set(logical_id, p["PolicyName"])

    def _create_AWS__SQS__Queue(self, logical_id: str, resource: dict) -> None:
        p = self._properties(resource)
        name = p.pop("QueueName", None) or self._physical_name(logical_id)
        tags = {t["Key"]: t["Value"] for t in p.pop("Tags", [])}
        # CloudFormation's queue properties are the API's attribute names; the API takes strings
        # (JSON for RedrivePolicy, "true"/"false" for flags).
        attributes = {k: json.dumps(v) if isinstance(v, dict | bool) else str(v) for k, v in p.items()}
        sqs = boto3.client("sqs")
        url = sqs.create_queue(QueueName=name, Attributes=attributes, **({"tags": tags} if tags else {}))["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self._set(logical_id, url, Arn=arn, QueueName=name, QueueUrl=url)

    def _create_AWS__SQS__QueuePolicy(self, logical_id: str, resource: dict) -> None:
        p = self._properties(resource)
        sqs = boto3.client("sqs")
        for url in p["Queues"]:
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(p["PolicyDocument"])})
        self._set(logical_id, f"{self.stack.name}-{logical_id}")

    def _create_AWS__Events__Archive(self, logical_id: str, resource: dict) -> None:
        p = self._properties(resource)
        name = p.get("ArchiveName") or self._physical_name(logical_id)
        archive = boto3.client("events").create_archive(
            **_without_none(
                ArchiveName=name,
                EventSourceArn=p["SourceArn"],
                EventPattern=json.dumps(p["EventPattern"]) if "EventPattern" in p else None,
                RetentionDays=int(p["RetentionDays"]) if "RetentionDays" in p else None,
            )
        )
        self._set(logical_id, name, Arn=archive["ArchiveArn"])

    def _create_AWS__KMS__Key(self, logical_id: str, resource: dict) -> None:
        p = self._properties(resource)
        kms = boto3.client("kms")
        key = kms.create_key(
            **_without_none(Description=p.get("Description"), Policy=json.dumps(p["KeyPolicy"]) if "KeyPolicy" in p else None)
        )["KeyMetadata"]
        if p.get("EnableKeyRotation"):
            kms.enable_key_rotation(KeyId=key["KeyId"])
        self._set(logical_id, key["KeyId"], Arn=key["Arn"], KeyId=key["KeyId"])

    def _create_AWS__Cognito__UserPoolGroup(self, logical_id: str, resource: dict) -> None:
        p = self._properties(resource)
        boto3.client("cognito-idp").create_group(**p)
        self._set(logical_id, p["GroupName"])

    def _create_AWS__SecretsManager__Secret(self, logical_id: str, resource: dict) -> None:
        p = self._properties(resource)
        generate = p.get("GenerateSecretString", {})
        secretsmanager = boto3.client("secretsmanager")
        value = (
            p.get("SecretString")
            or secretsmanager.get_random_password(
                PasswordLength=int(generate.get("PasswordLength", 32)),
                ExcludePunctuation=bool(generate.get("ExcludePunctuation", False)),
            )["RandomPassword"]
        )
        arn = secretsmanager.create_secret(Name=p.get("Name") or self._physical_name(logical_id), SecretString=value)["ARN"]
        self._set(logical_id, arn, Id=arn)

    def _create_AWS__Logs__LogGroup(self, logical_id: str, resource: dict) -> None:
        p = self._properties(resource)
        name = p.get("LogGroupName") or self._physical_name(logical_id)
        logs = boto3.client("logs")
        logs.create_log_group(logGroupName=name)
        if "RetentionInDays" in p:
            logs.put_retention_policy(logGroupName=name, retentionInDays=int(p["RetentionInDays"]))
        self._set(logical_id, name, Arn=f"arn:aws:logs:{self.region}:{self.account}:log-group:{name}:*")

    def _create_AWS__Serverless__LayerVersion(self, logical_id: str, resource: dict) -> None:
        # The layer's package (functions/shared) is installed in the local stack's environment.
        self._set(logical_id, f"arn:aws:lambda:{self.region}:{self.account}:layer:{self._physical_name(logical_id)}:1")

    def _create_AWS__Serverless__Function(self, logical_id: str, resource: dict) -> None:
        defaults = self.template.get("Globals", {}).get("Function", {})
        merged = {**defaults, **resource.get("Properties", {})}
        merged["Environment"] = {
            "Variables": {
                **defaults.get("Environment", {}).get("Variables", {}),
                **resource.get("Properties", {}).get("Environment", {}).get("Variables", {}),
            }
        }
        p = self.resolver.resolve({k: v for k, v in merged.items() if k not in ("Events", "Policies")})
        name = p.get("FunctionName") or f"{self.stack.name}-{logical_id}"
        environment = {k: str(v) for k, v in p["Environment"]["Variables"].items()}
        function = boto3.client("lambda").create_function(
            FunctionName=name,
            Runtime=p["Runtime"],
            Role=self.role_arn,
            Handler=p["Handler"],
            Code={"ZipFile": _empty_zip()},
            Environment={"Variables": environment},
            Timeout=int(p.get("Timeout", 3)),
            MemorySize=int(p.get("MemorySize", 128)),
        )
        self.runtime.register(
            LocalFunction(
                logical_id=logical_id,
                name=name,
                arn=function["FunctionArn"],
                code_dir=ROOT / p["CodeUri"],
                handler=p["Handler"],
                environment=environment,
                memory_mb=int(p.get("MemorySize", 128)),
                timeout_seconds=int(p.get("Timeout", 3)),
            )
        )
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event["Type"] == "HttpApi":
                # SAM's rule: an HttpApi event without Path and Method is the API's $default route.
                props = event.get("Properties", {})
                api = props.get("ApiId", {}).get("Ref", "ServerlessHttpApi")
                self.stack.api_routes.append((api, props.get("Path", "$default"), props.get("Method", "ANY").upper(), name))
        self._set(logical_id, name, Arn=function["FunctionArn"])

    def _create_AWS__Serverless__StateMachine(self, logical_id: str, resource: dict) -> None:
        p = self._properties(resource)
        definition = (ROOT / p["DefinitionUri"]).read_text()
        for key, value in p.get("DefinitionSubstitutions", {}).items():
            definition = definition.replace("${" + key + "}", str(value))
        name = p.get("Name") or self._physical_name(logical_id)
        arn = boto3.client("stepfunctions").create_state_machine(
            name=name, definition=definition, roleArn=self.role_arn, type=p.get("Type", "STANDARD")
        )["stateMachineArn"]
        self.stack.state_machines[logical_id] = arn
        self._set(logical_id, arn, Arn=arn, Name=name)

    def _create_AWS__CloudWatch__Alarm(self, logical_id: str, resource: dict) -> None:
        p = self._properties(resource)
        name = p.pop("AlarmName", None) or self._physical_name(logical_id)
        numbers = {"Period": int, "EvaluationPeriods": int, "DatapointsToAlarm": int, "Threshold": float}
        # CloudFormation's alarm properties are the API's parameters, with numbers as template scalars.
        arguments = {k: numbers[k](v) if k in numbers else v for k, v in p.items()}
        for query in arguments.get("Metrics", []):
            if "MetricStat" in query:
                query["MetricStat"]["Period"] = int(query["MetricStat"]["Period"])
        boto3.client("cloudwatch").put_metric_alarm(AlarmName=name, **arguments)
        self._set(logical_id, name, Arn=f"arn:aws:cloudwatch:{self.region}:{self.account}:alarm:{name}")

    def _create_AWS__CloudWatch__Dashboard(self, logical_id: str, resource: dict) -> None:
        p = self._properties(resource)
        name = p.get("DashboardName") or self._physical_name(logical_id)
        boto3.client("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=p["DashboardBody"])
        self._set(logical_id, name)

    def _create_AWS__Serverless__HttpApi(self, logical_id: str, resource: dict) -> None:
        self.stack.apis[logical_id] = self._properties(resource)
        self._set(logical_id, f"local-{logical_id.lower()}")
