"""`make cost`: what authflow costs per month for N monthly active users, from what a local run does,
beside CognitoApi's own architecture priced the same way.

1. Measure. A local stack runs in this process with counters around moto (measures/instrument.py).
   After a warm-up, the driver takes U new users through onboarding, then one login each
   (POST /login + POST /mfa-verify), then R refreshes each (POST /refresh-token), and waits after each
   phase until the stack is idle (queues drained, no handler running). Each phase's counts divided
   by its number of flows are that flow's counts:
   - API requests: the requests the driver sent;
   - Lambda invocations by function, with each invocation's AWS calls, the local time spent inside
     them, and the invocations that ran inside another's AWS call (Cognito triggers);
   - Standard state transitions: the *StateEntered events of each new execution's history
     (Task, Choice, Pass, Wait, Succeed, Fail...), plus one per retry of a task, as AWS bills them;
   - Express executions;
   - EventBridge events: the events the archive received (and their size, which the archive bills
     by); SQS requests: messages sent (EventBridge's deliveries) plus every other SQS call except the
     idle empty long polls of the event source;
   - mails sent (SES, Cognito's invitations included); S3 requests by price class; DynamoDB request
     units from item sizes; Secrets Manager calls; CloudWatch Logs bytes by log group (the handlers'
     log lines, the EMF lines Powertools Metrics prints, Lambda's START/END/REPORT lines rendered for
     each invocation, and the audit log group's events) and the custom metrics the EMF lines define;
   - trace roots, one per entry point X-Ray starts a trace at: each API request, each Step Functions
     execution, each Cognito trigger invocation, each SQS-triggered batch.
2. Model what the local stack cannot show. A Lambda function in AWS is billed while it waits on AWS:
   each invocation's billed time is its local time outside AWS calls plus, for each call, that call's
   AWS latency (measures/prices.json, aws_latency_ms, published figures where AWS gives one) plus the
   modelled time of what the call ran synchronously (a trigger inside AdminInitiateAuth, the Express
   execution inside StartSyncExecution). Express durations are modelled the same way. Storage is
   priced at steady state: each log group keeps its retention's worth of months (template.yaml), the
   archive its retention. X-Ray is sampled (the default rule: 1 trace a second, then 5 %; options).
3. Price. Per monthly active user and month, under CognitoApi's assumptions (README, Cost
   estimation): one onboarding (an upper bound: every active user is new that month), one login a day
   and a refresh every hour (24 a day), 30 days; that is 26 requests a day. Prices come from
   measures/prices.json; the alarms, the dashboard and the secrets of template.yaml are fixed monthly
   items. Cognito is priced on each feature plan; template.yaml's UserPoolTier default is the total's.
"""

import argparse
import copy
import datetime
import json
import math
import os
import platform
import time
import uuid
import warnings
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from measures.report import money, per_user, print_table, quantity, say, unit_price

if TYPE_CHECKING:  # imported where used: measures.instrument must be installed before the stack's modules load
    from tests.support.flows import ActiveUser

ROOT = Path(__file__).resolve().parent.parent
PRICES_PATH = Path(__file__).with_name("prices.json")
FLOWS = ("onboarding", "login", "refresh")
COGNITOAPI_CLAIM = {"mau": 50_000, "usd_per_month": 150.0, "usd_per_user": 0.003}
DEFAULT_MAUS = (10_000, 50_000, 1_000_000)
EXPRESS_MEMORY_MB = 64
DAYS_PER_MONTH = 30
START_SYNC_EXECUTION = "stepfunctions:StartSyncExecution"
# The function behind the API: its modelled time per invocation is what a caller waits.
API_FUNCTION = "ApiFunction"
# Memory sizes the report compares for each function (MB); 1769 is one whole vCPU.
MEMORY_CHOICES = (128, 256, 512, 1024, 1769)
# A log group without retention never expires: its storage is priced after this many months.
UNRETAINED_LOG_MONTHS = 12

# metric measured or modelled per flow -> price item of prices.json
PRICED_METRICS = {
    "api_requests": "api_gateway_http_requests",
    "lambda_requests": "lambda_requests",
    "lambda_gb_seconds_arm64": "lambda_arm64_gb_seconds",
    "lambda_gb_seconds_x86_64": "lambda_x86_64_gb_seconds",
    "sfn_standard_transitions": "sfn_standard_transitions",
    "sfn_express_executions": "sfn_express_requests",
    "sfn_express_gb_seconds": "sfn_express_gb_seconds",
    "events": "eventbridge_custom_events",
    "archive_gb": "eventbridge_archive_gb",
    "archive_stored_gb": "eventbridge_archive_stored_gb_month",
    "sqs_requests": "sqs_requests",
    "mails": "ses_messages",
    "s3_tier1_requests": "s3_tier1_requests",
    "s3_tier2_requests": "s3_tier2_requests",
    "dynamodb_wru": "dynamodb_wru",
    "dynamodb_rru": "dynamodb_rru",
    "secrets_manager_calls": "secrets_manager_api_calls",
    "logs_gb": "cloudwatch_logs_ingested_gb",
    "logs_infrequent_access_gb": "cloudwatch_logs_ingested_gb_infrequent_access",
    "emf_logs_gb": "cloudwatch_logs_ingested_gb",
    "logs_stored_gb": "cloudwatch_logs_stored_gb_month",
    "xray_lambda_trace_roots": "xray_traces_recorded",
    "xray_trace_roots": "xray_traces_recorded",
}
# Lines whose price item another metric shares get their own label.
LINE_LABELS = {
    "emf_logs_gb": "CloudWatch Logs ingestion, EMF metric lines",
    "logs_gb": "CloudWatch Logs ingestion, log lines",
    "xray_lambda_trace_roots": "X-Ray traces, functions' own (Lambda's fixed rate)",
    "xray_trace_roots": "X-Ray traces, API and executions (sampling rule)",
}
FIXED_ITEMS = ("secrets_manager_secrets", "cloudwatch_custom_metrics", "cloudwatch_alarm_metrics", "cloudwatch_dashboards")
METRIC_LABELS = {
    "api_requests": "API requests",
    "lambda_requests": "Lambda requests",
    "lambda_billed_ms_local": "Lambda ms, local run",
    "lambda_billed_ms": "Lambda billed ms, modelled",
    "lambda_gb_seconds_arm64": "Lambda GB-seconds (arm64)",
    "lambda_gb_seconds_x86_64": "Lambda GB-seconds (x86_64)",
    "sfn_standard_transitions": "Standard state transitions",
    "sfn_express_executions": "Express executions",
    "sfn_express_billed_ms": "Express billed ms, modelled",
    "sfn_express_gb_seconds": "Express GB-seconds",
    "events": "EventBridge events",
    "archive_gb": "EventBridge archive GB",
    "archive_stored_gb": "archive GB kept (steady state)",
    "sqs_requests": "SQS requests",
    "mails": "mails (SES)",
    "s3_tier1_requests": "S3 PUT/POST/LIST",
    "s3_tier2_requests": "S3 GET/HEAD",
    "dynamodb_wru": "DynamoDB WRU",
    "dynamodb_rru": "DynamoDB RRU",
    "secrets_manager_calls": "Secrets Manager calls",
    "logs_gb": "CloudWatch Logs GB, log lines",
    "logs_infrequent_access_gb": "CloudWatch Logs GB, Infrequent Access groups",
    "emf_lines": "EMF metric lines",
    "emf_logs_gb": "CloudWatch Logs GB, EMF lines",
    "logs_stored_gb": "Logs GB kept (steady state)",
    "xray_trace_roots": "trace roots (X-Ray), sampling rule",
    "xray_lambda_trace_roots": "trace roots (X-Ray), Lambda's own",
}


