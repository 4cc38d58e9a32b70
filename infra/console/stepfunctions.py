"""Executions through a Step Functions client: moto's locally, AWS's from the CLI.

Generic over the state machines given (logical id -> ARN). Where Step Functions cannot list a
machine's executions (an EXPRESS machine in AWS: its executions live in CloudWatch Logs only), the
machine is reported in the notes instead of failing the whole list.
"""

import json
from dataclasses import dataclass, field

from infra.console.model import execution_row, execution_view, state_machine_name


def _error_code(error: Exception) -> str:
    return getattr(error, "response", {}).get("Error", {}).get("Code", type(error).__name__)


@dataclass
class Machine:
    logical_id: str
    arn: str
    name: str
    type: str = "STANDARD"
    definition: dict = field(default_factory=dict)
    error: str | None = None

    def to_json(self) -> dict:
        return {"id": self.logical_id, "arn": self.arn, "name": self.name, "type": self.type, "error": self.error}


def describe_machines(sfn, machines: dict[str, str]) -> list[Machine]:
    described = []
    for logical_id, arn in machines.items():
        machine = Machine(logical_id, arn, state_machine_name(arn))
        try:
            answer = sfn.describe_state_machine(stateMachineArn=arn)
            machine.type = answer.get("type", "STANDARD")
            machine.definition = json.loads(answer["definition"])
        except Exception as error:
            machine.error = f"{_error_code(error)}: cannot describe this state machine"
        described.append(machine)
    return described


def select(machines: list[Machine], wanted: str | None) -> list[Machine]:
    """The machines whose logical id, name or ARN is wanted (all when wanted is empty)."""
    if not wanted:
        return machines
    return [m for m in machines if wanted in (m.logical_id, m.name, m.arn)]


def list_executions(sfn, machines: list[Machine], status: str | None = None, limit: int | None = None) -> tuple[list[dict], list[str]]:
    """Executions of the machines, newest first, and notes on what could not be listed."""
    rows: list[dict] = []
    notes: list[str] = []
    for machine in machines:
        if machine.error:
            notes.append(f"{machine.name}: {machine.error}")
            continue
        arguments = {"stateMachineArn": machine.arn, **({"statusFilter": status} if status else {})}
        found = 0
        try:
            for page in sfn.get_paginator("list_executions").paginate(**arguments):
                for item in page["executions"]:
                    rows.append(execution_row(item, machine.logical_id, machine.type))
                    found += 1
                if limit and found >= limit:  # each machine lists newest first
                    break
        except Exception as error:
            code = _error_code(error)
            if machine.type == "EXPRESS":
                notes.append(
                    f"{machine.name} is an EXPRESS state machine: Step Functions does not list its executions "
                    f"({code}); they are recorded in its CloudWatch log group."
                )
            else:
                notes.append(f"{machine.name}: executions could not be listed ({code}).")
    rows.sort(key=lambda r: r["start"] or "", reverse=True)
    return (rows[:limit] if limit else rows), notes


def _history(sfn, execution_arn: str) -> list[dict]:
    events: list[dict] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn, includeExecutionData=True):
        events.extend(page["events"])
    return events


def find_execution(sfn, machines: list[Machine], name: str) -> dict | None:
    """The execution view of the first machine that has an execution of this name (or ARN)."""
    for machine in machines:
        if machine.error:
            continue
        if name.startswith("arn:"):
            if f":{machine.name}:" not in name:
                continue
            execution_arn = name
        else:
            execution_arn = machine.arn.replace(":stateMachine:", ":execution:") + f":{name}"
        try:
            described = sfn.describe_execution(executionArn=execution_arn)
        except Exception as error:
            if _error_code(error) not in ("ExecutionDoesNotExist", "InvalidArn", "ResourceNotFound", "StateMachineTypeNotSupported"):
                raise
            continue
        return execution_view(
            name=described.get("name", name),
            arn=execution_arn,
            state_machine_arn=machine.arn,
            state_machine_id=machine.logical_id,
            state_machine_type=machine.type,
            definition=machine.definition,
            history=_history(sfn, execution_arn),
            described=described,
        )
    return None
