"""Figures the security tests collect during a run, printed at the end of the session (conftest.py)
and written to test-artifacts/security-summary.json so the README can quote them."""

import collections
import json
import time
from pathlib import Path

ARTIFACT = Path(__file__).resolve().parents[2] / "test-artifacts" / "security-summary.json"

# (test, operation label, status) -> responses seen by the schemathesis runs
fuzz_cases: collections.Counter = collections.Counter()
# test name -> seconds
durations: dict[str, float] = {}
# free-form figures (checkov results, concurrency counts, ...)
facts: dict[str, object] = {}


class timed:
    """with timed("name"): ... records the block's wall time in durations."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc):
        durations[self.name] = round(time.perf_counter() - self.started, 2)
        return False


def lines() -> list[str]:
    out = []
    if fuzz_cases:
        by_test: collections.Counter[str] = collections.Counter()
        by_status: collections.Counter[int] = collections.Counter()
        for (test, _, status), n in fuzz_cases.items():
            by_test[test] += n
            by_status[status] += n
        out.append(f"schemathesis: {sum(fuzz_cases.values())} generated cases over {len({op for _, op, _ in fuzz_cases})} operations")
        for test, n in sorted(by_test.items()):
            out.append(f"  {test}: {n} cases")
        out.append("  by status: " + ", ".join(f"{s}: {n}" for s, n in sorted(by_status.items())))
    for name, seconds in sorted(durations.items()):
        out.append(f"{name}: {seconds:.1f} s")
    for name, value in sorted(facts.items()):
        out.append(f"{name}: {value}")
    return out


def _part(worker: str) -> Path:
    return ARTIFACT.with_name(f"security-summary.{worker}.part.json")


def save_part(worker: str) -> None:
    """An xdist worker's figures, for the controller's merge_parts."""
    if not (fuzz_cases or durations or facts):
        return
    ARTIFACT.parent.mkdir(exist_ok=True)
    part = {"fuzz_cases": [[*key, n] for key, n in fuzz_cases.items()], "durations": durations, "facts": facts}
    _part(worker).write_text(json.dumps(part, default=str))


def discard_parts() -> None:
    for path in ARTIFACT.parent.glob(_part("*").name):
        path.unlink()


def merge_parts() -> None:
    """Adds the figures every xdist worker saved (and removes their files)."""
    for path in sorted(ARTIFACT.parent.glob(_part("*").name)):
        part = json.loads(path.read_text())
        for test, operation, status, n in part["fuzz_cases"]:
            fuzz_cases[(test, operation, status)] += n
        durations.update(part["durations"])
        facts.update(part["facts"])
        path.unlink()


def write_artifact() -> None:
    if not (fuzz_cases or durations or facts):
        return
    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.write_text(
        json.dumps(
            {
                "schemathesis_cases": sum(fuzz_cases.values()),
                "schemathesis_cases_by_operation": {
                    op: sum(n for (_, o, _), n in fuzz_cases.items() if o == op) for op in sorted({o for _, o, _ in fuzz_cases})
                },
                "durations_seconds": durations,
                "facts": facts,
            },
            indent=2,
            default=str,
        )
        + "\n"
    )