# ---------------------------------------------------------------------- the model (pure arithmetic)


@dataclass(frozen=True)
class Usage:
    """CognitoApi's assumptions: a login a day (2 requests), a refresh an hour (24), 30 days."""

    logins_per_day: float = 1
    refreshes_per_day: float = 24
    days_per_month: float = DAYS_PER_MONTH
    onboardings_per_mau: float = 1.0

    def flows_per_mau(self) -> dict[str, float]:
        return {
            "onboarding": self.onboardings_per_mau,
            "login": self.logins_per_day * self.days_per_month,
            "refresh": self.refreshes_per_day * self.days_per_month,
        }


@dataclass(frozen=True)
class Sampling:
    """X-Ray's sampling: a reservoir of traces a second, then a share of the rest (the default rule)."""

    reservoir_per_second: float = 1.0
    rate: float = 0.05


# What Lambda samples where a function starts traces itself (Tracing: Active): fixed, no rule applies.
LAMBDA_SAMPLING = Sampling()


def sampling_of(facts: dict, reservoir_per_second: float | None = None, rate: float | None = None) -> Sampling:
    """The template's sampling rule (facts), each figure overridden where given."""
    rule = Sampling(**facts.get("sampling", {}))
    return Sampling(
        rule.reservoir_per_second if reservoir_per_second is None else reservoir_per_second, rule.rate if rate is None else rate
    )


def load_prices(path: Path = PRICES_PATH) -> dict:
    return json.loads(Path(path).read_text())


def tiered_cost(amount: float, tiers: list) -> float:
    """The cost of a monthly amount under [up_to, price] tiers (cumulative bounds, null = no end)."""
    cost, below = 0.0, 0.0
    for up_to, price in tiers:
        top = amount if up_to is None else min(amount, up_to)
        if top > below:
            cost += (top - below) * price
        if up_to is None or amount <= up_to:
            break
        below = up_to
    return cost


def monthly_per_mau(per_flow: Mapping[str, Mapping[str, float]], usage: Usage) -> dict[str, float]:
    """Each metric per monthly active user and month: the flows' counts times how often each runs."""
    flows = usage.flows_per_mau()
    metrics = sorted({m for counts in per_flow.values() for m in counts})
    return {m: sum(per_flow.get(f, {}).get(m, 0.0) * n for f, n in flows.items()) for m in metrics}


def xray_traces(trace_roots: float, seconds: float, reservoir_per_second: float = 1.0, rate: float = 0.05) -> float:
    """Traces a sampling rule records for trace roots spread evenly over `seconds`."""
    reservoir = min(trace_roots, reservoir_per_second * seconds)
    return reservoir + rate * (trace_roots - reservoir)


def call_latency_ms(call: str, latencies: dict) -> float:
    """AWS's latency for one call ("service:Action"), from prices.json's aws_latency_ms."""
    return latencies["calls"].get(call, latencies["default"])["ms"]


def compute_factor(memory_mb: float, compute: dict) -> float:
    """How many times longer a function's own work takes in Lambda at `memory_mb` than on one local core:
    Lambda's CPU share is proportional to memory, a whole vCPU at full_core_memory_mb (prices.json,
    lambda_compute), times the assumed speed of a vCPU against this machine's core."""
    return max(1.0, compute["full_core_memory_mb"] / memory_mb) * compute["core_speed_factor"]


def modelled_lambda_ms(
    functions: dict[str, dict],
    latencies: dict,
    express_functions: set[str],
    express_executions: float,
    compute: dict,
    workflow_calls: Mapping[str, float] | None = None,
    workflow_nested: Mapping[str, float] | None = None,
) -> tuple[dict[str, float], float]:
    """The average billed milliseconds of one invocation of each function in AWS, and of one Express execution.

    An invocation's time is its local time outside AWS calls scaled by its CPU share (compute_factor),
    plus each call's AWS latency, plus what
    the call ran synchronously: invocations nested in it (a Cognito trigger inside AdminInitiateAuth)
    and, for StartSyncExecution, the Express execution, whose time is its overhead plus the modelled
    time of the invocations of the functions the Express workflows call, plus the AWS latency of the
    workflows' own service-integration calls (workflow_calls) and the invocations those ran
    (workflow_nested: callee -> count, a Cognito trigger inside the workflow's AdminInitiateAuth).
    `functions` holds per-flow counts by logical id: invocations, billed_ms and wait_ms (local), calls,
    nested (callee -> count).
    """
    memo: dict[str, float] = {}

    def express_ms() -> float:
        if not express_executions:
            return 0.0
        inner = sum(functions[f]["invocations"] * invocation_ms(f) for f in express_functions if f in functions)
        inner += sum(count * call_latency_ms(call, latencies) for call, count in (workflow_calls or {}).items())
        inner += sum(count * invocation_ms(callee) for callee, count in (workflow_nested or {}).items() if callee in functions)
        return latencies["express_execution_overhead"]["ms"] + inner / express_executions

    def invocation_ms(logical_id: str) -> float:
        if logical_id not in memo:
            info = functions[logical_id]
            waited = 0.0
            for call, count in info.get("calls", {}).items():
                waited += count * call_latency_ms(call, latencies)
                if call == START_SYNC_EXECUTION:
                    waited += count * express_ms()
            waited += sum(count * invocation_ms(callee) for callee, count in info.get("nested", {}).items() if callee in functions)
            own = max(0.0, info["billed_ms"] - info.get("wait_ms", 0.0)) * compute_factor(info["memory_mb"], compute)
            memo[logical_id] = (own + waited) / info["invocations"]
        return memo[logical_id]

    return {f: invocation_ms(f) for f in functions}, express_ms()


def express_workflow_work(flow: dict, facts: dict) -> tuple[dict[str, float], dict[str, float]]:
    """What a flow's Express workflows did themselves: the AWS calls no function made (their aws-sdk
    service integrations) and the trigger invocations no function's call ran (Cognito ran them inside
    those calls). Only a flow whose executions are all Express is attributed so: a Standard workflow's
    calls bill no one's duration."""
    if not flow["metrics"].get("sfn_express_executions") or flow["metrics"].get("sfn_standard_transitions"):
        return {}, {}
    by_functions: Counter = Counter()
    nested: Counter = Counter()
    for info in flow["lambda"].values():
        by_functions.update(info.get("calls", {}))
        nested.update(info.get("nested", {}))
    calls = {call: n - by_functions[call] for call, n in flow.get("api_calls", {}).items() if n - by_functions[call] > 1e-9}
    triggered = {
        f: flow["lambda"][f]["invocations"] - nested[f]
        for f in facts.get("trigger_functions", ())
        if f in flow["lambda"] and flow["lambda"][f]["invocations"] - nested[f] > 1e-9
    }
    return calls, triggered


def flow_lambda_ms(flow: dict, latencies: dict, facts: dict, compute: dict) -> tuple[dict[str, float], float]:
    """modelled_lambda_ms for one measured flow, its Express workflows' own work included."""
    calls, triggered = express_workflow_work(flow, facts)
    executions = flow["metrics"].get("sfn_express_executions", 0.0)
    return modelled_lambda_ms(flow["lambda"], latencies, set(facts["express_functions"]), executions, compute, calls, triggered)


