"""Where moto's emulation costs far more than the work AWS does: four paths every flow takes.

Profiled on a user import of 100 rows (py-spy, samples holding the GIL), these four took over half
of the local stack's time, and two of them grow with the data, so a 2 000-row import slowed as it went:
- StartExecution parses the state machine's ASL with ANTLR for every execution (17 %). Here the
  parse tree of each definition is kept; each execution still gets its own evaluation components
  (they hold per-execution state, such as retry counters), built from that tree.
- TransactWriteItems deep-copies every table it touches, all items, to roll back on failure (13 %,
  and linear in the table's size). Here it keeps a copy of only the items the transaction names, and
  a cancelled transaction puts back exactly those it wrote; transactions run one at a time, as
  DynamoDB isolates them.
- PutEvents builds a new JSONPath parser (a yacc table) for each target of each matched rule (16 %),
  and so does every JSONPath a state reads (6 %). Here each path is parsed once (finding matches
  does not change a parsed path).
- Each task state of an execution creates a new boto3 client to call Lambda, SQS, EventBridge or
  DynamoDB (12 %, botocore loading its service model). Here each client is made once and shared, as
  botocore's clients are thread-safe.

Behaviour is unchanged: tests/unit/test_moto_hot_paths.py runs each path against moto both ways.
"""

import copy
import functools
import json
import sys
import threading
from types import SimpleNamespace
from typing import Any

import jsonpath_ng.ext
import moto.dynamodb.models as dynamodb_models
from moto.core.models import botocore_stubber
from moto.dynamodb.exceptions import TransactionCanceledException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import Table
from moto.settings import moto_server_port
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils  # noqa: F401 (patched below)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_factory  # noqa: F401
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.asl.utils import boto_client, json_path  # noqa: F401 (patched below)

_parse_asl = AmazonStateLanguageParser.parse
_transact_write_items = DynamoDBBackend.transact_write_items
_parse_json_path = jsonpath_ng.ext.parse
_boto_client_for = boto_client.boto_client_for
_parse_trees: dict[str, Any] = {}
_transactions = threading.Lock()


def parse_asl(definition: str) -> tuple[Any, Any]:
    tree = _parse_trees.get(definition)
    if tree is None:
        program, tree = _parse_asl(definition)
        _parse_trees[definition] = tree
        return program, tree
    return Preprocessor().visit(tree), tree


def _deepcopy_but_tables(value: Any, memo: dict | None = None) -> Any:
    """copy.deepcopy, except for a table: transact_write_items' own backup becomes a no-op."""
    return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _named_item(backend: DynamoDBBackend, op_type: str, op: dict) -> tuple[Table, Any, Any, Item | None] | None:
    """The table and key of the item an operation names, with a copy of that item as it is now."""
    table = backend.tables.get(op.get("TableName", ""))
    if table is None:
        return None
    key = op.get("Key", {})
    if op_type == "Put":
        attributes = op.get("Item", {})
        key = {name: attributes[name] for name in (table.hash_key_attr, table.range_key_attr) if name and name in attributes}
    try:
        hash_value, range_value = backend.get_keys_value(table, key)
        return table, hash_value, range_value, copy.deepcopy(table.get_item(hash_value, range_value))
    except Exception:  # a malformed key: moto's own validation refuses the transaction before any write
        return None


def _put_back(named: list[tuple[Table, Any, Any, Item | None]]) -> None:
    for table, hash_value, range_value, item in reversed(named):
        if item is None:
            table.delete_item(hash_value, range_value)
        elif range_value:
            table.items[hash_value][range_value] = item
        else:
            table.items[hash_value] = item


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    # One transaction at a time, as DynamoDB isolates them (moto does not: another transaction's write
    # could land between this one's copy and its rollback, and be undone).
    with _transactions:
        named = [_named_item(self, *next(iter(item.items()))) if len(item) == 1 else None for item in transact_items]
        try:
            _transact_write_items(self, transact_items)
        except TransactionCanceledException as cancelled:
            # Only what the transaction wrote: an item whose condition failed was not touched.
            reasons = json.loads(cancelled.description)["CancellationReasons"]
            _put_back([n for n, reason in zip(named, reasons, strict=False) if n is not None and reason["Code"] == "None"])
            raise
        except Exception:
            _put_back([n for n in named if n is not None])
            raise


parse_json_path = functools.lru_cache(maxsize=512)(_parse_json_path)


@functools.cache
def _shared_client(region: str, service: str, intercepted: bool, port: str) -> Any:
    return _boto_client_for(region, service)


def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    """moto's client for a task state (its credentials are ignored there too), made once per endpoint."""
    return _shared_client(region, service, botocore_stubber.enabled, moto_server_port())


def install() -> None:
    AmazonStateLanguageParser.parse = staticmethod(parse_asl)  # type: ignore[method-assign]
    dynamodb_models.copy = SimpleNamespace(deepcopy=_deepcopy_but_tables)  # type: ignore[assignment]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    jsonpath_ng.ext.parse = parse_json_path
    # moto's Step Functions modules imported these functions by name.
    for name, module in list(sys.modules.items()):
        if name.startswith("moto.stepfunctions.parser."):
            if getattr(module, "boto_client_for", None) is _boto_client_for:
                module.boto_client_for = boto_client_for  # type: ignore[attr-defined]
            if getattr(module, "parse", None) is _parse_json_path:
                module.parse = parse_json_path  # type: ignore[attr-defined]
