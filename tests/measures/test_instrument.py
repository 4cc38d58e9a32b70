"""The counters' unit arithmetic (the counters themselves run in `make cost`)."""

from collections import Counter

from measures.cost import render_platform_lines
from measures.instrument import Counts, read_units, write_units


def test_dynamodb_request_units_follow_on_demand_billing():
    assert write_units(0) == 1 and write_units(1024) == 1 and write_units(1025) == 2
    assert write_units(300, transactional=True) == 2
    assert read_units(100, consistent=True) == 1 and read_units(100, consistent=False) == 0.5
    assert read_units(4097, consistent=True) == 2


def test_snapshots_subtract_counter_by_counter():
    before = Counts(api_calls=Counter({"sqs:ReceiveMessage (empty)": 3, "events:PutEvents": 1}))
    after = Counts(api_calls=Counter({"sqs:ReceiveMessage (empty)": 3, "events:PutEvents": 4}), dynamodb=Counter({"wru": 2}))
    delta = after - before
    assert delta.api_calls == Counter({"events:PutEvents": 3})
    assert delta.dynamodb == Counter({"wru": 2})


def test_lambda_platform_lines_are_rendered_per_invocation():
    start, end, report = render_platform_lines("fn", 42, 256)
    assert start.startswith("START RequestId: ") and end.startswith("END RequestId: ")
    assert "Billed Duration: 42 ms" in report and "Memory Size: 256 MB" in report and "XRAY TraceId" in report
