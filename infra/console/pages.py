"""The local console's HTML: Jinja2 templates (autoescaped) and one CSS file; no script, no build step."""

from pathlib import Path
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from infra.console.formatting import event_summary, execution_name, format_duration, format_time, pretty
from infra.console.graph import render_svg
from infra.console.model import graph_from_view

TEMPLATES = Path(__file__).parent / "templates"


def execution_url(name: str, state_machine_id: str | None = None) -> str:
    url = f"/_local/executions/{quote(name, safe='')}"
    return url + (f"?{urlencode({'state_machine': state_machine_id})}" if state_machine_id else "")


def graph_svg(execution: dict) -> Markup:
    svg = render_svg(graph_from_view(execution), title=f"State graph of {execution['state_machine']}")
    return Markup(svg)


_environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"], default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.filters.update(time=format_time, duration=format_duration, pretty=pretty, summary=event_summary)
_environment.globals.update(execution_url=execution_url, execution_name=execution_name, graph_svg=graph_svg)


def render(template: str, **context) -> str:
    return _environment.get_template(template).render(**context)
