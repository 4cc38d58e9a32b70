"""`authflow`: the operator's command line, against the local stack (default) or a deployed stack.

    authflow executions list [--state-machine ID] [--status FAILED]
    authflow executions show NAME
    authflow events tail [--user-id ID] [--type LoginFailed] [--follow]
    authflow users status USER_ID
    authflow users mfa-reset USER_ID --admin-token TOKEN
    authflow users sign-out USER_ID --admin-token TOKEN
    authflow users import FILE --admin-token TOKEN [--idempotency-key KEY]
    authflow users import-status IMPORT_ID --admin-token TOKEN
    authflow admins add EMAIL
    authflow api-keys create NAME | list | revoke NAME
    authflow webhooks deliveries WEBHOOK_ID [--limit 50]

Local stack: http://127.0.0.1:3000 (AUTHFLOW_URL or AUTHFLOW_PORT).
AWS: --stack-name NAME (AUTHFLOW_STACK_NAME), with --profile / --region or the usual AWS settings.
Every command takes --json for scripts; tables and progress go to a terminal.
"""

import contextlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from authflow.status.api_keys import ApiKeyNameTaken
from authflow_cli.sources import AdminRequest, AwsSource, LocalSource, NoSuchUser, SourceError, default_url
from infra.console.formatting import compact, event_summary, execution_name, format_duration, format_time

STATUS_STYLE = {
    "SUCCEEDED": "bold green",
    "succeeded": "green",
    "RUNNING": "bold blue",
    "running": "blue",
    "waiting": "bold blue",
    "FAILED": "bold red",
    "failed": "bold red",
    "TIMED_OUT": "bold yellow",
    "ABORTED": "bold yellow",
    "caught": "yellow",
    "ACTIVE": "bold green",
    "EXPIRED": "bold yellow",
    "INVITED": "blue",
    "MFA_PENDING": "blue",
    "CREATED": "blue",
    "delivered": "green",
    "pending": "blue",
}
STEP_MARK = {"succeeded": "✔", "caught": "↯", "failed": "✖", "waiting": "⏸", "running": "▶"}

app = typer.Typer(
    help="Inspect authflow's executions, events and users: on the local stack, or in AWS with --stack-name.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
executions_app = typer.Typer(help="Step Functions executions: list them, show one's path and history.", no_args_is_help=True)
events_app = typer.Typer(help="Lifecycle events put on the event bus.", no_args_is_help=True)
users_app = typer.Typer(help="Users: onboarding status; an operator's MFA reset and sign-out.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Webhook deliveries, read from the status table.", no_args_is_help=True)
app.add_typer(executions_app, name="executions")
app.add_typer(events_app, name="events")
admins_app = typer.Typer(
    help="Members of the admins group: they manage webhooks, read any onboarding, delete any user.", no_args_is_help=True
)
app.add_typer(users_app, name="users")
app.add_typer(admins_app, name="admins")
app.add_typer(webhooks_app, name="webhooks")
api_keys_app = typer.Typer(
    help="The front ends' API keys (x-api-key): stored hashed, shown once at creation, revoked by name.", no_args_is_help=True
)
app.add_typer(api_keys_app, name="api-keys")

out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False)

Url = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="Base URL of the local stack. \\[env: AUTHFLOW_URL; default http://127.0.0.1:$AUTHFLOW_PORT or :3000]",
        show_default=False,
        rich_help_panel="Target",
    ),
]
StackName = Annotated[
    str | None,
    typer.Option(
        "--stack-name",
        help="Read this deployed CloudFormation stack in AWS instead of the local stack. \\[env: AUTHFLOW_STACK_NAME]",
        show_default=False,
        rich_help_panel="Target",
    ),
]
Profile = Annotated[
    str | None,
    typer.Option("--profile", help="AWS profile (with --stack-name). \\[env: AWS_PROFILE]", show_default=False, rich_help_panel="Target"),
]
Region = Annotated[
    str | None,
    typer.Option("--region", help="AWS region (with --stack-name). \\[env: AWS_REGION]", show_default=False, rich_help_panel="Target"),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts) instead of tables.")]


@dataclass
class Target:
    url: str | None = None
    stack_name: str | None = None
    profile: str | None = None
    region: str | None = None

    def merged(self, **given) -> "Target":
        return Target(**{k: given.get(k) if given.get(k) is not None else getattr(self, k) for k in self.__dataclass_fields__})

    def source(self, log_group: str | None = None):
        if self.stack_name:
            return AwsSource(self.stack_name, self.profile, self.region, log_group)
        return LocalSource(url=self.url or default_url())


