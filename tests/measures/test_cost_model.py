"""The cost model's arithmetic on fixed counts: no local stack is started."""

import copy
import json
import math
import re
from datetime import date

import pytest

from infra.template import load_template
from measures import cost
from measures.cost import (
    PRICED_METRICS,
    Sampling,
    Usage,
    cognitoapi_month,
    compute_factor,
    derived_metrics,
    load_prices,
    memory_choices,
    modelled_lambda_ms,
    monthly_per_mau,
    price_month,
    stored_gb,
    template_facts,
    tiered_cost,
    xray_traces,
)

PRICES = load_prices()
# A function at 1 769 MB has one whole vCPU: its local compute is billed as measured.
FULL_CORE_MB = 1769
COMPUTE = {"full_core_memory_mb": FULL_CORE_MB, "core_speed_factor": 1.0}
LATENCIES = {
    "default": {"ms": 30, "basis": "assumed: test"},
    "express_execution_overhead": {"ms": 20, "basis": "assumed: test"},
    "calls": {
        "dynamodb:GetItem": {"ms": 5, "basis": "published"},
        "cognito-idp:AdminInitiateAuth": {"ms": 100, "basis": "assumed"},
        "stepfunctions:StartSyncExecution": {"ms": 25, "basis": "assumed"},
    },
}
FACTS = {
    "express_functions": ["LoginTaskFunction"],
    "log_retention_days": {"ApiFunction": 30, "AuditLogGroup": 365},
    "infrequent_access_log_groups": [],
    "archive_retention_days": 365,
    "user_pool_tier": "LITE",
}

# One flow of each kind, as a measured run reports them (numbers chosen for easy arithmetic).
PER_FLOW = {
    "onboarding": {"api_requests": 3, "lambda_requests": 16, "sfn_standard_transitions": 7, "mails": 1},
    "login": {"api_requests": 2, "lambda_requests": 5, "sfn_express_executions": 2, "events": 1},
    "refresh": {"api_requests": 1, "lambda_requests": 2, "events": 1},
}


def function(invocations=1.0, billed_ms=10.0, wait_ms=0.0, calls=None, nested=None, memory_mb=FULL_CORE_MB, architecture="arm64") -> dict:
    return {
        "invocations": invocations,
        "billed_ms": billed_ms,
        "wait_ms": wait_ms,
        "calls": calls or {},
        "nested": nested or {},
        "memory_mb": memory_mb,
        "architecture": architecture,
    }


def measured(per_flow=PER_FLOW) -> dict:
    return {
        "measured_on": "2026-01-01",
        "machine": "test",
        "users": 1,
        "refreshes_per_user": 1,
        "facts": FACTS,
        "fixed": {
            "secrets_manager_secrets": 1,
            "cloudwatch_custom_metrics": 10,
            "cloudwatch_alarm_metrics": 20,
            "cloudwatch_dashboards": 1,
        },
        "flows": {
            name: {"flows": 1, "metrics": metrics, "lambda": {}, "api_calls": {}, "log_groups": {}, "trace_roots": {}, "seconds": 0}
            for name, metrics in per_flow.items()
        },
    }


def test_cognitoapi_usage_is_26_requests_a_day_plus_the_onboarding():
    per_mau = monthly_per_mau(PER_FLOW, Usage())
    assert per_mau["api_requests"] == 3 + 2 * 30 + 1 * 24 * 30 == 783
    assert per_mau["sfn_standard_transitions"] == 7  # one onboarding per active user and month
    assert per_mau["sfn_express_executions"] == 60
    assert per_mau["events"] == 30 + 720
    assert monthly_per_mau(PER_FLOW, Usage(onboardings_per_mau=0.5))["mails"] == 0.5


