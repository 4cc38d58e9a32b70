"""What an operator reads of an execution: its masked history, the steps and path it took, and the
status of each state in its graph (succeeded, caught, failed, waiting, running, not run).

Input is what Step Functions answers (DescribeExecution, GetExecutionHistory, the definition), from
moto locally or from AWS; nothing here calls a service.
"""

import json
import re
from datetime import datetime

from infra.console.graph import END, START, Graph, state_graph, state_key

_SECRET_KEYS = re.compile(r"(token|password|secret|session|otp|code|authorization|api_?key|credential|private_?key)", re.IGNORECASE)
# Field names that match the pattern above and are known not to hold a secret.
_NOT_SECRET = frozenset({"StatusCode", "status_code", "statusCode", "error_code", "errorCode"})
MASK = "***"

TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")
_FAILURE_SUFFIXES = ("Failed", "TimedOut", "Aborted")
_SCHEDULED = ("TaskScheduled", "ActivityScheduled", "LambdaFunctionScheduled")


def mask(value):
    """Hides secret-named fields (a task token in a TaskScheduled event, say) wherever they appear,
    also inside strings that hold JSON (a state's input, a task's parameters)."""
    if isinstance(value, dict):
        return {
            k: MASK if (_SECRET_KEYS.search(str(k)) and k not in _NOT_SECRET and v not in (None, "")) else mask(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask(v) for v in value]
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.dumps(mask(json.loads(value)))
        except ValueError:
            return value
    return value


def masked_data(value):
    """A state's input or output as data (JSON text parsed), masked; None stays None."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return mask(value)


def _datetime(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def iso(value) -> str | None:
    moment = _datetime(value)
    return moment.isoformat() if moment else (str(value) if value is not None else None)


def seconds_between(start, stop) -> float | None:
    start, stop = _datetime(start), _datetime(stop)
    if start is None or stop is None:
        return None
    return round((stop - start).total_seconds(), 3)


def state_machine_name(arn: str) -> str:
    return arn.rsplit(":", 1)[1]


def execution_row(item: dict, state_machine_id: str, state_machine_type: str) -> dict:
    """One line of the executions list, from a ListExecutions item."""
    stop = item.get("stopDate")
    return {
        "name": item["name"],
        "state_machine": state_machine_name(item["stateMachineArn"]),
        "status": item["status"],
        "start": iso(item["startDate"]),
        "duration_s": seconds_between(item["startDate"], stop) if stop else None,
        "stop": iso(stop),
        "arn": item["executionArn"],
        "state_machine_id": state_machine_id,
        "type": state_machine_type,
    }


def _details(event: dict) -> dict:
    return next((v for k, v in event.items() if k.endswith("EventDetails")), {}) or {}


def _is_state_failure(event_type: str) -> bool:
    return event_type.endswith(_FAILURE_SUFFIXES) and not event_type.startswith(("Execution", "MapRun"))


def walk(history: list[dict], execution_status: str) -> tuple[list[dict], list[dict]]:
    """The steps (one per state entered) and the masked history with each event's state.

    A step's status: succeeded (exited), caught (exited after a failure its Catch handled), failed
    (a Fail state, or where the execution stopped), waiting (for a task token or a Wait state),
    running (entered, not yet exited)."""
    events = sorted(history, key=lambda e: e["id"])
    start = events[0]["timestamp"] if events else None
    steps: list[dict] = []
    open_steps: list[dict] = []
    rows: list[dict] = []
    for event in events:
        kind = event["type"]
        details = _details(event)
        state = open_steps[-1]["state"] if open_steps else None
        if kind.endswith("StateEntered"):
            step = {
                "state": details.get("name"),
                "type": kind.removesuffix("StateEntered") or "State",
                "status": "running",
                "entered": iso(event["timestamp"]),
                "exited": None,
                "duration_ms": None,
                "input": masked_data(details.get("input")),
                "output": None,
                "error": None,
                "cause": None,
                "attempts": 0,
                "parameters": None,
                "_callback": False,
                "_submitted": False,
                "_failed": False,
            }
            steps.append(step)
            open_steps.append(step)
            state = step["state"]
        elif kind.endswith("StateExited"):
            state = details.get("name")
            exited = next((s for s in reversed(open_steps) if s["state"] == state), None)
            if exited is not None:
                open_steps.remove(exited)
                exited["exited"] = iso(event["timestamp"])
                exited["duration_ms"] = _ms(exited["entered"], exited["exited"])
                exited["output"] = masked_data(details.get("output"))
                exited["status"] = "caught" if exited["_failed"] else "succeeded"
        elif open_steps:
            step = open_steps[-1]
            if kind in _SCHEDULED:
                step["attempts"] += 1
                step["_failed"] = False
                step["_callback"] = "waitForTaskToken" in str(details.get("resource", ""))
                step["parameters"] = masked_data(details.get("parameters"))
            elif kind == "TaskSubmitted":
                step["_submitted"] = True
            elif _is_state_failure(kind):
                step["_failed"] = True
                step["error"] = details.get("error") or kind
                step["cause"] = mask(details.get("cause"))
        if kind.startswith("Execution") and kind.endswith(_FAILURE_SUFFIXES):
            for step in open_steps:
                step["status"] = "failed"
            if open_steps and open_steps[-1]["error"] is None:
                open_steps[-1]["error"] = details.get("error") or kind
                open_steps[-1]["cause"] = mask(details.get("cause"))
        rows.append(
            {
                "id": event["id"],
                "timestamp": iso(event["timestamp"]),
                "type": kind,
                "state": state,
                "elapsed_ms": _ms(start, event["timestamp"]),
                "detail": mask(details),
            }
        )
    for step in steps:
        if step["type"] == "Fail":
            step["status"] = "failed"
        elif step["exited"] is None and step["status"] == "running":
            if execution_status == "RUNNING":
                waiting = (step["_callback"] and step["_submitted"]) or step["type"] == "Wait"
                step["status"] = "waiting" if waiting else "running"
            elif execution_status in TERMINAL and execution_status != "SUCCEEDED":
                step["status"] = "failed"
        for private in ("_callback", "_submitted", "_failed"):
            del step[private]
    return steps, rows


def _ms(start, stop) -> int | None:
    seconds = seconds_between(start, stop)
    return None if seconds is None else int(round(seconds * 1000))


def annotate(graph: Graph, steps: list[dict], execution_status: str, top_level: set[str]) -> Graph:
    """Sets each node's status from the last visit of its state, and marks the edges taken."""
    path = [s for s in steps if s["state"] in top_level]
    for step in path:
        graph.nodes[state_key(step["state"])].status = step["status"]
    if path:
        graph.nodes[START].status = "succeeded"
    if execution_status == "SUCCEEDED":
        graph.nodes[END].status = "succeeded"
    elif execution_status in TERMINAL:
        graph.nodes[END].status = "failed" if path and path[-1]["type"] == "Fail" else "not-run"
    hops = []
    if path:
        hops.append((START, state_key(path[0]["state"]), None))
    for before, after in zip(path, path[1:], strict=False):
        hops.append((state_key(before["state"]), state_key(after["state"]), before["status"]))
    if path and execution_status in TERMINAL and (execution_status == "SUCCEEDED" or path[-1]["type"] == "Fail"):
        hops.append((state_key(path[-1]["state"]), END, None))
    for source, target, source_status in hops:
        candidates = [e for e in graph.edges if e.source == source and e.target == target]
        preferred = [e for e in candidates if (e.kind == "catch") == (source_status == "caught")]
        for edge in preferred or candidates:
            edge.taken = True
    return graph


def execution_view(
    *,
    name: str,
    arn: str,
    state_machine_arn: str,
    state_machine_id: str,
    state_machine_type: str,
    definition: dict,
    history: list[dict],
    described: dict | None = None,
) -> dict:
    """Everything the console's execution page and `authflow executions show` display."""
    described = described or {}
    events = sorted(history, key=lambda e: e["id"])
    ends = {e["type"]: e for e in events if e["type"].startswith("Execution")}
    status = described.get("status")
    if not status:
        status = next(
            (
                s
                for t, s in (
                    ("ExecutionSucceeded", "SUCCEEDED"),
                    ("ExecutionFailed", "FAILED"),
                    ("ExecutionTimedOut", "TIMED_OUT"),
                    ("ExecutionAborted", "ABORTED"),
                )
                if t in ends
            ),
            "RUNNING",
        )
    start = described.get("startDate") or (events[0]["timestamp"] if events else None)
    stop = described.get("stopDate") or next(
        (ends[t]["timestamp"] for t in ("ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted") if t in ends),
        None,
    )
    steps, rows = walk(events, status)
    top_level = set(definition.get("States", {}))
    graph = annotate(state_graph(definition), steps, status, top_level)
    failure = next((_details(ends[t]) for t in ("ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted") if t in ends), {})
    started = _details(ends["ExecutionStarted"]) if "ExecutionStarted" in ends else {}
    return {
        "name": name,
        "arn": arn,
        "state_machine": state_machine_name(state_machine_arn),
        "state_machine_arn": state_machine_arn,
        "state_machine_id": state_machine_id,
        "type": state_machine_type,
        "status": status,
        "start": iso(start),
        "stop": iso(stop),
        "duration_s": seconds_between(start, stop),
        "input": masked_data(described.get("input", started.get("input"))),
        "output": masked_data(described.get("output")),
        "outcome": _outcome(masked_data(described.get("output"))),
        "error": described.get("error") or failure.get("error"),
        "cause": mask(described.get("cause") or failure.get("cause")),
        "states": list(definition.get("States", {})),
        "path": [
            {"state": s["state"], "entered": s["entered"], "exited": s["exited"], "status": s["status"], "type": s["type"]} for s in steps
        ],
        "current": [s["state"] for s in steps if s["status"] in ("waiting", "running")],
        "failed_states": [s["state"] for s in steps if s["status"] == "failed"],
        "steps": steps,
        "graph": graph.to_json(),
        "definition": definition,
        "history": rows,
    }


def _outcome(output) -> str | None:
    """What a workflow that answers a request says it decided ({"outcome": "REFUSED", "reason": ...})."""
    if isinstance(output, dict) and isinstance(output.get("outcome"), str):
        reason = output.get("reason")
        return output["outcome"] + (f" ({reason})" if isinstance(reason, str) and reason else "")
    return None


def graph_from_view(view: dict) -> Graph:
    """The annotated graph of an execution view (as execution_view made it, possibly via JSON)."""
    graph = state_graph(view["definition"])
    statuses = {n["key"]: n["status"] for n in view["graph"]["nodes"]}
    for key, node in graph.nodes.items():
        node.status = statuses.get(key, node.status)
    taken = {(e["source"], e["target"], e["kind"]) for e in view["graph"]["edges"] if e["taken"]}
    for edge in graph.edges:
        edge.taken = (edge.source, edge.target, edge.kind) in taken
    return graph
