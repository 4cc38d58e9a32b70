"""The rules of who may call what, on moto's in-process Cognito: the live admin check and its cache
(authflow.admins), the status token (authflow.status_tokens), and `authflow admins add` in AWS.

The JWT check in front of the live one (authflow.tokens) fetches the pool's keys over HTTP, which the
in-process mock does not serve; tests/security/test_hostile_input.py covers it against the local stack.
Here the token's claims are read unverified, so each test is about what Cognito answers.
"""

import uuid
from datetime import UTC, datetime

import boto3
import jwt
import pytest
from pydantic import SecretStr

from authflow import errors, status_tokens
from authflow.admins import MAX_CACHE_SECONDS, Callers, ExpiringCache
from authflow.tokens import TokenClaims, TokenUse
from authflow_cli.sources import AwsSource, NoSuchUser
from tests.support.workflow import in_process_aws  # noqa: F401 (fixture)

PASSWORD = "Correct-Horse-9-Battery"
GROUP = "admins"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class UnverifiedClaims:
    """Stands in for the JWT signature check (see the module docstring)."""

    def verify(self, token: SecretStr, accept: tuple[TokenUse, ...] = (TokenUse.ACCESS,)) -> TokenClaims:
        claims = jwt.decode(token.get_secret_value(), options={"verify_signature": False})
        return claims_of(claims["username"], claims.get("cognito:groups", []))


def claims_of(user_id: str, groups: list[str]) -> TokenClaims:
    return TokenClaims(
        user_id=user_id, groups=groups, token_use=TokenUse.ACCESS, origin_jti="jti", issued_at=0, expires_at=datetime.now(UTC)
    )


@pytest.fixture
def pool(in_process_aws) -> dict:  # noqa: F811
    cognito = boto3.client("cognito-idp")
    pool_id = cognito.create_user_pool(PoolName=f"unit-{uuid.uuid4().hex[:8]}")["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(UserPoolId=pool_id, ClientName="api", ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"])[
        "UserPoolClient"
    ]["ClientId"]
    cognito.create_group(UserPoolId=pool_id, GroupName=GROUP)
    return {"cognito": cognito, "pool_id": pool_id, "client_id": client_id}


def new_user(pool: dict, email: str | None = None) -> str:
    user_id = str(uuid.uuid4())
    email = email or f"u-{user_id[:8]}@example.com"
    pool["cognito"].admin_create_user(
        UserPoolId=pool["pool_id"], Username=user_id, UserAttributes=[{"Name": "email", "Value": email}], MessageAction="SUPPRESS"
    )
    pool["cognito"].admin_set_user_password(UserPoolId=pool["pool_id"], Username=user_id, Password=PASSWORD, Permanent=True)
    return user_id


def access_token(pool: dict, user_id: str) -> SecretStr:
    result = pool["cognito"].admin_initiate_auth(
        UserPoolId=pool["pool_id"],
        ClientId=pool["client_id"],
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": user_id, "PASSWORD": PASSWORD},
    )
    return SecretStr(result["AuthenticationResult"]["AccessToken"])


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def callers(pool, clock) -> Callers:
    return Callers(UnverifiedClaims(), pool["pool_id"], GROUP, ttl_seconds=60, clock=clock)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- the live check


def test_an_ordinary_user_is_identified_and_refused_admin_routes(pool, callers):
    user_id = new_user(pool)
    token = access_token(pool, user_id)
    assert callers.identify(token).user_id == user_id and not callers.identify(token).is_admin
    with pytest.raises(errors.Forbidden):
        callers.require_admin(token)


def test_membership_comes_from_cognito_not_from_the_tokens_groups_claim(pool, callers):
    user_id = new_user(pool)
    token = access_token(pool, user_id)  # issued before the user joined: no cognito:groups claim
    pool["cognito"].admin_add_user_to_group(UserPoolId=pool["pool_id"], Username=user_id, GroupName=GROUP)
    assert callers.require_admin(token).user_id == user_id


def test_a_removed_admin_keeps_the_right_only_until_the_cache_expires(pool, callers, clock):
    user_id = new_user(pool)
    pool["cognito"].admin_add_user_to_group(UserPoolId=pool["pool_id"], Username=user_id, GroupName=GROUP)
    token = access_token(pool, user_id)
    assert callers.identify(token).is_admin
    pool["cognito"].admin_remove_user_from_group(UserPoolId=pool["pool_id"], Username=user_id, GroupName=GROUP)
    clock.now += 59.9
    assert callers.identify(token).is_admin  # Cognito's answer of under a minute ago
    clock.now += 0.1
    with pytest.raises(errors.Forbidden):
        callers.require_admin(token)


