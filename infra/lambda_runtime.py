"""Runs the real Lambda handlers in this process, with the event shapes AWS sends them.

Without Docker moto's Lambda service is its "simple" backend, whose invoke only echoes the payload.
install() replaces that invoke with this runtime, so Step Functions tasks, Cognito triggers and the
local API gateway all reach the handlers through the one path AWS uses: Lambda's Invoke.
"""

import contextlib
import importlib.util
import json
import os
import sys
import threading
import time
import traceback
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

SHARED_PACKAGE = "authflow"


def _is_shared(module_name: str) -> bool:
    return module_name == SHARED_PACKAGE or module_name.startswith(SHARED_PACKAGE + ".")


def _is_in(module: ModuleType, directory: Path) -> bool:
    file = getattr(module, "__file__", None)
    return file is not None and Path(file).resolve().is_relative_to(directory.resolve())


@dataclass
class LocalFunction:
    logical_id: str
    name: str
    arn: str
    code_dir: Path
    handler: str
    environment: dict[str, str]
    memory_mb: int
    timeout_seconds: int
    module: ModuleType | None = None
    # One invocation at a time, as in one Lambda execution environment: Powertools keeps the current
    # request in class attributes (BaseRouter.current_event) that every import in a process shares,
    # so two concurrent invocations would read each other's request. In AWS each environment is a process.
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class LambdaContext:
    """The attributes of AWS's Lambda context object that handlers and Powertools read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    started: float = field(default_factory=time.monotonic)

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000))


class InvocationError(Exception):
    def __init__(self, payload: dict):
        super().__init__(payload.get("errorType", "Error"))
        self.payload = payload


class LocalLambdaRuntime:
    def __init__(self) -> None:
        self.functions: dict[str, LocalFunction] = {}
        self.invocations: Counter[str] = Counter()
        self.billed_ms: Counter[str] = Counter()
        self._import_lock = threading.Lock()

    def register(self, function: LocalFunction) -> None:
        for key in (function.name, function.arn, function.logical_id):
            self.functions[key] = function

    def function(self, name_or_arn: str) -> LocalFunction:
        key = name_or_arn
        if key not in self.functions and ":function:" in key:
            key = key.split(":function:", 1)[1].split(":", 1)[0]
        if key not in self.functions:
            raise KeyError(f"no local function {name_or_arn}")
        return self.functions[key]

    def load_all(self) -> None:
        """Cold-starts every function that has not run yet (their loggers exist from then on)."""
        for function in {id(f): f for f in self.functions.values()}.values():
            self._load(function)

    def _load(self, function: LocalFunction) -> ModuleType:
        """Imports the handler once, with the function's environment, as a cold start does.

        Each function gets its own copy of the shared package (its own Logger, clients and settings),
        as each Lambda function has its own execution environment in AWS.
        """
        with self._import_lock:
            if function.module is not None:
                return function.module
            module_name, _ = function.handler.rsplit(".", 1)
            path = function.code_dir / f"{module_name.replace('.', '/')}.py"
            spec = importlib.util.spec_from_file_location(f"authflow_fn_{function.logical_id}", path)
            if spec is None or spec.loader is None:
                raise ImportError(f"{function.logical_id}: no handler module at {path}")
            loader = spec.loader
            module = importlib.util.module_from_spec(spec)
            saved_environment = dict(os.environ)
            saved_modules = {name: sys.modules.pop(name) for name in list(sys.modules) if _is_shared(name)}
            os.environ.update(function.environment)
            sys.path.insert(0, str(function.code_dir))  # Lambda's code root is on sys.path: sibling modules import
            try:
                loader.exec_module(module)
            finally:
                sys.path.remove(str(function.code_dir))
                for name in [n for n, m in list(sys.modules.items()) if _is_in(m, function.code_dir)]:
                    del sys.modules[name]  # the function's own modules stay private to it
                os.environ.clear()
                os.environ.update(saved_environment)
                for name in [name for name in sys.modules if _is_shared(name)]:
                    del sys.modules[name]
                sys.modules.update(saved_modules)
            sys.modules[spec.name] = module
            function.module = module
            return module

    def invoke(self, name_or_arn: str, event: Any) -> Any:
        """Runs the handler; raises InvocationError with Lambda's error payload when it fails."""
        function = self.function(name_or_arn)
        handler = getattr(self._load(function), function.handler.rsplit(".", 1)[1])
        context = LambdaContext(
            function_name=function.name,
            invoked_function_arn=function.arn,
            memory_limit_in_mb=function.memory_mb,
            timeout_seconds=function.timeout_seconds,
        )
        with function.lock:
            return self._run(function, handler, event, context)

    def _run(self, function: LocalFunction, handler, event: Any, context: LambdaContext) -> Any:
        started = time.monotonic()
        try:
            return handler(event, context)
        except Exception as error:
            raise InvocationError(
                {
                    "errorMessage": str(error),
                    "errorType": type(error).__name__,
                    "requestId": context.aws_request_id,
                    "stackTrace": traceback.format_tb(error.__traceback__),
                }
            ) from error
        finally:
            elapsed_ms = (time.monotonic() - started) * 1000
            self.invocations[function.name] += 1
            self.billed_ms[function.name] += max(1, int(elapsed_ms + 0.999))

    def install(self) -> None:
        """Routes moto's Lambda Invoke (simple backend) to this runtime."""
        from moto.awslambda_simple.models import LambdaSimpleBackend
        from moto.core.config import default_user_config

        default_user_config["lambda"] = {"use_docker": False}
        runtime = self

        def invoke(backend, function_name, qualifier, body, headers, response_headers):
            event = json.loads(body) if body else {}
            if headers.get("X-Amz-Invocation-Type") == "Event":
                threading.Thread(target=runtime._invoke_quietly, args=(function_name, event), daemon=True).start()
                return b""
            try:
                result = runtime.invoke(function_name, event)
            except InvocationError as error:
                response_headers["x-amz-function-error"] = "Unhandled"
                return json.dumps(error.payload).encode()
            return json.dumps(result).encode()

        LambdaSimpleBackend.invoke = invoke

    def _invoke_quietly(self, function_name: str, event: Any) -> None:
        with contextlib.suppress(InvocationError):
            self.invoke(function_name, event)