@app.callback()
def root(
    ctx: typer.Context,
    url: Annotated[str | None, typer.Option("--url", envvar="AUTHFLOW_URL", show_default=False, hidden=True)] = None,
    stack_name: Annotated[str | None, typer.Option("--stack-name", envvar="AUTHFLOW_STACK_NAME", show_default=False, hidden=True)] = None,
    profile: Annotated[str | None, typer.Option("--profile", show_default=False, hidden=True)] = None,
    region: Annotated[str | None, typer.Option("--region", show_default=False, hidden=True)] = None,
) -> None:
    """Target options go before or after the command: `authflow --stack-name S executions list` or
    `authflow executions list --stack-name S`."""
    ctx.obj = Target(url, stack_name, profile, region)


def _target(ctx: typer.Context, **given) -> Target:
    base = ctx.find_root().obj if isinstance(ctx.find_root().obj, Target) else Target()
    return base.merged(**given)


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]Error:[/] {escape(message)}")
    raise typer.Exit(code)


def _print_json(data) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _status(text: str) -> Text:
    return Text(text.replace("_", " "), style=STATUS_STYLE.get(text, ""))


def _read_one(target: Target, doing: str, read, missing: str, quiet: bool):
    """What read(source) finds, with a spinner meanwhile; exits with the source's error (2), or with
    missing (1, {label} the source's name) when there is nothing."""
    try:
        source = target.source()
        with _progress(doing, quiet):
            found = read(source)
    except SourceError as error:
        _fail(str(error), 2)
    if found is None:
        _fail(missing.format(label=source.label))
    return found


class _progress:
    """A spinner on stderr while the CLI waits for an answer (only on a terminal, never with --json)."""

    def __init__(self, message: str, quiet: bool):
        self.status = None if quiet or not err.is_terminal else err.status(message, spinner="dots")

    def __enter__(self):
        if self.status:
            self.status.__enter__()
        return self

    def __exit__(self, *exc):
        if self.status:
            self.status.__exit__(*exc)
        return False


# ------------------------------------------------------------------------------------------ executions


