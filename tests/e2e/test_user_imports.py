"""User imports over HTTP against the local stack: an admin posts a CSV file, the import function
(polled from the import queue as Lambda does, infra/event_sources.py) starts each row's onboarding
while Cognito's AdminCreateUser quota is lowered below the import's rate and one call in seven is
throttled besides (so the back-off is exercised however busy the machine is).

No 5xx, no duplicate user, every row accounted for, and ImportCompleted once. AUTHFLOW_IMPORT_ROWS
sets the number of users: 200 in the suite; `make bench` runs this test with 2 000 and prints the rate.
The test waits as long as the import makes progress: it fails if no row is accounted for (or, after,
no user invited) for STALL_SECONDS, never because a busy machine imports slowly.
"""

import json
import os
import time
import uuid
from collections import Counter

import pytest

from tests.support.client import onboard
from tests.support.faults import admin_create_user_quota
from tests.support.flows import sign_in
from tests.support.workflow import stack_client

pytestmark = pytest.mark.e2e

ROWS = int(os.environ.get("AUTHFLOW_IMPORT_ROWS", "200"))
DUPLICATES = 5
INVALID = ["Bad Email,not-an-email,", "Look Alike,b\u043eb@example.com,", ",nobody@example.com,"]
QUOTA_PER_SECOND = 10  # below the import's 25 AdminCreateUser calls a second: Cognito throttles it
THROTTLE_EVERY = 7  # and one call in seven, should this machine be too busy to reach the quota
STALL_SECONDS = 120  # longer than any row's back-off (authflow.imports: 2^receipts s, full jitter) at this scale


def import_file(tag: str) -> tuple[str, list[str]]:
    emails = [f"import-{tag}-{i}@example.com" for i in range(ROWS)]
    rows = [f"User {i},{email},+3361234{i % 10000:04d}" for i, email in enumerate(emails)]
    rows += [f"Again {i},{emails[i].upper()}," for i in range(DUPLICATES)]  # the same emails, another case
    return "full_name,email,mobile_phone_number\n" + "\n".join(rows + INVALID) + "\n", emails


def users_by_email(local_stack, tag: str) -> dict[str, list[str]]:
    cognito = stack_client(local_stack, "cognito-idp")
    found: dict[str, list[str]] = {}
    pages = cognito.get_paginator("list_users").paginate(UserPoolId=local_stack.stack.refs["UserPool"], Filter=f'email ^= "import-{tag}-"')
    for page in pages:
        for user in page["Users"]:
            email = next(a["Value"] for a in user["Attributes"] if a["Name"] == "email")
            if email.startswith(f"import-{tag}-"):
                found.setdefault(email, []).append(user["Username"])
    return found


class Progress:
    """Whether something observed changed within the last STALL_SECONDS."""

    def __init__(self) -> None:
        self.last: object = None
        self.changed = time.monotonic()

    def saw(self, observed: object) -> None:
        if observed != self.last:
            self.last, self.changed = observed, time.monotonic()

    def moving(self) -> bool:
        return time.monotonic() - self.changed < STALL_SECONDS


