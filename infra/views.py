"""The local views under /_local: captured mail, the event archive and executions, as JSON or HTML.

Browsers (Accept: text/html) get the local console, the Step Functions console's view of the local
stack (infra/console/); everything else gets JSON (?format=json forces it, ?format=html the page).

JSON views (tests and the `authflow` CLI read them; fields may be added, never renamed):
- /_local/mail                      every message sent: id, from, to, subject, body (+ format, images)
- /_local/events?user_id=&type=     every event put on the bus, as EventBridge delivers it
- /_local/executions?state_machine=&status=   name, state_machine, status, start, duration_s
                                    (+ stop, arn, state_machine_id, type)
- /_local/executions/{name}         name, arn, state_machine, status, states, path, history
                                    (+ steps, graph, definition, input, output, error, cause, ...)
- /_local/state-machines            id, arn, name, type of every state machine of the stack
- /_local/webhooks                  every subscription as GET /v1/webhooks lists it (+ failing_since),
                                    never its secret
- /_local/webhooks/{id}?limit=      its delivery log as GET /v1/webhooks/{id}/deliveries answers it
                                    (limit 1-100, default 50)
- /_local/stack                     region, aws_endpoint_url and resources (logical id to physical id):
                                    what an operator's AWS tools need to reach the local stack, as
                                    CloudFormation's stack resources tell them in AWS (the CLI uses it)
"""

import json
from pathlib import Path
from typing import Any

import boto3
from moto.events.models import events_backends
from moto.ses.models import RawMessage, TemplateMessage, ses_backends
from werkzeug.wrappers import Request, Response

from authflow.status import DeliveryRecords, SubscriptionStore
from authflow.webhooks import DELIVERIES_SHOWN, MOST_DELIVERIES_SHOWN, delivery_log
from infra.console import mail as mail_parsing
from infra.console import stepfunctions
from infra.console.model import STATUSES, mask
from infra.console.pages import render
from infra.provision import Stack

__all__ = ["LocalViews", "mask"]

STATIC = Path(__file__).parent / "console" / "static"
STATIC_FILES = {"console.css": "text/css; charset=utf-8", "favicon.svg": "image/svg+xml"}
# The console has no script; mail bodies render in a sandboxed srcdoc iframe, which inherits this
# policy (their inline styles and images stay allowed, scripts do not run).
CSP = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data: http://127.0.0.1:* "
    "http://localhost:*; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'self'"
)


class NotFound(Exception):
    pass


def _error(status: int, code: str, message: str) -> Response:
    return Response(json.dumps({"error": {"code": code, "message": message, "request_id": ""}}), status, content_type="application/json")


def _limit(value: str | None) -> int:
    """?limit= as the API takes it (1 to 100, default 50); out of range, the nearest bound."""
    try:
        return min(max(int(value or DELIVERIES_SHOWN), 1), MOST_DELIVERIES_SHOWN)
    except ValueError:
        return DELIVERIES_SHOWN


