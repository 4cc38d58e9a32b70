"""The local console over HTTP: the JSON views keep their fields, the HTML pages show executions with
their graph, path and masked history, mail and events, filtered, and everything is escaped."""

import json
import re
import urllib.parse

import boto3
import pytest

from tests.console.scenario import failed_login, invite, onboard
from tests.support.flows import unique_email, wait_for
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def waiting(api):
    return invite(api, full_name='Grace <img src=x onerror=alert(1)> "Hopper"')


@pytest.fixture(scope="module")
def active(api):
    return onboard(api)


def html(api, path: str):
    response = api.get(f"{api.local_url}{path}", headers={"accept": "text/html"})
    assert response.headers["Content-Type"].startswith("text/html"), response.headers
    return response


def test_the_executions_json_keeps_its_fields_and_filters(api, waiting, active):
    rows = api.local("executions")
    by_name = {r["name"]: r for r in rows}
    assert {"name", "state_machine", "status", "start", "duration_s"} <= set(by_name[waiting[0]])
    assert by_name[waiting[0]]["status"] == "RUNNING" and by_name[waiting[0]]["duration_s"] is None
    assert by_name[active[0]]["status"] == "SUCCEEDED" and by_name[active[0]]["duration_s"] > 0
    assert by_name[active[0]]["state_machine_id"] == "OnboardingStateMachine"
    assert [r["start"] for r in rows] == sorted((r["start"] for r in rows), reverse=True)
    running = {r["name"] for r in api.local("executions?status=RUNNING")}
    assert waiting[0] in running and active[0] not in running
    onboarding = api.local("executions?state_machine=OnboardingStateMachine&status=SUCCEEDED")
    assert active[0] in {r["name"] for r in onboarding} and {r["state_machine_id"] for r in onboarding} == {"OnboardingStateMachine"}
    machines = {m["id"]: m for m in api.local("state-machines")}
    assert machines["OnboardingStateMachine"]["type"] == "STANDARD"


def test_the_execution_json_has_the_path_the_graph_and_a_masked_history(api, local_stack, waiting):
    user_id, _ = waiting
    execution = api.local(f"executions/{user_id}")
    assert {"name", "arn", "state_machine", "status", "states", "path", "history"} <= set(execution)
    assert [p["state"] for p in execution["path"]] == ["CreateCognitoUser", "SendInvitation", "WaitForConfirmation"]
    assert execution["current"] == ["WaitForConfirmation"]
    statuses = {n["name"]: n["status"] for n in execution["graph"]["nodes"]}
    assert statuses["WaitForConfirmation"] == "waiting" and statuses["SendInvitation"] == "succeeded"
    assert statuses["ActivateAccount"] == "not-run"
    scheduled = [e for e in execution["history"] if e["type"] == "TaskScheduled" and e["state"] == "WaitForConfirmation"]
    assert json.loads(scheduled[0]["detail"]["parameters"])["Payload"]["task_token"] == "***"
    # The real task token the execution waits with is in the status table, and nowhere in the views.
    table = boto3.resource("dynamodb").Table(local_stack.stack.refs["StatusTable"])
    token = table.get_item(Key={"pk": f"USER#{user_id}", "sk": "SIGNAL#CONFIRMATION"})["Item"]["task_token"]
    assert token and token not in json.dumps(execution)
    assert token not in html(api, f"/executions/{user_id}").body.decode()


def test_the_executions_page_lists_and_filters(api, waiting, active):
    page = html(api, "/executions").body.decode()
    assert f'href="/_local/executions/{waiting[0]}?state_machine=OnboardingStateMachine"' in page
    assert 'name="state_machine"' in page and 'name="status"' in page
    filtered = html(api, "/executions?status=RUNNING&state_machine=OnboardingStateMachine").body.decode()
    assert waiting[0] in filtered and active[0] not in filtered
    assert '<option value="RUNNING" selected>' in filtered


def test_the_execution_page_draws_the_graph_with_the_path_taken(api, waiting):
    response = html(api, f"/executions/{waiting[0]}")
    page = response.body.decode()
    assert (
        "script-src" not in response.headers["Content-Security-Policy"]
        and "default-src 'none'" in response.headers["Content-Security-Policy"]
    )
    assert "<svg" in page and "<script" not in page
    assert re.search(r'class="state state--waiting[^"]*" data-state="WaitForConfirmation"', page)
    assert re.search(r'class="state state--succeeded[^"]*" data-state="CreateCognitoUser"', page)
    assert 'data-source="SendInvitation" data-target="WaitForConfirmation"' in page
    assert "Waiting at" in page and 'id="state-WaitForConfirmation"' in page
    # The user's name is in the execution's input: shown escaped, never as markup.
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_the_mail_page_renders_mail_in_a_sandboxed_frame(api, waiting):
    _, email = waiting
    page = html(api, f"/mail?to={urllib.parse.quote(email)}").body.decode()
    frames = re.findall(r'<iframe class="mail-body" sandbox title="[^"]*" srcdoc="([^"]*)"', page)
    assert len(frames) == 1 and "temporary password" in frames[0] and "&lt;html&gt;" in frames[0]
    assert api.local("mail")[-1].keys() >= {"id", "from", "to", "subject", "body"}


