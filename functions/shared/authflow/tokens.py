"""Token verification: signature against the pool's JWKS, issuer, token use, client, expiry and revocation.

Access tokens are what authflow's own routes take; id tokens are what CognitoApi's clients send to
the routes that sat behind its Cognito authorizer (GET /v1/userinfo, DELETE /v1/users/{id}). Cognito
never checks an id token for revocation, so every sign-in revoked by authflow is recorded by its
origin_jti (status.revocations), and a token of a revoked sign-in is refused whatever its kind; and
when every session of a user ends (status.sign_outs), any token of theirs issued before is refused.

PyJWT (and cryptography under it) is imported on first use, so functions that never verify a token
don't load it at cold start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING

from pydantic import SecretStr

from authflow import errors
from authflow.aws import client
from authflow.status.revocations import revoked_key
from authflow.status.sign_outs import signed_out_key

if TYPE_CHECKING:
    from authflow.status import RevokedSignIns, SignOuts


class TokenUse(StrEnum):
    ACCESS = "access"
    ID = "id"


@dataclass(frozen=True)
class TokenClaims:
    user_id: str
    groups: list[str]
    token_use: TokenUse
    origin_jti: str
    issued_at: int  # epoch seconds
    expires_at: datetime


class TokenVerifier:
    def __init__(self, user_pool_id: str, client_id: str, revoked: RevokedSignIns, sign_outs: SignOuts):
        self.user_pool_id = user_pool_id
        self.client_id = client_id
        self.revoked = revoked
        self.sign_outs = sign_outs

    @cached_property
    def _cognito(self):
        return client("cognito-idp")

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self._cognito.meta.region_name}.amazonaws.com/{self.user_pool_id}"

    @cached_property
    def _jwks(self):
        import jwt

        # The JWKS is served by the Cognito endpoint the SDK is configured with (AWS's, or the local stack's).
        return jwt.PyJWKClient(f"{self._cognito.meta.endpoint_url}/{self.user_pool_id}/.well-known/jwks.json", cache_keys=True)

    def verify(self, token: SecretStr, accept: tuple[TokenUse, ...] = (TokenUse.ACCESS,)) -> TokenClaims:
        """The claims of a valid token of one of the accepted kinds; InvalidToken for anything else."""
        claims = self.verify_signed(token, accept)
        self.refuse_revoked(claims)
        return claims

    def verify_signed(self, token: SecretStr, accept: tuple[TokenUse, ...] = (TokenUse.ACCESS,)) -> TokenClaims:
        """The claims of a token this pool signed for this client, unexpired, of an accepted kind; NOT
        checked against authflow's revocation records (no table read). Only for an access token the
        caller then hands to Cognito (GetUser...), which refuses one that any sign-out revoked: every
        revocation authflow records follows Cognito's GlobalSignOut or AdminUserGlobalSignOut."""
        import jwt

        raw = token.get_secret_value()
        try:
            key = self._jwks.get_signing_key_from_jwt(raw)
            claims = jwt.decode(
                raw,
                key.key,
                algorithms=["RS256"],
                issuer=self.issuer,
                # An id token names the app client in aud, an access token in client_id: checked below.
                options={"require": ["exp", "iat", "iss", "token_use", "origin_jti"], "verify_aud": False},
            )
        except (jwt.PyJWTError, jwt.PyJWKClientError, ValueError):
            raise errors.InvalidToken() from None
        token_use = claims.get("token_use")
        if token_use not in accept:
            raise errors.InvalidToken()
        if token_use == TokenUse.ACCESS:
            client_id, user_id = claims.get("client_id"), claims.get("username")
        else:
            client_id, user_id = claims.get("aud"), claims.get("cognito:username")
        if client_id != self.client_id or not isinstance(user_id, str):
            raise errors.InvalidToken()
        return TokenClaims(
            user_id=user_id,
            groups=list(claims.get("cognito:groups", [])),
            token_use=TokenUse(token_use),
            origin_jti=claims["origin_jti"],
            issued_at=int(claims["iat"]),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )

    def refuse_revoked(self, claims: TokenClaims, also_read: tuple[dict[str, str], ...] = ()) -> list[dict | None]:
        """InvalidToken if authflow revoked the token's sign-in (logout), or a password change or reset, an
        MFA change or a sign-out ended the user's sessions after the token was issued.

        also_read: other keys of the status table the caller needs, read in the same round trip (GET
        /userinfo: the recovery codes' count); their items are returned (None where there is none)."""
        # Both records in one round trip. Neither makes the other redundant: a logout records both, and
        # the revoked sign-in still holds if authflow's clock lags Cognito's (the token's iat would fall
        # after the sign-out's time); the sign-out covers every sign-in of the user, not just one.
        revoked, signed_out, *others = self.revoked.get_many([revoked_key(claims.origin_jti), signed_out_key(claims.user_id), *also_read])
        if self.revoked.revokes(revoked) or self.sign_outs.ends(signed_out, claims.origin_jti, claims.issued_at):
            raise errors.InvalidToken()
        return others


def user_of(access_token: str) -> str:
    """The user an access token Cognito has just answered us, over TLS, in the same call names: read, not verified."""
    import jwt

    return jwt.decode(access_token, options={"verify_signature": False})["username"]


def sign_in_of(token: str) -> tuple[str, int]:
    """The origin_jti and issue time (epoch seconds) of a token Cognito has just answered us, over TLS,
    in the same call: nothing to verify, only to read."""
    import jwt

    claims = jwt.decode(token, options={"verify_signature": False})
    return claims["origin_jti"], int(claims["iat"])