class LocalViews:
    def __init__(self, stack: Stack):
        self.stack = stack
        self.account = "123456789012"
        self.region = boto3.session.Session().region_name
        # One client, made now against this stack's moto (AWS_ENDPOINT_URL as the stack set it): clients
        # are thread-safe, creating them from one session in many request threads is not.
        self.sfn = boto3.session.Session().client("stepfunctions")

    # ------------------------------------------------------------------ routing

    def __call__(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p][1:]
        wanted = request.args.get("format")
        wants_html = wanted == "html" or ("text/html" in request.headers.get("Accept", "") and wanted != "json")
        if parts[:1] == ["static"]:
            return self._static(parts[1:])
        if not parts:
            if wants_html:
                return Response(status=302, headers={"Location": "/_local/executions"})
            return self._json(
                {
                    "views": [
                        "/_local/executions",
                        "/_local/state-machines",
                        "/_local/mail",
                        "/_local/events",
                        "/_local/webhooks",
                        "/_local/stack",
                    ]
                }
            )
        data: Any
        try:
            if parts == ["mail"]:
                data = self.mail(request.args.get("to") or None)
                page = lambda: render("mail.html", messages=list(reversed(data)), to=request.args.get("to", ""))  # noqa: E731
            elif parts == ["events"]:
                user_id, detail_type = request.args.get("user_id") or None, request.args.get("type") or None
                data = self.events(user_id, detail_type)
                page = lambda: render(  # noqa: E731
                    "events.html",
                    events=list(reversed(data)),
                    types=sorted({e.get("detail-type", "") for e in self.events()}),
                    user_id=user_id or "",
                    detail_type=detail_type or "",
                )
            elif parts == ["executions"]:
                machine, status = request.args.get("state_machine") or None, request.args.get("status") or None
                data, notes = self.executions_and_notes(machine, status)
                page = lambda: render(  # noqa: E731
                    "executions.html",
                    executions=data,
                    notes=notes,
                    machines=self.state_machines(),
                    statuses=STATUSES,
                    state_machine=machine or "",
                    status=status or "",
                )
            elif len(parts) == 2 and parts[0] == "executions":
                data = self.execution(parts[1], request.args.get("state_machine") or None)
                if data is None:
                    raise NotFound("No such execution.")
                page = lambda: render("execution.html", execution=data)  # noqa: E731
            elif parts == ["webhooks"]:
                data = self.webhooks()
                page = lambda: render("webhooks.html", webhooks=data)  # noqa: E731
            elif len(parts) == 2 and parts[0] == "webhooks":
                subscription, data = self.webhook_deliveries(parts[1], _limit(request.args.get("limit")))
                page = lambda: render("webhook.html", webhook=subscription, log=data)  # noqa: E731
            elif parts == ["state-machines"]:
                data = self.state_machines()
                page = None
            elif parts == ["stack"]:
                data = self.resources()
                page = None
            else:
                raise NotFound("No such local view.")
        except NotFound as missing:
            if wants_html:
                return self._html(render("not_found.html", message=str(missing), path=request.path), 404)
            return _error(404, "NOT_FOUND", str(missing))
        if wants_html and page is not None:
            return self._html(page())
        response = self._json(data)
        if parts == ["executions"] and notes:
            response.headers["X-Authflow-Notes"] = json.dumps(notes)
        return response

    @staticmethod
    def _json(data, status: int = 200) -> Response:
        return Response(json.dumps(data, default=str, indent=2), status, content_type="application/json")

    @staticmethod
    def _html(body: str, status: int = 200) -> Response:
        return Response(
            body,
            status,
            content_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"},
        )

    @staticmethod
    def _static(parts: list[str]) -> Response:
        if len(parts) != 1 or parts[0] not in STATIC_FILES:
            return _error(404, "NOT_FOUND", "No such file.")
        return Response(
            (STATIC / parts[0]).read_bytes(),
            content_type=STATIC_FILES[parts[0]],
            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"},
        )

    # ------------------------------------------------------------------ data

    def mail(self, to: str | None = None) -> list[dict]:
        ses = ses_backends[self.account][self.region]
        qr_bucket = str(self.stack.refs.get("QrCodeBucket", "")) if self.stack else ""
        messages = []
        for m in list(ses.sent_messages):
            if isinstance(m, RawMessage):
                parsed = mail_parsing.parse_raw(m.raw_data)
                entry = {
                    "id": m.id,
                    "from": m.source or parsed["from"],
                    "to": list(m.destinations or parsed["to"]),
                    **{k: parsed[k] for k in ("subject", "body", "format")},
                }
                images = parsed["attached_images"]
            elif isinstance(m, TemplateMessage):
                entry = {
                    "id": m.id,
                    "from": m.source,
                    "to": [a for addresses in (m.destinations or {}).values() for a in addresses],
                    "subject": f"(template {m.template})",
                    "body": str(m.template_data),
                    "format": "text",
                }
                images = []
            elif hasattr(m, "subject"):
                entry = {
                    "id": m.id,
                    "from": m.source,
                    "to": [a for addresses in m.destinations.values() for a in addresses],
                    "subject": m.subject,
                    "body": m.body,
                    "format": "html" if mail_parsing.looks_like_html(m.body) else "text",
                }
                images = []
            else:  # bulk templated mail: not used by authflow
                continue
            entry["images"] = list(dict.fromkeys(images + mail_parsing.images_in(entry["body"], (qr_bucket,) if qr_bucket else ())))
            if to and to.lower() not in [a.lower() for a in entry["to"]]:
                continue
            messages.append(entry)
        return messages

    def events(self, user_id: str | None = None, detail_type: str | None = None) -> list[dict]:
        backend = events_backends[self.account][self.region]
        found: list[dict] = []
        for archive in list(backend.archives.values()):
            for event in list(archive.events):
                detail = event.get("detail", {})
                if user_id and detail.get("user_id") != user_id:
                    continue
                if detail_type and event.get("detail-type") != detail_type:
                    continue
                found.append(dict(event))
        return found

    def _subscriptions(self) -> SubscriptionStore:
        return SubscriptionStore(str(self.stack.refs["StatusTable"]))

    def webhooks(self) -> list[dict]:
        """The subscriptions as GET /v1/webhooks lists them, plus since when each has been failing."""
        return [
            {**subscription.public().model_dump(mode="json"), "failing_since": subscription.failing_since}
            for subscription in self._subscriptions().all()
        ]

    def webhook_deliveries(self, webhook_id: str, limit: int) -> tuple[dict, dict]:
        """The subscription (as listed) and its delivery log, as GET /v1/webhooks/{id}/deliveries answers it."""
        subscription = self._subscriptions().get(webhook_id)
        if subscription is None:
            raise NotFound("No such webhook.")
        entries = DeliveryRecords(str(self.stack.refs["StatusTable"])).of_subscription(webhook_id, limit)
        listed = {**subscription.public().model_dump(mode="json"), "failing_since": subscription.failing_since}
        return listed, delivery_log(webhook_id, entries).model_dump(mode="json")

    def resources(self) -> dict:
        return {
            "region": self.region,
            "aws_endpoint_url": self.sfn.meta.endpoint_url,
            "resources": {logical_id: ref for logical_id, ref in self.stack.refs.items() if isinstance(ref, str)},
        }

    def _machines(self) -> list[stepfunctions.Machine]:
        return stepfunctions.describe_machines(self.sfn, dict(self.stack.state_machines))

    def state_machines(self) -> list[dict]:
        return [m.to_json() for m in self._machines()]

    def executions_and_notes(self, state_machine: str | None = None, status: str | None = None) -> tuple[list[dict], list[str]]:
        machines = stepfunctions.select(self._machines(), state_machine)
        if state_machine and not machines:
            return [], [f"No state machine {state_machine} in this stack."]
        status = status.upper() if status else None
        if status and status not in STATUSES:
            return [], [f"Unknown status {status}; one of {', '.join(STATUSES)}."]
        return stepfunctions.list_executions(self.sfn, machines, status)

    def executions(self, state_machine: str | None = None, status: str | None = None) -> list[dict]:
        return self.executions_and_notes(state_machine, status)[0]

    def execution(self, name: str, state_machine: str | None = None) -> dict | None:
        machines = stepfunctions.select(self._machines(), state_machine)
        return stepfunctions.find_execution(self.sfn, machines, name)
