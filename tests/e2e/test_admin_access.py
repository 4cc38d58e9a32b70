"""Who may call what (SPEC section 2), tried as an attacker would: exact HTTP requests to the local stack.

- The API key identifies an app that may run in a browser: alone it opens no admin route (401), and a
  user's own token opens none either (403). OWASP ASVS 5.0 8.2.1 (function-level access control on
  the server), 8.3.1 (enforced at a trusted service layer).
- Tokens are checked live with Cognito: a token revoked by /logout is refused at once, an admin
  removed from the group once the check's cache (a minute at most) has passed. ASVS 5.0 7.4.1
  (session termination is effective), NIST SP 800-63B-4 section 5.1 (a session ended by logout is refused).
- Onboarding status is no oracle: without the creator's status token (or an admin's token), a real
  user id is answered exactly as an unknown one. ASVS 5.0 6.3.8 (no user enumeration).
"""

import uuid

import pytest

from tests.support.client import ApiClient, make_admin, onboard
from tests.support.flows import sign_in, unique_email
from tests.support.workflow import stack_client

pytestmark = pytest.mark.e2e

HOOK = {"url": "http://127.0.0.1:9/hook", "events": ["UserCreated"]}


def bearer(token: str) -> dict:
    return {"authorization": f"Bearer {token}"}


def webhook_routes(api: ApiClient, headers: dict | None, webhook_id: str) -> dict[str, int]:
    return {
        "POST /webhooks": api.post("/webhooks", HOOK, headers=headers).status,
        "GET /webhooks": api.get("/webhooks", headers=headers).status,
        "DELETE /webhooks/{id}": api.request("DELETE", f"/webhooks/{webhook_id}", headers=headers).status,
    }


def error_code(answer) -> str:
    return answer.json()["error"]["code"]


@pytest.fixture(scope="module")
def user_tokens(api) -> tuple:
    """An ordinary active user, signed in: (user, tokens)."""
    user = onboard(api, "not-admin")
    return user, sign_in(api, user).tokens


@pytest.fixture
def webhook(api, admin):
    created = api.post("/webhooks", HOOK, headers=admin.headers)
    assert created.status == 201, created.body
    yield created.json()["id"]
    api.request("DELETE", f"/webhooks/{created.json()['id']}", headers=admin.headers)


def _live_callers(local_stack):
    """The API function's admin check as loaded in the local stack (one per execution environment)."""
    return local_stack.runtime.function("ApiFunction").module.callers


# ------------------------------------------------------------------------------ webhooks: admins only


def test_the_api_key_alone_cannot_create_list_or_delete_webhooks(api, webhook):
    assert webhook_routes(api, None, webhook) == dict.fromkeys(("POST /webhooks", "GET /webhooks", "DELETE /webhooks/{id}"), 401)
    assert error_code(api.get("/webhooks")) == "INVALID_TOKEN"


def test_an_ordinary_users_token_gets_403_on_every_webhook_route(api, webhook, user_tokens):
    _, tokens = user_tokens
    statuses = webhook_routes(api, bearer(tokens["access_token"]), webhook)
    assert statuses == dict.fromkeys(("POST /webhooks", "GET /webhooks", "DELETE /webhooks/{id}"), 403)
    assert error_code(api.get("/webhooks", headers=bearer(tokens["access_token"]))) == "FORBIDDEN"


def test_the_id_token_of_an_admin_is_not_an_access_token(api, admin, webhook):
    """The id token carries the groups claim too, but only an access token is accepted."""
    tokens = sign_in(api, admin.user).tokens
    assert api.get("/webhooks", headers=bearer(tokens["id_token"])).status == 401


def test_an_admins_access_token_opens_the_webhook_routes(api, admin, webhook):
    listed = api.get("/webhooks", headers=admin.headers)
    assert listed.status == 200 and webhook in {w["id"] for w in listed.json()["webhooks"]}
    assert api.request("DELETE", f"/webhooks/{webhook}", headers=admin.headers).status == 200
    assert webhook not in {w["id"] for w in api.get("/webhooks", headers=admin.headers).json()["webhooks"]}


