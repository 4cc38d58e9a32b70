"""`make bench`'s first two tables: each route at one request at a time.

For U users, one after the other, the API side onboards the user (POST /users and the rest, then the
end of its workflow), signs in (POST /login, POST /mfa-verify), refreshes, asks GET /userinfo with
the access token and with the id token, logs out and asks for a password reset; the Cognito side
makes, for a user of its own, the Cognito calls each of those routes makes on its path, with boto3
to the same moto endpoint. Nothing else is driven meanwhile, so a figure is one request's, not a
queue's. Per route:

- the milliseconds authflow adds over Cognito: the route's median less the median of its Cognito
  calls made directly (both sides reach the same in-process moto over loopback, so this is
  authflow's own work, not AWS's network latency);
- the AWS round trips on the route's path, counted per request by measures/instrument.py
  (RequestTrips): the Cognito calls, every other call authflow's functions and workflows make
  (its budget, issue 13 item 3), the calls Cognito's triggers make inside Cognito's calls, and the
  reads of what a function caches for a minute.
"""

import time
from collections import Counter
from dataclasses import dataclass
from statistics import median
from typing import Any

from measures.cost import call_latency_ms, load_prices
from measures.flows import Api, StackReader, onboard
from measures.instrument import Meter, RequestTrips
from measures.report import print_table
from tests.support.flows import ActiveUser, expect, sign_in

ACCESS_TOKEN_USERINFO = "GET /userinfo (access token)"
ID_TOKEN_USERINFO = "GET /userinfo (id token)"
# The Cognito calls each route makes on its path (the table says when a measured request made others).
COGNITO_CALLS: dict[str, tuple[str, ...]] = {
    "POST /users": (),  # AdminCreateUser is the onboarding workflow's, after the answer
    "POST /login": ("AdminInitiateAuth",),
    "POST /mfa-verify": ("AdminRespondToAuthChallenge",),
    "POST /refresh-token": ("AdminInitiateAuth",),
    ACCESS_TOKEN_USERINFO: ("GetUser",),
    ID_TOKEN_USERINFO: ("AdminGetUser",),
    "POST /logout": ("GlobalSignOut",),
    "POST /forgot-password": (),  # ForgotPassword is the reset workflow's, after the answer
}
ROUTES = tuple(COGNITO_CALLS)
# Issue 13 item 3: at most this many AWS round trips besides Cognito's own on the route's path.
BUDGETS = {"POST /refresh-token": 1, ACCESS_TOKEN_USERINFO: 1, ID_TOKEN_USERINFO: 1, "POST /login": 3, "POST /mfa-verify": 3}


@dataclass
class RouteFigures:
    route: str
    api_ms: list[float]
    cognito_ms: list[float]
    trips: list[RequestTrips]

    def typical(self) -> RequestTrips | None:
        """The request whose count of authflow's own round trips is the most common (they rarely differ)."""
        if not self.trips:
            return None
        (count, _), *_ = Counter(sum(t.authflow.values()) for t in self.trips).most_common(1)
        return next(t for t in self.trips if sum(t.authflow.values()) == count)

    def as_dict(self) -> dict[str, Any]:
        typical = self.typical()
        api_p50 = median(self.api_ms) if self.api_ms else float("nan")
        cognito_p50 = median(self.cognito_ms) if self.cognito_ms else 0.0
        own = [sum(t.authflow.values()) for t in self.trips]
        return {
            "route": self.route,
            "n": len(self.api_ms),
            "api_p50_ms": api_p50,
            "cognito_p50_ms": cognito_p50,
            "added_ms": api_p50 - cognito_p50,
            "cognito_calls": dict(typical.cognito) if typical else {},
            "expected_cognito_calls": list(COGNITO_CALLS[self.route]),
            "round_trips": own[0] if len(set(own)) == 1 else (Counter(own).most_common(1)[0][0] if own else None),
            "round_trips_range": [min(own), max(own)] if own else [],
            "authflow_calls": dict(typical.authflow) if typical else {},
            "inside_cognito_calls": dict(typical.inside_cognito) if typical else {},
            "invocations": dict(typical.invocations) if typical else {},
            "cache_refills": sum(sum(t.cache_refills.values()) for t in self.trips),
            "budget": BUDGETS.get(self.route),
            "modelled_aws_ms": modelled_aws_ms(dict(typical.authflow)) if typical else 0.0,
        }


def modelled_aws_ms(calls: dict[str, int]) -> float:
    """What authflow's own round trips would add in AWS: each call's latency from measures/prices.json
    (aws_latency_ms, as the cost model bills it) and an Express execution's own overhead; no handler time."""
    latencies = load_prices()["aws_latency_ms"]
    total = sum(n * call_latency_ms(call, latencies) for call, n in calls.items())
    return total + calls.get("stepfunctions:StartSyncExecution", 0) * latencies["express_execution_overhead"]["ms"]


def _timed(samples: dict[str, list[float]], route: str, call):
    started = time.perf_counter()
    result = call()
    samples.setdefault(route, []).append((time.perf_counter() - started) * 1000)
    return result


def api_side(api: Api, reader: StackReader, tag: str) -> None:
    """One user's requests, one at a time (the Api times each and names its route)."""
    user = onboard(api, reader, tag)
    tokens = sign_in(api, user).tokens
    refreshed = expect(
        api.post("/refresh-token", {"email": user.email, "refresh_token": tokens["refresh_token"]}), 200, "POST /refresh-token"
    ).json()
    for route, token in ((ACCESS_TOKEN_USERINFO, refreshed["access_token"]), (ID_TOKEN_USERINFO, refreshed["id_token"])):
        expect(api.call("GET", "/userinfo", None, route, {"authorization": f"Bearer {token}"}), 200, route)
    expect(api.post("/logout", {"email": user.email, "access_token": refreshed["access_token"]}), 200, "POST /logout")
    expect(api.post("/forgot-password", {"email": user.email}), 200, "POST /forgot-password")


