"""`make bench`: latency and throughput of authflow's routes, and its overhead over Cognito alone.

One local stack, on loopback only. Three phases, each run by a pool of threads:
1. onboarding: U users taken to ACTIVE through the API (POST /users, then /confirm once the
   invitation is mailed, then /confirm-mfa once the workflow waits for it);
2. login: three logins per user (POST /login + POST /mfa-verify; three is what TOTP allows a user
   in 90 s), then R refreshes per user (POST /refresh-token);
3. the same with the Cognito calls each route makes, sent directly with boto3 to the same moto
   endpoint: AdminCreateUser; AdminInitiateAuth + AdminRespondToAuthChallenge (NEW_PASSWORD_REQUIRED)
   + AssociateSoftwareToken; VerifySoftwareToken + AdminSetUserMFAPreference; AdminInitiateAuth;
   AdminRespondToAuthChallenge (SOFTWARE_TOKEN_MFA); AdminInitiateAuth (REFRESH_TOKEN_AUTH).
(The user import's rate is the 2 000-user run of tests/e2e/test_user_imports.py that `make bench`
runs after this module: it checks every row as well as timing the import.)
A route's throughput is its completed requests over its phase's wall time. The overhead is the ratio
of the medians: what authflow adds (API gateway, handler, Step Functions, DynamoDB, events) to the
bare Cognito calls. The run is bounded: it stops starting flows after --max-seconds.
"""

import argparse
import json
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from authflow.users import secret_hash
from measures import one_at_a_time
from measures.flows import Api, StackReader, Timings, login, onboard, refresh
from measures.instrument import Meter
from measures.report import print_table, say
from tests.support.flows import PASSWORD, ActiveUser, FlowError, paused_seconds

ROUTES = (
    "POST /users",
    "POST /users/{id}/confirm",
    "POST /users/{id}/confirm-mfa",
    "POST /login",
    "POST /mfa-verify",
    "POST /refresh-token",
)
FLOW_ROWS = ("onboarding flow (to ACTIVE)", "login flow (both steps)")
LOGINS_PER_USER = 3


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0-100), interpolated between the closest ranks."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class Deadline:
    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def passed(self) -> bool:
        return time.monotonic() > self.end


def run_pool(threads: int, tasks: list, work, deadline: Deadline) -> tuple[list, float, list[str]]:
    """Runs work(task) for each task on `threads` threads; tasks not started by the deadline are skipped."""
    results, errors = [], []
    lock = threading.Lock()
    started = time.perf_counter()

    def one(task):
        if deadline.passed():
            return
        try:
            result = work(task)
        except Exception as error:  # a failed flow is reported, not fatal
            with lock:
                errors.append(f"{type(error).__name__}: {error}"[:300])
            return
        with lock:
            results.append(result)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(one, tasks))
    return results, time.perf_counter() - started, errors