@executions_app.command("list")
def executions_list(
    ctx: typer.Context,
    state_machine: Annotated[
        str | None, typer.Option("--state-machine", "-m", help="Only this state machine (logical id, name or ARN).")
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(
            "--status", help="Only executions with this status: RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED.", case_sensitive=False
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many, newest first.")] = 50,
    as_json: Json = False,
    url: Url = None,
    stack_name: StackName = None,
    profile: Profile = None,
    region: Region = None,
) -> None:
    """List executions of every state machine of the stack, newest first."""
    target = _target(ctx, url=url, stack_name=stack_name, profile=profile, region=region)
    try:
        source = target.source()
        with _progress(f"Listing executions of {source.label}…", as_json):
            rows, notes = source.executions(state_machine, status.upper() if status else None, limit)
    except SourceError as error:
        _fail(str(error), 2)
    if as_json:
        _print_json(rows)
        for note in notes:
            err.print(f"[yellow]note:[/] {escape(note)}")
        return
    table = Table(title=f"Executions · {escape(source.label)}", title_justify="left", header_style="bold", expand=False)
    table.add_column("Name", style="cyan", no_wrap=True, overflow="fold")
    table.add_column("State machine")
    table.add_column("Status")
    table.add_column("Started", no_wrap=True)
    table.add_column("Duration", justify="right", no_wrap=True)
    for row in rows:
        table.add_row(
            escape(row["name"]),
            Text(row["state_machine"]) + Text(f" {row.get('type', '').lower()}", style="dim"),
            _status(row["status"]),
            format_time(row["start"]),
            format_duration(row["duration_s"]) if row["duration_s"] is not None else Text("running", style="dim"),
        )
    if rows:
        out.print(table)
    else:
        out.print("No executions" + (" match these filters." if state_machine or status else " yet."))
    for note in notes:
        err.print(f"[yellow]note:[/] {escape(note)}")
    if rows:
        out.print(Text(f"{len(rows)} execution{'s' if len(rows) != 1 else ''}. Show one with: authflow executions show NAME", style="dim"))


@executions_app.command("show")
def executions_show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The execution's name (an onboarding is named after its user id) or ARN.")],
    state_machine: Annotated[str | None, typer.Option("--state-machine", "-m", help="Look only in this state machine.")] = None,
    history: Annotated[bool, typer.Option("--history/--no-history", help="Show the event history table.")] = True,
    as_json: Json = False,
    url: Url = None,
    stack_name: StackName = None,
    profile: Profile = None,
    region: Region = None,
) -> None:
    """Show an execution: its status, the path it took (where it waits or failed) and its history."""
    target = _target(ctx, url=url, stack_name=stack_name, profile=profile, region=region)
    view = _read_one(
        target,
        f"Reading execution {name}…",
        lambda source: source.execution(name, state_machine),
        f"No execution named {name} in {{label}}. List them with: authflow executions list",
        as_json,
    )
    if as_json:
        _print_json(view)
        return
    _print_execution(view, history)


def _print_execution(view: dict, with_history: bool = True) -> None:
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    facts.add_row("Status", _status(view["status"]))
    facts.add_row(
        "State machine",
        Text(f"{view['state_machine']} ") + Text(f"({view.get('type', '').lower()}, {view.get('state_machine_id', '')})", style="dim"),
    )
    facts.add_row("Started", format_time(view.get("start")))
    facts.add_row("Stopped", format_time(view.get("stop")))
    facts.add_row("Duration", format_duration(view.get("duration_s")) if view.get("duration_s") is not None else "running")
    if view.get("outcome"):
        facts.add_row("Outcome", Text(view["outcome"], style="bold"))
    if view.get("current"):
        facts.add_row("Waiting at", Text(", ".join(view["current"]), style="bold blue"))
    if view.get("failed_states"):
        facts.add_row("Failed at", Text(", ".join(view["failed_states"]), style="bold red"))
    if view.get("error"):
        facts.add_row("Error", Text(str(view["error"]), style="red"))
    if view.get("cause"):
        facts.add_row("Cause", Text(compact(view["cause"], 300)))
    facts.add_row("ARN", Text(view["arn"], style="dim"))
    out.print(
        Panel(
            facts,
            title=f"[bold]{escape(view['name'])}[/]",
            title_align="left",
            border_style=STATUS_STYLE.get(view["status"], "white").replace("bold ", ""),
        )
    )

    path = Table(title="Path taken", title_justify="left", header_style="bold", show_edge=False, box=None, padding=(0, 1))
    path.add_column("", no_wrap=True)
    path.add_column("State", no_wrap=True)
    path.add_column("Type")
    path.add_column("Status")
    path.add_column("Duration", justify="right")
    path.add_column("Error")
    for step in view.get("steps", view.get("path", [])):
        status = step.get("status", "")
        path.add_row(
            Text(STEP_MARK.get(status, "·"), style=STATUS_STYLE.get(status, "")),
            escape(str(step["state"])),
            step.get("type", ""),
            _status(status),
            format_duration(step["duration_ms"] / 1000) if step.get("duration_ms") is not None else "",
            Text(str(step.get("error") or ""), style="red"),
        )
    out.print(path)
    if not view.get("steps"):
        out.print(Text("No state entered yet.", style="dim"))
    if not with_history:
        return
    table = Table(title=f"Event history ({len(view['history'])} events)", title_justify="left", header_style="bold")
    table.add_column("ID", justify="right")
    table.add_column("Type", no_wrap=True)
    table.add_column("State")
    table.add_column("Elapsed", justify="right", no_wrap=True)
    table.add_column("Details", overflow="fold")
    for event in view["history"]:
        failed = event["type"].endswith(("Failed", "TimedOut", "Aborted"))
        table.add_row(
            str(event["id"]),
            Text(event["type"], style="red" if failed else ""),
            escape(event.get("state") or ""),
            f"{event['elapsed_ms']} ms" if event.get("elapsed_ms") is not None else "",
            escape(_history_detail(event)),
        )
    out.print(table)


def _history_detail(event: dict) -> str:
    """The error or the resource of a history event, else its (masked) input or output, shortened."""
    summary = event_summary(event)
    if summary:
        return summary
    detail = event.get("detail") or {}
    for key in ("input", "output"):
        if detail.get(key) is not None:
            value = detail[key]
            with contextlib.suppress(ValueError):
                value = json.loads(value) if isinstance(value, str) else value
            return f"{key} {compact(value, 110)}"
    return ""


# ------------------------------------------------------------------------------------------ events


def _event_row(event: dict) -> tuple:
    detail = event.get("detail") or {}
    rest = {k: v for k, v in detail.items() if k not in ("event_id", "occurred_at", "user_id", "request_id", "execution_arn")}
    return (
        format_time(detail.get("occurred_at") or event.get("time")),
        event.get("detail-type", ""),
        detail.get("user_id") or "",
        execution_name(detail.get("execution_arn")) or "",
        compact(rest, 80) if rest else "",
    )


def _events_table(events: list[dict], title: str) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("Time", no_wrap=True)
    table.add_column("Type", style="bold", no_wrap=True)
    table.add_column("User", style="cyan", no_wrap=True, min_width=36)
    table.add_column("Execution", no_wrap=True, min_width=36)
    table.add_column("Detail", overflow="fold")
    for event in events:
        time_text, kind, user, execution, rest = _event_row(event)
        table.add_row(time_text, Text(kind, style="red" if kind.endswith(("Failed", "Expired")) else ""), user, execution, escape(rest))
    return table


@events_app.command("tail")
def events_tail(
    ctx: typer.Context,
    user_id: Annotated[str | None, typer.Option("--user-id", "-u", help="Only this user's events.")] = None,
    detail_type: Annotated[str | None, typer.Option("--type", "-t", help="Only events of this type (UserCreated, LoginFailed, …).")] = None,
    lines: Annotated[int, typer.Option("--lines", "-n", min=0, help="How many of the latest events to show first.")] = 20,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new events as they arrive (Ctrl-C stops).")] = False,
    interval: Annotated[float, typer.Option("--interval", min=0.2, help="Seconds between polls with --follow.")] = 1.0,
    timeout: Annotated[float | None, typer.Option("--timeout", min=0, help="Stop following after this many seconds.")] = None,
    log_group: Annotated[
        str | None,
        typer.Option("--log-group", help="With --stack-name: the CloudWatch log group holding the bus's events.", rich_help_panel="Target"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON: an array, or one event per line with --follow.")] = False,
    url: Url = None,
    stack_name: StackName = None,
    profile: Profile = None,
    region: Region = None,
) -> None:
    """Show the latest lifecycle events, and follow new ones with --follow."""
    target = _target(ctx, url=url, stack_name=stack_name, profile=profile, region=region)
    try:
        source = target.source(log_group)
        with _progress(f"Reading events of {source.label}…", as_json):
            events = source.events(user_id, detail_type)
    except SourceError as error:
        _fail(str(error), 2)
    latest = events[-lines:] if lines else []
    seen = {_event_key(e) for e in events}
    if as_json and not follow:
        _print_json(latest)
        return
    if as_json:
        for event in latest:
            _print_line(event)
    elif latest or not follow:
        if latest:
            out.print(_events_table(latest, f"Events · {escape(source.label)}"))
        else:
            out.print("No events" + (" match these filters." if user_id or detail_type else " yet."))
    if not follow:
        return
    if not as_json:
        err.print(Text(f"Following new events of {source.label}; Ctrl-C stops.", style="dim"))
    deadline = time.monotonic() + timeout if timeout is not None else None
    newest = max((_epoch_of(e) for e in events), default=time.time() - 60)
    try:
        while deadline is None or time.monotonic() < deadline:
            time.sleep(interval if deadline is None else max(0.0, min(interval, deadline - time.monotonic())))
            try:
                fresh = source.events(user_id, detail_type, since=newest - 5 if isinstance(source, AwsSource) else None)
            except SourceError as error:
                _fail(str(error), 2)
            for event in fresh:
                key = _event_key(event)
                if key in seen:
                    continue
                seen.add(key)
                newest = max(newest, _epoch_of(event))
                if as_json:
                    _print_line(event)
                else:
                    time_text, kind, user, execution, rest = _event_row(event)
                    line = Text(f"{time_text}  ") + Text(
                        f"{kind:<22}", style="bold red" if kind.endswith(("Failed", "Expired")) else "bold"
                    )
                    line += (
                        Text(f" {user}", style="cyan")
                        + Text(f" {execution}" if execution and execution != user else "")
                        + Text(f"  {rest}", style="dim")
                    )
                    out.print(line)
    except KeyboardInterrupt:
        pass


def _event_key(event: dict) -> str:
    return str(event.get("id") or (event.get("detail") or {}).get("event_id") or json.dumps(event, sort_keys=True, default=str))


def _epoch_of(event: dict) -> float:
    from authflow_cli.sources import _epoch

    return _epoch(event.get("time"))


def _print_line(event: dict) -> None:
    sys.stdout.write(json.dumps(event, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


# ------------------------------------------------------------------------------------------ users


@users_app.command("status")
def users_status(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(help="The user's id, as POST /v1/users returned it.")],
    as_json: Json = False,
    url: Url = None,
    stack_name: StackName = None,
    profile: Profile = None,
    region: Region = None,
) -> None:
    """Show a user's onboarding status, its steps and where their execution stands."""
    target = _target(ctx, url=url, stack_name=stack_name, profile=profile, region=region)
    try:
        source = target.source()
        with _progress(f"Reading user {user_id}…", as_json):
            status = source.user_status(user_id)
            execution = None
            if status and status.get("execution"):
                try:
                    execution = source.execution(status["execution"]["name"])
                except SourceError:
                    execution = None
    except SourceError as error:
        _fail(str(error), 2)
    if status is None:
        _fail(f"No user {user_id} in {source.label}.")
    if as_json:
        _print_json(status)
        return
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    facts.add_row("Status", _status(str(status.get("status"))))
    facts.add_row("Updated", format_time(status.get("updated_at")))
    if status.get("execution"):
        line = Text(status["execution"]["name"], style="cyan")
        if execution:
            line += Text("  ") + _status(execution["status"])
            if execution.get("current"):
                line += Text(f"  waiting at {', '.join(execution['current'])}", style="blue")
            if execution.get("failed_states"):
                line += Text(f"  failed at {', '.join(execution['failed_states'])}", style="red")
        facts.add_row("Execution", line)
    out.print(Panel(facts, title=f"[bold]User {escape(user_id)}[/]", title_align="left"))
    steps = Table(title="Onboarding steps", title_justify="left", header_style="bold")
    steps.add_column("Step", no_wrap=True)
    steps.add_column("Status")
    steps.add_column("At", no_wrap=True)
    for step in status.get("steps", []):
        steps.add_row(escape(str(step.get("name"))), _status(str(step.get("status", ""))), format_time(step.get("at")))
    out.print(steps)
    if status.get("execution"):
        out.print(Text(f"Its path and history: authflow executions show {status['execution']['name']}", style="dim"))


AdminToken = Annotated[
    str,
    typer.Option(
        "--admin-token",
        envvar="AUTHFLOW_ADMIN_TOKEN",
        help="An admin's access token (POST /v1/login, then /v1/mfa-verify). \\[env: AUTHFLOW_ADMIN_TOKEN]",
        show_default=False,
    ),
]


def _operate(ctx: typer.Context, path: str, admin_token: str, request: AdminRequest | None = None, **given) -> tuple[dict, str]:
    """Calls an admin route of the target's API; its answer and the target's label."""
    target = _target(ctx, **given)
    try:
        source = target.source()
        return source.operate(path, admin_token, request), source.label
    except NoSuchUser as missing:
        _fail(str(missing))
    except SourceError as error:
        _fail(str(error), 2)
    raise AssertionError("unreachable: _fail exits")


@users_app.command("mfa-reset")
def users_mfa_reset(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(help="The user's id.")],
    admin_token: AdminToken,
    as_json: Json = False,
    url: Url = None,
    stack_name: StackName = None,
    profile: Profile = None,
    region: Region = None,
) -> None:
    """Remove a user's authenticator and recovery codes and end their sessions (POST /v1/users/{id}/mfa-reset).

    Their next sign-in mails them a link to a new authenticator's QR code."""
    answer, label = _operate(
        ctx, f"/users/{user_id}/mfa-reset", admin_token, url=url, stack_name=stack_name, profile=profile, region=region
    )
    if as_json:
        _print_json(answer)
        return
    out.print(f"User {escape(user_id)}'s authenticator was removed in {label}; every session ended.")
    out.print(Text("Their next sign-in answers MFA_ENROLMENT_REQUIRED and mails them a new QR code's link.", style="dim"))


@users_app.command("import")
def users_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A .csv file (header full_name,email,mobile_phone_number) or JSON lines.", exists=True)],
    admin_token: AdminToken,
    idempotency_key: Annotated[str | None, typer.Option("--idempotency-key", help="The same key and file again: the same import.")] = None,
    as_json: Json = False,
    url: Url = None,
    stack_name: StackName = None,
    profile: Profile = None,
    region: Region = None,
) -> None:
    """Onboard up to 10 000 users from a file (POST /v1/user-imports); follow it with users import-status."""
    media_type = "text/csv" if file.suffix.lower() == ".csv" else "application/x-ndjson"
    headers = (("content-type", media_type),) + ((("idempotency-key", idempotency_key),) if idempotency_key else ())
    request = AdminRequest(body=file.read_bytes(), headers=headers)
    answer, label = _operate(ctx, "/user-imports", admin_token, request, url=url, stack_name=stack_name, profile=profile, region=region)
    if as_json:
        _print_json(answer)
        return
    out.print(f"Import {answer['import_id']} queued in {label}: {answer['queued']} of {answer['rows']} rows, {answer['invalid']} invalid.")
    out.print(Text(f"Follow it: authflow users import-status {answer['import_id']}", style="dim"))


@users_app.command("import-status")
def users_import_status(
    ctx: typer.Context,
    import_id: Annotated[str, typer.Argument(help="The id users import (POST /v1/user-imports) answered.")],
    admin_token: AdminToken,
    as_json: Json = False,
    url: Url = None,
    stack_name: StackName = None,
    profile: Profile = None,
    region: Region = None,
) -> None:
    """An import's counts and its invalid or failed rows (GET /v1/user-imports/{id})."""
    request = AdminRequest(method="GET", body=None, headers=())
    answer, label = _operate(
        ctx, f"/user-imports/{import_id}", admin_token, request, url=url, stack_name=stack_name, profile=profile, region=region
    )
    if as_json:
        _print_json(answer)
        return
    counts = answer["counts"]
    out.print(f"Import {escape(import_id)} in {label}: {answer['status']}, {answer['rows']} rows")
    out.print(", ".join(f"{name} {counts[name]}" for name in ("queued", "created", "duplicate", "invalid", "failed")))
    if answer["problems"]:
        table = Table("row", "email", "reason", title="Invalid or failed rows")
        for problem in answer["problems"]:
            table.add_row(str(problem["row"]), escape(problem["email"] or ""), problem["reason"])
        out.print(table)


@users_app.command("sign-out")
def users_sign_out(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(help="The user's id.")],
    admin_token: AdminToken,
    as_json: Json = False,
    url: Url = None,
    stack_name: StackName = None,
    profile: Profile = None,
    region: Region = None,
) -> None:
    """End every session of a user: all their refresh tokens are revoked (POST /v1/users/{id}/sign-out)."""
    answer, label = _operate(ctx, f"/users/{user_id}/sign-out", admin_token, url=url, stack_name=stack_name, profile=profile, region=region)
    if as_json:
        _print_json(answer)
        return
    out.print(f"Every session of user {escape(user_id)} ended in {label}.")


@admins_app.command("add")
def admins_add(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The email of a user who finished onboarding.")],
    as_json: Json = False,
    url: Url = None,
    stack_name: StackName = None,
    profile: Profile = None,
    region: Region = None,
) -> None:
    """Make a user an admin (Cognito's AdminAddUserToGroup): their access token then opens the admin routes."""
    target = _target(ctx, url=url, stack_name=stack_name, profile=profile, region=region)
    try:
        source = target.source()
        user_id = source.add_admin(email)
    except NoSuchUser as missing:
        _fail(str(missing))
    except SourceError as error:
        _fail(str(error), 2)
    if as_json:
        _print_json({"user_id": user_id, "email": email.strip().lower(), "admin": True})
        return
    out.print(f"{escape(email)} (user {user_id}) is an admin in {source.label}.")
    out.print(Text("Their access token (POST /v1/login, then /v1/mfa-verify) now opens the admin routes.", style="dim"))


@api_keys_app.command("create")
def api_keys_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="What the key is for (lower-case letters, digits, dashes): the web shop, a back office...")],
    as_json: Json = False,
    url: Url = None,
    stack_name: StackName = None,
    profile: Profile = None,
    region: Region = None,
) -> None:
    """Create an API key and print it, the only time it is shown: only its SHA-256 is stored."""
    target = _target(ctx, url=url, stack_name=stack_name, profile=profile, region=region)
    try:
        source = target.source()
        key = source.api_keys(f"Creating API key {name}", "create", name)
    except ApiKeyNameTaken:
        _fail(f"An API key named {name} exists. Revoke it first (authflow api-keys revoke {name}) or choose another name.")
    except ValueError as invalid:
        _fail(str(invalid))
    except SourceError as error:
        _fail(str(error), 2)
    if as_json:
        _print_json({"name": name, "key": key})
        return
    out.print(f"API key {escape(name)} for {source.label}:")
    out.print(key, soft_wrap=True)
    out.print(Text("Send it as the x-api-key header. It is not stored anywhere: copy it now.", style="dim"))


