"""A tiny bench run (2 users) in its own process, so that its local stack is not this session's."""

import json
import subprocess
import sys
from pathlib import Path

from measures.bench import FLOW_ROWS, ROUTES, percentile

ROOT = Path(__file__).resolve().parents[2]


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
            "--import-rows",
            "10",
            "--import-seconds",
            "60",
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
    assert "overhead p50" in run.stdout and "User import: " in run.stdout
    imported = json.loads(figures.read_text())["import"]
    assert imported["rows"] == imported["accounted"] == imported["created"] == 10 and imported["rows_per_second"] > 0
    result = json.loads(figures.read_text())
    assert not result["errors"], result["errors"]
    rows = {row["route"]: row for row in result["routes"]}
    assert set(rows) == {*ROUTES, *FLOW_ROWS}
    for route in ROUTES:
        assert rows[route]["api"]["n"] > 0 and rows[route]["direct"]["n"] > 0, route
    assert rows["POST /login"]["api"]["n"] == 2 * 3  # three logins per user
    assert rows["POST /refresh-token"]["api"]["n"] == 2