class DirectCognito:
    """The Cognito calls of each route, made directly, timed under the route's name."""

    def __init__(self, user_pool_id: str, client_id: str, threads: int):
        self.pool, self.client_id = user_pool_id, client_id
        self.timings = Timings()
        # One client for every thread (boto3 clients are thread-safe), made before any call is timed.
        self.cognito = boto3.client("cognito-idp", config=Config(max_pool_connections=max(10, threads)))
        # The app client's secret, read once as the functions do (each call needs its user's SECRET_HASH).
        client = self.cognito.describe_user_pool_client(UserPoolId=user_pool_id, ClientId=client_id)["UserPoolClient"]
        self.client_secret = client["ClientSecret"]

    def _hash(self, username: str) -> str:
        return secret_hash(self.client_secret, self.client_id, username)

    def _timed(self, route: str, calls):
        started = time.perf_counter()
        result = calls()
        self.timings.add(route, time.perf_counter() - started)
        return result

    def onboard(self) -> ActiveUser:
        c = self.cognito
        user_id, email = str(uuid.uuid4()), f"direct-{uuid.uuid4().hex[:12]}@example.com"
        temporary = "Temporary-Pass-1-" + uuid.uuid4().hex[:6]
        self._timed(
            "POST /users",
            lambda: c.admin_create_user(
                UserPoolId=self.pool,
                Username=user_id,
                TemporaryPassword=temporary,
                MessageAction="SUPPRESS",
                UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
            ),
        )

        def confirm():
            auth = c.admin_initiate_auth(
                UserPoolId=self.pool,
                ClientId=self.client_id,
                AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": user_id, "PASSWORD": temporary, "SECRET_HASH": self._hash(user_id)},
            )
            setup = c.admin_respond_to_auth_challenge(
                UserPoolId=self.pool,
                ClientId=self.client_id,
                ChallengeName="NEW_PASSWORD_REQUIRED",
                ChallengeResponses={"USERNAME": user_id, "NEW_PASSWORD": PASSWORD, "SECRET_HASH": self._hash(user_id)},
                Session=auth["Session"],
            )
            return c.associate_software_token(Session=setup["Session"])

        token = self._timed("POST /users/{id}/confirm", confirm)
        secret = token["SecretCode"]

        user = ActiveUser(email, user_id, PASSWORD, secret)
        # The code the API's enrolment sends too (tests/support/flows.py, enrol_mfa).
        code = user.otp(step_offset=-1)

        def confirm_mfa():
            c.verify_software_token(Session=token["Session"], UserCode=code)
            c.admin_set_user_mfa_preference(
                UserPoolId=self.pool, Username=user_id, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
            )

        self._timed("POST /users/{id}/confirm-mfa", confirm_mfa)
        return user

    def authenticate(self, user: ActiveUser) -> dict:
        return self.cognito.admin_initiate_auth(
            UserPoolId=self.pool,
            ClientId=self.client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": user.user_id, "PASSWORD": user.password, "SECRET_HASH": self._hash(user.user_id)},
        )

    def answer_mfa(self, user: ActiveUser, session: str, code: str) -> dict:
        return self.cognito.admin_respond_to_auth_challenge(
            UserPoolId=self.pool,
            ClientId=self.client_id,
            ChallengeName="SOFTWARE_TOKEN_MFA",
            ChallengeResponses={"USERNAME": user.user_id, "SOFTWARE_TOKEN_MFA_CODE": code, "SECRET_HASH": self._hash(user.user_id)},
            Session=session,
        )

    def refresh_tokens(self, user_id: str, refresh_token: str) -> dict:
        return self.cognito.admin_initiate_auth(
            UserPoolId=self.pool,
            ClientId=self.client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": refresh_token, "SECRET_HASH": self._hash(user_id)},
        )

    def login(self, user: ActiveUser) -> None:
        challenge = self._timed("POST /login", lambda: self.authenticate(user))
        if challenge.get("ChallengeName") != "SOFTWARE_TOKEN_MFA":
            raise FlowError(f"Cognito answered {challenge.get('ChallengeName')}")
        code = user.next_code()
        tokens = self._timed("POST /mfa-verify", lambda: self.answer_mfa(user, challenge["Session"], code))
        user.refresh_token = tokens["AuthenticationResult"]["RefreshToken"]

    def refresh(self, user: ActiveUser) -> None:
        self._timed("POST /refresh-token", lambda: self.refresh_tokens(user.user_id, user.refresh_token))


def _timed_flow(timings: Timings, name: str, flow):
    """A flow's wall time, less the waits for a fresh TOTP step (a client's user would not make them)."""
    started, paused = time.perf_counter(), paused_seconds()
    result = flow()
    timings.add(name, time.perf_counter() - started - (paused_seconds() - paused))
    return result


