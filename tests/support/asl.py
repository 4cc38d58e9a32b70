"""Reading workflows/*.asl.json: every state of every state machine, branches included."""

import json
from collections.abc import Iterator
from pathlib import Path

WORKFLOWS_DIR = Path(__file__).resolve().parents[2] / "workflows"
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
PUT_EVENTS = "arn:aws:states:::events:putEvents"


def definitions() -> dict[str, dict]:
    """Each state machine's definition, by file stem (onboarding, login, password_reset)."""
    return {path.name.removesuffix(".asl.json"): json.loads(path.read_text()) for path in sorted(WORKFLOWS_DIR.glob("*.asl.json"))}


def states(definition: dict) -> Iterator[tuple[str, dict]]:
    """Every (name, state) of the definition, inside Parallel and Map states too."""
    for name, state in definition["States"].items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from states(branch)
        if "ItemProcessor" in state or "Iterator" in state:
            yield from states(state.get("ItemProcessor") or state["Iterator"])


def task_payloads(definition: dict) -> dict[str, dict]:
    """The Lambda payload of each task state that invokes a function (waiting for its token or not), by state name."""
    return {
        name: state["Parameters"]["Payload"] for name, state in states(definition) if state.get("Resource", "").startswith(LAMBDA_INVOKE)
    }


def event_entries(definition: dict) -> list[tuple[str, dict]]:
    """Every (state name, PutEvents entry) the definition publishes itself."""
    return [
        (name, entry)
        for name, state in states(definition)
        if state.get("Resource") == PUT_EVENTS
        for entry in state["Parameters"]["Entries"]
    ]
