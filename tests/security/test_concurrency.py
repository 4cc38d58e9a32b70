"""Concurrency on the local stack, loopback only, bounded in count and time.

- 50 users onboarded in parallel: every one reaches ACTIVE, no 5xx, 50 distinct user ids and
  Cognito users.
- 200 logins in parallel: POST /login + POST /mfa-verify for 50 users four times each, with no 5xx
  and no crossed session: each id token's email and each access token's username are those of the
  user who signed in. The local stack refuses a TOTP code reused within 90 s and accepts the
  previous, current and next 30-second step: a user's fourth sign-in waits for the next step.
- The same email created by 10 threads at once: exactly one 201, nine 409 EMAIL_ALREADY_EXISTS and
  one Cognito user (also when the racing emails differ only in case).

Thread counts are tuned to the 2-core machine (WORKERS), not the totals.

Concurrent requests never share request state (test_concurrent_requests_do_not_share_request_state):
a slow request's answer carries its own request id, not that of one that arrived meanwhile.
"""

import collections
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
import jwt
import pytest

from tests.security import _summary
from tests.support.client import HttpResponse
from tests.support.flows import ActiveUser, onboard, sign_in, wait_for_status

pytestmark = pytest.mark.e2e

USERS = 50
LOGINS_PER_USER = 4
WORKERS = 12
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class Recorder:
    """Every answer the threads got, as (route, status), for the no-5xx assertions."""

    def __init__(self, api):
        self.api = api
        self.lock = threading.Lock()
        self.answers: collections.Counter[tuple[str, int]] = collections.Counter()

    def request(self, method: str, path: str, body=None, headers: dict | None = None):
        answer = self.api.request(method, path, body, headers=headers)
        with self.lock:
            self.answers[(f"{method} {UUID.sub('{id}', path.split('?')[0])}", answer.status)] += 1
        return answer

    def server_errors(self) -> dict:
        return {key: n for key, n in self.answers.items() if key[1] >= 500}

    # The flows' Client and Observer (tests/support/flows.py): every API answer recorded, the mail read apart.

    def post(self, path: str, body: dict):
        return self.request("POST", path, body)

    def mail(self, email: str) -> list[dict]:
        return self.api.mail(email)

    def onboarding_record(self, user_id: str) -> dict:
        answer = self.request("GET", f"/users/{user_id}/onboarding", headers={"x-status-token": self.api.status_tokens.get(user_id)})
        return answer.json() if answer.status == 200 else {}


def _requests_share_state(api, tries: int = 3) -> bool:
    """A slow failing login and a quick failing request sent while it runs: with one shared handler
    state, the login's error carries the quick request's request id."""
    for n in range(tries):
        slow: dict = {}
        thread = threading.Thread(
            target=lambda slow=slow: slow.update(
                answer=api.post("/login", {"email": f"probe-{uuid.uuid4().hex[:8]}@example.com", "password": "Wrong-Password-1!"})
            )
        )
        thread.start()
        time.sleep(0.04)
        quick = api.get(f"/users/probe-{n}/onboarding")
        thread.join(timeout=30)
        assert slow["answer"].status == 401 and quick.status == 400
        if slow["answer"].json()["error"]["request_id"] == quick.json()["error"]["request_id"]:
            return True
    return False


def test_concurrent_requests_do_not_share_request_state(api):
    assert not _requests_share_state(api)


@pytest.fixture(scope="module")
def onboarded(api):
    """USERS onboarded at once by WORKERS threads: (users, recorder)."""
    recorder = Recorder(api)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        outcomes = list(pool.map(lambda n: _attempt(onboard, recorder, recorder, f"concurrent{n}", f"Parallel User{n}"), range(USERS)))
    _summary.durations[f"{USERS} parallel onboardings ({WORKERS} threads)"] = round(time.perf_counter() - started, 1)
    return outcomes, recorder


def _attempt(flow, *args):
    """The flow's result, or the assertion it failed (so one failure does not hide the others)."""
    try:
        return flow(*args)
    except AssertionError as failure:
        return failure


def _succeeded(outcomes: list) -> list:
    failures = [o for o in outcomes if isinstance(o, AssertionError)]
    assert not failures, f"{len(failures)} of {len(outcomes)} failed, first: {failures[0]}"
    return outcomes


