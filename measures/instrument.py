"""Counters on the local stack's AWS side, installed in-process around moto.

What a flow makes AWS do is counted where moto serves it, so every caller is seen: the handlers,
Step Functions' service integrations, the SQS poller, Cognito's triggers. Calls made by the
measurement itself carry the access key MEASURE_ACCESS_KEY and are left out.

- every API call served by moto, by service and action (ReceiveMessage split into empty and not);
- S3 requests by HTTP method (S3 bills PUT/POST/LIST and GET/HEAD at different prices);
- DynamoDB read and write request units, from the sizes of the items read and written, as
  on-demand capacity bills them (1 WRU per started KB written, twice for a transaction; 1 RRU per
  started 4 KB read with strong consistency, half for eventual consistency);
- SQS messages sent, by queue (EventBridge's deliveries to its SQS target happen inside moto);
- CloudWatch Logs bytes ingested, by log group (EventBridge's deliveries to the audit log group);
- the log lines the handlers print (Powertools logs JSON to stdout), by function name, and among
  them the EMF lines Powertools Metrics prints at each flush (CloudWatch ingests them as log lines
  and extracts their metrics), with the metrics they define;
- for each Lambda invocation, which function made each AWS call, the wall time spent inside AWS
  calls (moto's answers here, AWS's latency in the cost model), and the invocations that ran
  inside another's AWS call (a Cognito trigger inside AdminInitiateAuth);
- for each API request, the AWS round trips on its path (RequestTrips): the calls made while it is
  answered by the API function, by what runs synchronously inside them (the Express execution a
  StartSyncExecution runs, its task functions, the Cognito triggers a Cognito call runs) and by
  what those call in turn. The request travels with each call (the REQUEST_HEADER across the HTTP
  hop to moto, the execution's worker thread for a StartSyncExecution); asynchronous work (a
  Standard execution, an asynchronous invoke, an SQS consumer) starts in threads of its own and is
  not counted.
"""

import contextlib
import io
import json
import math
import re
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

MEASURE_ACCESS_KEY = "MEASUREMENTACCESSKEY"
# CloudWatch Logs bills each event's message plus 26 bytes (PutLogEvents' documented event overhead).
LOG_EVENT_OVERHEAD_BYTES = 26
# Names the Lambda invocation an AWS request comes from, across the local stack's HTTP hop to moto.
CALLER_HEADER = "X-Measure-Caller"
# Names the API request (and whether inside a Cognito call) an AWS request is on the path of, across that hop.
REQUEST_HEADER = "X-Measure-Request"
# The route an API request is counted under, when its client names it (measures/flows.py's Api does).
ROUTE_HEADER = "x-measure-route"
INSIDE_COGNITO = "inside-cognito"
# Status table partitions the API function reads through a cache of a minute (authflow/api_keys.py).
CACHED_PARTITIONS = ({"S": "API_KEYS"}, "API_KEYS")
USER_ID_IN_PATH = re.compile(r"/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?=/|$)")


def _dynamo_size(item: dict) -> int:
    """DynamoDB's item size: attribute names plus values, as DynamoDB counts it (moto's own sizing)."""
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.utilities import bytesize

    return sum(bytesize(name) + DynamoType(value).size() for name, value in (item or {}).items())


def write_units(size_bytes: int, transactional: bool = False) -> int:
    return max(1, math.ceil(size_bytes / 1024)) * (2 if transactional else 1)


def read_units(size_bytes: int, consistent: bool) -> float:
    units = max(1, math.ceil(size_bytes / 4096))
    return units if consistent else units / 2


