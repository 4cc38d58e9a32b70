"""`authflow webhooks deliveries` against the local stack: the delivery log of a real receiver's webhook."""

import json

import pytest
from typer.testing import CliRunner

from authflow_cli.app import app
from tests.e2e.test_webhooks import create_user, logged_when, subscribed
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.e2e


def test_webhooks_deliveries_shows_the_attempts_of_each_event(api, admin, local_stack) -> None:
    url = f"http://127.0.0.1:{local_stack.gateway.port}"
    runner = CliRunner(env={"COLUMNS": "220", "AUTHFLOW_URL": None, "AUTHFLOW_STACK_NAME": None})
    with WebhookReceiver(answer=lambda n: 500 if n == 0 else 204) as receiver, subscribed(api, admin, receiver, ["UserCreated"]) as webhook:
        create_user(api)
        event_id = receiver.wait_for(lambda ds: len(ds) >= 1)[0].headers["webhook-id"]
        logged_when(api, admin, webhook["id"], event_id, lambda e: e["state"] == "delivered")
        as_json = runner.invoke(app, ["webhooks", "deliveries", webhook["id"], "--json", "--url", url])
        as_table = runner.invoke(app, ["webhooks", "deliveries", webhook["id"], "--url", url])
        unknown = runner.invoke(app, ["webhooks", "deliveries", "00000000-0000-4000-8000-000000000000", "--url", url])

    assert as_json.exit_code == 0, as_json.output
    (entry,) = [d for d in json.loads(as_json.stdout) if d["event_id"] == event_id]
    assert (entry["state"], entry["attempts"], entry["last_status_code"]) == ("delivered", 2, 204)
    assert as_table.exit_code == 0 and event_id in as_table.stdout and "delivered" in as_table.stdout
    assert unknown.exit_code == 1 and "No webhook" in unknown.output
