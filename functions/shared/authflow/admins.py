"""Who is calling: a bearer token checked live with Cognito (an access token, or an id token where CognitoApi took one), and whether its user is an admin.

The token is first verified locally (signature, issuer, expiry, this app client: authflow.tokens), then
GetUser with the token proves it is current: Cognito refuses a token that /logout revoked or
that expired, which a local JWT check cannot see. Membership of the admin group comes from
AdminListGroupsForUser, never from the token's cognito:groups claim, so a member removed from the
group loses the right. Both answers are cached for at most ttl_seconds (a minute at most, ASVS 5.0
7.4.1: a revoked session stops working promptly) to keep an admin route at one Cognito round trip a
minute; the clock is injectable so tests move time instead of sleeping.
"""

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from botocore.exceptions import ClientError
from pydantic import SecretStr

from authflow import errors
from authflow.aws import client, error_code, raise_transient
from authflow.tokens import TokenUse, TokenVerifier

MAX_CACHE_SECONDS = 60
# Cognito's answers to a token it does not accept (revoked, expired, forged, another pool's).
_REFUSED_TOKEN = frozenset({"NotAuthorizedException", "UserNotFoundException", "InvalidParameterException", "UserNotConfirmedException"})

Value = TypeVar("Value")


class ExpiringCache(Generic[Value]):
    """Answers kept for ttl_seconds after they were loaded; expired entries are dropped as they are met."""

    def __init__(self, ttl_seconds: float, clock: Callable[[], float]):
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._entries: dict[str, tuple[float, Value]] = {}

    def get(self, key: str, load: Callable[[], Value]) -> Value:
        now = self.clock()
        entry = self._entries.get(key)
        if entry is not None and now - entry[0] < self.ttl_seconds:
            return entry[1]
        value = load()
        self._entries = {k: e for k, e in self._entries.items() if now - e[0] < self.ttl_seconds}
        self._entries[key] = (now, value)
        return value


@dataclass(frozen=True)
class Caller:
    user_id: str
    is_admin: bool


class Callers:
    def __init__(
        self,
        verifier: TokenVerifier,
        user_pool_id: str,
        admin_group: str,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ):
        if not 0 <= ttl_seconds <= MAX_CACHE_SECONDS:
            raise ValueError(f"the admin check may be cached for 0 to {MAX_CACHE_SECONDS} seconds")
        self.verifier = verifier
        self.user_pool_id = user_pool_id
        self.admin_group = admin_group
        # Tokens are keyed by their SHA-256: the cache holds no token.
        self.cache: ExpiringCache[str | bool] = ExpiringCache(ttl_seconds, clock)

    def identify(self, token: SecretStr, accept: tuple[TokenUse, ...] = (TokenUse.ACCESS,)) -> Caller:
        """The token's user, if Cognito accepts the token now (InvalidToken otherwise).

        Cognito checks an access token (GetUser); nobody checks an id token, so for one the verifier has
        refused a revoked sign-in (uncached) and AdminGetUser proves its user still exists and is enabled.
        """
        claims = self.verifier.verify(token, accept)
        raw = token.get_secret_value()
        check = self._user_of if claims.token_use == TokenUse.ACCESS else self._existing_user
        user_id = str(self.cache.get("token#" + hashlib.sha256(raw.encode()).hexdigest(), lambda: check(raw, claims.user_id)))
        # An admin proves it with an access token (SPEC section 2): an id token names its own user only.
        is_admin = claims.token_use == TokenUse.ACCESS and bool(self.cache.get("groups#" + user_id, lambda: self._in_admin_group(user_id)))
        return Caller(user_id=user_id, is_admin=is_admin)

    def require_admin(self, access_token: SecretStr) -> Caller:
        caller = self.identify(access_token)
        if not caller.is_admin:
            raise errors.Forbidden("This route needs the access token of an administrator.")
        return caller

    def _user_of(self, raw_token: str, claimed_user_id: str) -> str:
        try:
            user_id = client("cognito-idp").get_user(AccessToken=raw_token)["Username"]
        except ClientError as error:
            raise_transient(error, "The user directory")
            if error_code(error) in _REFUSED_TOKEN:
                raise errors.InvalidToken() from None
            raise
        if user_id != claimed_user_id:
            raise errors.InvalidToken()
        return user_id

    def _existing_user(self, _raw_id_token: str, claimed_user_id: str) -> str:
        try:
            user = client("cognito-idp").admin_get_user(UserPoolId=self.user_pool_id, Username=claimed_user_id)
        except ClientError as error:
            raise_transient(error, "The user directory")
            if error_code(error) in _REFUSED_TOKEN:
                raise errors.InvalidToken() from None
            raise
        if not user.get("Enabled", True):
            raise errors.InvalidToken()
        return claimed_user_id

    def _in_admin_group(self, user_id: str) -> bool:
        try:
            pages = (
                client("cognito-idp").get_paginator("admin_list_groups_for_user").paginate(Username=user_id, UserPoolId=self.user_pool_id)
            )
            return any(group["GroupName"] == self.admin_group for page in pages for group in page["Groups"])
        except ClientError as error:
            raise_transient(error, "The user directory")
            if error_code(error) == "UserNotFoundException":
                return False
            raise