def drive(
    side: str,
    onboard_one,
    login_one,
    refresh_one,
    timings: Timings,
    users: int,
    refreshes: int,
    threads: int,
    deadline: Deadline,
    progress=say,
) -> dict:
    """Runs the three phases for one side (authflow's API or Cognito directly); the phase durations."""
    phases = {}
    people, phases["onboarding"], errors = run_pool(
        threads, list(range(users)), lambda _: _timed_flow(timings, FLOW_ROWS[0], onboard_one), deadline
    )
    progress(f"{side}: {len(people)} onboardings in {phases['onboarding']:.1f} s")
    logins = [user for _ in range(LOGINS_PER_USER) for user in people]
    done, phases["login"], more = run_pool(
        threads, logins, lambda user: _timed_flow(timings, FLOW_ROWS[1], lambda: login_one(user)), deadline
    )
    errors += more
    progress(f"{side}: {len(done)} logins in {phases['login']:.1f} s")
    signed_in = [user for user in people if user.refresh_token]
    done, phases["refresh"], more = run_pool(threads, [u for _ in range(refreshes) for u in signed_in], refresh_one, deadline)
    errors += more
    progress(f"{side}: {len(done)} refreshes in {phases['refresh']:.1f} s")
    return {"phases": phases, "errors": errors}


ROUTE_PHASE = {
    "POST /users": "onboarding",
    "POST /users/{id}/confirm": "onboarding",
    "POST /users/{id}/confirm-mfa": "onboarding",
    FLOW_ROWS[0]: "onboarding",
    "POST /login": "login",
    "POST /mfa-verify": "login",
    FLOW_ROWS[1]: "login",
    "POST /refresh-token": "refresh",
}


def summarize(api: Timings, api_phases: dict, direct: Timings, direct_phases: dict) -> list[dict]:
    rows = []
    for route in (*ROUTES, *FLOW_ROWS):
        row: dict[str, Any] = {"route": route}
        for side, timings, phases in (("api", api, api_phases), ("direct", direct, direct_phases)):
            samples = timings.samples.get(route, [])
            seconds = phases.get(ROUTE_PHASE[route], 0)
            row[side] = {
                "n": len(samples),
                "failed": timings.failures.get(route, 0),
                "per_second": len(samples) / seconds if seconds else 0.0,
                **{f"p{q}": percentile(samples, q) * 1000 for q in (50, 95, 99)},
            }
        a, d = row["api"]["p50"], row["direct"]["p50"]
        row["overhead_p50"] = a / d if d and d == d and a == a else float("nan")
        rows.append(row)
    return rows


def print_summary(rows: list[dict], threads: int) -> None:
    def ms(v: float) -> str:
        return "-" if v != v else f"{v:.1f}"

    table = []
    for row in rows:
        a, d = row["api"], row["direct"]
        table.append(
            [
                row["route"],
                str(a["n"]) + (f" ({a['failed']} failed)" if a["failed"] else ""),
                f"{a['per_second']:.1f}",
                ms(a["p50"]),
                ms(a["p95"]),
                ms(a["p99"]),
                f"{d['per_second']:.1f}",
                ms(d["p50"]),
                ms(d["p95"]),
                ms(d["p99"]),
                "-" if row["overhead_p50"] != row["overhead_p50"] else f"x{row['overhead_p50']:.1f}",
            ]
        )
    print_table(
        f"authflow's API vs the same Cognito calls made directly (local stack, {threads} threads, latencies in ms)",
        ["route", "n", "API req/s", "p50", "p95", "p99", "Cognito req/s", "p50", "p95", "p99", "overhead p50"],
        table,
        [
            "req/s: the route's completed requests over its phase's wall time (routes of a phase run interleaved).",
            "overhead: authflow's median over Cognito's; both sides talk to the same in-process moto on loopback,",
            "so the ratio shows authflow's own work, not AWS's network latency.",
        ],
    )


