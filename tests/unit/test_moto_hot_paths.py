"""infra/moto_hot_paths.py: the local stack's three faster paths behave as moto's own (and AWS) do."""

import json
import time
import uuid
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.core.config import default_user_config
from moto.dynamodb.models.table import Table
from moto.events.utils import EventTemplateParser
from moto.stepfunctions.parser.asl.parse import asl_parser

from infra import moto_hot_paths

pytestmark = pytest.mark.usefixtures("in_process_aws")


@pytest.fixture(autouse=True)
def hot_paths_installed():
    moto_hot_paths.install()


def new_table(dynamodb, range_key: bool = False) -> str:
    name = f"hot-{uuid.uuid4().hex[:8]}"
    schema = [{"AttributeName": "pk", "KeyType": "HASH"}] + ([{"AttributeName": "sk", "KeyType": "RANGE"}] if range_key else [])
    attributes = [{"AttributeName": a["AttributeName"], "AttributeType": "S"} for a in schema]
    dynamodb.create_table(TableName=name, KeySchema=schema, AttributeDefinitions=attributes, BillingMode="PAY_PER_REQUEST")
    return name


@pytest.mark.parametrize("range_key", [False, True])
def test_a_cancelled_transaction_leaves_every_item_as_it_was_without_copying_the_table(range_key, monkeypatch):
    monkeypatch.setattr(Table, "__deepcopy__", lambda *_: pytest.fail("the whole table was copied"), raising=False)
    dynamodb = boto3.client("dynamodb")
    table = new_table(dynamodb, range_key)

    def key(pk: str) -> dict:
        return {"pk": {"S": pk}, **({"sk": {"S": "s"}} if range_key else {})}

    dynamodb.put_item(TableName=table, Item={**key("kept"), "n": {"N": "1"}})
    dynamodb.put_item(TableName=table, Item={**key("gone"), "n": {"N": "1"}})
    dynamodb.put_item(TableName=table, Item=key("guard"))
    writes = [
        {"Put": {"TableName": table, "Item": {**key("new"), "n": {"N": "1"}}}},
        {
            "Update": {
                "TableName": table,
                "Key": key("kept"),
                "UpdateExpression": "SET n = :two",
                "ExpressionAttributeValues": {":two": {"N": "2"}},
            }
        },
        {"Delete": {"TableName": table, "Key": key("gone")}},
    ]
    refused = {"ConditionCheck": {"TableName": table, "Key": key("guard"), "ConditionExpression": "attribute_not_exists(pk)"}}

    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(TransactItems=[*writes, refused])
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert "Item" not in dynamodb.get_item(TableName=table, Key=key("new")), "the put is undone"
    assert dynamodb.get_item(TableName=table, Key=key("kept"))["Item"]["n"] == {"N": "1"}, "the update is undone"
    assert dynamodb.get_item(TableName=table, Key=key("gone"))["Item"]["n"] == {"N": "1"}, "the delete is undone"

    dynamodb.transact_write_items(TransactItems=writes)
    assert dynamodb.get_item(TableName=table, Key=key("new"))["Item"]["n"] == {"N": "1"}
    assert dynamodb.get_item(TableName=table, Key=key("kept"))["Item"]["n"] == {"N": "2"}
    assert "Item" not in dynamodb.get_item(TableName=table, Key=key("gone"))