def test_a_revoked_token_is_refused_once_the_cache_expires(pool, callers, clock):
    user_id = new_user(pool)
    token = access_token(pool, user_id)
    callers.identify(token)
    pool["cognito"].global_sign_out(AccessToken=token.get_secret_value())
    clock.now += 60
    with pytest.raises(errors.InvalidToken):
        callers.identify(token)


def test_a_token_cognito_never_issued_is_invalid(pool, callers):
    user_id = new_user(pool)
    claims = jwt.decode(access_token(pool, user_id).get_secret_value(), options={"verify_signature": False})
    forged = jwt.encode(claims, "a key that is not the pool key at all", algorithm="HS256")
    with pytest.raises(errors.InvalidToken):
        callers.identify(SecretStr(forged))


def test_a_token_whose_claims_name_another_user_than_cognito_does_is_invalid(pool, callers, monkeypatch):
    user_id, victim = new_user(pool), new_user(pool)
    token = access_token(pool, user_id)
    monkeypatch.setattr(callers.verifier, "verify", lambda *_: claims_of(victim, [GROUP]))
    with pytest.raises(errors.InvalidToken):
        callers.identify(token)


def test_the_cache_may_not_outlive_a_minute(pool):
    with pytest.raises(ValueError, match="0 to 60"):
        Callers(UnverifiedClaims(), pool["pool_id"], GROUP, ttl_seconds=MAX_CACHE_SECONDS + 1)  # type: ignore[arg-type]


def test_the_cache_answers_within_its_ttl_and_asks_again_after():
    clock, loads = Clock(), []
    cache: ExpiringCache[int] = ExpiringCache(ttl_seconds=60, clock=clock)

    def load() -> int:
        loads.append(1)
        return len(loads)

    assert cache.get("k", load) == 1
    clock.now += 59
    assert cache.get("k", load) == 1
    clock.now += 1
    assert cache.get("k", load) == 2
    assert cache.get("other", load) == 3


# ----------------------------------------------------------------------------- the status token


def test_status_tokens_are_random_256_bit_and_only_their_digest_matches():
    tokens = {status_tokens.new_status_token().get_secret_value() for _ in range(100)}
    assert len(tokens) == 100 and all(len(t) >= 43 for t in tokens)
    token = status_tokens.new_status_token()
    stored = status_tokens.digest(token)
    assert token.get_secret_value() not in stored and len(stored) == 64
    assert status_tokens.matches(token, stored)
    assert not status_tokens.matches(SecretStr(token.get_secret_value()[:-1]), stored)
    assert not status_tokens.matches(SecretStr(stored), stored)
    assert not status_tokens.matches(None, stored)
    assert not status_tokens.matches(token, None)


# ----------------------------------------------------------------------------- `authflow admins add` in AWS


def test_admins_add_finds_the_pool_and_group_in_the_stack_and_adds_the_user(pool):
    user_id = new_user(pool, "ada@example.com")
    source = AwsSource("authflow-dev")
    source._resources = [
        {"LogicalResourceId": "UserPool", "PhysicalResourceId": pool["pool_id"], "ResourceType": "AWS::Cognito::UserPool"},
        {"LogicalResourceId": "AdminGroup", "PhysicalResourceId": GROUP, "ResourceType": "AWS::Cognito::UserPoolGroup"},
    ]
    assert source.add_admin(" Ada@Example.com ") == user_id
    groups = pool["cognito"].admin_list_groups_for_user(UserPoolId=pool["pool_id"], Username=user_id)["Groups"]
    assert [g["GroupName"] for g in groups] == [GROUP]
    with pytest.raises(NoSuchUser, match="No user with the email nobody@example.com"):
        source.add_admin("nobody@example.com")


def test_a_stored_create_answer_holds_its_status_token_sealed_and_opens_with_the_server_secret():
    from cryptography.fernet import InvalidToken

    from authflow.idempotency import SealedStatusToken
    from authflow.models import CreateUserResponse

    answer = CreateUserResponse(
        email="ada@example.com", user_id=uuid.uuid4(), status_token=status_tokens.new_status_token().get_secret_value()
    )
    sealed = SealedStatusToken(CreateUserResponse, lambda: b"server secret")
    stored = sealed.to_dict(answer)
    assert answer.status_token not in str(stored) and stored["user_id"] == str(answer.user_id)
    assert sealed.from_dict(stored) == answer
    with pytest.raises(InvalidToken):
        SealedStatusToken(CreateUserResponse, lambda: b"another secret").from_dict(stored)
