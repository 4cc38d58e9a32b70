"""A tiny bench run (2 users) in its own process, so that its local stack is not this session's."""

import json
import subprocess
import sys
from pathlib import Path

from measures import one_at_a_time
from measures.bench import FLOW_ROWS, ROUTES, percentile

ROOT = Path(__file__).resolve().parents[2]
# What each route's path costs today, in AWS round trips besides Cognito's (README, "Load"): more is a regression.
ROUND_TRIPS_AT_MOST = {
    "POST /users": 4,
    "POST /login": 3,
    "POST /mfa-verify": 3,
    "POST /refresh-token": 1,
    one_at_a_time.ACCESS_TOKEN_USERINFO: 1,
    one_at_a_time.ID_TOKEN_USERINFO: 1,
    "POST /logout": 5,
    "POST /forgot-password": 7,
}


def test_percentiles_interpolate_between_ranks():
    samples = [4.0, 1.0, 3.0, 2.0]
    assert percentile(samples, 50) == 2.5
    assert percentile(samples, 0) == 1.0 and percentile(samples, 100) == 4.0
    assert percentile([7.0], 99) == 7.0


def test_a_tiny_bench_prints_every_route_for_the_api_and_for_cognito(tmp_path):
    figures = tmp_path / "bench.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "measures.bench",
            "--users",
            "2",
            "--refreshes",
            "1",
            "--threads",
            "2",
            "--max-seconds",
            "180",
            "--one-at-a-time-users",
            "1",
            "--json",
            str(figures),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=330,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    for route in (*ROUTES, *FLOW_ROWS):
        assert route in run.stdout
    assert "overhead p50" in run.stdout
    result = json.loads(figures.read_text())
    assert not result["errors"], result["errors"]
    rows = {row["route"]: row for row in result["routes"]}
    assert set(rows) == {*ROUTES, *FLOW_ROWS}
    for route in ROUTES:
        assert rows[route]["api"]["n"] > 0 and rows[route]["direct"]["n"] > 0, route
    assert rows["POST /login"]["api"]["n"] == 2 * 3  # three logins per user
    assert rows["POST /refresh-token"]["api"]["n"] == 2

    # One request at a time: each route's round trips, counted per request (deterministic, unlike times).
    assert "AWS round trips on each route's path" in run.stdout and "added by authflow" in run.stdout
    paths = {row["route"]: row for row in result["one_at_a_time"]}
    assert set(paths) == set(one_at_a_time.ROUTES)
    for route, row in paths.items():
        assert row["n"] == 1 and row["api_p50_ms"] > 0, route
        assert sorted(row["cognito_calls"]) == sorted(one_at_a_time.COGNITO_CALLS[route]), (route, row["cognito_calls"])
        assert row["round_trips"] == sum(row["authflow_calls"].values()), route
        assert row["round_trips"] <= ROUND_TRIPS_AT_MOST[route], (route, row["authflow_calls"])
    # Issue 13 item 3's budget: refresh and userinfo (by either token) add at most one round trip to Cognito's
    # call, each login step at most three (the per-source-IP limit, one BatchGetItem, StartSyncExecution).
    for route in ("POST /refresh-token", one_at_a_time.ACCESS_TOKEN_USERINFO, one_at_a_time.ID_TOKEN_USERINFO):
        assert paths[route]["round_trips"] <= one_at_a_time.BUDGETS[route] == 1, paths[route]["authflow_calls"]
    # The id token's revocation records and the recovery codes' count are read together.
    assert paths[one_at_a_time.ID_TOKEN_USERINFO]["authflow_calls"] == {"dynamodb:BatchGetItem": 1}
    for route in ("POST /login", "POST /mfa-verify"):
        assert paths[route]["round_trips"] <= one_at_a_time.BUDGETS[route] == 3, paths[route]["authflow_calls"]
        assert paths[route]["authflow_calls"].get("dynamodb:BatchGetItem") == 1, paths[route]["authflow_calls"]
    # A Standard execution's work (onboarding's) is after the answer: POST /users invokes only the API function.
    assert paths["POST /users"]["invocations"] == {"authflow-local-ApiFunction": 1}
    # The login workflow calls Cognito itself: no task function on a login step's path.
    assert paths["POST /login"]["invocations"] == {"authflow-local-ApiFunction": 1}
    assert paths["POST /refresh-token"]["inside_cognito_calls"] == {"events:PutEvents": 1}, "the refresh trigger's one event"
