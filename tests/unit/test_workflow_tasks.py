"""The task payloads of workflows/*.asl.json against the task functions that receive them.

Every task state names its task and passes its own name (`"state.$": "$$.State.Name"`), which the
onboarding status route shows as the step: renaming a state renames the step, nothing to retype.
Every task name a state machine sends is one its use case dispatches (one mapping per use case),
every dispatched name is sent by some state, and the payload model accepts exactly these names.
"""

from collections.abc import Mapping
from typing import Any, get_args

import pytest
from pydantic import BaseModel

from authflow.models import OnboardingTask, PasswordResetTask
from authflow.onboarding import Onboarding
from authflow.passwords import Passwords
from tests.support import asl

TASK_FUNCTIONS: dict[str, tuple[Mapping[str, Any], type[BaseModel]]] = {
    "onboarding": (Onboarding.TASKS, OnboardingTask),
    "password_reset": (Passwords.TASKS, PasswordResetTask),
}
DEFINITIONS = asl.definitions()


def test_every_state_machine_has_its_task_function() -> None:
    assert set(DEFINITIONS) == {*TASK_FUNCTIONS, "login"}


def test_the_login_workflow_calls_cognito_itself_with_no_task_function() -> None:
    """Issue 13 item 3: no Lambda Invoke on a login step's path (its secrets go straight to Cognito)."""
    assert asl.task_payloads(DEFINITIONS["login"]) == {}


@pytest.mark.parametrize("machine", sorted(TASK_FUNCTIONS))
def test_every_task_state_passes_its_name_and_a_dispatched_task(machine: str) -> None:
    tasks, payload_model = TASK_FUNCTIONS[machine]
    payloads = asl.task_payloads(DEFINITIONS[machine])
    assert payloads, f"{machine} has no task state"
    for state, payload in payloads.items():
        assert payload.get("state.$") == "$$.State.Name", f"{machine}.{state} does not pass its state name"
        assert payload.get("task") in tasks, f"{machine}.{state} sends a task its use case does not dispatch"
    sent = {payload["task"] for payload in payloads.values()}
    assert sent == set(tasks), f"{machine}: tasks dispatched but never sent: {set(tasks) - sent}"
    assert set(get_args(payload_model.model_fields["task"].annotation)) == set(tasks)