def derived_metrics(flow: dict, latencies: dict, facts: dict, compute: dict) -> dict[str, float]:
    """The flow's modelled metrics: Lambda and Express time at AWS's latencies and Lambda's CPU share,
    storage at steady state."""
    counts = flow["metrics"]
    executions = counts.get("sfn_express_executions", 0.0)
    per_invocation, express_ms = flow_lambda_ms(flow, latencies, facts, compute)
    derived: dict[str, float] = defaultdict(float)
    for logical_id, info in flow["lambda"].items():
        billed = info["invocations"] * math.ceil(per_invocation[logical_id])  # Lambda bills whole milliseconds
        derived["lambda_billed_ms"] += billed
        derived[f"lambda_gb_seconds_{info['architecture']}"] += billed / 1000 * info["memory_mb"] / 1024
    if executions:
        billed = executions * max(100, math.ceil(express_ms / 100) * 100)  # Express bills 100 ms steps
        derived["sfn_express_billed_ms"] = billed
        derived["sfn_express_gb_seconds"] = billed / 1000 * EXPRESS_MEMORY_MB / 1024
    # Log groups of the Infrequent Access class are ingested at their own price (their bytes are not EMF lines).
    infrequent = sum(size for group, size in flow.get("log_groups", {}).items() if group in facts.get("infrequent_access_log_groups", ()))
    if infrequent:
        derived["logs_infrequent_access_gb"] = infrequent / 1e9
        derived["logs_gb"] = flow["metrics"].get("logs_gb", 0.0) - infrequent / 1e9
    derived["logs_stored_gb"] = stored_gb(flow.get("log_groups", {}), facts["log_retention_days"], UNRETAINED_LOG_MONTHS)
    derived["archive_stored_gb"] = counts.get("archive_gb", 0.0) * facts["archive_retention_days"] / DAYS_PER_MONTH
    return dict(derived)


def stored_gb(bytes_by_group: dict[str, float], retention_days: dict[str, int | None], unretained_months: float) -> float:
    """GB kept at steady state for bytes written once a month: each group keeps its retention's worth
    of months; a group without retention never expires, priced after `unretained_months`."""
    total = 0.0
    for group, size in bytes_by_group.items():
        days = retention_days.get(group)
        months = unretained_months if days is None else days / DAYS_PER_MONTH
        total += size * months
    return total / 1e9


@dataclass
class Line:
    item: str
    label: str
    unit: str
    quantity: float
    cost: float
    first_price: float


def _line(item: str, amount: float, prices: dict, label: str | None = None) -> Line:
    spec = prices["items"][item]
    return Line(item, label or spec["label"], spec["unit"], amount, tiered_cost(amount, spec["tiers"]), spec["tiers"][0][1])


def price_month(
    per_mau: Mapping[str, float], mau: int, prices: dict, usage: Usage, fixed: Mapping[str, float], sampling: Sampling = Sampling()
) -> list[Line]:
    """The month's bill of the AWS services (Cognito aside) for `mau` monthly active users."""
    lines = []
    for metric, item in PRICED_METRICS.items():
        amount = per_mau.get(metric, 0.0) * mau
        if metric == "xray_trace_roots":
            amount = xray_traces(amount, usage.days_per_month * 86400, sampling.reservoir_per_second, sampling.rate)
        elif metric == "xray_lambda_trace_roots":
            amount = xray_traces(amount, usage.days_per_month * 86400, LAMBDA_SAMPLING.reservoir_per_second, LAMBDA_SAMPLING.rate)
        lines.append(_line(item, amount, prices, LINE_LABELS.get(metric)))
    for item, amount in fixed.items():
        lines.append(_line(item, amount, prices))
    return lines


def cognito_month(mau: int, prices: dict, plan: str) -> Line:
    spec = prices["cognito"]["plans"][plan.lower()]
    return Line(f"cognito_{plan.lower()}", spec["label"], "MAU", mau, tiered_cost(mau, spec["tiers"]), spec["tiers"][-1][1])


def platform_log_bytes(billed_ms: int, memory_mb: int, traced: bool) -> int:
    """Bytes CloudWatch Logs ingests for Lambda's own lines of one invocation (START, END, REPORT), at
    SystemLogLevel INFO (at WARN Lambda writes none)."""
    lines = render_platform_lines("function", billed_ms, memory_mb)
    if not traced:  # the REPORT line's XRAY part is written only under active tracing
        lines[-1] = lines[-1].split("\n", 1)[0]
    return sum(len(line.encode()) + 1 + 26 for line in lines)


def cognitoapi_month(mau: float, prices: dict, usage: Usage, seconds_per_call: float | None = None) -> list[Line]:
    """CognitoApi's architecture under the same usage and prices: a Lambda per route behind REST API
    Gateway, warmers, Lambda's default logs. seconds_per_call None: each request's time modelled as
    authflow's is (handler time plus AWS latencies); a number: its README's flat assumption."""
    spec = prices["cognitoapi"]
    latencies = prices["aws_latency_ms"]
    flows = usage.flows_per_mau()
    requests = sum(spec["flows"][f]["requests"] * n for f, n in flows.items()) * mau
    if seconds_per_call is None:
        # Its handlers' own work (an assumed figure on a whole core) slowed by Lambda's CPU share, as authflow's.
        cpu = compute_factor(spec["memory_mb"], prices["lambda_compute"])
        request_ms = (
            sum(
                (
                    spec["handler_compute_ms"] * cpu * spec["flows"][f]["requests"]
                    + sum(call_latency_ms(c, latencies) for c in spec["flows"][f]["calls"])
                )
                * n
                for f, n in flows.items()
            )
            * mau
        )
        warmer_ms = spec["warmer_ms"] * cpu
    else:
        request_ms = requests * seconds_per_call * 1000
        warmer_ms = seconds_per_call * 1000
    warmers = spec["functions"] * usage.days_per_month * 24 * 60 / spec["warmer_interval_minutes"]
    gb_seconds = (request_ms + warmers * warmer_ms) / 1000 * spec["memory_mb"] / 1024
    average_ms = max(1, round(request_ms / requests)) if requests else 1
    log_gb = (requests + warmers) * platform_log_bytes(average_ms, spec["memory_mb"], traced=False) / 1e9
    return [
        _line("api_gateway_rest_requests", requests, prices),
        _line("lambda_requests", requests + warmers, prices),
        _line(f"lambda_{spec['architecture']}_gb_seconds", gb_seconds, prices),
        _line("cloudwatch_logs_ingested_gb", log_gb, prices, LINE_LABELS["logs_gb"]),
        _line("cloudwatch_logs_stored_gb_month", log_gb * UNRETAINED_LOG_MONTHS, prices),
        _line("s3_tier1_requests", sum(spec["flows"][f].get("s3_puts", 0) * n for f, n in flows.items()) * mau, prices),
    ]


# ---------------------------------------------------------------------- measuring a local run