def test_an_import_under_cognito_throttling_creates_each_user_once_and_accounts_for_every_row(api, admin, local_stack, monkeypatch, capsys):
    tag = uuid.uuid4().hex[:8]
    body, emails = import_file(tag)
    headers = {**admin.headers, "content-type": "text/csv", "idempotency-key": f"import-{tag}"}
    with admin_create_user_quota(monkeypatch, QUOTA_PER_SECOND, THROTTLE_EVERY) as quota:
        started = time.monotonic()
        submitted = api.post("/user-imports", raw=body.encode(), headers=headers)
        assert submitted.status == 202, submitted.body
        answer = submitted.json()
        assert (answer["rows"], answer["queued"], answer["invalid"]) == (ROWS + DUPLICATES + len(INVALID), ROWS + DUPLICATES, len(INVALID))
        assert api.post("/user-imports", raw=body.encode(), headers=headers).json() == answer, "the same key and file: the same import"

        statuses: Counter[int] = Counter()
        progress, seen = None, Progress()
        while seen.moving():
            progress = api.get(f"/user-imports/{answer['import_id']}", headers=admin.headers)
            statuses[progress.status] += 1
            if progress.status != 200 or progress.json()["status"] == "COMPLETED":
                break
            seen.saw(progress.json()["counts"])
            time.sleep(0.5)
        elapsed = time.monotonic() - started
        # Each created user's invitation comes after its creation, both through the lowered quota.
        invited: set[str] = set()
        seen = Progress()
        while seen.moving():
            invited = {e["detail"]["user_id"] for e in api.local("events?type=InvitationSent")}
            created = users_by_email(local_stack, tag)
            if len(created) == ROWS and {u for ids in created.values() for u in ids} <= invited:
                break
            seen.saw((len(created), len(invited)))
            time.sleep(max(1, ROWS / 400))  # each look reads every invitation event of the session
        all_invited = time.monotonic() - started
    with capsys.disabled():  # the figure `make bench` reports
        print(
            f"\nUser import: {ROWS} users imported in {elapsed:.1f} s, {ROWS / elapsed:.1f} rows/s, with Cognito's AdminCreateUser "
            f"quota lowered to {QUOTA_PER_SECOND}/s and one call in {THROTTLE_EVERY} throttled ({quota.throttled} of {quota.calls} calls throttled); every user invited "
            f"{all_invited:.0f} s after the POST"
        )

    assert set(statuses) == {200}, f"no 5xx, no refusal while polling: {statuses}"
    assert progress is not None
    final = progress.json()
    assert final["status"] == "COMPLETED", final["counts"]
    assert final["counts"] == {"queued": 0, "created": ROWS, "duplicate": DUPLICATES, "invalid": len(INVALID), "failed": 0}
    assert [(p["row"], p["reason"]) for p in final["problems"]] == [
        (ROWS + DUPLICATES + 1, "INVALID_REQUEST"),
        (ROWS + DUPLICATES + 2, "INVALID_EMAIL"),
        (ROWS + DUPLICATES + 3, "INVALID_REQUEST"),
    ]
    assert quota.throttled > 0, "Cognito throttled the import: the back-off was exercised"

    created = users_by_email(local_stack, tag)
    assert sorted(created) == sorted(emails) and all(len(ids) == 1 for ids in created.values()), "one user per email, no duplicate"
    assert {u for ids in created.values() for u in ids} <= invited, "every user was invited despite the throttling"
    completed = [e["detail"] for e in api.local("events?type=ImportCompleted") if e["detail"]["import_id"] == answer["import_id"]]
    assert len(completed) == 1 and (completed[0]["created"], completed[0]["duplicate"], completed[0]["failed"]) == (ROWS, DUPLICATES, 0)


def test_only_an_admin_may_import_or_read_an_import(api, admin):
    """As an attacker would try it (OWASP ASVS 5.0 8.2.1, 8.3.1: function-level access control enforced
    server-side): the API key alone, or an ordinary user's access token, onboards no one and reads nothing."""
    body = b"full_name,email\nMallory,mallory-import@example.com\n"
    csv = {"content-type": "text/csv"}
    refused = api.post("/user-imports", raw=body, headers=csv)
    assert (refused.status, refused.json()["error"]["code"]) == (401, "INVALID_TOKEN")
    user = onboard(api, "importer")
    ordinary = {"authorization": f"Bearer {sign_in(api, user).tokens['access_token']}"}
    refused = api.post("/user-imports", raw=body, headers={**csv, **ordinary})
    assert (refused.status, refused.json()["error"]["code"]) == (403, "FORBIDDEN")

    created = api.post("/user-imports", raw=body, headers={**csv, **admin.headers}).json()
    for headers, status, code in (({}, 401, "INVALID_TOKEN"), (ordinary, 403, "FORBIDDEN")):
        answer = api.get(f"/user-imports/{created['import_id']}", headers=headers)
        assert (answer.status, answer.json()["error"]["code"]) == (status, code), "no one else learns the emails of an import"
    too_big = api.post("/user-imports", raw=b"x" * 6_000_001, headers={**csv, **admin.headers})
    assert (too_big.status, too_big.json()["error"]["code"]) == (413, "PAYLOAD_TOO_LARGE")
    as_json = api.post("/user-imports", {"full_name": "Ada", "email": "ada-import@example.com"}, headers=admin.headers)
    assert (as_json.status, as_json.json()["error"]["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")


def test_json_lines_reach_the_import_through_http_api_base64_encoded(api, admin):
    """HTTP API sends an application/x-ndjson body to the function base64-encoded (the local gateway
    as AWS does, tests/unit/test_local_stack_gaps.py): the rows are the decoded lines, non-ASCII names
    included; a file that is not UTF-8 is refused whole."""
    tag = uuid.uuid4().hex[:8]
    lines = [{"full_name": "Zoë Ündset", "email": f"import-ndjson-{tag}@example.com"}, {"full_name": "Bad", "email": "not-an-email"}]
    body = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines).encode()
    headers = {**admin.headers, "content-type": "application/x-ndjson"}
    submitted = api.post("/user-imports", raw=body, headers=headers)
    assert submitted.status == 202, submitted.body
    assert (submitted.json()["rows"], submitted.json()["queued"], submitted.json()["invalid"]) == (2, 1, 1)
    problems = api.get(f"/user-imports/{submitted.json()['import_id']}", headers=admin.headers).json()["problems"]
    assert problems == [{"row": 2, "email": "not-an-email", "reason": "INVALID_REQUEST"}]
    refused = api.post("/user-imports", raw=body.decode().encode("utf-16"), headers=headers)
    assert (refused.status, refused.json()["error"]["code"]) == (400, "INVALID_REQUEST")
