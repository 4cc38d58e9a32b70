"""`make cost`: what authflow costs per month for N monthly active users, from what a local run does.

1. Measure. A local stack runs in this process with counters around moto (measures/instrument.py).
   After a warm-up, the driver takes U new users through onboarding, then one login each
   (POST /login + POST /mfa-verify), then R refreshes each (POST /refresh-token), and waits after each
   phase until the stack is idle (queues drained, no handler running). Each phase's counts divided
   by its number of flows are that flow's counts:
   - API requests: the requests the driver sent;
   - Lambda requests and billed duration by function (the local runtime's counters), priced at the
     function's memory size and architecture from template.yaml;
   - Standard state transitions: the *StateEntered events of each new execution's history
     (Task, Choice, Pass, Wait, Succeed, Fail...), plus one per retry of a task, as AWS bills them;
   - Express executions and their billed duration: stop minus start of each new execution, rounded
     up to 100 ms, at 64 MB (the smallest chunk; authflow's definitions and payloads are small);
   - EventBridge events: the events the archive received (and their size, which the archive bills
     by); SQS requests: messages sent (EventBridge's
     deliveries) plus every other SQS call except the idle empty long polls of the event source;
   - mails sent (SES, Cognito's invitations included); S3 requests by price class; DynamoDB request
     units from item sizes; Secrets Manager calls; CloudWatch Logs bytes (the handlers' log lines,
     Lambda's START/END/REPORT lines rendered for each invocation, and the audit log group's events).
2. Price. Per monthly active user and month, under CognitoApi's assumptions (README, Cost
   estimation): one onboarding (an upper bound: every active user is new that month), one login a day
   and a refresh every hour (24 a day), 30 days; that is 26 requests a day. Prices come from
   measures/prices.json. X-Ray (Tracing: Active everywhere in the template) is priced with the
   default sampling rule (the first request each second, then 5 %) over traffic spread evenly on
   the month: it is the one line modelled rather than counted.
"""

import argparse
import datetime
import json
import math
import os
import platform
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from measures.report import money, per_user, print_table, quantity, say, unit_price

ROOT = Path(__file__).resolve().parent.parent
PRICES_PATH = Path(__file__).with_name("prices.json")
FLOWS = ("onboarding", "login", "refresh")
COGNITOAPI_CLAIM = {"mau": 50_000, "usd_per_month": 150.0, "usd_per_user": 0.003}
DEFAULT_MAUS = (10_000, 50_000, 1_000_000)
EXPRESS_MEMORY_MB = 64

# metric measured per flow -> price item of prices.json
PRICED_METRICS = {
    "api_requests": "api_gateway_rest_requests",
    "lambda_requests": "lambda_requests",
    "lambda_gb_seconds_arm64": "lambda_arm64_gb_seconds",
    "lambda_gb_seconds_x86_64": "lambda_x86_64_gb_seconds",
    "sfn_standard_transitions": "sfn_standard_transitions",
    "sfn_express_executions": "sfn_express_requests",
    "sfn_express_gb_seconds": "sfn_express_gb_seconds",
    "events": "eventbridge_custom_events",
    "archive_gb": "eventbridge_archive_gb",
    "sqs_requests": "sqs_requests",
    "mails": "ses_messages",
    "s3_tier1_requests": "s3_tier1_requests",
    "s3_tier2_requests": "s3_tier2_requests",
    "dynamodb_wru": "dynamodb_wru",
    "dynamodb_rru": "dynamodb_rru",
    "secrets_manager_calls": "secrets_manager_api_calls",
    "logs_gb": "cloudwatch_logs_ingested_gb",
    "xray_trace_roots": "xray_traces_recorded",
}
METRIC_LABELS = {
    "api_requests": "API requests",
    "lambda_requests": "Lambda requests",
    "lambda_gb_seconds_arm64": "Lambda GB-seconds (arm64)",
    "lambda_gb_seconds_x86_64": "Lambda GB-seconds (x86_64)",
    "lambda_billed_ms": "Lambda billed ms",
    "sfn_standard_transitions": "Standard state transitions",
    "sfn_express_executions": "Express executions",
    "sfn_express_billed_ms": "Express billed ms",
    "sfn_express_gb_seconds": "Express GB-seconds",
    "events": "EventBridge events",
    "archive_gb": "EventBridge archive GB",
    "sqs_requests": "SQS requests",
    "mails": "mails (SES)",
    "s3_tier1_requests": "S3 PUT/POST/LIST",
    "s3_tier2_requests": "S3 GET/HEAD",
    "dynamodb_wru": "DynamoDB WRU",
    "dynamodb_rru": "DynamoDB RRU",
    "secrets_manager_calls": "Secrets Manager calls",
    "logs_gb": "CloudWatch Logs GB",
    "xray_trace_roots": "trace roots (X-Ray)",
}