def test_tiers_are_cumulative_bounds():
    essentials = PRICES["cognito"]["plans"]["essentials"]["tiers"]
    lite = PRICES["cognito"]["plans"]["lite"]["tiers"]
    assert tiered_cost(10_000, essentials) == 0
    assert tiered_cost(50_000, essentials) == pytest.approx(40_000 * 0.015)
    assert tiered_cost(1_000_000, lite) == pytest.approx(90_000 * 0.0055 + 900_000 * 0.0046)
    api = PRICES["items"]["api_gateway_rest_requests"]["tiers"]
    assert tiered_cost(1e9, api) == pytest.approx(333e6 * 3.5e-6 + 667e6 * 2.8e-6)
    assert tiered_cost(0, api) == 0
    http_api = PRICES["items"]["api_gateway_http_requests"]["tiers"]
    assert tiered_cost(1e9, http_api) == pytest.approx(300e6 * 1e-6 + 700e6 * 0.9e-6)


def test_xray_sampling_keeps_the_reservoir_then_the_rate():
    month = 30 * 86400
    assert xray_traces(1_000_000, month) == 1_000_000
    assert xray_traces(10_000_000, month) == pytest.approx(month + 0.05 * (10_000_000 - month))
    assert xray_traces(10_000_000, month, reservoir_per_second=0, rate=0.1) == pytest.approx(1_000_000)


def test_sampling_is_a_parameter_of_the_month():
    per_mau = {"xray_trace_roots": 1_000}
    every = {line.item: line for line in price_month(per_mau, 50_000, PRICES, Usage(), {}, Sampling(reservoir_per_second=0, rate=1.0))}
    assert every["xray_traces_recorded"].quantity == 50_000_000
    assert every["xray_traces_recorded"].cost == pytest.approx(50_000_000 * 5e-6)
    sampled = {line.item: line for line in price_month(per_mau, 50_000, PRICES, Usage(), {})}
    assert sampled["xray_traces_recorded"].quantity == pytest.approx(xray_traces(50_000_000, 30 * 86400))


def test_a_lambda_is_billed_for_its_own_time_plus_each_calls_aws_latency():
    """Local time inside AWS calls (moto's) is replaced by AWS's latency for each call."""
    functions = {
        "Api": function(invocations=2, billed_ms=300, wait_ms=260, calls={"dynamodb:GetItem": 4, "cognito-idp:AdminInitiateAuth": 2})
    }
    per_invocation, express = modelled_lambda_ms(functions, LATENCIES, set(), 0, COMPUTE)
    assert per_invocation["Api"] == pytest.approx((300 - 260 + 4 * 5 + 2 * 100) / 2)
    assert express == 0
    unknown = {"Api": function(calls={"ses:SendEmail": 1}, billed_ms=10, wait_ms=4)}
    assert modelled_lambda_ms(unknown, LATENCIES, set(), 0, COMPUTE)[0]["Api"] == 10 - 4 + 30  # the default latency


def test_a_trigger_run_inside_a_call_adds_its_time_to_the_callers():
    functions = {
        "Api": function(invocations=1, billed_ms=150, wait_ms=140, calls={"cognito-idp:AdminInitiateAuth": 1}, nested={"Trigger": 2}),
        "Trigger": function(invocations=2, billed_ms=30, wait_ms=10, calls={"dynamodb:GetItem": 2}),
    }
    per_invocation, _ = modelled_lambda_ms(functions, LATENCIES, set(), 0, COMPUTE)
    assert per_invocation["Trigger"] == pytest.approx((30 - 10 + 2 * 5) / 2)
    assert per_invocation["Api"] == pytest.approx(150 - 140 + 100 + 2 * per_invocation["Trigger"])


def test_start_sync_execution_waits_for_the_modelled_express_execution():
    functions = {
        "Api": function(invocations=2, billed_ms=400, wait_ms=396, calls={"stepfunctions:StartSyncExecution": 2}),
        "LoginTaskFunction": function(invocations=2, billed_ms=60, wait_ms=50, calls={"cognito-idp:AdminInitiateAuth": 2}),
    }
    per_invocation, express = modelled_lambda_ms(functions, LATENCIES, {"LoginTaskFunction"}, 2, COMPUTE)
    task = (60 - 50 + 2 * 100) / 2
    assert per_invocation["LoginTaskFunction"] == pytest.approx(task)
    assert express == pytest.approx(20 + 2 * task / 2)
    assert per_invocation["Api"] == pytest.approx((400 - 396 + 2 * (25 + express)) / 2)