def render_platform_lines(function_name: str, billed_ms: int, memory_mb: int) -> list[str]:
    """The lines Lambda itself writes to the function's log group for one invocation (text format,
    with the X-Ray line that active tracing adds); used for their size only."""
    request_id = str(uuid.uuid4())
    trace = f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
    return [
        f"START RequestId: {request_id} Version: $LATEST",
        f"END RequestId: {request_id}",
        f"REPORT RequestId: {request_id}\tDuration: {billed_ms - 0.5:.2f} ms\tBilled Duration: {billed_ms} ms\t"
        f"Memory Size: {memory_mb} MB\tMax Memory Used: {memory_mb // 2} MB\t\n"
        f"XRAY TraceId: {trace}\tSegmentId: {uuid.uuid4().hex[:16]}\tSampled: true\t",
    ]


def _parameter_default(template: dict, value) -> Any:
    if isinstance(value, dict) and "Ref" in value:
        return template["Parameters"][value["Ref"]].get("Default")
    return value


def template_facts() -> dict:
    """What the cost model reads from template.yaml: architectures, entry points, retentions, fixed items."""
    from infra.template import load_template

    template = load_template()
    resources = template["Resources"]
    globals_ = template.get("Globals", {}).get("Function", {})
    functions = {logical_id: r for logical_id, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}
    architectures = {
        logical_id: (r.get("Properties", {}).get("Architectures") or globals_.get("Architectures") or ["x86_64"])[0]
        for logical_id, r in functions.items()
    }
    sqs_triggered = {
        logical_id
        for logical_id, r in functions.items()
        if any(e.get("Type") == "SQS" for e in (r.get("Properties", {}).get("Events") or {}).values())
    }
    polled_queues = set()
    for logical_id in sqs_triggered:
        for event in resources[logical_id]["Properties"]["Events"].values():
            queue = event.get("Properties", {}).get("Queue", {})
            if isinstance(queue, dict) and "Fn::GetAtt" in queue:
                polled_queues.add(queue["Fn::GetAtt"][0])
    express_functions, trigger_functions = set(), set()
    for r in resources.values():
        properties = r.get("Properties", {})
        if r["Type"] == "AWS::Serverless::StateMachine" and properties.get("Type") == "EXPRESS":
            for value in properties.get("DefinitionSubstitutions", {}).values():
                if isinstance(value, dict) and value.get("Fn::GetAtt", [None])[0] in functions:
                    express_functions.add(value["Fn::GetAtt"][0])
        if r["Type"] == "AWS::Cognito::UserPool":
            for value in properties.get("LambdaConfig", {}).values():
                if isinstance(value, dict) and value.get("Fn::GetAtt", [None])[0] in functions:
                    trigger_functions.add(value["Fn::GetAtt"][0])
    # Log groups by what writes to them: a function's logical id, or the log group's own.
    retention: dict[str, int | None] = dict.fromkeys(functions)
    infrequent_access: set[str] = set()
    for logical_id, r in resources.items():
        if r["Type"] != "AWS::Logs::LogGroup":
            continue
        properties = r.get("Properties", {})
        name = properties.get("LogGroupName", {})
        text = name.get("Fn::Sub", "") if isinstance(name, dict) else str(name)
        writer = next((f for f in functions if text == f"/aws/lambda/${{{f}}}"), logical_id)
        days = _parameter_default(template, properties.get("RetentionInDays"))
        retention[writer] = None if days is None else int(days)
        if _parameter_default(template, properties.get("LogGroupClass")) == "INFREQUENT_ACCESS":
            infrequent_access.add(writer)
    archive_days = next(
        (
            _parameter_default(template, r["Properties"].get("RetentionDays"))
            for r in resources.values()
            if r["Type"] == "AWS::Events::Archive"
        ),
        0,
    )
    alarm_metrics = 0
    for r in resources.values():
        if r["Type"] == "AWS::CloudWatch::Alarm":
            queries = r["Properties"].get("Metrics")
            alarm_metrics += sum(1 for q in queries if "MetricStat" in q) if queries else 1
    tier = template["Parameters"].get("UserPoolTier", {}).get("Default", "ESSENTIALS")  # AWS's default without the property
    sampling_rule = next(
        (r["Properties"]["SamplingRule"] for r in resources.values() if r["Type"] == "AWS::XRay::SamplingRule"),
        {"FixedRate": Sampling.rate, "ReservoirSize": Sampling.reservoir_per_second},
    )
    logging_config = globals_.get("LoggingConfig", {})
    return {
        "architectures": architectures,
        "sqs_triggered": sorted(sqs_triggered),
        "polled_queues": sorted(polled_queues),
        "express_functions": sorted(express_functions),
        "trigger_functions": sorted(trigger_functions),
        "log_retention_days": retention,
        "infrequent_access_log_groups": sorted(infrequent_access),
        "archive_retention_days": int(archive_days or 0),
        "fixed": {
            "secrets_manager_secrets": sum(1 for r in resources.values() if r["Type"] == "AWS::SecretsManager::Secret"),
            "cloudwatch_alarm_metrics": alarm_metrics,
            "cloudwatch_dashboards": sum(1 for r in resources.values() if r["Type"] == "AWS::CloudWatch::Dashboard"),
        },
        "user_pool_tier": tier,
        "sampling": {
            "reservoir_per_second": float(_parameter_default(template, sampling_rule["ReservoirSize"])),
            "rate": float(_parameter_default(template, sampling_rule["FixedRate"])),
        },
        "function_tracing": _parameter_default(template, globals_.get("Tracing", "PassThrough")),
        # Lambda writes START/END/REPORT at SystemLogLevel INFO or DEBUG (and always in Text format).
        "platform_log_lines": logging_config.get("LogFormat") != "JSON"
        or _parameter_default(template, logging_config.get("SystemLogLevel", "INFO")) in ("INFO", "DEBUG"),
    }


@dataclass
class Snapshot:
    counts: Any
    invocations: Counter
    billed_ms: Counter
    api_requests: int
    executions: dict[str, set]
    events: int
    event_bytes: int
    event_types: Counter
    mails: int
    at: float = field(default_factory=time.monotonic)