def test_a_cancelled_transaction_puts_back_only_what_it_wrote(monkeypatch):
    """Another writer's change to the item whose condition failed, made after the transaction copied
    it, survives the cancellation: the transaction never wrote that item."""
    dynamodb = boto3.client("dynamodb")
    table = new_table(dynamodb)
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "claim"}, "owner": {"S": "first"}})
    original = moto_hot_paths._transact_write_items

    def meanwhile(backend, transact_items):
        backend.put_item(table, {"pk": {"S": "claim"}, "owner": {"S": "second"}})
        original(backend, transact_items)

    monkeypatch.setattr(moto_hot_paths, "_transact_write_items", meanwhile)
    claim = {
        "Put": {
            "TableName": table,
            "Item": {"pk": {"S": "claim"}, "owner": {"S": "third"}},
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }
    record = {"Put": {"TableName": table, "Item": {"pk": {"S": "record"}}}}
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(TransactItems=[record, claim])
    assert dynamodb.get_item(TableName=table, Key={"pk": {"S": "claim"}})["Item"]["owner"] == {"S": "second"}
    assert "Item" not in dynamodb.get_item(TableName=table, Key={"pk": {"S": "record"}})


def test_a_transaction_naming_one_item_twice_is_refused_and_changes_nothing():
    dynamodb = boto3.client("dynamodb")
    table = new_table(dynamodb)
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}, "n": {"N": "1"}})
    update = {
        "Update": {
            "TableName": table,
            "Key": {"pk": {"S": "a"}},
            "UpdateExpression": "SET n = :v",
            "ExpressionAttributeValues": {":v": {"N": "5"}},
        }
    }
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(TransactItems=[update, update])
    assert dynamodb.get_item(TableName=table, Key={"pk": {"S": "a"}})["Item"]["n"] == {"N": "1"}


def execution_output(stepfunctions, arn: str, given: dict) -> dict:
    execution = stepfunctions.start_execution(stateMachineArn=arn, name=uuid.uuid4().hex, input=json.dumps(given))["executionArn"]
    for _ in range(200):
        described = stepfunctions.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING" and "output" in described:
            assert described["status"] == "SUCCEEDED", described
            return json.loads(described["output"])
        time.sleep(0.02)
    pytest.fail("the execution did not finish")


def test_each_execution_of_a_definition_parsed_once_evaluates_on_its_own(monkeypatch):
    monkeypatch.setitem(default_user_config, "stepfunctions", {"execute_state_machine": True})
    definition = {
        "StartAt": "Choose",
        "States": {
            "Choose": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Big"}], "Default": "Small"},
            "Big": {"Type": "Pass", "Result": "big", "ResultPath": "$.size", "End": True},
            "Small": {"Type": "Pass", "Result": "small", "ResultPath": "$.size", "End": True},
        },
    }
    stepfunctions = boto3.client("stepfunctions")
    arn = stepfunctions.create_state_machine(
        name=f"hot-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/unit"
    )["stateMachineArn"]
    assert execution_output(stepfunctions, arn, {"n": 2}) == {"n": 2, "size": "big"}

    monkeypatch.setattr(asl_parser, "ASLLexer", lambda *_: pytest.fail("the definition was parsed again"))
    assert execution_output(stepfunctions, arn, {"n": 0}) == {"n": 0, "size": "small"}
    assert execution_output(stepfunctions, arn, {"n": 3}) == {"n": 3, "size": "big"}


def test_an_input_transformer_path_is_parsed_once_and_reads_each_event():
    template = '{"who": "<who>"}'
    paths = {"who": "$.detail.user_id"}
    before = moto_hot_paths.parse_json_path.cache_info().hits
    for user_id in ("u-1", "u-2"):
        event: Any = {"detail": {"user_id": user_id}, "ingestion-time": "2026-11-27T00:00:00Z"}
        assert EventTemplateParser.parse(template, paths, event) == {"who": user_id}
    assert moto_hot_paths.parse_json_path.cache_info().hits > before


def test_task_states_share_one_client_per_service_and_still_reach_the_service(monkeypatch):
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    assert lambda_eval_utils.boto_client_for("eu-west-3", "sqs") is lambda_eval_utils.boto_client_for("eu-west-3", "sqs")
    assert lambda_eval_utils.boto_client_for("eu-west-3", "sqs") is not lambda_eval_utils.boto_client_for("eu-west-1", "sqs")
    sqs = lambda_eval_utils.boto_client_for("eu-west-3", "sqs")
    url = boto3.client("sqs").create_queue(QueueName=f"hot-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="reached")
    assert boto3.client("sqs").receive_message(QueueUrl=url)["Messages"][0]["Body"] == "reached"
