"""template.yaml's alarms and onboarding dashboard (issue 14, item 5), as the SAM translator makes them.

cfn-lint checks every alarm and the dashboard with the rest of the template (tests/unit/test_template.py);
here each alarm watches the metric of the resource it names, notifies AlarmTopicArn when one is given and
nothing otherwise, and the dashboard's funnel reads the metrics the onboarding task emits; the local
stack creates them all.
"""

import json
import re
import typing
import uuid
from typing import Any

import pytest

from authflow.models import OnboardingTask
from infra.provision import Provisioner
from infra.template import Resolver, load_template
from tests.support.workflow import stack_client
from tests.unit.test_template import _translate

FUNCTIONS = (
    "ApiFunction",
    "PasswordResetTaskFunction",
    "OnboardingTaskFunction",
    "CognitoTriggerFunction",
    "WebhookDeliveryFunction",
    "UserImportFunction",
    "MailRequestFunction",
)
TOPIC = "arn:aws:sns:eu-west-1:123456789012:authflow-operators"


def _executions(machine: str, metric: str) -> tuple[str, str, list[dict[str, Any]], str, float]:
    return "AWS/States", metric, [{"Name": "StateMachineArn", "Value": {"Ref": machine}}], "Sum", 0


def _cognito(metric: str, client: Any) -> tuple[str, str, list[dict[str, Any]], str, float]:
    return (
        "AWS/Cognito",
        metric,
        [{"Name": "UserPool", "Value": {"Ref": "UserPool"}}, {"Name": "UserPoolClient", "Value": client}],
        "Sum",
        0,
    )


# alarm -> (namespace, metric, dimensions as the template writes them, statistic, threshold)
SIMPLE_ALARMS: dict[str, tuple[str, str, list[dict[str, Any]], str, float]] = {
    "OnboardingExecutionsTimedOutAlarm": _executions("OnboardingStateMachine", "ExecutionsTimedOut"),
    "PasswordResetExecutionsFailedAlarm": _executions("PasswordResetStateMachine", "ExecutionsFailed"),
    "PasswordResetExecutionsTimedOutAlarm": _executions("PasswordResetStateMachine", "ExecutionsTimedOut"),
    "LoginExecutionsFailedAlarm": _executions("LoginStateMachine", "ExecutionsFailed"),
    "WebhookDeadLetterQueueAlarm": (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["WebhookDeadLetterQueue", "QueueName"]}}],
        "Maximum",
        0,
    ),
    "MailRequestDeadLetterQueueAlarm": (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["MailRequestDeadLetterQueue", "QueueName"]}}],
        "Maximum",
        0,
    ),
    "Api5xxRateAlarm": (
        "AWS/ApiGateway",
        "5xx",  # HTTP API's metric name and dimensions (REST's is 5XXError by ApiName)
        [{"Name": "ApiId", "Value": {"Ref": "Api"}}, {"Name": "Stage", "Value": "v1"}],
        "Average",
        0.01,
    ),
    "CognitoSignInThrottlesAlarm": _cognito("SignInThrottles", {"Ref": "UserPoolClient"}),
    "CognitoTokenRefreshThrottlesAlarm": _cognito("TokenRefreshThrottles", {"Ref": "UserPoolClient"}),
    "CognitoSignUpThrottlesAlarm": _cognito("SignUpThrottles", "Admin"),  # AdminCreateUser's client dimension
}
for _function in FUNCTIONS:
    for _metric in ("Errors", "Throttles"):
        SIMPLE_ALARMS[f"{_function}{_metric}Alarm"] = (
            "AWS/Lambda",
            _metric,
            [{"Name": "FunctionName", "Value": {"Ref": _function}}],
            "Sum",
            0,
        )
EVERY_ALARM = {*SIMPLE_ALARMS, "OnboardingExecutionsFailedAlarm", "UserImportFailuresAlarm"}


@pytest.fixture(scope="module")
def cfn() -> dict[str, Any]:
    return _translate()


def _alarm(cfn: dict, logical_id: str) -> dict:
    resource = cfn["Resources"][logical_id]
    assert resource["Type"] == "AWS::CloudWatch::Alarm"
    return resource["Properties"]


def _resolver(**parameters: str) -> Resolver:
    return Resolver(load_template(), parameters, pseudo={"AWS::Region": "eu-west-1"})


