"""Checks events against their JSON Schemas in events/ (the catalogue infra/catalogue.py generates)."""

import json
from datetime import UTC, datetime

from jsonschema import Draft202012Validator, FormatChecker

from authflow.events import EVENT_TYPES
from infra import catalogue

VALIDATORS = {
    model.__name__: Draft202012Validator(
        json.loads((catalogue.EVENTS_DIR / f"{model.__name__}.schema.json").read_text()), format_checker=FormatChecker()
    )
    for model in EVENT_TYPES
}


def as_aws_sends_it(event: dict) -> dict:
    """moto's archive keeps `time` as epoch seconds; EventBridge sends an ISO 8601 string."""
    event = dict(event)
    if isinstance(event.get("time"), int | float):
        event["time"] = datetime.fromtimestamp(event["time"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return event


def schema_problems(events: list[dict]) -> list[str]:
    """Every way these events (as the archive holds them) break their schemas; empty if none."""
    problems = []
    for event in events:
        validator = VALIDATORS.get(event.get("detail-type", ""))
        if validator is None:
            problems.append(f"{event.get('detail-type')}: no schema in events/ (run python -m infra.catalogue)")
            continue
        for error in validator.iter_errors(as_aws_sends_it(event)):
            where = f"{event['detail-type']} {event.get('detail', {}).get('event_id')}"
            problems.append(f"{where}: {error.json_path} {error.message}")
    return problems