@api_keys_app.command("list")
def api_keys_list(
    ctx: typer.Context,
    as_json: Json = False,
    url: Url = None,
    stack_name: StackName = None,
    profile: Profile = None,
    region: Region = None,
) -> None:
    """List the API keys by name (the keys themselves cannot be shown: only their digests are stored)."""
    target = _target(ctx, url=url, stack_name=stack_name, profile=profile, region=region)
    try:
        source = target.source()
        entries = source.api_keys("Listing API keys", "entries")
    except SourceError as error:
        _fail(str(error), 2)
    rows = [{"name": e.name, "created_at": e.created_at, "digest_prefix": e.digest_prefix} for e in entries]
    if as_json:
        _print_json(rows)
        return
    table = Table(title=f"API keys · {escape(source.label)}", title_justify="left", header_style="bold")
    for column in ("Name", "Created", "SHA-256 (start)"):
        table.add_column(column)
    for row in rows:
        table.add_row(escape(row["name"]), row["created_at"], Text(row["digest_prefix"], style="dim"))
    out.print(table if rows else "No API keys.")


@api_keys_app.command("revoke")
def api_keys_revoke(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The key's name, as `authflow api-keys list` shows it.")],
    as_json: Json = False,
    url: Url = None,
    stack_name: StackName = None,
    profile: Profile = None,
    region: Region = None,
) -> None:
    """Revoke an API key: refused at once by new API function instances, within a minute by warm ones."""
    target = _target(ctx, url=url, stack_name=stack_name, profile=profile, region=region)
    try:
        source = target.source()
        revoked = source.api_keys(f"Revoking API key {name}", "revoke", name)
    except SourceError as error:
        _fail(str(error), 2)
    if not revoked:
        _fail(f"No API key named {name}. List them with: authflow api-keys list")
    if as_json:
        _print_json({"name": name, "revoked": True})
        return
    out.print(f"API key {escape(name)} revoked in {source.label}; warm API functions refuse it within a minute.")


