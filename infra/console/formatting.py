"""How the console and the CLI write times, durations and data for people."""

import json
from datetime import UTC, datetime


def format_time(value, with_date: bool = True) -> str:
    """2026-11-25 12:55:26.638 UTC from an ISO timestamp or epoch seconds (EventBridge's archive)."""
    if value in (None, ""):
        return "—"
    try:
        if isinstance(value, (int, float)):
            moment = datetime.fromtimestamp(value, UTC)
        elif isinstance(value, datetime):
            moment = value
        else:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        return str(value)
    text = moment.strftime("%Y-%m-%d %H:%M:%S." if with_date else "%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    return text + " UTC"


def format_duration(seconds) -> str:
    if seconds is None:
        return "—"
    seconds = float(seconds)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    return f"{hours // 24} d {hours % 24} h"


def pretty(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def compact(value, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str, separators=(", ", ": "))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def event_summary(event: dict) -> str:
    """One line about a history event: the error, the resource, or nothing."""
    detail = event.get("detail") or {}
    if detail.get("error"):
        return f"{detail['error']}" + (f": {detail['cause']}" if detail.get("cause") else "")
    if detail.get("resource"):
        return f"{detail.get('resourceType', '')}:{detail['resource']}"
    return ""


def execution_name(arn: str | None) -> str | None:
    return arn.rsplit(":", 1)[1] if arn and ":execution:" in arn else None
