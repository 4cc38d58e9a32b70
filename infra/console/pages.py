"""The local console's HTML: Jinja2 templates (autoescaped) and one CSS file; no script, no build step."""

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from infra.console.graph import render_svg
from infra.console.model import graph_from_view

TEMPLATES = Path(__file__).parent / "templates"


def format_time(value) -> str:
    """2026-11-25 12:55:26.638 UTC from an ISO timestamp or epoch seconds (EventBridge's archive)."""
    if value in (None, ""):
        return "—"
    try:
        if isinstance(value, (int, float)):
            moment = datetime.fromtimestamp(value, UTC)
        else:
            moment = datetime.fromisoformat(str(value))
            if moment.tzinfo is not None:
                moment = moment.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        return str(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d} UTC"


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
    return f"{hours} h {minutes} min"


def pretty(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def execution_url(name: str, state_machine_id: str | None = None) -> str:
    url = f"/_local/executions/{quote(name, safe='')}"
    return url + (f"?{urlencode({'state_machine': state_machine_id})}" if state_machine_id else "")


def execution_name(arn: str | None) -> str | None:
    return arn.rsplit(":", 1)[1] if arn and ":execution:" in arn else None


def summary(event: dict) -> str:
    """One line about a history event for the table: the error, the resource, or the state."""
    detail = event.get("detail") or {}
    if detail.get("error"):
        return f"{detail['error']}" + (f": {detail['cause']}" if detail.get("cause") else "")
    if detail.get("resource"):
        return f"{detail.get('resourceType', '')}:{detail['resource']}"
    return ""


def graph_svg(execution: dict) -> Markup:
    svg = render_svg(graph_from_view(execution), title=f"State graph of {execution['state_machine']}")
    return Markup(svg)  # noqa: S704 - render_svg escapes every text it takes from the definition


_environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"], default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.filters.update(time=format_time, duration=format_duration, pretty=pretty, summary=summary)
_environment.globals.update(execution_url=execution_url, execution_name=execution_name, graph_svg=graph_svg)


def render(template: str, **context) -> str:
    return _environment.get_template(template).render(**context)