class Probe:
    """Snapshots of everything counted, and the wait for an idle stack between phases."""

    def __init__(self, stack, meter, api, reader):
        from measures.flows import measure_client

        self.stack, self.meter, self.api, self.reader = stack, meter, api, reader
        self.facts = template_facts()
        self.states = measure_client("stepfunctions")
        self.sqs = measure_client("sqs")
        self.machine_types = {
            arn: self.states.describe_state_machine(stateMachineArn=arn)["type"] for arn in stack.stack.state_machines.values()
        }
        self.queue_urls = [stack.stack.refs[q] for q in self.facts["polled_queues"]]
        self.log_group_ids = {
            stack.stack.refs[g]: g
            for g in self.facts["log_retention_days"]
            if g in stack.stack.refs and g not in self.facts["architectures"]
        }

    def _executions(self) -> dict[str, set]:
        found = {}
        for arn in self.machine_types:
            arns, token = set(), None
            while True:
                page = self.states.list_executions(stateMachineArn=arn, maxResults=1000, **({"nextToken": token} if token else {}))
                arns |= {e["executionArn"] for e in page["executions"]}
                token = page.get("nextToken")
                if not token:
                    break
            found[arn] = arns
        return found

    def snapshot(self) -> Snapshot:
        runtime = self.stack.runtime
        return Snapshot(
            counts=self.meter.snapshot(),
            invocations=Counter(runtime.invocations),
            billed_ms=Counter(runtime.billed_ms),
            api_requests=self.api.timings.count(),
            executions=self._executions(),
            events=len(archived := self.reader.views.events()),
            event_bytes=sum(len(json.dumps(e, default=str).encode()) for e in archived),
            event_types=Counter(e.get("detail-type", "?") for e in archived),
            mails=len(self.reader.views.mail()),
        )

    def settle(self, quiet_seconds: float = 1.5, timeout: float = 60) -> None:
        """Returns when the polled queues are empty and no handler ran for quiet_seconds."""
        deadline = time.monotonic() + timeout
        last, since = None, time.monotonic()
        while time.monotonic() < deadline:
            pending = 0
            for url in self.queue_urls:
                attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
                pending += sum(
                    int(attributes.get(k, 0))
                    for k in ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed")
                )
            total = sum(self.stack.runtime.invocations.values())
            if pending or total != last:
                last, since = total, time.monotonic()
            elif time.monotonic() - since >= quiet_seconds:
                return
            time.sleep(0.1)
        raise TimeoutError("the local stack did not become idle")

    def _transitions(self, execution_arn: str) -> int:
        events, token = [], None
        while True:
            page = self.states.get_execution_history(executionArn=execution_arn, maxResults=1000, **({"nextToken": token} if token else {}))
            events += page["events"]
            token = page.get("nextToken")
            if not token:
                break
        entered = sum(1 for e in events if e["type"].endswith("StateEntered"))
        # A retry re-schedules the task without entering its state again; AWS bills it as a transition.
        scheduled_in_state, retries = 0, 0
        for e in events:
            if e["type"].endswith("StateEntered"):
                scheduled_in_state = 0
            elif e["type"] in ("TaskScheduled", "LambdaFunctionScheduled", "ActivityScheduled"):
                scheduled_in_state += 1
                retries += scheduled_in_state > 1
        return entered + retries

    def per_flow(self, before: Snapshot, after: Snapshot, flows: int) -> dict:
        runtime = self.stack.runtime
        counts = after.counts - before.counts
        logical = {name: runtime.function(name).logical_id for name in set(after.invocations) | set(before.invocations)}
        metrics: dict[str, float] = defaultdict(float)
        trace_roots: dict[str, float] = defaultdict(float)
        by_function = {}
        log_groups: Counter = Counter()
        for group, size in counts.log_bytes.items():
            function = group.removeprefix("/aws/lambda/")
            log_groups[logical.get(function) or self.log_group_ids.get(group, group)] += size
        calls_by_function: dict[str, Counter] = {}
        for key, n in counts.function_calls.items():
            name, call = key.split("|", 1)
            calls_by_function.setdefault(logical.get(name, name), Counter())[call] += n
        nested: dict[str, Counter] = {}
        for key, n in counts.nested_invocations.items():
            caller, callee = key.split(">", 1)
            nested.setdefault(logical.get(caller, caller), Counter())[logical.get(callee, callee)] += n
        for name, logical_id in logical.items():
            calls = after.invocations[name] - before.invocations[name]
            billed = after.billed_ms[name] - before.billed_ms[name]
            if not calls:
                continue
            function = runtime.function(name)
            architecture = self.facts["architectures"].get(logical_id, "x86_64")
            metrics["lambda_requests"] += calls
            metrics["lambda_billed_ms_local"] += billed
            if logical_id in self.facts["sqs_triggered"]:
                trace_roots["SQS-triggered batches"] += calls
            if logical_id in self.facts["trigger_functions"]:
                trace_roots["Cognito trigger invocations"] += calls
            if self.facts["platform_log_lines"]:
                traced = self.facts["function_tracing"] == "Active"
                log_groups[logical_id] += calls * platform_log_bytes(max(1, round(billed / calls)), function.memory_mb, traced)
            by_function[logical_id] = {
                "memory_mb": function.memory_mb,
                "architecture": architecture,
                "invocations": calls / flows,
                "billed_ms": billed / flows,
                "wait_ms": counts.function_wait_ms.get(name, 0.0) / flows,
                "calls": {c: n / flows for c, n in sorted(calls_by_function.get(logical_id, {}).items())},
                "nested": {c: n / flows for c, n in sorted(nested.get(logical_id, {}).items())},
            }
        for machine, arns in after.executions.items():
            new = arns - before.executions.get(machine, set())
            trace_roots["Step Functions executions"] += len(new)
            for arn in new:
                if self.machine_types[machine] == "EXPRESS":
                    metrics["sfn_express_executions"] += 1
                else:
                    metrics["sfn_standard_transitions"] += self._transitions(arn)
        api_requests = after.api_requests - before.api_requests
        metrics["api_requests"] += api_requests
        trace_roots["API requests"] += api_requests
        # The sampling rule decides for the API stage and the state machines; a function starts traces
        # of its own (at Lambda's fixed rate) only under Tracing: Active, else its callers' decide.
        lambda_roots = trace_roots["SQS-triggered batches"] + trace_roots["Cognito trigger invocations"]
        metrics["xray_trace_roots"] += sum(trace_roots.values()) - lambda_roots
        if self.facts["function_tracing"] == "Active":
            metrics["xray_lambda_trace_roots"] += lambda_roots
        metrics["events"] += after.events - before.events
        metrics["archive_gb"] += (after.event_bytes - before.event_bytes) / 1e9
        metrics["mails"] += after.mails - before.mails
        metrics["sqs_requests"] += sum(counts.sqs_sent.values()) + sum(
            n
            for key, n in counts.api_calls.items()
            if key.startswith("sqs:") and not key.startswith("sqs:SendMessage") and key != "sqs:ReceiveMessage (empty)"
        )
        s3 = counts.s3_requests
        metrics["s3_tier1_requests"] += sum(n for k, n in s3.items() if k.split(":")[1] in ("PUT", "POST", "COPY") or k == "bucket:GET")
        metrics["s3_tier2_requests"] += sum(n for k, n in s3.items() if k in ("key:GET", "key:HEAD", "bucket:HEAD"))
        metrics["dynamodb_wru"] += counts.dynamodb.get("wru", 0)
        metrics["dynamodb_rru"] += counts.dynamodb.get("rru", 0)
        metrics["secrets_manager_calls"] += counts.api_calls.get("secretsmanager:GetSecretValue", 0)
        emf_bytes = sum(counts.emf_bytes.values())
        metrics["emf_lines"] += sum(counts.emf_lines.values())
        metrics["emf_logs_gb"] += emf_bytes / 1e9
        metrics["logs_gb"] += (sum(log_groups.values()) - emf_bytes) / 1e9
        return {
            "flows": flows,
            "metrics": {k: v / flows for k, v in sorted(metrics.items())},
            "lambda": by_function,
            "trace_roots": {k: v / flows for k, v in sorted(trace_roots.items())},
            "log_groups": {k: v / flows for k, v in sorted(log_groups.items())},
            "emf_metrics": sorted(counts.emf_metrics),
            "api_calls": {k: v / flows for k, v in sorted(counts.api_calls.items()) if k != "sqs:ReceiveMessage (empty)"},
            "event_types": {
                k: (after.event_types[k] - before.event_types[k]) / flows
                for k in sorted(after.event_types)
                if after.event_types[k] - before.event_types[k]
            },
            "seconds": after.at - before.at,
        }


