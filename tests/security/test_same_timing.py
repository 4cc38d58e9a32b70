"""Known/unknown latency over HTTP, as an attacker measuring it would (issue 15 item 3; OWASP ASVS 5.0 6.3.8).

For each route, 15 requests for an account's email and 15 for emails without one, interleaved (the
order alternating), and the ratio of their medians. The figures go to the security summary (printed by
`make test`, written to test-artifacts/security-summary.json) for the README; nothing here asserts a
time (project rule: no timed asserts; tests/unit/test_same_timing.py shows the same AWS calls instead).
Between two requests, untimed, the known account's lockout and mail counters are reset, so that every
request takes the path a first attempt takes, and the work the previous request left is let finish
(settled): in AWS what forgot-password and resend-confirmation-code queue runs in a function and an
execution of their own, while here it shares the process (and the two cores) with the next request,
which it would slow whatever that request's email.
"""

import statistics
import time

import boto3
import pytest
from boto3.dynamodb.conditions import Key

from tests.security import _summary
from tests.support.client import onboard
from tests.support.flows import unique_email, wait_for

pytestmark = pytest.mark.e2e

REQUESTS = 15
WRONG_PASSWORD = "Not-The-Password-4711"
ROUTES = {
    "/login": lambda email: {"email": email, "password": WRONG_PASSWORD},
    "/resend-mfa": lambda email: {"email": email, "password": WRONG_PASSWORD, "otp_code": "123456"},
    "/forgot-password": lambda email: {"email": email},
    "/resend-confirmation-code": lambda email: {"email": email},
}


@pytest.fixture(scope="module")
def accounts(api) -> dict[str, str]:
    """An active user's email for the sign-in routes, an invited one's for the invitation resend."""
    active = onboard(api, "timing")
    invited = unique_email("timing-invited")
    created = api.post("/users", {"full_name": "Ada Lovelace", "email": invited})
    assert created.status == 201, created.body
    api.wait_for_status(created.json()["user_id"], "INVITED")
    return {"active": active.email, "active_id": active.user_id, "active_password": active.password, "invited": invited}


def test_known_and_unknown_emails_take_the_same_time_on_each_route(api, local_stack, accounts, mail_requests_handled):
    table = boto3.resource("dynamodb").Table(local_stack.stack.refs["StatusTable"])

    def forget_counters(email: str, user_id: str | None) -> None:
        """The email's mail counters (under its pseudo-id, which forgot-password answers), the user's lockout,
        and Cognito's count of wrong passwords (a right one resets it)."""
        for owner in filter(None, (user_id, pseudo_ids[email])):
            for item in table.query(KeyConditionExpression=Key("pk").eq(f"USER#{owner}"))["Items"]:
                if item["sk"].startswith(("RATE#", "LOCKOUT")):
                    table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
        if user_id:
            assert api.post("/login", {"email": email, "password": accounts["active_password"]}).status == 200

    reset_signal = {"pk": f"USER#{accounts['active_id']}", "sk": "SIGNAL#PASSWORD_RESET"}
    resets = boto3.client("stepfunctions").get_paginator("list_executions")
    reset_machine = local_stack.stack.state_machines["PasswordResetStateMachine"]

    def running_resets() -> int:
        pages = resets.paginate(stateMachineArn=reset_machine, statusFilter="RUNNING")
        return sum(1 for page in pages for e in page["executions"] if e["name"].startswith(f"reset-{accounts['active_id']}-"))

    def settled() -> None:
        """The queued requests handled, and the active user's newest reset execution waiting for its code,
        the one it superseded ended (forgot-password's known email starts one, which supersedes the one before)."""
        mail_requests_handled()
        wait_for(lambda: "task_token" in table.get_item(Key=reset_signal, ConsistentRead=True).get("Item", {}), 30, "the reset waiting")
        wait_for(lambda: running_resets() == 1, 30, "the superseded reset ended")

    pseudo_ids = {
        email: api.post("/forgot-password", {"email": email}).json()["user_id"] for email in (accounts["active"], accounts["invited"])
    }
    forget_counters(accounts["active"], accounts["active_id"])
    for route, body in ROUTES.items():
        known_email = accounts["invited"] if route.endswith("resend-confirmation-code") else accounts["active"]
        user_id = None if known_email == accounts["invited"] else accounts["active_id"]
        timings: dict[bool, list[float]] = {True: [], False: []}
        for n in range(REQUESTS):
            order = (True, False) if n % 2 else (False, True)
            for known in order:
                settled()
                email = known_email if known else unique_email("timing-unknown")
                started = time.perf_counter()
                answer = api.post(route, body(email))
                timings[known].append(time.perf_counter() - started)
                assert answer.status in (200, 401), (route, known, answer.status, answer.body)
            forget_counters(known_email, user_id)
        known_median, unknown_median = statistics.median(timings[True]), statistics.median(timings[False])
        _summary.facts[f"known/unknown latency {route}"] = (
            f"{known_median / unknown_median:.2f} (medians of {REQUESTS} interleaved: {known_median * 1000:.0f} ms / {unknown_median * 1000:.0f} ms)"
        )