def test_parallel_onboardings_all_reach_active_as_distinct_users(onboarded, api, local_stack):
    outcomes, recorder = onboarded
    users = _succeeded(outcomes)
    assert len(users) == USERS >= 50
    assert not recorder.server_errors(), recorder.server_errors()
    assert len({u.user_id for u in users}) == USERS and len({u.email for u in users}) == USERS
    cognito = boto3.client("cognito-idp", region_name=local_stack.region)
    pool_id = local_stack.stack.refs["UserPool"]
    for user in users:
        found = cognito.list_users(UserPoolId=pool_id, Filter=f'email = "{user.email}"')["Users"]
        assert [u["Username"] for u in found] == [user.user_id]


def _sign_in(recorder: Recorder, user: ActiveUser) -> dict:
    signed_in = sign_in(recorder, user)
    assert isinstance(signed_in.answer, HttpResponse) and signed_in.answer.headers.get("Cache-Control") == "no-store"
    tokens = signed_in.tokens
    me = recorder.request("GET", "/userinfo", headers={"authorization": f"Bearer {tokens['access_token']}"})
    assert me.status == 200, me.body
    return {"user": user, "session": signed_in.session, "userinfo": me.json(), **tokens}


def test_parallel_logins_never_cross_sessions(onboarded, api):
    outcomes, _ = onboarded
    recorder = Recorder(api)
    started = time.perf_counter()
    users = _succeeded(outcomes)
    attempts = [user for _ in range(LOGINS_PER_USER) for user in users]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = _succeeded(list(pool.map(lambda user: _attempt(_sign_in, recorder, user), attempts)))
    _summary.durations[f"{len(attempts)} parallel logins + userinfo ({WORKERS} threads)"] = round(time.perf_counter() - started, 1)
    assert len(results) == len(attempts) >= 200
    assert not recorder.server_errors(), recorder.server_errors()
    for result in results:
        user = result["user"]
        id_claims = jwt.decode(result["id_token"], options={"verify_signature": False})
        access_claims = jwt.decode(result["access_token"], options={"verify_signature": False})
        assert id_claims.get("email") == user.email, (user.email, id_claims)
        assert id_claims["cognito:username"] == access_claims["username"] == user.user_id
        assert (result["userinfo"]["email"], result["userinfo"]["user_id"]) == (user.email, user.user_id)
    assert len({r["session"] for r in results}) == len(results), "two logins were given the same MFA session"
    assert len({r["access_token"] for r in results}) == len(results)


@pytest.mark.parametrize("case_variants", [False, True], ids=["same-email", "same-email-in-other-cases"])
def test_the_same_email_created_by_racing_threads_yields_one_user(api, local_stack, case_variants):
    racers = 10
    email = f"race-{uuid.uuid4().hex[:10]}@example.com"
    variants = [email.upper() if case_variants and n % 2 else email for n in range(racers)]
    recorder = Recorder(api)
    barrier = threading.Barrier(racers)

    def race(address: str):
        barrier.wait(timeout=30)
        return recorder.request("POST", "/users", {"full_name": "Race Condition", "email": address})

    with ThreadPoolExecutor(max_workers=racers) as pool:
        answers = list(pool.map(race, variants))
    statuses = collections.Counter(a.status for a in answers)
    # One winner; the others are told the email is taken, or, past the per-email limit of creates
    # (MailRequestsPerEmailPerHour), throttled with Retry-After.
    assert statuses[201] == 1 and set(statuses) <= {201, 409, 429}, [(a.status, a.body[:120]) for a in answers]
    assert {a.json()["error"]["code"] for a in answers if a.status == 409} == {"EMAIL_ALREADY_EXISTS"}
    assert all(a.headers.get("Retry-After") for a in answers if a.status == 429)
    (winner,) = [a.json() for a in answers if a.status == 201]
    assert winner["email"] == email
    wait_for_status(recorder, winner["user_id"], "INVITED")
    cognito = boto3.client("cognito-idp", region_name=local_stack.region)
    found = cognito.list_users(UserPoolId=local_stack.stack.refs["UserPool"], Filter=f'email = "{email}"')["Users"]
    assert [u["Username"] for u in found] == [winner["user_id"]]
