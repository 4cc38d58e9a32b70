"""The cost model's arithmetic on fixed counts: no local stack is started."""

import json
import math
import re
from datetime import date

import pytest

from measures import cost
from measures.cost import PRICED_METRICS, Usage, load_prices, monthly_per_mau, price_month, tiered_cost, xray_traces

PRICES = load_prices()

# One flow of each kind, as a measured run reports them (numbers chosen for easy arithmetic).
PER_FLOW = {
    "onboarding": {"api_requests": 3, "lambda_requests": 16, "lambda_gb_seconds_arm64": 0.15, "sfn_standard_transitions": 7, "mails": 1},
    "login": {"api_requests": 2, "lambda_requests": 5, "sfn_express_executions": 2, "events": 1},
    "refresh": {"api_requests": 1, "lambda_requests": 2, "events": 1},
}


def measured(per_flow=PER_FLOW) -> dict:
    return {
        "measured_on": "2026-01-01",
        "machine": "test",
        "users": 1,
        "refreshes_per_user": 1,
        "fixed": {"secrets_manager_secrets": 1},
        "flows": {
            name: {"flows": 1, "metrics": metrics, "lambda": {}, "api_calls": {}, "log_bytes": {}, "seconds": 0}
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


def test_xray_default_sampling_keeps_one_a_second_then_five_percent():
    month = 30 * 86400
    assert xray_traces(1_000_000, month) == 1_000_000
    assert xray_traces(10_000_000, month) == pytest.approx(month + 0.05 * (10_000_000 - month))


def test_a_month_for_50k_users_prices_each_count():
    per_mau = monthly_per_mau(PER_FLOW, Usage())
    lines = {line.item: line for line in price_month(per_mau, 50_000, PRICES, Usage(), {"secrets_manager_secrets": 1})}
    assert lines["api_gateway_rest_requests"].quantity == 783 * 50_000
    assert lines["api_gateway_rest_requests"].cost == pytest.approx(783 * 50_000 * 3.5e-6)
    assert lines["lambda_requests"].cost == pytest.approx((16 + 5 * 30 + 2 * 720) * 50_000 * 0.2e-6)
    assert lines["sfn_standard_transitions"].cost == pytest.approx(7 * 50_000 * 0.000025)
    assert lines["ses_messages"].cost == pytest.approx(50_000 * 0.0001)
    assert lines["secrets_manager_secrets"].cost == pytest.approx(0.4)
    assert lines["dynamodb_wru"].cost == 0


def test_report_prints_every_size_per_user_and_cognitoapis_claim(capsys):
    figures = cost.report(measured(), PRICES, Usage())
    out = capsys.readouterr().out
    for heading in ("10,000 MAU", "50,000 MAU", "1,000,000 MAU", "per user", "Cognito Essentials MAU", "Total with Cognito"):
        assert heading in out
    assert "CognitoApi claims about 150 USD a month for 50,000 users" in out
    ours = figures["totals"][50_000]
    assert f"authflow, measured: {cost.money(ours)} USD a month for 50,000 users" in out
    assert figures["cognito"][50_000] == pytest.approx(600)
    assert re.search(r"What drives it at 50,000 MAU: API Gateway REST requests", out)


def test_counts_saved_by_a_run_can_be_priced_again(tmp_path, capsys):
    saved = tmp_path / "counts.json"
    saved.write_text(json.dumps(measured()))
    cost.main(["--counts", str(saved), "--mau", "20000"])
    assert "20,000 MAU" in capsys.readouterr().out


def test_prices_file_names_each_price_its_source_and_date():
    date.fromisoformat(PRICES["read_on"])
    assert PRICES["region"] and PRICES["currency"] == "USD"
    for item in set(PRICED_METRICS.values()) | {"secrets_manager_secrets"}:
        spec = PRICES["items"][item]
        assert spec["source"].startswith("https://aws.amazon.com/"), item
        bounds = [up_to for up_to, _ in spec["tiers"][:-1]]
        assert bounds == sorted(bounds) and spec["tiers"][-1][0] is None, item
        assert all(price >= 0 and math.isfinite(price) for _, price in spec["tiers"]), item
    for plan in PRICES["cognito"]["plans"].values():
        assert plan["tiers"][-1][0] is None