def test_an_admin_removed_from_the_group_is_refused_once_the_cache_has_passed(api, local_stack, monkeypatch):
    former = make_admin(api, "former-admin")
    assert api.get("/webhooks", headers=former.headers).status == 200
    # The operator removes them (what `authflow admins` would do in AWS: AdminRemoveUserFromGroup).
    stack_client(local_stack, "cognito-idp").admin_remove_user_from_group(
        UserPoolId=local_stack.stack.refs["UserPool"], Username=former.user.user_id, GroupName=local_stack.stack.refs["AdminGroup"]
    )
    callers = _live_callers(local_stack)
    assert 0 < callers.cache.ttl_seconds <= 60
    # Shorten the cache instead of waiting out its minute: the next request asks Cognito again.
    monkeypatch.setattr(callers.cache, "ttl_seconds", 0)
    refused = api.get("/webhooks", headers=former.headers)
    assert refused.status == 403 and error_code(refused) == "FORBIDDEN"
    bystander = onboard(api, "bystander-of-former-admin")
    assert api.request("DELETE", f"/users/{bystander.user_id}", headers=former.headers).status == 403
    assert api.onboarding(bystander.user_id).status == 200


def test_the_openapi_document_says_what_each_guarded_route_needs(api):
    document = api.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["statusToken"] == {"type": "apiKey", "name": "X-Status-Token", "in": "header"}
    for method, path in (("post", "/webhooks"), ("get", "/webhooks"), ("delete", "/webhooks/{webhook_id}"), ("delete", "/users/{user_id}")):
        operation = document["paths"][path][method]
        assert operation["security"] == [{"apiKey": [], "bearerAuth": []}], path
        assert {"401", "403"} <= set(operation["responses"]), path
    onboarding = document["paths"]["/users/{user_id}/onboarding"]["get"]
    assert {"statusToken": [], "apiKey": []} in onboarding["security"] and {"apiKey": [], "bearerAuth": []} in onboarding["security"]
    assert {"401", "404"} <= set(onboarding["responses"])


# ------------------------------------------------------------------------------ DELETE /users/{id}


def test_a_token_revoked_by_logout_cannot_delete_its_own_user(api, local_stack):
    user = onboard(api, "revoked")
    tokens = sign_in(api, user).tokens
    assert api.post("/logout", {"email": user.email, "access_token": tokens["access_token"]}).status == 200
    refused = api.request("DELETE", f"/users/{user.user_id}", headers=bearer(tokens["access_token"]))
    assert refused.status == 401 and error_code(refused) == "INVALID_TOKEN"
    assert api.onboarding(user.user_id).json()["status"] == "ACTIVE"


def test_another_users_token_cannot_delete_a_user(api, user_tokens):
    _, tokens = user_tokens
    victim = onboard(api, "delete-victim")
    refused = api.request("DELETE", f"/users/{victim.user_id}", headers=bearer(tokens["access_token"]))
    assert refused.status == 403 and error_code(refused) == "FORBIDDEN"
    assert api.onboarding(victim.user_id).status == 200


def test_the_api_key_alone_cannot_delete_a_user(api):
    victim = onboard(api, "keyonly-victim")
    refused = api.request("DELETE", f"/users/{victim.user_id}")
    assert refused.status == 401 and error_code(refused) == "INVALID_TOKEN"


def test_an_admin_deletes_another_user(api, admin):
    leaver = onboard(api, "deleted-by-admin")
    deleted = api.request("DELETE", f"/users/{leaver.user_id}", headers=admin.headers)
    assert deleted.status == 200 and deleted.json() == {"user_id": leaver.user_id, "status": "DELETED"}
    assert api.onboarding(leaver.user_id).status == 404


# ------------------------------------------------------------------------------ onboarding status


@pytest.fixture(scope="module")
def created(api) -> dict:
    answer = api.post("/users", {"full_name": "Status Token", "email": unique_email("status-token")})
    assert answer.status == 201, answer.body
    return answer.json()


def test_create_answers_a_random_status_token(api, created):
    token = created["status_token"]
    assert len(token) >= 43  # 32 random bytes, base64url: 256 bits
    other = api.post("/users", {"full_name": "Other Token", "email": unique_email("status-token")}).json()["status_token"]
    assert other != token


def _not_found_shape(answer) -> tuple:
    body = answer.json()
    return answer.status, body["error"]["code"], body["error"]["message"], sorted(body)