# ---------------------------------------------------------------------- the model (pure arithmetic)


@dataclass(frozen=True)
class Usage:
    """CognitoApi's assumptions: a login a day (2 requests), a refresh an hour (24), 30 days."""

    logins_per_day: float = 1
    refreshes_per_day: float = 24
    days_per_month: float = 30
    onboardings_per_mau: float = 1.0

    def flows_per_mau(self) -> dict[str, float]:
        return {
            "onboarding": self.onboardings_per_mau,
            "login": self.logins_per_day * self.days_per_month,
            "refresh": self.refreshes_per_day * self.days_per_month,
        }


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


def monthly_per_mau(per_flow: dict[str, dict[str, float]], usage: Usage) -> dict[str, float]:
    """Each metric per monthly active user and month: the flows' counts times how often each runs."""
    flows = usage.flows_per_mau()
    metrics = sorted({m for counts in per_flow.values() for m in counts})
    return {m: sum(per_flow.get(f, {}).get(m, 0.0) * n for f, n in flows.items()) for m in metrics}


def xray_traces(trace_roots: float, seconds: float, reservoir_per_second: float = 1.0, rate: float = 0.05) -> float:
    """Traces the default sampling rule records for requests spread evenly over `seconds`."""
    reservoir = min(trace_roots, reservoir_per_second * seconds)
    return reservoir + rate * (trace_roots - reservoir)


@dataclass
class Line:
    item: str
    label: str
    unit: str
    quantity: float
    cost: float
    first_price: float


def price_month(per_mau: dict[str, float], mau: int, prices: dict, usage: Usage, fixed: dict[str, float]) -> list[Line]:
    """The month's bill of the AWS services (Cognito aside) for `mau` monthly active users."""
    items = prices["items"]
    lines = []
    for metric, item in PRICED_METRICS.items():
        amount = per_mau.get(metric, 0.0) * mau
        if metric == "xray_trace_roots":
            amount = xray_traces(amount, usage.days_per_month * 86400)
        spec = items[item]
        lines.append(Line(item, spec["label"], spec["unit"], amount, tiered_cost(amount, spec["tiers"]), spec["tiers"][0][1]))
    for item, amount in fixed.items():
        spec = items[item]
        lines.append(Line(item, spec["label"], spec["unit"], amount, tiered_cost(amount, spec["tiers"]), spec["tiers"][0][1]))
    return lines


def cognito_month(mau: int, prices: dict, plan: str | None = None) -> Line:
    cognito = prices["cognito"]
    plan = plan or cognito["default_plan"]
    spec = cognito["plans"][plan]
    return Line(f"cognito_{plan}", spec["label"], "MAU", mau, tiered_cost(mau, spec["tiers"]), spec["tiers"][-1][1])


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


def _template_facts() -> dict:
    from infra.template import load_template

    template = load_template()
    resources = template["Resources"]
    globals_ = template.get("Globals", {}).get("Function", {})
    architectures = {
        logical_id: (r.get("Properties", {}).get("Architectures") or globals_.get("Architectures") or ["x86_64"])[0]
        for logical_id, r in resources.items()
        if r["Type"] == "AWS::Serverless::Function"
    }
    sqs_triggered = {
        logical_id
        for logical_id, r in resources.items()
        if r["Type"] == "AWS::Serverless::Function"
        and any(e.get("Type") == "SQS" for e in (r.get("Properties", {}).get("Events") or {}).values())
    }
    polled_queues = set()
    for logical_id in sqs_triggered:
        for event in resources[logical_id]["Properties"]["Events"].values():
            queue = event.get("Properties", {}).get("Queue", {})
            if isinstance(queue, dict) and "Fn::GetAtt" in queue:
                polled_queues.add(queue["Fn::GetAtt"][0])
    secrets = sum(1 for r in resources.values() if r["Type"] == "AWS::SecretsManager::Secret")
    return {"architectures": architectures, "sqs_triggered": sqs_triggered, "polled_queues": polled_queues, "secrets": secrets}