def measure(users: int = 10, refreshes: int = 4, warmup: int = 2, progress=say) -> dict:
    """Runs the flows on a fresh local stack and returns the counts per flow (see the module doc)."""
    from measures.instrument import Meter

    meter = Meter.install()
    from measures.flows import Api, StackReader, login, onboard, refresh
    from tests.support.stack import running_stack

    started = time.monotonic()
    with running_stack() as stack:
        # The local stack turns Powertools Metrics off; in AWS each flush is an EMF log line, which is counted here.
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "false"
        # A flush without metrics writes no line; Powertools' warning about it is not the measures' output.
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        api = Api(stack.api_url, stack.api_key)
        reader = StackReader(stack)
        probe = Probe(stack, meter, api, reader)
        progress(f"local stack up in {time.monotonic() - started:.1f} s; warm-up with {warmup} user(s)")
        warm = meter.snapshot()
        for _ in range(warmup):  # imports, clients and cached secrets: the cold start is not a flow's cost
            user = onboard(api, reader, "warmup")
            login(api, user)
            refresh(api, user)
        probe.settle()
        # Every custom metric the warm-up and the phases defined (EMF); each is billed once a month.
        emf_metrics = set((meter.snapshot() - warm).emf_metrics)
        result = {}
        people: list[ActiveUser] = []

        def phase(name: str, flows: int, run) -> None:
            before = probe.snapshot()
            run()
            probe.settle()
            result[name] = probe.per_flow(before, probe.snapshot(), flows)
            emf_metrics.update(result[name]["emf_metrics"])
            progress(f"{name}: {flows} flows in {result[name]['seconds']:.1f} s")

        phase("onboarding", users, lambda: people.extend(onboard(api, reader) for _ in range(users)))

        def sign_in_everyone() -> None:
            for user in people:
                login(api, user)

        def refresh_everyone() -> None:
            for user in people:
                for _ in range(refreshes):
                    refresh(api, user)

        phase("login", users, sign_in_everyone)
        phase("refresh", users * refreshes, refresh_everyone)
        facts = probe.facts
        return {
            "measured_on": datetime.date.today().isoformat(),
            "machine": machine_description(),
            "users": users,
            "refreshes_per_user": refreshes,
            "facts": facts,
            "fixed": {**facts["fixed"], "cloudwatch_custom_metrics": len(emf_metrics)},
            "emf_metrics": sorted(emf_metrics),
            "flows": result,
        }


def machine_description() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPU {cpu or platform.processor()} ({platform.machine()}), Python {platform.python_version()}".strip()


# ---------------------------------------------------------------------- the report


def flow_metrics(measured: dict, prices: dict) -> dict[str, dict[str, float]]:
    """Each flow's counts with the modelled metrics added (see derived_metrics)."""
    facts, latencies, compute = measured["facts"], prices["aws_latency_ms"], prices["lambda_compute"]
    return {name: {**flow["metrics"], **derived_metrics(flow, latencies, facts, compute)} for name, flow in measured["flows"].items()}


def _metric_order(metric: str) -> int:
    return list(METRIC_LABELS).index(metric) if metric in METRIC_LABELS else len(METRIC_LABELS)


def _print_flows(measured: dict, prices: dict, per_flow: dict, per_mau: dict, usage: Usage) -> None:
    flows_per_mau = usage.flows_per_mau()
    rows = [
        [METRIC_LABELS.get(m, m), *(quantity(per_flow.get(f, {}).get(m, 0)) for f in FLOWS), quantity(per_mau[m])]
        for m in sorted(per_mau, key=_metric_order)
        if per_mau[m]
    ]
    print_table(
        f"What one flow makes AWS do, measured on the local stack ({measured['measured_on']}, {measured['users']} users)",
        ["per flow", "onboarding", "login", "refresh", "per MAU-month"],
        rows,
        [
            f"per MAU-month = onboarding x {quantity(flows_per_mau['onboarding'])} + login x {quantity(flows_per_mau['login'])} "
            f"+ refresh x {quantity(flows_per_mau['refresh'])} (CognitoApi: a login a day, a refresh an hour, {quantity(usage.days_per_month)} days)",
            "Standard transitions: *StateEntered history events (Succeed and Fail included) plus task retries.",
            "Modelled: each invocation's local time outside AWS calls + each call's AWS latency + what the call ran synchronously.",
            "Kept (steady state): each log group's monthly bytes times its retention in months (template.yaml), the archive's likewise.",
        ],
    )

    latencies = prices["aws_latency_ms"]
    modelled = {
        name: flow_lambda_ms(flow, latencies, measured["facts"], prices["lambda_compute"]) for name, flow in measured["flows"].items()
    }
    function_rows = []
    for logical_id in sorted({f for flow in measured["flows"].values() for f in flow["lambda"]}):
        cells, memory = [], ""
        for f in FLOWS:
            info = measured["flows"].get(f, {}).get("lambda", {}).get(logical_id)
            if info:
                memory = f"{info['memory_mb']} MB {info['architecture']}"
                local = info["billed_ms"] / info["invocations"]
                cells.append(f"{quantity(info['invocations'])} x {local:.0f} -> {modelled[f][0][logical_id]:.0f} ms")
            else:
                cells.append("-")
        function_rows.append([logical_id, memory, *cells])
    express = [f"{f} {modelled[f][1]:.0f} ms" for f in FLOWS if f in modelled and modelled[f][1]]
    print_table(
        "Lambda invocations per flow x billed ms: local run -> modelled in AWS",
        ["function", "memory", *FLOWS],
        function_rows,
        [
            "Local ms include moto answering in-process on this machine; modelled ms replace the time inside AWS calls by AWS's",
            "latency (measures/prices.json, aws_latency_ms) and add nested invocations and the Express execution StartSyncExecution waits for.",
        ]
        + (["Express execution, modelled: " + ", ".join(express)] if express else []),
    )

    calls = sorted({c for flow in measured["flows"].values() for info in flow["lambda"].values() for c in info.get("calls", {})})
    call_rows = []
    for call in calls:
        entry = latencies["calls"].get(call, latencies["default"])
        counts = [
            sum(info.get("calls", {}).get(call, 0) for info in measured["flows"].get(f, {}).get("lambda", {}).values()) for f in FLOWS
        ]
        call_rows.append([call, *(quantity(n) for n in counts), f"{entry['ms']:g}", entry["basis"].split(":")[0]])
    print_table(
        "AWS calls the functions make per flow, and the latency the model bills for each",
        ["call", *FLOWS, "ms", "basis"],
        call_rows,
        ["published: AWS states the figure; assumed: AWS publishes none (measures/prices.json gives each one's basis and source)."]
        + [
            f"events per {name}: " + ", ".join(f"{t} {quantity(n)}" for t, n in flow.get("event_types", {}).items())
            for name, flow in measured["flows"].items()
            if flow.get("event_types")
        ],
    )

    entries = sorted({e for flow in measured["flows"].values() for e in flow.get("trace_roots", {})})
    print_table(
        "Trace roots per flow (X-Ray starts a trace at each entry point)",
        ["entry point", *FLOWS],
        [[e, *(quantity(measured["flows"].get(f, {}).get("trace_roots", {}).get(e, 0)) for f in FLOWS)] for e in entries],
        ["An execution started by a traced API request may join the request's trace in AWS: counting it as a root is an upper bound."],
    )


