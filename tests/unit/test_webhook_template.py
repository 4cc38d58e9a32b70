"""template.yaml's audit trail and webhook delivery path, as the SAM translator makes them.

Every authflow event reaches the audit log group (retention a parameter; EventBridge allowed by the
log group's resource policy); the webhook queue gets the subscribed types only (the rule's pattern,
which only the API may rewrite); the consumer reads the queue with partial batch
failures; failed deliveries end in the dead-letter queue; loopback webhook URLs are off in AWS and on
only where the local stack says so.
"""

import json
import tomllib
from typing import Any

import pytest

from authflow.events import EVENT_TYPES
from authflow.webhook_routing import NO_SUBSCRIPTION, event_pattern
from infra.stack import LOCAL_PARAMETERS
from tests.unit.test_template import SAMCONFIG, _overrides, _translate

AUTHFLOW_EVENTS = {"source": ["authflow"]}


@pytest.fixture(scope="module")
def cfn() -> dict[str, Any]:
    return _translate()


def _resource(cfn: dict, logical_id: str, kind: str) -> dict:
    resource = cfn["Resources"][logical_id]
    assert resource["Type"] == kind, f"{logical_id} is {resource['Type']}, expected {kind}"
    return resource


def test_every_event_goes_to_the_audit_log_group_with_retention_as_a_parameter(cfn) -> None:
    group = _resource(cfn, "AuditLogGroup", "AWS::Logs::LogGroup")["Properties"]
    assert group["RetentionInDays"] == {"Ref": "AuditLogRetentionDays"}
    assert cfn["Parameters"]["AuditLogRetentionDays"]["Default"] == 90

    rule = _resource(cfn, "AuditEventsRule", "AWS::Events::Rule")
    assert rule["Properties"]["EventBusName"] == {"Ref": "EventBus"}
    assert rule["Properties"]["EventPattern"] == AUTHFLOW_EVENTS
    assert rule["Properties"]["Targets"] == [{"Id": "AuditLogGroup", "Arn": {"Fn::GetAtt": ["AuditLogGroup", "Arn"]}}]
    assert rule["DependsOn"] == "AuditLogGroupPolicy" or "AuditLogGroupPolicy" in rule["DependsOn"]


def test_eventbridge_may_write_to_the_audit_log_group_and_only_for_the_audit_rule(cfn) -> None:
    policy = _resource(cfn, "AuditLogGroupPolicy", "AWS::Logs::ResourcePolicy")["Properties"]
    text = policy["PolicyDocument"]["Fn::Sub"]
    for name in ("AuditLogGroup.Arn", "AWS::Partition", "AWS::Region", "AWS::AccountId", "Environment"):
        text = text.replace("${" + name + "}", f"<{name}>")  # readable placeholders, then parse the JSON
    (statement,) = json.loads(text)["Statement"]
    assert statement["Effect"] == "Allow"
    assert "events.amazonaws.com" in statement["Principal"]["Service"]
    assert set(statement["Action"]) == {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert statement["Resource"] == "<AuditLogGroup.Arn>"
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"].endswith(":rule/authflow-<Environment>/authflow-<Environment>-audit")
    assert cfn["Resources"]["AuditEventsRule"]["Properties"]["Name"] == {"Fn::Sub": "authflow-${Environment}-audit"}


def test_the_webhook_rule_starts_matching_nothing_and_only_that_rule_may_send_to_the_queue(cfn) -> None:
    rule = _resource(cfn, "WebhookEventsRule", "AWS::Events::Rule")["Properties"]
    # No subscription yet: the API writes the subscribed types (authflow.webhook_routing) at each change.
    assert rule["EventPattern"] == event_pattern([]) and rule["EventBusName"] == {"Ref": "EventBus"}
    assert NO_SUBSCRIPTION not in {model.__name__ for model in EVENT_TYPES}
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": ["WebhookQueue", "Arn"]}
    policy = _resource(cfn, "WebhookQueuePolicy", "AWS::SQS::QueuePolicy")["Properties"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"} and statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["WebhookEventsRule", "Arn"]}}}


def test_only_the_api_may_rewrite_the_webhook_rule(cfn) -> None:
    writers = [
        logical_id
        for logical_id, resource in cfn["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role"
        for policy in resource["Properties"].get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
        if "events:PutRule" in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
        and statement["Resource"] == {"Fn::GetAtt": ["WebhookEventsRule", "Arn"]}
    ]
    assert writers == ["ApiFunctionRole"]


def test_the_consumer_reports_partial_batch_failures(cfn) -> None:
    mappings = [
        r["Properties"]
        for r in cfn["Resources"].values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping" and r["Properties"]["FunctionName"] == {"Ref": "WebhookDeliveryFunction"}
    ]
    assert len(mappings) == 1
    assert mappings[0]["EventSourceArn"] == {"Fn::GetAtt": ["WebhookQueue", "Arn"]}
    assert mappings[0]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_failed_deliveries_are_retried_on_svixs_schedule_then_dead_lettered(cfn) -> None:
    schedule = cfn["Parameters"]["WebhookRetrySchedule"]
    assert [int(s) for s in schedule["Default"].split(",")] == [5, 300, 1800, 7200, 18000, 36000, 36000]
    queue = _resource(cfn, "WebhookQueue", "AWS::SQS::Queue")["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["WebhookDeadLetterQueue", "Arn"]}
    function = _resource(cfn, "WebhookDeliveryFunction", "AWS::Lambda::Function")["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * function["Timeout"], "Lambda advises 6x the function timeout"
    dlq = _resource(cfn, "WebhookDeadLetterQueue", "AWS::SQS::Queue")["Properties"]
    assert dlq["MessageRetentionPeriod"] == 1209600  # 14 days, the most SQS keeps
    assert queue["SqsManagedSseEnabled"] is True and dlq["SqsManagedSseEnabled"] is True
    variables = function["Environment"]["Variables"]
    assert variables["WEBHOOK_RETRY_SCHEDULE"] == {"Ref": "WebhookRetrySchedule"}
    assert variables["WEBHOOK_DEAD_LETTER_QUEUE_URL"] == {"Ref": "WebhookDeadLetterQueue"}


def test_loopback_webhooks_are_off_in_aws_and_on_in_the_local_stack(cfn) -> None:
    assert cfn["Parameters"]["WebhookAllowLoopback"]["Default"] == "false"
    for function in ("ApiFunction", "WebhookDeliveryFunction"):
        variables = cfn["Resources"][function]["Properties"]["Environment"]["Variables"]
        assert variables["WEBHOOK_ALLOW_LOOPBACK"] == {"Ref": "WebhookAllowLoopback"}, function
    with SAMCONFIG.open("rb") as f:
        config = tomllib.load(f)
    for env in ("dev", "prod"):
        overrides = _overrides(config[env]["deploy"]["parameters"]["parameter_overrides"])
        assert overrides.get("WebhookAllowLoopback", "false") == "false", env
    assert LOCAL_PARAMETERS["WebhookAllowLoopback"] == "true"