def bench(
    users: int = 20,
    refreshes: int = 3,
    threads: int = 4,
    max_seconds: float = 120,
    one_at_a_time_users: int = 10,
    progress=say,
) -> dict:
    from tests.support.stack import running_stack

    meter = Meter.install()  # counts each request's round trips (and swallows the handlers' log lines)
    started = time.monotonic()
    with running_stack() as stack:
        progress(f"local stack up in {time.monotonic() - started:.1f} s on {stack.api_url}")
        reader = StackReader(stack)
        direct = DirectCognito(stack.stack.refs["UserPool"], stack.stack.refs["UserPoolClient"], threads)
        one_by_one = one_at_a_time.measure(stack, reader, direct, meter, one_at_a_time_users, progress) if one_at_a_time_users else []
        deadline = Deadline(max_seconds)

        def api_side(timings: Timings, users: int, refreshes: int, report) -> dict:
            api = Api(stack.api_url, stack.api_key, timings)
            return drive(
                "API",
                lambda: onboard(api, reader, "bench"),
                lambda u: login(api, u),
                lambda u: refresh(api, u),
                timings,
                users,
                refreshes,
                threads,
                deadline,
                report,
            )

        def cognito_side(timings: Timings, users: int, refreshes: int, report) -> dict:
            direct.timings = timings
            return drive("Cognito", direct.onboard, direct.login, direct.refresh, timings, users, refreshes, threads, deadline, report)

        # Warm-up, not timed: one flow per thread on each side makes the imports and clients that
        # steady traffic keeps (their cold starts are `make coldstart`'s subject).
        api_side(Timings(), threads, 1, lambda _: None)
        cognito_side(Timings(), threads, 1, lambda _: None)
        progress(f"warm-up done ({threads} flows per side)")
        api_timings, direct_timings = Timings(), Timings()
        api_run = api_side(api_timings, users, refreshes, progress)
        direct_run = cognito_side(direct_timings, users, refreshes, progress)
        rows = summarize(api_timings, api_run["phases"], direct_timings, direct_run["phases"])
        return {
            "users": users,
            "refreshes_per_user": refreshes,
            "threads": threads,
            "seconds": time.monotonic() - started,
            "stopped_by_deadline": deadline.passed(),
            "errors": api_run["errors"] + direct_run["errors"],
            "routes": rows,
            "one_at_a_time": one_by_one,
            "invocations": {f.logical_id: stack.runtime.invocations[f.name] for f in stack.runtime.functions.values()},
        }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=int(os.environ.get("BENCH_USERS", "20")))
    parser.add_argument("--refreshes", type=int, default=3, help="refreshes per user")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("BENCH_THREADS", "4")))
    parser.add_argument("--max-seconds", type=float, default=120, help="no flow starts after this")
    parser.add_argument(
        "--one-at-a-time-users",
        type=int,
        default=int(os.environ.get("BENCH_ONE_AT_A_TIME_USERS", "10")),
        help="users whose requests are timed and counted one at a time, before the load (0: none)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    from measures.cost import machine_description

    result = bench(args.users, args.refreshes, args.threads, args.max_seconds, args.one_at_a_time_users)
    load = os.getloadavg()
    say(
        f"Measured on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {machine_description()}, load average "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min) at the end; {result['seconds']:.0f} s in all"
    )
    if result["one_at_a_time"]:
        say(f"One request at a time: {args.one_at_a_time_users} users on each side, after one untimed user per side.")
        one_at_a_time.print_figures(result["one_at_a_time"])
    say(f"Under load: {args.users} users, {LOGINS_PER_USER} logins and {args.refreshes} refreshes each, {args.threads} threads.")
    print_summary(result["routes"], args.threads)
    say(
        "Lambda invocations, warm-up included (locally each function runs one invocation at a time, "
        "one execution environment: infra/lambda_runtime.py): "
        + ", ".join(f"{name} {n}" for name, n in sorted(result["invocations"].items()))
    )
    if result["stopped_by_deadline"]:
        say(f"Stopped at the {args.max_seconds:.0f} s bound: later flows were not run.")
    for error in result["errors"][:10]:
        say(f"failed flow: {error}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