def with_memory(measured: dict, memory_mb: Mapping[str, int]) -> dict:
    """The measured counts as if the functions named in memory_mb (logical id -> MB) had that memory."""
    changed = copy.deepcopy(measured)
    for flow in changed["flows"].values():
        for logical_id, info in flow["lambda"].items():
            info["memory_mb"] = memory_mb.get(logical_id, info["memory_mb"])
    return changed


def memory_choices(measured: dict, prices: dict, usage: Usage, mau: float, sizes=MEMORY_CHOICES) -> list[dict]:
    """For each function and memory size (the others as measured): its modelled ms per invocation in each
    flow, the API request's modelled ms in each flow, and the month's Lambda duration bill at `mau`."""
    choices = []
    functions = sorted({f for flow in measured["flows"].values() for f in flow["lambda"]})
    latencies, compute, facts = prices["aws_latency_ms"], prices["lambda_compute"], measured["facts"]
    for logical_id in functions:
        current = next(flow["lambda"][logical_id]["memory_mb"] for flow in measured["flows"].values() if logical_id in flow["lambda"])
        for size in sorted(set(sizes) | {current}):
            what_if = with_memory(measured, {logical_id: size})
            ms, api_ms = {}, {}
            for name, flow in what_if["flows"].items():
                per_invocation, _ = flow_lambda_ms(flow, latencies, facts, compute)
                ms[name] = per_invocation.get(logical_id)
                api_ms[name] = per_invocation.get(API_FUNCTION)
            per_mau = monthly_per_mau(flow_metrics(what_if, prices), usage)
            duration = sum(
                tiered_cost(per_mau.get(metric, 0.0) * mau, prices["items"][PRICED_METRICS[metric]]["tiers"])
                for metric in ("lambda_gb_seconds_arm64", "lambda_gb_seconds_x86_64")
            )
            choices.append(
                {
                    "function": logical_id,
                    "memory_mb": size,
                    "current": size == current,
                    "compute_factor": compute_factor(size, compute),
                    "ms": ms,
                    "api_ms": api_ms,
                    "lambda_duration_usd": duration,
                }
            )
    return choices


def _print_memory_choices(choices: list[dict], mau: float) -> None:
    def cell(choice: dict, flow: str) -> str:
        own, api = choice["ms"].get(flow), choice["api_ms"].get(flow)
        if own is None:
            return "-"
        return f"{own:.0f}" if choice["function"] == API_FUNCTION or api is None else f"{own:.0f} (API {api:.0f})"

    rows = [
        [
            c["function"],
            f"{c['memory_mb']}{' (now)' if c['current'] else ''}",
            f"x{c['compute_factor']:.1f}",
            *(cell(c, f) for f in FLOWS),
            money(c["lambda_duration_usd"]),
        ]
        for c in choices
    ]
    print_table(
        f"Memory per function: modelled ms and the month's Lambda duration bill at {mau:,} MAU (the other functions as they are now)",
        ["function", "MB", "own work", *(f"ms, {f}" for f in FLOWS), "Lambda duration USD"],
        rows,
        [
            "own work: the function's local time outside AWS calls times max(1, 1769 / MB) (Lambda's CPU share; measures/prices.json, lambda_compute).",
            "ms: modelled per invocation; (API n): what a caller then waits per API request of the flow (the trigger runs inside its Cognito",
            "call, the login task inside its Express execution). ApiFunction's own ms are that wait.",
            "Re-price a saved run with other sizes: --counts FILE --memory LogicalId=MB.",
        ],
    )


