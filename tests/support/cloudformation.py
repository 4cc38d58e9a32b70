"""authflow's stack deployed to moto's CloudFormation in-process (mock_aws), as `sam deploy` deploys it.

package() does what `sam package` does (each function's and the layer's directory zipped, each state
machine's ASL file uploaded, to one artifact bucket) and deploy() creates the stack from the
template the SAM translator makes of template.yaml (tests/support/sam.py).

moto 5.2.5's CloudFormation falls short of AWS for this template; closed here, where the tests use it
(the local stack provisions the template itself, infra/provision.py):
- no model for AWS::Cognito::UserPool, UserPoolClient and UserPoolGroup, nor AWS::Lambda::Alias: they
  are created in moto's Cognito and Lambda backends, with the ids and attributes CloudFormation gives them;
- no model for the resources nothing here reads back (the alarms, the secret, the HTTP API and its
  stage: moto's CloudFormation has no AWS::ApiGatewayV2 model, the bucket and queue policies): each is
  recorded as a stack resource with a physical id, so that Ref and GetAtt resolve and
  ListStackResources lists it, as in AWS;
- AWS::StepFunctions::StateMachine reads only DefinitionString: its DefinitionS3Location is read
  from moto's S3 and its DefinitionSubstitutions applied, as CloudFormation does;
- an AWS::Lambda::Version has no GetAtt Version (the alias needs it);
- Ref of an AWS::Events::EventBus gives moto's bus object rather than its name, and an
  AWS::Events::Archive's EventPattern must be JSON text where CloudFormation also takes an object.
"""

from __future__ import annotations

import contextlib
import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.awslambda.models import LambdaVersion, lambda_backends
from moto.cloudformation import parsing
from moto.cognitoidp.models import cognitoidp_backends
from moto.events.models import Archive, EventBus
from moto.s3.models import s3_backends
from moto.stepfunctions.models import StateMachine

from tests.support.sam import ARTIFACT_BUCKET, translated_template

ROOT = Path(__file__).resolve().parents[2]


class _Resource:
    """A created resource as moto's CloudFormation uses it: its physical id and GetAtt attributes.
    The models here only quack like moto's CloudFormationModel: a subclass would join moto's model
    map for the whole process, not just within cloudformation_gaps_closed()."""

    attribute_names: tuple[str, ...] = ()

    def __init__(self, physical_id: str, attributes: dict[str, str]):
        self.physical_resource_id = physical_id
        self.attributes = attributes

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.attribute_names

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.attributes[attribute_name]

    def is_created(self) -> bool:
        return True


class CognitoUserPool(_Resource):
    attribute_names = ("Arn", "ProviderName", "ProviderURL", "UserPoolId")

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Cognito::UserPool"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "UserPoolName"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json.get("Properties", {})
        pool = cognitoidp_backends[account_id][region_name].create_user_pool(resource_name, properties)
        provider = f"cognito-idp.{region_name}.amazonaws.com/{pool.id}"
        return cls(pool.id, {"Arn": pool.arn, "ProviderName": provider, "ProviderURL": f"https://{provider}", "UserPoolId": pool.id})


class CognitoUserPoolClient(_Resource):
    attribute_names = ("ClientId", "ClientSecret", "Name")

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Cognito::UserPoolClient"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "ClientName"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = dict(cloudformation_json.get("Properties", {}))
        pool_id = properties.pop("UserPoolId")
        client = cognitoidp_backends[account_id][region_name].create_user_pool_client(
            pool_id, bool(properties.get("GenerateSecret")), {**properties, "ClientName": resource_name}
        )
        return cls(client.id, {"ClientId": client.id, "ClientSecret": client.secret, "Name": resource_name})


class CognitoUserPoolGroup(_Resource):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Cognito::UserPoolGroup"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "GroupName"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json.get("Properties", {})
        backend = cognitoidp_backends[account_id][region_name]
        backend.create_group(
            properties["UserPoolId"],
            resource_name,
            properties.get("Description", ""),
            properties.get("RoleArn", ""),
            properties.get("Precedence", 0),
        )
        return cls(resource_name, {})


class LambdaAlias(_Resource):
    """Ref gives the alias ARN, as CloudFormation does (the API's invoke permission names it)."""

    attribute_names = ("AliasArn",)

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Lambda::Alias"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json.get("Properties", {})
        alias = lambda_backends[account_id][region_name].create_alias(
            properties["Name"],
            properties["FunctionName"],
            str(properties.get("FunctionVersion", "$LATEST")),
            properties.get("Description", ""),
            "",
        )
        return cls(alias.arn, {"AliasArn": alias.arn})


class _RecordedResource(_Resource):
    """A resource moto's CloudFormation cannot create and nothing here reads back: its physical id,
    and an ARN made from it for GetAtt."""

    attribute_names = ("Arn", "Id")
    resource_type = ""

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        service = cls.resource_type.split("::")[1].lower()
        return cls(resource_name, {"Arn": f"arn:aws:{service}:{region_name}:{account_id}:{resource_name}", "Id": resource_name})


