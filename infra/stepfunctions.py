"""Where moto's Step Functions falls short of AWS:

- StartSyncExecution, which moto lacks: starts an Express execution and answers when it ends, with
  the response shape AWS's StartSyncExecution has (status, output, error, cause, billing); moto's
  worker thread sets the ended status a moment before the output, so the answer waits for both.
- A callback task with a heartbeat: moto's interpreter arms the heartbeat after invoking the task, so
  a SendTaskSuccess that arrives during the invocation (the task resuming its own execution) is
  ignored and the task later times out on its heartbeat; AWS completes the task. The wait here looks
  at the outcome before and after each heartbeat wait.
- An aws-sdk task on Cognito user pools (the login workflow's
  `arn:aws:states:::aws-sdk:cognitoidentityprovider:adminInitiateAuth`): moto's interpreter asks boto for
  a service named `cognitoidentityprovider`, which boto calls `cognito-idp`, and names its errors
  `cognitoidentityprovider.NotAuthorizedException` where AWS says `CognitoIdentityProvider.NotAuthorizedException`
  (the name a Catch matches). Both names are taught to it here. The call reaches moto's Cognito over
  the local endpoint, so infra/cognito.py's gaps apply to it as to the API's own calls; the answer's
  keys are Cognito's (ChallengeName, AuthenticationResult.IdToken), as AWS's SDK integrations return them.
"""

import json
import math
import time
import uuid

from moto.core.responses import ActionResult
from moto.stepfunctions.exceptions import InvalidArn
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_aws_sdk
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import StateTaskService
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
    StateTaskServiceCallback,
)
from moto.stepfunctions.parser.asl.eval.callback.callback import HeartbeatTimedOut
from moto.stepfunctions.responses import StepFunctionResponse

SYNC_TIMEOUT_SECONDS = 300  # AWS's limit for a synchronous Express execution
# An aws-sdk integration's service name in a Task's Resource: (boto's service name, the prefix of its errors in AWS).
SDK_SERVICES = {"cognitoidentityprovider": ("cognito-idp", "CognitoIdentityProvider")}


def install() -> None:
    def start_sync_execution(self: StepFunctionResponse) -> ActionResult:
        arn = self._get_param("stateMachineArn")
        machine = self.stepfunction_backend.describe_state_machine(arn)
        if getattr(machine, "type", "STANDARD") != "EXPRESS":
            raise InvalidArn("StartSyncExecution is only for EXPRESS state machines.")
        execution = self.stepfunction_backend.start_execution(
            arn, self._get_param("name") or str(uuid.uuid4()), self._get_param("input", if_none="{}")
        )
        started = time.monotonic()
        while execution.status == "RUNNING" and time.monotonic() - started < SYNC_TIMEOUT_SECONDS:
            time.sleep(0.002)
        # moto's worker sets an ended execution's status before its output or error: read them once set.
        ended = time.monotonic()
        while execution.status in ("SUCCEEDED", "FAILED") and execution.output is None and execution.error is None:
            if time.monotonic() - ended > 1:
                break
            time.sleep(0.002)
        elapsed_ms = (time.monotonic() - started) * 1000
        response = {
            "executionArn": execution.execution_arn,
            "stateMachineArn": arn,
            "name": execution.name,
            "startDate": execution.start_date,
            "stopDate": execution.stop_date,
            "status": execution.status if execution.status != "RUNNING" else "TIMED_OUT",
            "input": execution.execution_input,
            "inputDetails": {"included": True},
            "billingDetails": {"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": max(100, math.ceil(elapsed_ms / 100) * 100)},
        }
        if execution.output is not None:
            response["output"] = execution.output if isinstance(execution.output, str) else json.dumps(execution.output)
            response["outputDetails"] = {"included": True}
        if execution.error is not None:
            response["error"] = execution.error
        if execution.cause is not None:
            response["cause"] = execution.cause
        return ActionResult(response)

    StepFunctionResponse.start_sync_execution = start_sync_execution  # type: ignore[attr-defined]  # moto has none: the gap it closes
    for sfn_name, (boto_name, error_prefix) in SDK_SERVICES.items():
        StateTaskService._SERVICE_NAME_SFN_TO_BOTO_OVERRIDES[sfn_name] = boto_name
        state_task_service_aws_sdk._SERVICE_ERROR_NAMES[sfn_name] = error_prefix
    StateTaskServiceCallback._wait_for_task_token_heartbeat = _wait_for_task_token_heartbeat


def _wait_for_task_token_heartbeat(self, env, callback_endpoint, heartbeat_endpoint):
    outcome = callback_endpoint.get_outcome()
    while env.is_running() and outcome is None:
        received = heartbeat_endpoint.clear_and_wait()
        outcome = callback_endpoint.get_outcome()
        if outcome is None and not received and env.is_running():
            outcome = HeartbeatTimedOut()
    return outcome
