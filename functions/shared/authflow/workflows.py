"""Step Functions as the API and the tasks use it: start, run synchronously, resume, stop."""

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, SecretStr

from authflow.aws import client, error_code, raise_transient
from authflow.models import IN_FLIGHT
from authflow.observability import logger

# Answers to a token the other side already used; both the API and a task may signal once in a race.
_STALE_TOKEN_CODES = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})


def execution_arn(state_machine_arn: str, name: str) -> str:
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"


class Workflows:
    @property
    def _sfn(self) -> Any:
        return client("stepfunctions")

    def start(self, state_machine_arn: str, name: str, execution_input: BaseModel) -> str:
        """Starts the named execution; a Standard execution of that name already running counts as started."""
        try:
            return self._sfn.start_execution(
                stateMachineArn=state_machine_arn, name=name, input=execution_input.model_dump_json(exclude_none=True)
            )["executionArn"]
        except ClientError as error:
            if error_code(error) == "ExecutionAlreadyExists":
                return execution_arn(state_machine_arn, name)
            raise_transient(error, "The workflow service")
            raise

    def run_sync(self, state_machine_arn: str, execution_input: BaseModel, what: str) -> dict:
        """Runs an Express execution to its end; its status, output and error. what names it in a TransientError.

        The input is dumped IN_FLIGHT: a login step's secrets go to the execution (SPEC section 3), and
        only there."""
        try:
            return self._sfn.start_sync_execution(
                stateMachineArn=state_machine_arn, input=execution_input.model_dump_json(context=IN_FLIGHT, exclude_none=True)
            )
        except Exception as error:
            raise_transient(error, what)
            raise

    def resume(self, token: SecretStr, output: dict) -> None:
        """Lets a waiting execution go on; a token already used is not an error."""
        self._send(token, lambda sfn, raw: sfn.send_task_success(taskToken=raw, output=json.dumps(output)))

    def heartbeat(self, token: SecretStr) -> None:
        """Restarts a waiting task's heartbeat timeout."""
        self._send(token, lambda sfn, raw: sfn.send_task_heartbeat(taskToken=raw))

    def cancel(self, token: SecretStr, error: str, cause: str) -> None:
        """Ends a waiting task with an error the state machine catches."""
        self._send(token, lambda sfn, raw: sfn.send_task_failure(taskToken=raw, error=error, cause=cause))

    def _send(self, token: SecretStr, call: Callable[[Any, str], Any]) -> None:
        try:
            call(self._sfn, token.get_secret_value())
        except ClientError as error:
            if error_code(error) not in _STALE_TOKEN_CODES:
                raise_transient(error, "The workflow service")
                raise
            logger.info("task token already used")

    def stop(self, arn: str, error: str, cause: str) -> None:
        try:
            self._sfn.stop_execution(executionArn=arn, error=error, cause=cause)
        except ClientError as error_:
            if error_code(error_) != "ExecutionDoesNotExist":
                raise_transient(error_, "The workflow service")
                raise