def cognito_side(direct, samples: dict[str, list[float]]) -> None:
    """The same user's story with only the Cognito calls each route makes on its path, each timed under the route."""
    user: ActiveUser = direct.onboard()
    c, pool = direct.cognito, direct.pool
    challenge = _timed(samples, "POST /login", lambda: direct.authenticate(user))
    code = user.next_code()
    tokens = _timed(samples, "POST /mfa-verify", lambda: direct.answer_mfa(user, challenge["Session"], code))["AuthenticationResult"]
    refreshed = _timed(samples, "POST /refresh-token", lambda: direct.refresh_tokens(user.user_id, tokens["RefreshToken"]))
    access = refreshed["AuthenticationResult"]["AccessToken"]
    _timed(samples, ACCESS_TOKEN_USERINFO, lambda: c.get_user(AccessToken=access))
    _timed(samples, ID_TOKEN_USERINFO, lambda: c.admin_get_user(UserPoolId=pool, Username=user.user_id))
    _timed(samples, "POST /logout", lambda: c.global_sign_out(AccessToken=access))


def measure(stack, reader: StackReader, direct, meter: Meter, users: int, progress) -> list[dict[str, Any]]:
    """The per-route figures at one request at a time, after one untimed user on each side (cold starts, JWKS)."""
    api = Api(stack.api_url, stack.api_key)
    api_side(api, reader, "warm")
    cognito_side(direct, {})
    api = Api(stack.api_url, stack.api_key)
    first = len(meter.requests)
    for _ in range(users):
        api_side(api, reader, "path")
    trips = meter.requests[first:]
    cognito_ms: dict[str, list[float]] = {}
    for _ in range(users):
        cognito_side(direct, cognito_ms)
    progress(f"one request at a time: {users} users on each side")
    return [
        RouteFigures(
            route,
            [s * 1000 for s in api.timings.samples.get(route, [])],
            cognito_ms.get(route, []),
            [t for t in trips if t.route == route],
        ).as_dict()
        for route in ROUTES
    ]


def _calls(calls: dict[str, int]) -> str:
    """One line per call kind, most frequent first: "2 dynamodb:GetItem"."""
    return "\n".join(f"{n} {name}" for name, n in sorted(calls.items(), key=lambda kv: (-kv[1], kv[0]))) or "-"


def _functions(invocations: dict[str, int]) -> str:
    """Function names without the stack's prefix (authflow-local-ApiFunction: ApiFunction)."""
    return _calls({name.rsplit("-", 1)[-1]: n for name, n in invocations.items()})


def _own(row: dict[str, Any]) -> str:
    low, high = row["round_trips_range"] or [None, None]
    spread = "" if low == high else f" ({low} to {high})"
    return f"{row['round_trips']}{spread}\n{_calls(row['authflow_calls'])}"


def _budget(row: dict[str, Any]) -> str:
    if row["budget"] is None:
        return "-"
    return f"<= {row['budget']}: " + ("met" if row["round_trips"] <= row["budget"] else "NOT met")


def print_figures(rows: list[dict[str, Any]]) -> None:
    print_table(
        "Each route at one request at a time: what authflow adds over the Cognito calls it makes (ms, medians)",
        ["route", "n", "authflow", "Cognito calls on its path", "those, made directly", "added by authflow", "in AWS (modelled)"],
        [
            [
                row["route"],
                row["n"],
                f"{row['api_p50_ms']:.1f}",
                _calls(row["cognito_calls"]) + ("" if sorted(row["cognito_calls"]) == sorted(row["expected_cognito_calls"]) else " (!)"),
                f"{row['cognito_p50_ms']:.1f}" if row["expected_cognito_calls"] else "none made",
                f"{row['added_ms']:.1f}",
                f"~{row['modelled_aws_ms']:.0f}",
            ]
            for row in rows
        ],
        [
            "Both sides reach the same in-process moto over loopback: the difference is authflow's own work",
            "(gateway, handler, workflows, DynamoDB, and the local emulation's costs: see the README), not AWS's latency.",
            "In AWS (modelled): the latency measures/prices.json gives each of authflow's own calls on the path",
            "(the next table), plus an Express execution's overhead: modelled, not measured; the handlers' own time aside.",
            "(!): the measured request made other Cognito calls than the direct side times.",
            "Local artefacts in the ms (not in the counts): every AWS call is HTTP to moto in this one Python process;",
            "StartSyncExecution polls its execution's end every 2 ms (infra/stepfunctions.py); each function serves one",
            "invocation at a time (infra/lambda_runtime.py); an earlier request's asynchronous work may still run.",
        ],
        width=150,
    )
    print_table(
        "AWS round trips on each route's path, per request (the calls made before the answer, counted)",
        ["route", "Cognito", "authflow's own", "budget", "inside Cognito's calls", "Lambda invocations"],
        [
            [
                row["route"],
                _calls(row["cognito_calls"]),
                _own(row),
                _budget(row),
                _calls(row["inside_cognito_calls"]),
                _functions(row["invocations"]),
            ]
            for row in rows
        ],
        [
            "authflow's own: every call on the path but the Cognito ones, by authflow's functions and its workflows (the",
            "Lambda Invoke of a task by a StartSyncExecution's execution). Inside Cognito's calls: what the Cognito triggers",
            "Cognito invokes make (the direct side's Cognito calls run them too). The API key's read, cached a minute per",
            f"environment, is left out: {sum(r['cache_refills'] for r in rows)} such reads in the run.",
        ],
        row_lines=True,
        width=170,
    )