def test_derived_metrics_bill_whole_milliseconds_express_steps_and_storage():
    flow = {
        "metrics": {"sfn_express_executions": 1, "archive_gb": 0.003},
        "lambda": {
            "Api": function(invocations=1, billed_ms=40.2, wait_ms=0, memory_mb=512, architecture="arm64"),
            "LoginTaskFunction": function(invocations=1, billed_ms=101, wait_ms=0, memory_mb=1024, architecture="x86_64"),
        },
        "log_groups": {"ApiFunction": 1e9, "AuditLogGroup": 2e9},
    }
    derived = derived_metrics(flow, LATENCIES, FACTS, COMPUTE)
    api_ms = math.ceil(40.2 * FULL_CORE_MB / 512)  # 139: its own work at 512 MB's share of a vCPU, whole ms
    task_ms = 101 * FULL_CORE_MB / 1024  # 174.5
    assert derived["lambda_billed_ms"] == api_ms + math.ceil(task_ms)
    assert derived["lambda_gb_seconds_arm64"] == pytest.approx(api_ms / 1000 * 0.5)
    assert derived["lambda_gb_seconds_x86_64"] == pytest.approx(math.ceil(task_ms) / 1000)
    assert derived["sfn_express_billed_ms"] == 200  # 20 + 174.5 ms, in 100 ms steps
    assert derived["sfn_express_gb_seconds"] == pytest.approx(0.2 * 64 / 1024)
    assert derived["logs_stored_gb"] == pytest.approx(1 * 30 / 30 + 2 * 365 / 30)
    assert derived["archive_stored_gb"] == pytest.approx(0.003 * 365 / 30)


def test_storage_at_steady_state_keeps_each_groups_retention():
    retention = {"fn": 30, "audit": 365, "forever": None}
    assert stored_gb({"fn": 3e9}, retention, 12) == pytest.approx(3)
    assert stored_gb({"audit": 3e9}, retention, 12) == pytest.approx(3 * 365 / 30)
    assert stored_gb({"forever": 1e9}, retention, 12) == pytest.approx(12)
    assert stored_gb({"unknown": 1e9}, retention, 6) == pytest.approx(6)


def test_emf_lines_are_priced_as_log_ingestion_on_their_own_line():
    lines = price_month({"emf_logs_gb": 0.001, "logs_gb": 0.002}, 50_000, PRICES, Usage(), {})
    by_label = {line.label: line for line in lines}
    ingestion = PRICES["items"]["cloudwatch_logs_ingested_gb"]["tiers"][0][1]
    assert by_label["CloudWatch Logs ingestion, EMF metric lines"].cost == pytest.approx(50 * ingestion)
    assert by_label["CloudWatch Logs ingestion, log lines"].cost == pytest.approx(100 * ingestion)


def test_a_month_for_50k_users_prices_each_count_and_the_fixed_items():
    per_mau = monthly_per_mau(PER_FLOW, Usage())
    fixed = {"secrets_manager_secrets": 1, "cloudwatch_custom_metrics": 12, "cloudwatch_alarm_metrics": 23, "cloudwatch_dashboards": 1}
    lines = {line.item: line for line in price_month(per_mau, 50_000, PRICES, Usage(), fixed)}
    # HTTP API (1.00 USD per million up to 300 million), not REST's 3.50.
    assert "api_gateway_rest_requests" not in lines
    assert lines["api_gateway_http_requests"].quantity == 783 * 50_000
    assert lines["api_gateway_http_requests"].cost == pytest.approx(783 * 50_000 * 1e-6)
    assert lines["lambda_requests"].cost == pytest.approx((16 + 5 * 30 + 2 * 720) * 50_000 * 0.2e-6)
    assert lines["sfn_standard_transitions"].cost == pytest.approx(7 * 50_000 * 0.000025)
    assert lines["ses_messages"].cost == pytest.approx(50_000 * 0.0001)
    assert lines["secrets_manager_secrets"].cost == pytest.approx(0.4)
    assert lines["cloudwatch_custom_metrics"].cost == pytest.approx(12 * 0.3)
    assert lines["cloudwatch_alarm_metrics"].cost == pytest.approx(23 * 0.1)
    assert lines["cloudwatch_dashboards"].cost == pytest.approx(3.0)
    assert lines["dynamodb_wru"].cost == 0