def test_the_template_has_exactly_the_alarms_operators_need(cfn) -> None:
    alarms = {lid for lid, r in cfn["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert alarms == EVERY_ALARM
    functions = {lid for lid, r in load_template()["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    assert functions == set(FUNCTIONS), "every function has its errors and throttles alarms"


@pytest.mark.parametrize("logical_id", sorted(SIMPLE_ALARMS))
def test_each_alarm_watches_its_resources_metric(cfn, logical_id: str) -> None:
    namespace, metric, dimensions, statistic, threshold = SIMPLE_ALARMS[logical_id]
    alarm = _alarm(cfn, logical_id)
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Dimensions"]) == (namespace, metric, dimensions)
    assert alarm["Statistic"] == statistic
    assert alarm["Threshold"] == threshold and alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["TreatMissingData"] == "notBreaching", "no traffic is not a fault"


def test_failed_onboardings_alarm_leaves_expirations_out(cfn) -> None:
    """An abandoned invitation ends the execution in a Fail state; it is not an operator's problem."""
    alarm = _alarm(cfn, "OnboardingExecutionsFailedAlarm")
    queries = {q["Id"]: q for q in alarm["Metrics"]}
    failed = queries["failed"]["MetricStat"]["Metric"]
    assert (failed["Namespace"], failed["MetricName"]) == ("AWS/States", "ExecutionsFailed")
    assert failed["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": "OnboardingStateMachine"}}]
    expired = queries["expired"]["MetricStat"]["Metric"]
    emitted_as = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    assert (expired["Namespace"], expired["MetricName"]) == (emitted_as["POWERTOOLS_METRICS_NAMESPACE"], "OnboardingExpired")
    assert expired["Dimensions"] == [{"Name": "service", "Value": emitted_as["POWERTOOLS_SERVICE_NAME"]}]
    assert queries["failedNotExpired"]["Expression"] == "FILL(failed, 0) - FILL(expired, 0)"
    assert [q["Id"] for q in alarm["Metrics"] if q["ReturnData"]] == ["failedNotExpired"]


def test_import_failures_alarm_fires_on_a_failed_row_or_a_row_in_the_dead_letter_queue(cfn) -> None:
    """A row recorded failed (ImportRowsFailed, emitted by the import function and the API) or parked
    in the import dead-letter queue: either breaches the alarm on its own."""
    alarm = _alarm(cfn, "UserImportFailuresAlarm")
    queries = {q["Id"]: q for q in alarm["Metrics"]}
    failed = queries["failed"]["MetricStat"]["Metric"]
    emitted_as = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    assert (failed["Namespace"], failed["MetricName"]) == (emitted_as["POWERTOOLS_METRICS_NAMESPACE"], "ImportRowsFailed")
    assert failed["Dimensions"] == [{"Name": "service", "Value": emitted_as["POWERTOOLS_SERVICE_NAME"]}]
    parked = queries["parked"]["MetricStat"]["Metric"]
    assert (parked["Namespace"], parked["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert parked["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["UserImportDeadLetterQueue", "QueueName"]}}]
    assert queries["parked"]["MetricStat"]["Stat"] == "Maximum"
    assert queries["failedOrParked"]["Expression"] == "FILL(failed, 0) + FILL(parked, 0)"
    assert [q["Id"] for q in alarm["Metrics"] if q["ReturnData"]] == ["failedOrParked"]
    assert (alarm["Threshold"], alarm["ComparisonOperator"], alarm["TreatMissingData"]) == (0, "GreaterThanThreshold", "notBreaching")
    queue = load_template()["Resources"]["UserImportQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["UserImportDeadLetterQueue", "Arn"]}


@pytest.mark.parametrize("logical_id", sorted(EVERY_ALARM))
def test_each_alarm_notifies_the_topic_only_when_one_is_given(logical_id: str) -> None:
    actions = load_template()["Resources"][logical_id]["Properties"]["AlarmActions"]
    assert _resolver(AlarmTopicArn=TOPIC).resolve({"AlarmActions": actions}) == {"AlarmActions": [TOPIC]}
    assert _resolver().resolve({"AlarmActions": actions}) == {}, "empty AlarmTopicArn: an alarm without actions"


def test_alarm_topic_parameter_accepts_an_sns_arn_or_nothing() -> None:
    parameter = load_template()["Parameters"]["AlarmTopicArn"]
    assert parameter["Default"] == ""
    pattern = re.compile(parameter["AllowedPattern"])
    assert pattern.fullmatch(TOPIC) and pattern.fullmatch("")
    assert not pattern.fullmatch("arn:aws:sqs:eu-west-1:123456789012:queue")


def test_user_pool_tier_is_a_parameter_defaulting_to_lite(cfn) -> None:
    assert cfn["Parameters"]["UserPoolTier"]["AllowedValues"] == ["LITE", "ESSENTIALS", "PLUS"]
    assert cfn["Parameters"]["UserPoolTier"]["Default"] == "LITE"
    pool = next(r for r in cfn["Resources"].values() if r["Type"] == "AWS::Cognito::UserPool")
    assert pool["Properties"]["UserPoolTier"] == {"Ref": "UserPoolTier"}


def _onboarding_funnel_metrics() -> set[str]:
    """The step counts the onboarding task function emits: one per task done, compensations by outcome."""
    tasks = set(typing.get_args(OnboardingTask.model_fields["task"].annotation)) - {"compensate", "await_user_action"}
    outcomes = set(typing.get_args(typing.get_args(OnboardingTask.model_fields["outcome"].annotation)[0]))
    return {"Onboarding" + name.title().replace("_", "") for name in tasks | outcomes}


def test_dashboard_shows_the_onboarding_funnel_from_the_emitted_metrics() -> None:
    template = load_template()
    resource = template["Resources"]["OnboardingDashboard"]
    emitted_as = template["Globals"]["Function"]["Environment"]["Variables"]
    resolver = _resolver()
    resolver.attributes.update({(a, "Arn"): f"arn:{a}" for a in EVERY_ALARM})
    body = json.loads(resolver.resolve(resource["Properties"])["DashboardBody"])
    graphs = [w for w in body["widgets"] if w["type"] == "metric"]
    assert graphs
    for graph in graphs:
        rows = graph["properties"]["metrics"]
        namespace, _, dimension, service = rows[0][0], rows[0][1], rows[0][2], rows[0][3]
        assert (namespace, dimension, service) == (
            emitted_as["POWERTOOLS_METRICS_NAMESPACE"],
            "service",
            emitted_as["POWERTOOLS_SERVICE_NAME"],
        )
        assert [row[-1]["label"] for row in rows] == ["created", "invited", "confirmed", "active", "expired", "failed"]
        assert {row[1] for row in rows} == _onboarding_funnel_metrics()
    alarms = next(w for w in body["widgets"] if w["type"] == "alarm")["properties"]["alarms"]
    assert "arn:OnboardingExecutionsFailedAlarm" in alarms


@pytest.mark.e2e
def test_the_local_stack_creates_every_alarm_and_the_dashboard(local_stack) -> None:
    cloudwatch = stack_client(local_stack, "cloudwatch")
    alarms = {a["AlarmName"]: a for a in cloudwatch.describe_alarms(AlarmNamePrefix=local_stack.stack_name)["MetricAlarms"]}
    assert set(alarms) == {local_stack.stack.refs[a] for a in EVERY_ALARM}
    assert all(a["AlarmActions"] == [] for a in alarms.values()), "the local stack gives no AlarmTopicArn"
    failed = alarms[local_stack.stack.refs["OnboardingExecutionsFailedAlarm"]]
    assert [m["Id"] for m in failed["Metrics"]] == ["failed", "expired", "failedNotExpired"]
    body = json.loads(cloudwatch.get_dashboard(DashboardName=local_stack.stack.refs["OnboardingDashboard"])["DashboardBody"])
    assert len(body["widgets"]) == 3


@pytest.mark.e2e
def test_a_local_alarm_notifies_the_topic_given(local_stack) -> None:
    provisioner = Provisioner(load_template(), {"AlarmTopicArn": TOPIC}, local_stack.runtime, f"alarms-{uuid.uuid4().hex[:6]}")
    provisioner.stack.refs.update(local_stack.stack.refs)  # the queue it watches, already provisioned
    provisioner.stack.attributes.update(local_stack.stack.attributes)
    provisioner._create_AWS__CloudWatch__Alarm("WebhookDeadLetterQueueAlarm", load_template()["Resources"]["WebhookDeadLetterQueueAlarm"])
    name = provisioner.stack.refs["WebhookDeadLetterQueueAlarm"]
    (alarm,) = stack_client(local_stack, "cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert alarm["AlarmActions"] == [TOPIC]
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": local_stack.stack.attributes[("WebhookDeadLetterQueue", "QueueName")]}]