@dataclass
class Counts:
    """A snapshot of every counter; subtracting two gives what happened in between."""

    api_calls: Counter = field(default_factory=Counter)  # "service:Action" -> calls
    s3_requests: Counter = field(default_factory=Counter)  # "key:PUT", "bucket:GET", ... -> requests
    dynamodb: Counter = field(default_factory=Counter)  # "rru" / "wru" -> units (float)
    sqs_sent: Counter = field(default_factory=Counter)  # queue name -> messages
    log_bytes: Counter = field(default_factory=Counter)  # log group / function -> bytes
    log_events: Counter = field(default_factory=Counter)
    emf_lines: Counter = field(default_factory=Counter)  # function -> EMF lines printed
    emf_bytes: Counter = field(default_factory=Counter)  # function -> bytes of those lines, as ingested
    emf_metrics: Counter = field(default_factory=Counter)  # "namespace|metric|dimension names" -> data points
    function_calls: Counter = field(default_factory=Counter)  # "function|service:Action" -> calls
    function_wait_ms: Counter = field(default_factory=Counter)  # function -> wall ms inside AWS calls
    nested_invocations: Counter = field(default_factory=Counter)  # "caller>callee" -> invocations

    def __sub__(self, other: "Counts") -> "Counts":
        return Counts(**{name: _minus(getattr(self, name), getattr(other, name)) for name in self.__dataclass_fields__})


@dataclass
class RequestTrips:
    """The AWS round trips on one API request's path, each as "service:Operation"."""

    route: str
    # Calls to Cognito made by authflow's functions (the API function, a workflow's task).
    cognito: Counter = field(default_factory=Counter)
    # Every other call on the path: authflow's functions' and its workflows' own (StartSyncExecution's
    # Lambda Invoke of a task, say).
    authflow: Counter = field(default_factory=Counter)
    # Calls made by Cognito triggers while Cognito answers one of authflow's calls.
    inside_cognito: Counter = field(default_factory=Counter)
    # Lambda invocations on the path, by function (the API function's own included).
    invocations: Counter = field(default_factory=Counter)
    # Reads of what a function caches for a minute (the API keys): one request a minute per environment pays them.
    cache_refills: Counter = field(default_factory=Counter)

    def add(self, service: str, operation: str, params: dict, inside_cognito: bool) -> None:
        if service == "dynamodb" and operation == "GetItem" and (params.get("Key") or {}).get("pk") in CACHED_PARTITIONS:
            self.cache_refills[f"{service}:{operation}"] += 1
        elif inside_cognito:
            self.inside_cognito[f"{service}:{operation}"] += 1
        elif service == "cognito-idp":
            self.cognito[operation] += 1
        else:
            self.authflow[f"{service}:{operation}"] += 1


def route_of(event: dict) -> str | None:
    """The route an API Gateway payload 2.0 event is counted under; None for any other event."""
    if not isinstance(event, dict) or "http" not in (event.get("requestContext") or {}):
        return None
    named = (event.get("headers") or {}).get(ROUTE_HEADER)
    if named:
        return named
    return f"{event['requestContext']['http']['method']} {USER_ID_IN_PATH.sub('/{id}', event.get('rawPath', ''))}"


def _minus(a: Counter, b: Counter) -> Counter:
    return Counter({k: a.get(k, 0) - b.get(k, 0) for k in set(a) | set(b) if a.get(k, 0) - b.get(k, 0)})


class _CountingStdout(io.TextIOBase):
    """Counts the JSON log lines the handlers print, by function name, and drops them (the measures'
    own output goes to .inner, the real stdout, see measures/report.py)."""

    def __init__(self, inner, meter: "Meter"):
        self.inner = inner
        self.meter = meter
        self._pending = threading.local()

    def write(self, text: str) -> int:
        buffer = getattr(self._pending, "text", "") + text
        *lines, rest = buffer.split("\n")
        self._pending.text = rest
        for line in lines:
            self.meter._count_log_line(line)
        return len(text)

    def flush(self) -> None:
        self.inner.flush()

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self):  # type: ignore[override]  # the wrapped stream's, read-only as sys.stdout's
        return getattr(self.inner, "encoding", "utf-8")