def _recorded(resource_type: str) -> type[_RecordedResource]:
    return type(
        resource_type.replace("::", ""),
        (_RecordedResource,),
        {"resource_type": resource_type, "cloudformation_type": staticmethod(lambda: resource_type)},
    )


RECORDED_TYPES = (
    "AWS::CloudWatch::Alarm",
    "AWS::SecretsManager::Secret",
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGatewayV2::Stage",
    "AWS::S3::BucketPolicy",
    "AWS::SQS::QueuePolicy",
)
MODELS: list[Any] = [
    CognitoUserPool,
    CognitoUserPoolClient,
    CognitoUserPoolGroup,
    LambdaAlias,
    *(_recorded(resource_type) for resource_type in RECORDED_TYPES),
]


def _with_properties(original, fix):
    """original create_from_cloudformation_json, given the properties as fix(account_id, properties) makes them."""

    def create_from_cloudformation_json(resource_name, cloudformation_json, account_id, region_name, **kwargs):
        fix(account_id, cloudformation_json["Properties"])
        return original(resource_name, cloudformation_json, account_id, region_name, **kwargs)

    return create_from_cloudformation_json


def _definition_from_s3(account_id: str, properties: dict) -> None:
    location = properties.pop("DefinitionS3Location", None)
    if location:
        stored = s3_backends[account_id]["global"].get_object(location["Bucket"], location["Key"])
        assert stored is not None, f"{location['Key']} is not in the artifact bucket (package() uploads it)"
        definition = stored.value.decode()
        for name, value in properties.pop("DefinitionSubstitutions", {}).items():
            definition = definition.replace("${" + name + "}", str(value))
        properties["DefinitionString"] = definition


def _event_pattern_as_text(account_id: str, properties: dict) -> None:
    if isinstance(properties.get("EventPattern"), dict):
        properties["EventPattern"] = json.dumps(properties["EventPattern"])


@contextmanager
def cloudformation_gaps_closed() -> Iterator[None]:
    """moto's CloudFormation with the models above, for the duration of the block."""
    models = {model.cloudformation_type(): model for model in MODELS}
    model_map, name_types = parsing.get_model_map(), parsing.get_name_type_map()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parsing, "get_model_map", lambda: {**model_map, **models})
        patch.setattr(parsing, "get_name_type_map", lambda: {**name_types, **{t: m.cloudformation_name_type() for t, m in models.items()}})
        patch.setattr(
            StateMachine,
            "create_from_cloudformation_json",
            _with_properties(StateMachine.create_from_cloudformation_json, _definition_from_s3),
        )
        patch.setattr(
            Archive, "create_from_cloudformation_json", _with_properties(Archive.create_from_cloudformation_json, _event_pattern_as_text)
        )
        patch.setattr(EventBus, "physical_resource_id", property(lambda bus: bus.name), raising=False)
        patch.setattr(LambdaVersion, "has_cfn_attr", classmethod(lambda cls, attr: attr == "Version"), raising=False)
        patch.setattr(LambdaVersion, "get_cfn_attribute", lambda version, attr: str(version.version), raising=False)
        yield


def _zipped(directory: Path) -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted(directory.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                zipped.write(path, path.relative_to(directory))
    return archive.getvalue()


def package(template: dict[str, Any]) -> None:
    """What `sam package` uploads: each function's and layer's directory zipped, each ASL file as is."""
    s3 = boto3.client("s3")
    region = s3.meta.region_name
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):  # packaged for an earlier stack
        s3.create_bucket(
            Bucket=ARTIFACT_BUCKET, **({"CreateBucketConfiguration": {"LocationConstraint": region}} if region != "us-east-1" else {})
        )
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        code = properties.get("Code") or properties.get("Content") or {}
        definition = properties.get("DefinitionS3Location") or {}
        if "S3Key" in code:
            s3.put_object(Bucket=ARTIFACT_BUCKET, Key=code["S3Key"], Body=_zipped(ROOT / code["S3Key"].removesuffix(".zip")))
        if "Key" in definition:
            s3.put_object(Bucket=ARTIFACT_BUCKET, Key=definition["Key"], Body=(ROOT / definition["Key"]).read_bytes())


def deploy(stack_name: str, environment: str, without: tuple[str, ...] = ()) -> dict[str, Any]:
    """template.yaml translated, packaged and deployed as stack_name (less the resources `without`
    names); the stack's description."""
    region = boto3.session.Session().region_name or "us-east-1"
    template = translated_template(region)
    for logical_id in without:
        del template["Resources"][logical_id]
    package(template)
    cloudformation = boto3.client("cloudformation")
    cloudformation.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": "Environment", "ParameterValue": environment}],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
        ClientRequestToken=str(uuid.uuid4()),
    )
    return cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