def test_the_onboarding_of_a_real_user_looks_unknown_without_the_right_token(api, created, user_tokens):
    path = f"/users/{created['user_id']}/onboarding"
    unknown = api.get(f"/users/{uuid.uuid4()}/onboarding")
    _, tokens = user_tokens
    someone_elses = api.post("/users", {"full_name": "Someone Else", "email": unique_email("status-token")}).json()["status_token"]
    attempts = {
        "no token": api.get(path),
        "a wrong token": api.get(path, headers={"x-status-token": "A" * 43}),
        "another user's status token": api.get(path, headers={"x-status-token": someone_elses}),
        "an ordinary user's access token": api.get(path, headers=bearer(tokens["access_token"])),
    }
    assert _not_found_shape(unknown) == (404, "USER_NOT_FOUND", "No such user.", ["error"])
    for what, answer in attempts.items():
        assert _not_found_shape(answer) == _not_found_shape(unknown), what
    assert created["user_id"] not in str([a.body for a in attempts.values()])


def test_an_unknown_id_with_a_status_token_is_404(api, created):
    answer = api.get(f"/users/{uuid.uuid4()}/onboarding", headers={"x-status-token": created["status_token"]})
    assert answer.status == 404 and error_code(answer) == "USER_NOT_FOUND"


def test_the_creator_and_an_admin_read_the_onboarding(api, admin, created):
    path = f"/users/{created['user_id']}/onboarding"
    by_creator = api.get(path, headers={"x-status-token": created["status_token"]})
    by_admin = api.get(path, headers=admin.headers)
    assert by_creator.status == by_admin.status == 200
    assert by_creator.json()["user_id"] == by_admin.json()["user_id"] == created["user_id"]
    assert "status_token" not in by_creator.body.decode() and created["status_token"] not in by_creator.body.decode()


def test_an_invalid_bearer_token_on_the_onboarding_is_401_whatever_the_id(api, created):
    for user_id in (created["user_id"], str(uuid.uuid4())):
        answer = api.get(f"/users/{user_id}/onboarding", headers=bearer("not.a.token"))
        assert answer.status == 401 and error_code(answer) == "INVALID_TOKEN"


def test_a_retried_create_answers_the_same_working_status_token(api):
    body = {"full_name": "Retry Token", "email": unique_email("status-retry")}
    key = {"idempotency-key": f"status-{uuid.uuid4()}"}
    first, second = api.post("/users", body, headers=key), api.post("/users", body, headers=key)
    assert first.status == second.status == 201
    assert first.json()["status_token"] == second.json()["status_token"]
    polled = api.get(f"/users/{first.json()['user_id']}/onboarding", headers={"x-status-token": second.json()["status_token"]})
    assert polled.status == 200


def test_the_status_table_keeps_only_the_digest_of_the_status_token(api, local_stack):
    """Also for a create with an Idempotency-Key, whose answer the table keeps for a day (sealed)."""
    import hashlib

    answer = api.post(
        "/users", {"full_name": "Table Reader", "email": unique_email("status-digest")}, headers={"idempotency-key": str(uuid.uuid4())}
    )
    assert answer.status == 201, answer.body
    created = answer.json()
    dynamodb = stack_client(local_stack, "dynamodb")
    table = local_stack.stack.refs["StatusTable"]
    items = [item for page in dynamodb.get_paginator("scan").paginate(TableName=table) for item in page["Items"]]
    assert created["status_token"] not in str(items)
    status = next(i for i in items if i["pk"]["S"] == f"USER#{created['user_id']}" and i["sk"]["S"] == "STATUS")
    assert status["status_token_digest"]["S"] == hashlib.sha256(created["status_token"].encode()).hexdigest()
    assert any(created["user_id"] in str(i) for i in items if i["pk"]["S"] == "IDEMPOTENCY")  # the answer is kept, sealed


def test_a_browser_may_send_the_status_token_and_the_bearer_token(api, created):
    """CORS: the preflight allows both credentials' headers on the onboarding route."""
    answer = api.request(
        "OPTIONS", f"/users/{created['user_id']}/onboarding", headers={"x-api-key": None, "origin": "https://app.example.com"}
    )
    assert answer.status in (200, 204)
    allowed = {h.strip().lower() for h in answer.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"x-status-token", "authorization", "x-api-key"} <= allowed


def test_an_id_token_deletes_its_own_user_but_an_admins_id_token_no_other(api):
    """CognitoApi's clients send the id token: it deletes its own user, and carries no admin right."""
    victim, admin = onboard(api, "id-victim"), make_admin(api, "id-admin")
    admin_id_token = sign_in(api, admin.user).tokens["id_token"]
    refused = api.request("DELETE", f"/users/{victim.user_id}", headers=bearer(admin_id_token))
    assert error_code(refused) == "FORBIDDEN"
    own_id_token = sign_in(api, victim).tokens["id_token"]
    assert api.request("DELETE", f"/users/{victim.user_id}", headers=bearer(own_id_token)).status == 200