@dataclass
class Snapshot:
    counts: object
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
        self.facts = _template_facts()
        self.states = measure_client("stepfunctions")
        self.sqs = measure_client("sqs")
        self.machine_types = {
            arn: self.states.describe_state_machine(stateMachineArn=arn)["type"] for arn in stack.stack.state_machines.values()
        }
        self.queue_urls = [stack.stack.refs[q] for q in self.facts["polled_queues"]]
        self.sqs_triggered_names = {stack.runtime.function(f).name for f in self.facts["sqs_triggered"]}

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
        metrics: Counter = Counter()
        by_function = {}
        log_bytes = sum(counts.log_bytes.values())
        for name in set(after.invocations) | set(before.invocations):
            calls = after.invocations[name] - before.invocations[name]
            billed = after.billed_ms[name] - before.billed_ms[name]
            if not calls:
                continue
            function = runtime.function(name)
            architecture = self.facts["architectures"].get(function.logical_id, "x86_64")
            metrics["lambda_requests"] += calls
            metrics["lambda_billed_ms"] += billed
            metrics[f"lambda_gb_seconds_{architecture}"] += billed / 1000 * function.memory_mb / 1024
            if name in self.sqs_triggered_names:
                metrics["xray_trace_roots"] += calls
            average = billed / calls
            lines = render_platform_lines(name, max(1, round(average)), function.memory_mb)
            log_bytes += calls * sum(len(line.encode()) + 1 + 26 for line in lines)
            by_function[function.logical_id] = {
                "memory_mb": function.memory_mb,
                "architecture": architecture,
                "invocations": calls / flows,
                "billed_ms": billed / flows,
            }
        for machine, arns in after.executions.items():
            new = arns - before.executions.get(machine, set())
            for arn in new:
                if self.machine_types[machine] == "EXPRESS":
                    execution = self.states.describe_execution(executionArn=arn)
                    elapsed_ms = (execution["stopDate"] - execution["startDate"]).total_seconds() * 1000
                    billed = max(100, math.ceil(elapsed_ms / 100) * 100)
                    metrics["sfn_express_executions"] += 1
                    metrics["sfn_express_billed_ms"] += billed
                    metrics["sfn_express_gb_seconds"] += billed / 1000 * EXPRESS_MEMORY_MB / 1024
                else:
                    metrics["sfn_standard_transitions"] += self._transitions(arn)
        api_requests = after.api_requests - before.api_requests
        metrics["api_requests"] += api_requests
        metrics["xray_trace_roots"] += api_requests
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
        metrics["logs_gb"] += log_bytes / 1e9
        return {
            "flows": flows,
            "metrics": {k: v / flows for k, v in sorted(metrics.items())},
            "lambda": by_function,
            "api_calls": {k: v / flows for k, v in sorted(counts.api_calls.items()) if k != "sqs:ReceiveMessage (empty)"},
            "log_bytes": {k: v / flows for k, v in sorted(counts.log_bytes.items())},
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
    from infra.stack import LocalStack
    from measures.flows import Api, StackReader, login, onboard, refresh

    started = time.monotonic()
    stack = LocalStack(api_port=0).start()
    try:
        api = Api(stack.api_url, stack.api_key)
        reader = StackReader(stack)
        probe = Probe(stack, meter, api, reader)
        progress(f"local stack up in {time.monotonic() - started:.1f} s; warm-up with {warmup} user(s)")
        for _ in range(warmup):  # imports, clients and cached secrets: the cold start is not a flow's cost
            user = onboard(api, reader, "warmup")
            login(api, user)
            refresh(api, user)
        probe.settle()
        result = {}
        people = []

        def phase(name: str, flows: int, run) -> None:
            before = probe.snapshot()
            run()
            probe.settle()
            result[name] = probe.per_flow(before, probe.snapshot(), flows)
            progress(f"{name}: {flows} flows in {result[name]['seconds']:.1f} s")

        phase("onboarding", users, lambda: people.extend(onboard(api, reader) for _ in range(users)))
        phase("login", users, lambda: [login(api, user) for user in people])
        phase("refresh", users * refreshes, lambda: [refresh(api, user) for user in people for _ in range(refreshes)])
        return {
            "measured_on": datetime.date.today().isoformat(),
            "machine": machine_description(),
            "users": users,
            "refreshes_per_user": refreshes,
            "fixed": {"secrets_manager_secrets": probe.facts["secrets"]},
            "flows": result,
        }
    finally:
        stack.stop()


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


def report(measured: dict, prices: dict, usage: Usage, maus=DEFAULT_MAUS, cognito_plan: str | None = None) -> dict:
    """Prints the tables; returns the figures (for tests and the README)."""
    per_flow = {name: flow["metrics"] for name, flow in measured["flows"].items()}
    per_mau = monthly_per_mau(per_flow, usage)
    flows_per_mau = usage.flows_per_mau()

    rows = []
    for metric in sorted(per_mau, key=lambda m: list(METRIC_LABELS).index(m) if m in METRIC_LABELS else 99):
        if not per_mau[metric]:
            continue
        rows.append(
            [METRIC_LABELS.get(metric, metric), *(quantity(per_flow.get(f, {}).get(metric, 0)) for f in FLOWS), quantity(per_mau[metric])]
        )
    print_table(
        f"What one flow makes AWS do, measured on the local stack ({measured['measured_on']}, {measured['users']} users)",
        ["per flow", "onboarding", "login", "refresh", "per MAU-month"],
        rows,
        [
            f"per MAU-month = onboarding x {quantity(flows_per_mau['onboarding'])} + login x {quantity(flows_per_mau['login'])} "
            f"+ refresh x {quantity(flows_per_mau['refresh'])} (CognitoApi: a login a day, a refresh an hour, {quantity(usage.days_per_month)} days)",
            "Standard transitions: *StateEntered history events (Succeed and Fail included) plus task retries.",
            "Lambda and Express durations are this machine's, with moto answering in-process; AWS's differ.",
        ],
    )

    function_rows = []
    for logical_id in sorted({f for flow in measured["flows"].values() for f in flow["lambda"]}):
        cells = []
        memory = architecture = ""
        for f in FLOWS:
            info = measured["flows"].get(f, {}).get("lambda", {}).get(logical_id)
            if info:
                memory, architecture = info["memory_mb"], info["architecture"]
                cells.append(f"{quantity(info['invocations'])} x {info['billed_ms'] / info['invocations']:.0f} ms")
            else:
                cells.append("-")
        function_rows.append([logical_id, f"{memory} MB {architecture}", *cells])
    print_table("Lambda invocations per flow x average billed duration", ["function", "memory", *FLOWS], function_rows)

    calls = sorted({c for flow in measured["flows"].values() for c in flow["api_calls"]})
    print_table(
        "AWS API calls per flow (served by moto; service integrations of Step Functions included)",
        ["call", *FLOWS],
        [[c, *(quantity(measured["flows"].get(f, {}).get("api_calls", {}).get(c, 0)) for f in FLOWS)] for c in calls],
        ["Idle long polls of the webhook queue's event source are left out: they do not grow with users."]
        + [
            f"events per {name}: " + ", ".join(f"{t} {quantity(n)}" for t, n in flow.get("event_types", {}).items())
            for name, flow in measured["flows"].items()
            if flow.get("event_types")
        ],
    )

    fixed = measured.get("fixed", {})
    bills = {mau: price_month(per_mau, mau, prices, usage, fixed) for mau in maus}
    cognito = {mau: cognito_month(mau, prices, cognito_plan) for mau in maus}
    first = bills[maus[0]]
    rows = []
    for i, line in enumerate(first):
        if all(bills[m][i].cost == 0 for m in maus):
            continue
        per_user_month = per_mau.get(next((k for k, v in PRICED_METRICS.items() if v == line.item), ""), None)
        rows.append(
            [
                line.label,
                quantity(per_user_month) if per_user_month is not None else f"{quantity(line.quantity)} fixed",
                unit_price(line.first_price, line.unit),
                *(money(bills[m][i].cost) for m in maus),
            ]
        )
    totals = {m: sum(line.cost for line in bills[m]) for m in maus}
    rows.append(["AWS services, Cognito aside", "", "", *(money(totals[m]) for m in maus)])
    rows.append(["  per user", "", "", *(per_user(totals[m] / m) for m in maus)])
    plan_line = cognito[maus[0]]
    rows.append([plan_line.label, "1 MAU", "tiers", *(money(cognito[m].cost) for m in maus)])
    rows.append(["Total with Cognito", "", "", *(money(totals[m] + cognito[m].cost) for m in maus)])
    rows.append(["  per user", "", "", *(per_user((totals[m] + cognito[m].cost) / m) for m in maus)])
    other_plans = {plan: {m: tiered_cost(m, spec["tiers"]) for m in maus} for plan, spec in prices["cognito"]["plans"].items()}
    print_table(
        f"Monthly cost in USD, {prices['region']} list prices read on {prices['read_on']} (measures/prices.json)",
        ["item", "qty/MAU-month", "unit price", *(f"{m:,} MAU" for m in maus)],
        rows,
        [
            "Cognito by plan: "
            + "; ".join(f"{plan} " + ", ".join(money(other_plans[plan][m]) for m in maus) for plan in other_plans)
            + f" (for {', '.join(f'{m:,}' for m in maus)} MAU)",
            "X-Ray is modelled: default sampling rule (1 trace/s + 5 %) over requests spread evenly on the month.",
            "Not counted: free tiers other than Cognito's; data transfer out; storage of logs and archived events (the audit log",
            "group and the archive keep 365 days, the functions' log groups are not in the template and never expire);",
            "DynamoDB and S3 storage (a few KB per user); Lambda INIT time of cold starts; SQS idle polling (about 0.3 USD a month).",
        ],
    )

    claim_mau = COGNITOAPI_CLAIM["mau"]
    ours = (
        totals.get(claim_mau) if claim_mau in totals else sum(line.cost for line in price_month(per_mau, claim_mau, prices, usage, fixed))
    )
    drivers_bill = bills.get(claim_mau) or price_month(per_mau, claim_mau, prices, usage, fixed)
    drivers = sorted(drivers_bill, key=lambda line: line.cost, reverse=True)[:4]
    say(
        f"CognitoApi claims about {COGNITOAPI_CLAIM['usd_per_month']:.0f} USD a month for {claim_mau:,} users "
        f"({per_user(COGNITOAPI_CLAIM['usd_per_user'])} USD per user, Cognito's own fee aside)."
    )
    say(
        f"authflow, measured: {money(ours)} USD a month for {claim_mau:,} users ({per_user(ours / claim_mau)} USD per user, "
        f"Cognito aside); with Cognito {plan_line.label.split()[1]}: {money(ours + cognito_month(claim_mau, prices, cognito_plan).cost)} USD."
    )
    say("What drives it at 50,000 MAU: " + "; ".join(f"{d.label} {money(d.cost)} USD ({d.cost / ours:.0%})" for d in drivers))
    say()
    return {
        "per_mau": per_mau,
        "totals": totals,
        "cognito": {m: cognito[m].cost for m in maus},
        "lines": {m: [asdict(line) for line in bills[m]] for m in maus},
        "drivers_50k": [(d.label, d.cost) for d in drivers],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=int(os.environ.get("COST_USERS", "10")), help="users onboarded and logged in")
    parser.add_argument("--refreshes", type=int, default=4, help="refreshes measured per user")
    parser.add_argument("--warmup", type=int, default=2, help="users run first and not counted")
    parser.add_argument("--mau", type=int, action="append", help="monthly active users to price (repeatable)")
    parser.add_argument("--onboardings-per-mau", type=float, default=1.0, help="share of active users onboarded in the month")
    parser.add_argument("--cognito-plan", choices=["lite", "essentials", "plus"], default=None)
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
    say(f"Measured on {measured['measured_on']}, {measured['machine']}")
    report(measured, prices, Usage(onboardings_per_mau=args.onboardings_per_mau), tuple(args.mau or DEFAULT_MAUS), args.cognito_plan)


if __name__ == "__main__":
    main()