@webhooks_app.command("deliveries")
def webhooks_deliveries(
    ctx: typer.Context,
    webhook_id: Annotated[str, typer.Argument(help="The webhook's id, as POST /v1/webhooks returned it.")],
    limit: Annotated[int, typer.Option("--limit", min=1, max=100, help="How many of the latest events.")] = 50,
    as_json: Json = False,
    url: Url = None,
    stack_name: StackName = None,
    profile: Profile = None,
    region: Region = None,
) -> None:
    """Show a webhook's delivery log: per event, attempts, the last answer, the next attempt, the state."""
    target = _target(ctx, url=url, stack_name=stack_name, profile=profile, region=region)
    deliveries = _read_one(
        target,
        f"Reading the deliveries of webhook {webhook_id}…",
        lambda source: source.webhook_deliveries(webhook_id, limit),
        f"No webhook {webhook_id} in {{label}}.",
        as_json,
    )
    if as_json:
        _print_json(deliveries)
        return
    table = Table(title=f"Deliveries of webhook {escape(webhook_id)}", title_justify="left", header_style="bold")
    for column in ("Event", "Type", "Occurred", "State", "Attempts", "Last status", "Latency", "Next attempt", "Last error"):
        table.add_column(column, no_wrap=column not in ("Last error",))
    for d in deliveries:
        table.add_row(
            escape(str(d.get("event_id"))),
            escape(str(d.get("event_type"))),
            format_time(d.get("occurred_at")),
            _status(str(d.get("state"))),
            str(d.get("attempts")),
            str(d.get("last_status_code") or "—"),
            f"{d['last_latency_ms']} ms" if d.get("last_latency_ms") is not None else "—",
            format_time(d.get("next_attempt_at")) if d.get("next_attempt_at") else "—",
            escape(str(d.get("last_error") or "")),
        )
    out.print(table)


def main() -> None:
    app(prog_name="authflow")


if __name__ == "__main__":
    main()
