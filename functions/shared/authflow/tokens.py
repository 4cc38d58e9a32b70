"""Access-token verification: signature against the pool's JWKS, issuer, token use, client and expiry.

PyJWT (and cryptography under it) is imported on first use, so functions that never verify a token
don't load it at cold start.
"""

from dataclasses import dataclass
from functools import cached_property

from pydantic import SecretStr

from authflow import errors
from authflow.aws import client


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    groups: list[str]


class AccessTokenVerifier:
    def __init__(self, user_pool_id: str, client_id: str):
        self.user_pool_id = user_pool_id
        self.client_id = client_id

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

    def verify(self, token: SecretStr) -> AccessClaims:
        import jwt

        raw = token.get_secret_value()
        try:
            key = self._jwks.get_signing_key_from_jwt(raw)
            claims = jwt.decode(
                raw,
                key.key,
                algorithms=["RS256"],
                issuer=self.issuer,
                options={"require": ["exp", "iss", "token_use", "client_id", "username"], "verify_aud": False},
            )
        except (jwt.PyJWTError, jwt.PyJWKClientError, ValueError):
            raise errors.InvalidToken() from None
        if claims.get("token_use") != "access" or claims.get("client_id") != self.client_id:
            raise errors.InvalidToken()
        return AccessClaims(user_id=claims["username"], groups=list(claims.get("cognito:groups", [])))
