"""The local views under /_local: captured mail, the event archive and executions, as JSON or HTML.

Browsers (Accept: text/html) get a small page; everything else gets JSON.
"""

import json
import re
from html import escape

import boto3
from moto.events.models import events_backends
from moto.ses.models import ses_backends
from werkzeug.wrappers import Request, Response

from infra.provision import Stack

_SECRET_KEYS = re.compile(r"(task_?token|password|secret|session|otp|code)", re.IGNORECASE)
_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>authflow local · {title}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;color:#222}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}}
pre{{white-space:pre-wrap;max-width:60rem}}nav a{{margin-right:1rem}}.visited{{background:#d9f2d9}}</style></head>
<body><nav><a href="/_local/executions">executions</a><a href="/_local/mail">mail</a><a href="/_local/events">events</a></nav>
<h1>{title}</h1>{body}</body></html>"""


def mask(value):
    """Hides secret-named fields (a task token in a TaskScheduled event, say) wherever they appear."""
    if isinstance(value, dict):
        return {k: "***" if _SECRET_KEYS.search(k) else mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.dumps(mask(json.loads(value)))
        except ValueError:
            return value
    return value


def _table(rows: list[dict], link: str | None = None) -> str:
    if not rows:
        return "<p>Nothing yet.</p>"
    columns = list(rows[0])
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = ""
    for row in rows:
        cells = []
        for column in columns:
            text = escape(str(row[column]))
            if link and column == "name":
                text = f'<a href="{link}/{text}">{text}</a>'
            cells.append(f"<td>{text}</td>")
        body += "<tr>" + "".join(cells) + "</tr>"
    return f"<table><tr>{head}</tr>{body}</table>"


class LocalViews:
    def __init__(self, stack: Stack):
        self.stack = stack
        self.account = "123456789012"
        self.region = boto3.session.Session().region_name

    def __call__(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p][1:]
        wants_html = "text/html" in request.headers.get("Accept", "") and request.args.get("format") != "json"
        if parts == ["mail"]:
            title, data = "mail", self.mail()
        elif parts == ["events"]:
            title, data = "events", self.events(request.args.get("user_id"), request.args.get("type"))
        elif parts == ["executions"]:
            title, data = "executions", self.executions()
        elif len(parts) == 2 and parts[0] == "executions":
            data = self.execution(parts[1])
            if data is None:
                return Response(json.dumps({"error": {"code": "NOT_FOUND", "message": "No such execution.", "request_id": ""}}), 404, content_type="application/json")
            title = f"execution {parts[1]}"
        else:
            return Response(json.dumps({"error": {"code": "NOT_FOUND", "message": "No such local view.", "request_id": ""}}), 404, content_type="application/json")
        if wants_html:
            return Response(_PAGE.format(title=escape(title), body=self._html(parts, data)), content_type="text/html")
        return Response(json.dumps(data, default=str, indent=2), content_type="application/json")

    def _html(self, parts: list[str], data) -> str:
        if parts == ["mail"]:
            return "".join(
                f"<h3>{escape(m['subject'])}</h3><p>to {escape(', '.join(m['to']))} from {escape(m['from'])}</p>"
                f"<iframe sandbox srcdoc=\"{escape(m['body'])}\" style='width:60rem;height:14rem'></iframe>"
                for m in reversed(data)
            ) or "<p>No mail yet.</p>"
        if parts == ["events"]:
            return _table([{"time": e["time"], "type": e["detail-type"], "user_id": e["detail"].get("user_id"), "detail": json.dumps(e["detail"])} for e in data])
        if parts == ["executions"]:
            return _table(data, link="/_local/executions")
        visited = {step["state"] for step in data["path"]}
        states = "".join(
            f"<li class=\"{'visited' if name in visited else ''}\">{escape(name)}</li>" for name in data["states"]
        )
        return (
            f"<p>{escape(data['state_machine'])} · <b>{escape(data['status'])}</b></p><h2>States</h2><ol>{states}</ol>"
            f"<h2>History</h2>{_table([{k: (json.dumps(v) if isinstance(v, dict) else v) for k, v in e.items()} for e in data['history']])}"
        )

    def mail(self) -> list[dict]:
        ses = ses_backends[self.account][self.region]
        return [
            {"id": m.id, "from": m.source, "to": [a for addresses in m.destinations.values() for a in addresses], "subject": m.subject, "body": m.body}
            for m in list(ses.sent_messages)
        ]

    def events(self, user_id: str | None = None, detail_type: str | None = None) -> list[dict]:
        backend = events_backends[self.account][self.region]
        found = []
        for archive in list(backend.archives.values()):
            for event in list(archive.events):
                detail = event.get("detail", {})
                if user_id and detail.get("user_id") != user_id:
                    continue
                if detail_type and event.get("detail-type") != detail_type:
                    continue
                found.append(event)
        return found

    def executions(self) -> list[dict]:
        sfn = boto3.client("stepfunctions")
        rows = []
        for arn in self.stack.state_machines.values():
            for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
                for e in page["executions"]:
                    stop = e.get("stopDate")
                    rows.append(
                        {
                            "name": e["name"],
                            "state_machine": arn.rsplit(":", 1)[1],
                            "status": e["status"],
                            "start": e["startDate"].isoformat(),
                            "duration_s": round((stop - e["startDate"]).total_seconds(), 3) if stop else None,
                        }
                    )
        return sorted(rows, key=lambda r: r["start"], reverse=True)

    def execution(self, name: str) -> dict | None:
        sfn = boto3.client("stepfunctions")
        for arn in self.stack.state_machines.values():
            execution_arn = arn.replace(":stateMachine:", ":execution:") + f":{name}"
            try:
                described = sfn.describe_execution(executionArn=execution_arn)
            except sfn.exceptions.ExecutionDoesNotExist:
                continue
            history = sfn.get_execution_history(executionArn=execution_arn)["events"]
            definition = json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])
            events = []
            path = []
            for event in history:
                details = {k: v for k, v in event.items() if k.endswith("EventDetails")}
                detail = mask(next(iter(details.values()), {}))
                events.append({"id": event["id"], "timestamp": event["timestamp"].isoformat(), "type": event["type"], "detail": detail})
                if event["type"].endswith("StateEntered"):
                    path.append({"state": detail.get("name"), "entered": event["timestamp"].isoformat()})
            return {
                "name": name,
                "arn": execution_arn,
                "state_machine": arn.rsplit(":", 1)[1],
                "status": described["status"],
                "states": list(definition["States"]),
                "path": path,
                "history": events,
            }
        return None
