"""template.yaml as CloudFormation: what `sam package` and the SAM transform make of it, offline."""

import copy
import os
from typing import Any
from unittest import mock

from samtranslator.translator.transform import transform

from infra.template import load_template

ARTIFACT_BUCKET = "artifacts"


def artifact_key(local_path: str) -> str:
    """The S3 key `sam package` would give a local CodeUri, ContentUri or DefinitionUri."""
    path = local_path.strip("/")
    return path if path.endswith(".json") else f"{path}.zip"


def translated_template(region: str = "eu-west-1") -> dict[str, Any]:
    """template.yaml with its artifacts as S3 locations in ARTIFACT_BUCKET (as `sam package` leaves
    them), through the SAM translator (managed policy loader stubbed: no AWS call)."""
    template = copy.deepcopy(load_template())
    for resource in template["Resources"].values():
        props = resource.get("Properties") or {}
        if resource["Type"] == "AWS::Serverless::Function":
            props["CodeUri"] = f"s3://{ARTIFACT_BUCKET}/{artifact_key(props['CodeUri'])}"
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            props["ContentUri"] = f"s3://{ARTIFACT_BUCKET}/{artifact_key(props['ContentUri'])}"
        elif resource["Type"] == "AWS::Serverless::StateMachine":
            props["DefinitionUri"] = {"Bucket": ARTIFACT_BUCKET, "Key": artifact_key(props["DefinitionUri"])}
    loader = mock.Mock()
    loader.load.return_value = {}
    with mock.patch.dict(os.environ, {"AWS_DEFAULT_REGION": region}):
        return transform(template, {}, loader)
