"""The counters' unit arithmetic (the counters themselves run in `make cost`)."""

import json
from collections import Counter

from measures.cost import render_platform_lines
from measures.instrument import LOG_EVENT_OVERHEAD_BYTES, ROUTE_HEADER, Counts, Meter, RequestTrips, read_units, route_of, write_units


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


def test_emf_lines_are_log_lines_of_the_running_function_with_the_metrics_they_define():
    meter = Meter()
    meter._running.functions = ["authflow-local-ApiFunction"]
    emf = json.dumps(
        {
            "_aws": {
                "Timestamp": 0,
                "CloudWatchMetrics": [{"Namespace": "authflow", "Dimensions": [["service"]], "Metrics": [{"Name": "A"}, {"Name": "B"}]}],
            },
            "service": "authflow",
            "A": [1.0],
            "B": [1.0],
        }
    )
    log = json.dumps({"level": "INFO", "message": "hello", "function_name": "authflow-local-ApiFunction"})
    meter._count_log_line(emf)
    meter._count_log_line(log)
    counts = meter.snapshot()
    emf_size = len(emf.encode()) + 1 + LOG_EVENT_OVERHEAD_BYTES
    assert counts.emf_lines == Counter({"authflow-local-ApiFunction": 1})
    assert counts.emf_bytes == Counter({"authflow-local-ApiFunction": emf_size})
    assert counts.log_bytes["/aws/lambda/authflow-local-ApiFunction"] == emf_size + len(log.encode()) + 1 + LOG_EVENT_OVERHEAD_BYTES
    assert set(counts.emf_metrics) == {"authflow|A|service", "authflow|B|service"}


def test_a_line_printed_outside_any_invocation_is_not_a_functions_log():
    meter = Meter()
    meter._count_log_line(json.dumps({"_aws": {"CloudWatchMetrics": []}}))
    assert not meter.snapshot().log_bytes


def test_a_requests_calls_are_told_apart_cognitos_authflows_a_triggers_and_cached_reads():
    trips = RequestTrips("POST /refresh-token")
    trips.add("dynamodb", "GetItem", {"Key": {"pk": "EMAIL#a@example.com", "sk": "CLAIM"}}, inside_cognito=False)
    trips.add("cognito-idp", "AdminInitiateAuth", {}, inside_cognito=False)
    trips.add("events", "PutEvents", {}, inside_cognito=True)
    trips.add("dynamodb", "GetItem", {"Key": {"pk": "API_KEYS", "sk": "KEY#00"}}, inside_cognito=False)
    assert trips.cognito == Counter({"AdminInitiateAuth": 1})
    assert trips.authflow == Counter({"dynamodb:GetItem": 1})
    assert trips.inside_cognito == Counter({"events:PutEvents": 1})
    assert trips.cache_refills == Counter({"dynamodb:GetItem": 1})


def test_an_api_event_is_counted_under_the_route_its_client_names_or_its_path_with_ids_templated():
    event = {
        "requestContext": {"http": {"method": "POST"}},
        "rawPath": "/v1/users/3f8199aa-0000-4000-8000-000000000001/confirm",
        "headers": {},
    }
    assert route_of(event) == "POST /v1/users/{id}/confirm"
    assert route_of({**event, "headers": {ROUTE_HEADER: "GET /userinfo (id token)"}}) == "GET /userinfo (id token)"
    assert route_of({"Records": []}) is None, "an SQS batch, a task's payload: no API request"