class Meter:
    """Installs the counters (once per process) and takes snapshots of them."""

    _installed: "Meter | None" = None

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts = Counts()
        self._running = threading.local()  # .functions: the invocations running in this thread, innermost last
        # The API requests seen, in order; a thread on one's path has its index in .request, and
        # .inside_cognito while a Cognito trigger runs for it.
        self.requests: list[RequestTrips] = []

    def running_function(self) -> str | None:
        functions = getattr(self._running, "functions", None)
        return functions[-1] if functions else None

    @classmethod
    def install(cls) -> "Meter":
        if cls._installed is None:
            meter = cls()
            meter._install()
            cls._installed = meter
        return cls._installed

    def _request(self) -> RequestTrips | None:
        index = getattr(self._running, "request", None)
        return None if index is None else self.requests[index]

    def _path_header(self) -> str | None:
        index = getattr(self._running, "request", None)
        if index is None:
            return None
        return f"{index}|{INSIDE_COGNITO}" if getattr(self._running, "inside_cognito", False) else str(index)

    def _enter_path(self, header: str | None, inside_cognito: bool) -> tuple:
        """Puts this thread on the path the header names (None: no path); what _leave_path restores."""
        saved = (getattr(self._running, "request", None), getattr(self._running, "inside_cognito", False))
        if header:
            index, _, where = header.partition("|")
            self._running.request = int(index)
            self._running.inside_cognito = where == INSIDE_COGNITO or inside_cognito
        return saved

    def _leave_path(self, saved: tuple) -> None:
        self._running.request, self._running.inside_cognito = saved

    def snapshot(self) -> Counts:
        with self.lock:
            return Counts(**{name: Counter(getattr(self.counts, name)) for name in Counts.__dataclass_fields__})

    def _add(self, counter: str, key: str, amount: float = 1) -> None:
        with self.lock:
            getattr(self.counts, counter)[key] += amount

    def _count_log_line(self, line: str) -> None:
        if not line.startswith("{"):
            return
        try:
            record = json.loads(line)
        except ValueError:
            return
        if not isinstance(record, dict):
            return
        function = record.get("function_name") or self.running_function()
        if not function:
            return
        size = len(line.encode()) + 1 + LOG_EVENT_OVERHEAD_BYTES
        self._add("log_bytes", f"/aws/lambda/{function}", size)
        self._add("log_events", f"/aws/lambda/{function}")
        if "_aws" in record:  # Embedded Metric Format: one line per Powertools Metrics flush
            self._add("emf_lines", function)
            self._add("emf_bytes", function, size)
            for directive in record["_aws"].get("CloudWatchMetrics", []):
                for dimensions in directive.get("Dimensions", [[]]):
                    for metric in directive.get("Metrics", []):
                        self._add("emf_metrics", f"{directive.get('Namespace')}|{metric.get('Name')}|{','.join(dimensions)}")

    # ------------------------------------------------------------------ hooks

    def _install(self) -> None:
        import botocore.client
        import botocore.endpoint
        from moto.core.responses import BaseResponse
        from moto.dynamodb.models import DynamoDBBackend
        from moto.logs.models import LogsBackend
        from moto.s3.responses import S3Response
        from moto.sqs.models import SQSBackend
        from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

        from infra.lambda_runtime import LocalLambdaRuntime

        meter = self
        sys.stdout = _CountingStdout(sys.stdout, self)

        original_run = LocalLambdaRuntime._run

        def run(runtime, function, handler, event, context):
            running = meter._running.__dict__.setdefault("functions", [])
            if running:
                meter._add("nested_invocations", f"{running[-1]}>{function.name}")
            saved = meter._enter_path(None, False)
            route = route_of(event) if meter._request() is None else None
            if route is not None:  # an API request begins: what runs for it from here is on its path
                with meter.lock:
                    meter.requests.append(RequestTrips(route))
                    meter._running.request = len(meter.requests) - 1
            request = meter._request()
            if request is not None:
                with meter.lock:
                    request.invocations[function.name] += 1
            running.append(function.name)
            try:
                return original_run(runtime, function, handler, event, context)
            finally:
                running.pop()
                meter._leave_path(saved)

        LocalLambdaRuntime._run = run

        # An invocation's AWS calls, timed in its own thread: the wait Lambda bills.
        original_make_api_call = botocore.client.BaseClient._make_api_call

        def make_api_call(client, operation_name, api_params):
            caller = meter.running_function()
            request = meter._request()
            if request is not None:
                with meter.lock:
                    request.add(
                        client.meta.service_model.service_name,
                        operation_name,
                        api_params,
                        getattr(meter._running, "inside_cognito", False),
                    )
            if caller is None:
                return original_make_api_call(client, operation_name, api_params)
            started = time.monotonic()
            try:
                return original_make_api_call(client, operation_name, api_params)
            finally:
                meter._add("function_calls", f"{caller}|{client.meta.service_model.service_name}:{operation_name}")
                meter._add("function_wait_ms", caller, (time.monotonic() - started) * 1000)

        botocore.client.BaseClient._make_api_call = make_api_call

        original_endpoint_send = botocore.endpoint.Endpoint._send

        def endpoint_send(endpoint, request):
            caller = meter.running_function()
            if caller:
                request.headers[CALLER_HEADER] = caller
            path = meter._path_header()
            if path:
                request.headers[REQUEST_HEADER] = path
            return original_endpoint_send(endpoint, request)

        botocore.endpoint.Endpoint._send = endpoint_send

        original_call_action = BaseResponse.call_action

        def call_action(response):
            if MEASURE_ACCESS_KEY in str(response.headers.get("Authorization", "")):
                return original_call_action(response)
            try:
                service = response.boto3_service_name or response.service_name or "?"
                action = response._get_action() or "?"
            except Exception:  # a counter never breaks the stack
                service, action = "?", "?"
            # moto answers in its own thread: an invocation it runs here (a Cognito trigger) runs inside the caller's call.
            caller = response.headers.get(CALLER_HEADER)
            running = meter._running.__dict__.setdefault("functions", [])
            if caller:
                running.append(caller)
            # What runs inside this call (a trigger, a synchronous execution) is on the caller's request's path.
            saved = meter._enter_path(response.headers.get(REQUEST_HEADER), inside_cognito=service == "cognito-idp")
            meter._running.action = action
            try:
                result = original_call_action(response)
            finally:
                meter._running.action = None
                meter._leave_path(saved)
                if caller:
                    running.pop()
            with contextlib.suppress(Exception):  # a counter never breaks the stack
                meter._after_call(service, action, response, result)
            return result

        BaseResponse.call_action = call_action

        # StartSyncExecution's execution runs in a worker thread of its own: it is on the request's path
        # (StartExecution's, asynchronous, is not).
        original_worker_start = ExecutionWorker.start
        original_execution_logic = ExecutionWorker._execution_logic

        def worker_start(worker):
            if getattr(meter._running, "action", None) == "StartSyncExecution":
                worker.measured_path = meter._path_header()
            return original_worker_start(worker)

        def execution_logic(worker):
            saved = meter._enter_path(getattr(worker, "measured_path", None), False)
            meter._running.sync_execution = meter._request() is not None
            try:
                return original_execution_logic(worker)
            finally:
                meter._running.sync_execution = False
                meter._leave_path(saved)

        ExecutionWorker.start = worker_start
        ExecutionWorker._execution_logic = execution_logic

        # moto's interpreter runs a task state in threads of its own: they are on the execution's path.
        original_thread_start = threading.Thread.start

        def thread_start(thread):
            if getattr(meter._running, "sync_execution", False):
                path, original_thread_run = meter._path_header(), thread.run

                def run_on_path():
                    saved = meter._enter_path(path, False)
                    meter._running.sync_execution = True
                    try:
                        original_thread_run()
                    finally:
                        meter._running.sync_execution = False
                        meter._leave_path(saved)

                thread.run = run_on_path  # this one thread's body, wrapped
            return original_thread_start(thread)

        threading.Thread.start = thread_start  # in the measuring process only

        for name, kind in (("key_response", "key"), ("bucket_response", "bucket")):
            original = getattr(S3Response, name)

            def s3_entry(response, request, *args, _original=original, _kind=kind, **kwargs):
                if MEASURE_ACCESS_KEY not in str(request.headers.get("Authorization", "")):
                    meter._add("s3_requests", f"{_kind}:{request.method.upper()}")
                return _original(response, request, *args, **kwargs)

            setattr(S3Response, name, s3_entry)

        original_put = DynamoDBBackend.put_item
        original_update = DynamoDBBackend.update_item
        original_delete = DynamoDBBackend.delete_item
        original_transact = DynamoDBBackend.transact_write_items

        def existing_size(backend, table_name: str, key: dict) -> int:
            try:
                table = backend.get_table(table_name)
                hash_key, range_key = backend.get_keys_value(table, key)
                item = table.get_item(hash_key, range_key)
                return item.size() if item else 0
            except Exception:
                return 0

        def key_of(backend, table_name: str, attrs: dict) -> dict:
            table = backend.get_table(table_name)
            names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
            return {n: attrs[n] for n in names if n in attrs}

        def put_item(backend, table_name, item_attrs, *args, **kwargs):
            before = existing_size(backend, table_name, key_of(backend, table_name, item_attrs))
            try:
                item = original_put(backend, table_name, item_attrs, *args, **kwargs)
            except Exception:
                meter._add("dynamodb", "wru", write_units(before))  # a refused conditional write is billed too
                raise
            meter._add("dynamodb", "wru", write_units(max(before, item.size())))
            return item

        def update_item(backend, table_name, key, *args, **kwargs):
            before = existing_size(backend, table_name, key)
            try:
                item = original_update(backend, table_name, key, *args, **kwargs)
            except Exception:
                meter._add("dynamodb", "wru", write_units(before))
                raise
            meter._add("dynamodb", "wru", write_units(max(before, item.size() if item else 0)))
            return item

        def delete_item(backend, table_name, key, *args, **kwargs):
            before = existing_size(backend, table_name, key)
            meter._add("dynamodb", "wru", write_units(before))
            return original_delete(backend, table_name, key, *args, **kwargs)

        def transact_write_items(backend, transact_items):
            for entry in transact_items:
                ((kind, op),) = entry.items()
                if kind == "Put":
                    size = _dynamo_size(op.get("Item", {}))
                elif kind in ("Update", "Delete", "ConditionCheck"):
                    size = existing_size(backend, op.get("TableName"), op.get("Key", {}))
                else:
                    size = 0
                meter._add("dynamodb", "wru", write_units(size, transactional=True))
            return original_transact(backend, transact_items)

        DynamoDBBackend.put_item = put_item
        DynamoDBBackend.update_item = update_item
        DynamoDBBackend.delete_item = delete_item
        DynamoDBBackend.transact_write_items = transact_write_items

        original_send = SQSBackend.send_message

        def send_message(backend, queue_name, *args, **kwargs):
            message = original_send(backend, queue_name, *args, **kwargs)
            meter._add("sqs_sent", str(queue_name).rsplit("/", 1)[-1])
            return message

        SQSBackend.send_message = send_message

        original_put_log_events = LogsBackend.put_log_events

        def put_log_events(backend, log_group_name, log_stream_name, log_events):
            result = original_put_log_events(backend, log_group_name, log_stream_name, log_events)
            for event in log_events:
                meter._add("log_bytes", log_group_name, len(str(event.get("message", "")).encode()) + LOG_EVENT_OVERHEAD_BYTES)
                meter._add("log_events", log_group_name)
            return result

        LogsBackend.put_log_events = put_log_events

    def _after_call(self, service: str, action: str, response, result) -> None:
        body = result[2] if isinstance(result, tuple) and len(result) == 3 else ""
        text = body.decode(errors="replace") if isinstance(body, bytes) else str(body)
        if service == "sqs" and action == "ReceiveMessage":
            action += " (with messages)" if ("MessageId" in text) else " (empty)"
        self._add("api_calls", f"{service}:{action}")
        if service == "dynamodb" and action in ("GetItem", "Query", "Scan"):
            request = response.body if isinstance(response.body, dict) else {}
            consistent = bool(request.get("ConsistentRead"))
            try:
                answer = json.loads(text) if text else {}
            except ValueError:
                answer = {}
            items = [answer["Item"]] if answer.get("Item") else answer.get("Items", [])
            self._add("dynamodb", "rru", read_units(sum(_dynamo_size(i) for i in items), consistent))
        if service == "dynamodb" and action == "BatchGetItem":
            # Billed as one GetItem per key asked (an absent item too), by DynamoDB's documented rule.
            request = response.body if isinstance(response.body, dict) else {}
            try:
                answer = json.loads(text) if text else {}
            except ValueError:
                answer = {}
            for table, asked in (request.get("RequestItems") or {}).items():
                found = answer.get("Responses", {}).get(table, [])
                consistent = bool(asked.get("ConsistentRead"))
                units = sum(read_units(_dynamo_size(i), consistent) for i in found)
                units += (len(asked.get("Keys", [])) - len(found)) * read_units(0, consistent)
                self._add("dynamodb", "rru", units)