def report(
    measured: dict,
    prices: dict,
    usage: Usage,
    maus=DEFAULT_MAUS,
    cognito_plan: str | None = None,
    sampling: Sampling | None = None,
) -> dict:
    """Prints the tables; returns the figures (for tests and the README). sampling None: the template's rule."""
    sampling = sampling or sampling_of(measured["facts"])
    per_flow = flow_metrics(measured, prices)
    per_mau = monthly_per_mau(per_flow, usage)
    _print_flows(measured, prices, per_flow, per_mau, usage)
    choices = memory_choices(measured, prices, usage, COGNITOAPI_CLAIM["mau"])
    _print_memory_choices(choices, COGNITOAPI_CLAIM["mau"])

    plan = (cognito_plan or measured["facts"]["user_pool_tier"]).lower()
    fixed = {item: measured.get("fixed", {}).get(item, 0) for item in FIXED_ITEMS}
    months = list(maus) + ([COGNITOAPI_CLAIM["mau"]] if COGNITOAPI_CLAIM["mau"] not in maus else [])
    bills = {mau: price_month(per_mau, mau, prices, usage, fixed, sampling) for mau in months}
    totals = {m: sum(line.cost for line in bills[m]) for m in months}
    plans = {p: {m: cognito_month(m, prices, p).cost for m in months} for p in prices["cognito"]["plans"]}
    rows = []
    per_mau_of = {(PRICED_METRICS[m], LINE_LABELS.get(m)): per_mau.get(m, 0.0) for m in PRICED_METRICS}
    for i, line in enumerate(bills[maus[0]]):
        if all(bills[m][i].cost == 0 for m in maus):
            continue
        key = (line.item, line.label if line.label in LINE_LABELS.values() else None)
        amount = f"{quantity(per_mau_of[key])}" if key in per_mau_of else f"{quantity(line.quantity)} fixed"
        rows.append([line.label, amount, unit_price(line.first_price, line.unit), *(money(bills[m][i].cost) for m in maus)])
    rows.append(["AWS services, Cognito aside", "", "", *(money(totals[m]) for m in maus)])
    rows.append(["  per user", "", "", *(per_user(totals[m] / m) for m in maus)])
    for p, spec in prices["cognito"]["plans"].items():
        marker = " (template's UserPoolTier)" if p == plan else ""
        rows.append([spec["label"] + marker, "1 MAU", "tiers", *(money(plans[p][m]) for m in maus)])
    rows.append([f"Total with Cognito {plan.title()}", "", "", *(money(totals[m] + plans[plan][m]) for m in maus)])
    rows.append(["  per user", "", "", *(per_user((totals[m] + plans[plan][m]) / m) for m in maus)])
    print_table(
        f"Monthly cost in USD, {prices['region']} list prices read on {prices['read_on']} (measures/prices.json)",
        ["item", "qty/MAU-month", "unit price", *(f"{m:,} MAU" for m in maus)],
        rows,
        [
            f"X-Ray: sampling {sampling.reservoir_per_second:g} trace/s then {sampling.rate:.0%} of the trace roots, spread evenly on the month;",
            f"functions' own roots (Tracing: Active only) at Lambda's fixed {LAMBDA_SAMPLING.reservoir_per_second:g}/s then {LAMBDA_SAMPLING.rate:.0%}.",
            f"Fixed: {fixed['cloudwatch_alarm_metrics']} alarm metrics and {fixed['cloudwatch_dashboards']} dashboard (template.yaml), "
            f"{fixed['cloudwatch_custom_metrics']} custom metrics the EMF lines of the run defined (outcomes not exercised add more).",
            "Not counted: free tiers other than Cognito's; data transfer out; DynamoDB and S3 storage (a few KB per user);",
            # Lambda's SQS event source long-polls each queue with 5 pollers, 20 s a poll: 648 000 requests a month.
            "Lambda INIT time of cold starts; SQS idle polling (about 0.26 USD a month a polled queue); X-Ray trace retrieval and scans.",
        ],
    )

    claim_mau = COGNITOAPI_CLAIM["mau"]
    ours = totals[claim_mau]
    theirs = {
        f"CognitoApi, its README's {prices['cognitoapi']['readme_seconds_per_call']:g} s a call": cognitoapi_month(
            claim_mau, prices, usage, prices["cognitoapi"]["readme_seconds_per_call"]
        ),
        "CognitoApi, modelled like authflow": cognitoapi_month(claim_mau, prices, usage),
    }
    labels = list(
        dict.fromkeys([line.label for line in bills[claim_mau] if line.cost] + [line.label for lines in theirs.values() for line in lines])
    )

    def cost_of(lines: list[Line], label: str) -> float:
        return sum(line.cost for line in lines if line.label == label)

    side_rows = [
        [label, money(cost_of(bills[claim_mau], label)), *(money(cost_of(lines, label)) for lines in theirs.values())] for label in labels
    ]
    their_totals = {name: sum(line.cost for line in lines) for name, lines in theirs.items()}
    # authflow is behind an HTTP API, CognitoApi behind a REST API: each without its own.
    our_gateway = prices["items"][PRICED_METRICS["api_requests"]]["label"]
    their_gateway = prices["items"]["api_gateway_rest_requests"]["label"]
    side_rows.append(["AWS services, Cognito aside", money(ours), *(money(t) for t in their_totals.values())])
    side_rows.append(
        [
            "  without API Gateway",
            money(ours - cost_of(bills[claim_mau], our_gateway)),
            *(money(t - cost_of(theirs[n], their_gateway)) for n, t in their_totals.items()),
        ]
    )
    side_rows.append([f"Cognito {plan.title()}", *([money(plans[plan][claim_mau])] * (1 + len(theirs)))])
    side_rows.append(["authflow / CognitoApi, Cognito aside", "1", *(f"{ours / t:.2f}" for t in their_totals.values())])
    print_table(
        f"Side by side at {claim_mau:,} MAU, same usage and prices: authflow and CognitoApi's own architecture (USD a month)",
        ["item", "authflow", *theirs],
        side_rows,
        [
            "CognitoApi: one Lambda per route behind REST API Gateway, 16 functions at 256 MB with warmers every 5 minutes, Lambda's",
            "default logs (never expire: storage after 12 months), no X-Ray; modelled: 10 ms of handler plus each Cognito/S3 call's latency.",
            "Its README's 150 USD matches its Lambda lines alone: it leaves API Gateway (and logs) out.",
        ],
    )
    drivers = sorted(bills[claim_mau], key=lambda line: line.cost, reverse=True)[:4]
    readme_total = next(iter(their_totals.values()))
    say(
        f"CognitoApi claims about {COGNITOAPI_CLAIM['usd_per_month']:.0f} USD a month for {claim_mau:,} users "
        f"({per_user(COGNITOAPI_CLAIM['usd_per_user'])} USD per user, Cognito's own fee aside); like for like, with API Gateway "
        f"and logs, its architecture costs {money(readme_total)} USD under its own 1 s assumption."
    )
    say(
        f"authflow, measured and modelled: {money(ours)} USD a month for {claim_mau:,} users ({per_user(ours / claim_mau)} USD per user, "
        f"Cognito aside), {ours / readme_total:.2f} x CognitoApi's like-for-like figure; with Cognito {plan.title()}: "
        f"{money(ours + plans[plan][claim_mau])} USD."
    )
    # SPEC 7's goal is priced under CognitoApi's usage, which is sessions only (its 26 requests a user a
    # day); the tables above add the onboarding of usage.onboardings_per_mau of the active users.
    sessions_only = replace(usage, onboardings_per_mau=0.0)
    sessions_bill = price_month(monthly_per_mau(per_flow, sessions_only), int(claim_mau), prices, sessions_only, fixed, sampling)
    sessions_total = sum(line.cost for line in sessions_bill)
    goal = COGNITOAPI_CLAIM["usd_per_month"]
    say(
        f"SPEC's goal, at most {goal:.0f} USD at {claim_mau:,} MAU under CognitoApi's usage (a login a day, a refresh an hour, no "
        f"sign-up): {money(sessions_total)} USD, {'met' if sessions_total <= goal else 'NOT met'}; with {usage.onboardings_per_mau:g} "
        f"onboarding per active user and month, as above: {money(ours)} USD, {'met' if ours <= goal else 'NOT met'}."
    )
    say(f"What drives it at {claim_mau:,} MAU: " + "; ".join(f"{d.label} {money(d.cost)} USD ({d.cost / ours:.0%})" for d in drivers))
    say()
    return {
        "per_mau": per_mau,
        "totals": {m: totals[m] for m in maus},
        "sessions_only_total": sessions_total,
        "cognito": {p: {m: plans[p][m] for m in maus} for p in plans},
        "cognito_plan": plan,
        "lines": {m: [asdict(line) for line in bills[m]] for m in maus},
        "cognitoapi": their_totals,
        "ratio_to_cognitoapi": {name: ours / total for name, total in their_totals.items()},
        "drivers": [(d.label, d.cost) for d in drivers],
        "memory_choices": choices,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=int(os.environ.get("COST_USERS", "10")), help="users onboarded and logged in")
    parser.add_argument("--refreshes", type=int, default=4, help="refreshes measured per user")
    parser.add_argument("--warmup", type=int, default=2, help="users run first and not counted")
    parser.add_argument("--mau", type=int, action="append", help="monthly active users to price (repeatable)")
    parser.add_argument("--onboardings-per-mau", type=float, default=1.0, help="share of active users onboarded in the month")
    parser.add_argument(
        "--cognito-plan", choices=["lite", "essentials", "plus"], default=None, help="default: template.yaml's UserPoolTier"
    )
    parser.add_argument(
        "--xray-reservoir",
        type=float,
        default=None,
        help="traces recorded a second before the rate applies (default: template.yaml's rule)",
    )
    parser.add_argument(
        "--xray-rate",
        type=float,
        default=None,
        help="share of the other trace roots recorded, 1 = every one (default: template.yaml's rule)",
    )
    parser.add_argument(
        "--memory",
        action="append",
        default=[],
        metavar="LOGICAL_ID=MB",
        help="price as if a function had this memory (repeatable; the local run itself uses template.yaml's)",
    )
    parser.add_argument("--prices", type=Path, default=PRICES_PATH)
    parser.add_argument("--save", type=Path, help="write the measured counts (JSON) here")
    parser.add_argument("--counts", type=Path, help="price counts saved by --save instead of measuring")
    args = parser.parse_args(argv)

    prices = load_prices(args.prices)
    if args.counts:
        measured = json.loads(args.counts.read_text())
    else:
        measured = measure(args.users, args.refreshes, args.warmup)
        if args.save:
            args.save.parent.mkdir(parents=True, exist_ok=True)
            args.save.write_text(json.dumps(measured, indent=2, sort_keys=True, default=str))
    if args.memory:
        measured = with_memory(measured, {name: int(mb) for name, mb in (choice.split("=", 1) for choice in args.memory)})
    say(f"Measured on {measured['measured_on']}, {measured['machine']}")
    report(
        measured,
        prices,
        Usage(onboardings_per_mau=args.onboardings_per_mau),
        tuple(args.mau or DEFAULT_MAUS),
        args.cognito_plan,
        sampling_of(measured["facts"], args.xray_reservoir, args.xray_rate),
    )


if __name__ == "__main__":
    main()