def test_the_events_page_filters_by_user_and_type(api, waiting, active):
    page = html(api, f"/events?user_id={waiting[0]}").body.decode()
    assert waiting[0] in page and active[0] not in page
    typed = html(api, f"/events?user_id={active[0]}&type=OnboardingCompleted").body.decode()
    assert typed.count('data-type="OnboardingCompleted"') == 1 and 'data-type="UserCreated"' not in typed
    assert f'href="/_local/executions/{active[0]}"' in typed
    assert all(e["detail"]["user_id"] == waiting[0] for e in api.local(f"events?user_id={waiting[0]}"))


def test_the_failed_login_is_an_execution_with_its_own_path(api, active):
    name = failed_login(api, *active)
    execution = api.local(f"executions/{name}")
    assert execution["state_machine_id"] == "LoginStateMachine" and execution["type"] == "EXPRESS"
    visited = [p["state"] for p in execution["path"]]
    assert visited == ["ChooseLoginStep", "VerifyPassword", "PasswordRefused"]
    assert execution["outcome"] == "REFUSED (CognitoIdentityProvider.NotAuthorizedException)"
    assert execution["input"]["password"] == execution["input"]["secret_hash"] == "***", "the secrets it carried are masked"
    assert name in {r["name"] for r in api.local("executions?state_machine=LoginStateMachine")}


def test_unknown_views_and_executions_are_404_in_json_and_html(api):
    missing = api.get(f"{api.local_url}/executions/no-such-execution", headers={"accept": "application/json"})
    assert missing.status == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    page = api.get(f"{api.local_url}/executions/no-such-execution", headers={"accept": "text/html"})
    assert page.status == 404 and b"Not found" in page.body
    assert api.get(f"{api.local_url}/static/../views.py").status == 404


def test_the_webhooks_pages_show_each_delivery_as_the_api_does(api, admin):
    """A delivery refused once (503), then delivered: the console's log is the API's answer, and its
    page shows the event, its attempts, last status and latency and its state, never the secret."""
    with WebhookReceiver(answer=lambda n: 503 if n == 0 else 204) as receiver:
        created = api.post("/webhooks", {"url": receiver.url, "events": ["UserCreated"]}, headers=admin.headers)
        assert created.status == 201, created.body
        webhook = created.json()
        try:
            assert api.post("/users", {"full_name": "Grace Hopper", "email": unique_email("console-hooks")}).status == 201
            event_id = receiver.wait_for(lambda ds: len(ds) >= 2)[0].headers["webhook-id"]

            def logged() -> dict | None:
                answer = api.get(f"/webhooks/{webhook['id']}/deliveries", headers=admin.headers).json()
                entries = [d for d in answer["deliveries"] if d["event_id"] == event_id and d["state"] == "delivered"]
                return answer if entries else None

            from_api = wait_for(logged, 10, f"the delivery of {event_id} in the log")
            assert api.local(f"webhooks/{webhook['id']}") == from_api
            (entry,) = [d for d in from_api["deliveries"] if d["event_id"] == event_id]
            assert (entry["attempts"], entry["last_status_code"], entry["event_type"]) == (2, 204, "UserCreated")

            listed = {w["id"]: w for w in api.local("webhooks")}[webhook["id"]]
            assert listed["enabled"] is True and listed["url"] == receiver.url and listed["failing_since"] is None
            index = html(api, "/webhooks").body.decode()
            assert f'href="/_local/webhooks/{webhook["id"]}"' in index and webhook["secret"] not in index
            page = html(api, f"/webhooks/{webhook['id']}").body.decode()
            row = page[page.index(f'data-event="{event_id}"') :].split("</tr>", 1)[0]
            assert 'data-state="delivered"' in row and "UserCreated" in row and ">2<" in row and ">204<" in row
            assert f"{entry['last_latency_ms']} ms" in row and webhook["secret"] not in page
        finally:
            api.request("DELETE", f"/webhooks/{webhook['id']}", headers=admin.headers)
    for accept in ("application/json", "text/html"):
        assert api.get(f"{api.local_url}/webhooks/{webhook['id']}", headers={"accept": accept}).status == 404


def test_the_stylesheet_is_served(api):
    css = api.get(f"{api.local_url}/static/console.css")
    assert css.status == 200 and css.headers["Content-Type"].startswith("text/css") and b"svg.graph" in css.body


def test_the_stack_view_tells_local_tools_where_the_resources_are(api, local_stack):
    stack = api.local("stack")
    assert stack["aws_endpoint_url"] == f"http://127.0.0.1:{local_stack.moto_port}" and stack["region"] == local_stack.region
    for logical_id in ("UserPool", "AdminGroup", "StatusTable"):
        assert stack["resources"][logical_id] == local_stack.stack.refs[logical_id]