def test_the_templates_alarms_dashboard_and_tier_are_read_from_it():
    facts = template_facts()
    alarms = [r for r in load_template()["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    # The failed-onboardings and the import-failures alarms read two metrics each (AWS bills each metric an alarm reads).
    assert facts["fixed"]["cloudwatch_alarm_metrics"] == len(alarms) + 2
    assert facts["fixed"]["cloudwatch_dashboards"] == 1
    assert facts["user_pool_tier"] == "LITE"
    assert facts["express_functions"] == [], "the login workflow calls Cognito itself (issue 13 item 3)"
    assert facts["trigger_functions"] == ["CognitoTriggerFunction"]
    # The audit log group keeps 90 days, queryable and ingested at Infrequent Access's price; the archive the year.
    assert facts["log_retention_days"]["ApiFunction"] == 30 and facts["log_retention_days"]["AuditLogGroup"] == 90
    assert facts["infrequent_access_log_groups"] == ["AuditLogGroup"]
    assert facts["archive_retention_days"] == 365


def test_cognitoapi_under_its_readme_assumption_matches_its_claim_without_api_gateway():
    usage = Usage()
    lines = {line.item: line for line in cognitoapi_month(50_000, PRICES, usage, seconds_per_call=1.0)}
    requests = 783 * 50_000
    warmers = 16 * 30 * 24 * 12
    assert lines["api_gateway_rest_requests"].quantity == requests
    assert lines["lambda_requests"].quantity == requests + warmers
    assert lines["lambda_x86_64_gb_seconds"].quantity == pytest.approx((requests + warmers) * 1.0 * 0.25)
    lambda_only = lines["lambda_requests"].cost + lines["lambda_x86_64_gb_seconds"].cost
    assert 150 <= lambda_only <= 180, "its ~150 USD is its Lambda bill alone"
    assert lines["api_gateway_rest_requests"].cost == pytest.approx(requests * 3.5e-6)
    assert lines["cloudwatch_logs_stored_gb_month"].quantity == pytest.approx(12 * lines["cloudwatch_logs_ingested_gb"].quantity)


def test_cognitoapi_modelled_like_authflow_bills_handler_time_plus_its_calls():
    usage = Usage()
    spec = PRICES["cognitoapi"]
    modelled = {line.item: line for line in cognitoapi_month(50_000, PRICES, usage)}
    latencies = PRICES["aws_latency_ms"]["calls"]
    cpu = FULL_CORE_MB / 256  # its 256 MB functions do their own work at that share of a vCPU, as authflow's
    per_mau_ms = sum(
        (spec["handler_compute_ms"] * cpu * spec["flows"][f]["requests"] + sum(latencies[c]["ms"] for c in spec["flows"][f]["calls"])) * n
        for f, n in usage.flows_per_mau().items()
    )
    warmer_ms = 16 * 30 * 24 * 12 * spec["warmer_ms"] * cpu
    assert modelled["lambda_x86_64_gb_seconds"].quantity == pytest.approx((per_mau_ms * 50_000 + warmer_ms) / 1000 * 0.25)


def test_report_prints_every_size_each_cognito_plan_and_cognitoapi_side_by_side(capsys):
    figures = cost.report(measured(), PRICES, Usage())
    out = capsys.readouterr().out
    for heading in ("10,000 MAU", "50,000 MAU", "1,000,000 MAU", "per user", "Total with Cognito Lite"):
        assert heading in out
    for plan in ("Cognito Lite MAU (template's UserPoolTier)", "Cognito Essentials MAU", "Cognito Plus MAU"):
        assert plan in out
    assert figures["cognito_plan"] == "lite"
    assert figures["cognito"]["essentials"][50_000] == pytest.approx(600)
    assert figures["cognito"]["lite"][50_000] == pytest.approx(40_000 * 0.0055)
    assert "CognitoApi claims about 150 USD a month for 50,000 users" in out
    ours = figures["totals"][50_000]
    assert f"authflow, measured and modelled: {cost.money(ours)} USD a month for 50,000 users" in out
    assert "Side by side at 50,000 MAU" in out
    readme = next(v for k, v in figures["cognitoapi"].items() if "README" in k)
    assert figures["ratio_to_cognitoapi"][next(k for k in figures["cognitoapi"] if "README" in k)] == pytest.approx(ours / readme)
    assert f"{ours / readme:.2f} x CognitoApi's like-for-like figure" in out
    assert re.search(r"What drives it at 50,000 MAU: \S", out) and "API Gateway HTTP API requests" in out
    assert "  without API Gateway" in out


def test_the_goal_is_judged_under_cognitoapis_usage_and_the_onboarding_upper_bound_is_printed_beside_it(capsys):
    """CognitoApi's usage is 26 requests a user a day and no sign-up: the goal's figure leaves the onboarding
    out, and the line also gives the figure with every active user onboarded that month."""
    with_onboarding = cost.report(measured(), PRICES, Usage(onboardings_per_mau=1.0))
    out = capsys.readouterr().out
    sessions_only = cost.report(measured(), PRICES, Usage(onboardings_per_mau=0.0))
    capsys.readouterr()
    assert with_onboarding["sessions_only_total"] == pytest.approx(sessions_only["totals"][50_000])
    assert with_onboarding["sessions_only_total"] < with_onboarding["totals"][50_000]
    assert f"no sign-up): {cost.money(with_onboarding['sessions_only_total'])} USD" in out
    assert f"with 1 onboarding per active user and month, as above: {cost.money(with_onboarding['totals'][50_000])} USD" in out


def test_the_plan_can_be_chosen(capsys):
    figures = cost.report(measured(), PRICES, Usage(), cognito_plan="essentials")
    assert figures["cognito_plan"] == "essentials"
    assert "Total with Cognito Essentials" in capsys.readouterr().out


def test_counts_saved_by_a_run_can_be_priced_again(tmp_path, capsys):
    saved = tmp_path / "counts.json"
    saved.write_text(json.dumps(measured()))
    cost.main(["--counts", str(saved), "--mau", "20000", "--xray-rate", "1", "--xray-reservoir", "0"])
    out = capsys.readouterr().out
    assert "20,000 MAU" in out and "sampling 0 trace/s then 100%" in out


def test_modelled_lambda_time_reaches_the_bill():
    counts = copy.deepcopy(measured())
    counts["flows"]["refresh"]["lambda"] = {
        "ApiFunction": function(invocations=1, billed_ms=50, wait_ms=45, calls={"cognito-idp:AdminInitiateAuth": 1}, memory_mb=256)
    }
    per_flow = cost.flow_metrics(counts, PRICES)
    own_work = (50 - 45) * FULL_CORE_MB / 256
    modelled_ms = math.ceil(own_work + PRICES["aws_latency_ms"]["calls"]["cognito-idp:AdminInitiateAuth"]["ms"])
    assert per_flow["refresh"]["lambda_gb_seconds_arm64"] == pytest.approx(modelled_ms / 1000 * 0.25)


def test_prices_file_names_each_price_its_source_and_date():
    date.fromisoformat(PRICES["read_on"])
    assert PRICES["region"] and PRICES["currency"] == "USD"
    for item in set(PRICED_METRICS.values()) | set(cost.FIXED_ITEMS):
        spec = PRICES["items"][item]
        assert spec["source"].startswith("https://aws.amazon.com/"), item
        bounds = [up_to for up_to, _ in spec["tiers"][:-1]]
        assert bounds == sorted(bounds) and spec["tiers"][-1][0] is None, item
        assert all(price >= 0 and math.isfinite(price) for _, price in spec["tiers"]), item
    for plan in PRICES["cognito"]["plans"].values():
        assert plan["tiers"][-1][0] is None


def test_each_latency_says_its_basis_and_source():
    latencies = PRICES["aws_latency_ms"]
    for call, entry in latencies["calls"].items():
        assert entry["ms"] > 0 and entry["basis"], call
        assert entry["source"].startswith("https://"), call
        assert entry["basis"].split(":")[0] in ("published", "assumed", "derived"), call
    for call in PRICES["cognitoapi"]["flows"]["onboarding"]["calls"]:
        assert call in latencies["calls"], "CognitoApi's calls are priced from the same table"


def test_lambda_gives_a_function_cpu_in_proportion_to_its_memory():
    assert compute_factor(FULL_CORE_MB, COMPUTE) == 1
    assert compute_factor(128, COMPUTE) == pytest.approx(1769 / 128)
    assert compute_factor(256, COMPUTE) == pytest.approx(1769 / 256)
    assert compute_factor(3008, COMPUTE) == 1, "one thread gains nothing from a second vCPU"
    assert compute_factor(256, {**COMPUTE, "core_speed_factor": 1.5}) == pytest.approx(1.5 * 1769 / 256)
    # The rule and its source are in prices.json, beside the latencies.
    assert PRICES["lambda_compute"]["full_core_memory_mb"] == FULL_CORE_MB
    assert PRICES["lambda_compute"]["basis"].startswith("published:")
    assert PRICES["lambda_compute"]["source"] == "https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html"
    assert PRICES["lambda_compute"]["core_speed_basis"].startswith("assumed:")


def test_less_memory_slows_a_functions_own_work_not_its_waits_on_aws():
    def api(memory_mb: int) -> float:
        functions = {"Api": function(billed_ms=112, wait_ms=110, calls={"cognito-idp:AdminInitiateAuth": 1}, memory_mb=memory_mb)}
        return modelled_lambda_ms(functions, LATENCIES, set(), 0, COMPUTE)[0]["Api"]

    assert api(FULL_CORE_MB) == pytest.approx(2 + 100)
    assert api(128) == pytest.approx(2 * 1769 / 128 + 100)
    # A trigger nested in the call passes its own slowdown on to its caller.
    functions = {
        "Api": function(billed_ms=112, wait_ms=110, calls={"cognito-idp:AdminInitiateAuth": 1}, nested={"Trigger": 1}),
        "Trigger": function(billed_ms=3, wait_ms=0, memory_mb=128),
    }
    per_invocation, _ = modelled_lambda_ms(functions, LATENCIES, set(), 0, COMPUTE)
    assert per_invocation["Api"] == pytest.approx(2 + 100 + 3 * 1769 / 128)


def test_memory_choices_show_each_sizes_latency_and_bill():
    counts = copy.deepcopy(measured())
    counts["flows"]["refresh"]["lambda"] = {
        "ApiFunction": function(billed_ms=112, wait_ms=110, calls={"cognito-idp:AdminInitiateAuth": 1}, memory_mb=256)
    }
    choices = {c["memory_mb"]: c for c in memory_choices(counts, PRICES, Usage(), 50_000, sizes=(128, 1769))}
    assert set(choices) == {128, 256, 1769} and choices[256]["current"] and not choices[128]["current"]
    for size, choice in choices.items():
        ms = 2 * compute_factor(size, PRICES["lambda_compute"]) + 100
        assert choice["ms"]["refresh"] == pytest.approx(ms) and choice["api_ms"]["refresh"] == pytest.approx(ms)
        gb_seconds = 720 * 50_000 * math.ceil(ms) / 1000 * size / 1024
        assert choice["lambda_duration_usd"] == pytest.approx(tiered_cost(gb_seconds, PRICES["items"]["lambda_arm64_gb_seconds"]["tiers"]))
    # A function mostly waiting on AWS: half the memory, about half the bill, a few ms more.
    assert choices[128]["lambda_duration_usd"] < 0.6 * choices[256]["lambda_duration_usd"]
    assert choices[128]["api_ms"]["refresh"] - choices[256]["api_ms"]["refresh"] == pytest.approx(2 * 1769 / 256)


def test_a_saved_run_can_be_priced_at_another_memory(tmp_path, capsys):
    counts = copy.deepcopy(measured())
    counts["flows"]["refresh"]["lambda"] = {"ApiFunction": function(billed_ms=112, wait_ms=110, memory_mb=256)}
    saved = tmp_path / "counts.json"
    saved.write_text(json.dumps(counts))
    cost.main(["--counts", str(saved), "--memory", "ApiFunction=384"])
    out = capsys.readouterr().out
    # 384 MB is no size the table compares by itself: it is there as the function's current memory.
    assert "Memory per function" in out and f"x{1769 / 384:.1f}" in out


def test_infrequent_access_log_groups_are_ingested_at_their_price():
    flow = {
        "metrics": {"logs_gb": 3e-6},
        "lambda": {},
        "log_groups": {"ApiFunction": 1000.0, "AuditLogGroup": 2000.0},
    }
    facts = {**FACTS, "infrequent_access_log_groups": ["AuditLogGroup"]}
    derived = derived_metrics(flow, LATENCIES, facts, COMPUTE)
    assert derived["logs_infrequent_access_gb"] == pytest.approx(2e-6)
    assert derived["logs_gb"] == pytest.approx(1e-6)
    lines = {line.item: line for line in price_month({"logs_infrequent_access_gb": 0.001}, 50_000, PRICES, Usage(), {})}
    assert lines["cloudwatch_logs_ingested_gb_infrequent_access"].cost == pytest.approx(50 * 0.25)
    assert derived_metrics(flow, LATENCIES, FACTS, COMPUTE).get("logs_infrequent_access_gb") is None


def test_an_express_workflows_own_cognito_calls_and_the_triggers_they_ran_are_waited_for():
    """The login workflow calls Cognito itself (aws-sdk tasks): no function made those calls, the
    trigger they ran is nested in no function's call, and the API waits for all of it."""
    flow = {
        "metrics": {"sfn_express_executions": 2},
        "api_calls": {"cognito-idp:AdminInitiateAuth": 2, "dynamodb:GetItem": 2, "stepfunctions:StartSyncExecution": 2},
        "lambda": {
            "ApiFunction": function(
                invocations=2, billed_ms=100, wait_ms=96, calls={"dynamodb:GetItem": 2, "stepfunctions:StartSyncExecution": 2}
            ),
            "CognitoTriggerFunction": function(invocations=2, billed_ms=4, wait_ms=0),
        },
    }
    facts = {**FACTS, "express_functions": [], "trigger_functions": ["CognitoTriggerFunction"]}
    assert cost.express_workflow_work(flow, facts) == ({"cognito-idp:AdminInitiateAuth": 2}, {"CognitoTriggerFunction": 2})
    per_invocation, express = cost.flow_lambda_ms(flow, LATENCIES, facts, COMPUTE)
    assert express == pytest.approx(20 + (2 * 100 + 2 * 2) / 2)  # overhead + its Cognito call + the trigger's 2 ms
    assert per_invocation["ApiFunction"] == pytest.approx((100 - 96) / 2 + 5 + 25 + express)
    # A Standard workflow's calls bill no function's wait: not attributed.
    standard = {**flow, "metrics": {"sfn_express_executions": 2, "sfn_standard_transitions": 7}}
    assert cost.express_workflow_work(standard, facts) == ({}, {})
