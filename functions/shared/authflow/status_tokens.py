"""The status token: the creator's proof that it may poll a user's onboarding.

POST /v1/users answers a random token (256 bits, ASVS 5.0 7.2.3: at least 128 bits of entropy) and the
status table keeps only its SHA-256, so a read of the table gives no one the right to poll. The token is
compared in constant time. Anyone without it (or an admin's token) is answered as for an unknown user,
so the route confirms no user id (ASVS 5.0 6.3.8, no enumeration).

A create with an Idempotency-Key is answered again, token included, from the idempotency record kept
in the same table for a day; that record holds the token sealed (Fernet, under a key derived from the
server's secret), so the table alone never yields a usable token.
"""

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable

from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from pydantic import BaseModel, SecretStr

TOKEN_BYTES = 32


def new_status_token() -> SecretStr:
    return SecretStr(secrets.token_urlsafe(TOKEN_BYTES))


def digest(token: SecretStr) -> str:
    return hashlib.sha256(token.get_secret_value().encode()).hexdigest()


def matches(presented: SecretStr | None, stored_digest: str | None) -> bool:
    if presented is None or not stored_digest:
        return False
    return hmac.compare_digest(digest(presented), stored_digest)


class SealedStatusToken(PydanticSerializer):
    """Stores a response model with its status_token field encrypted, and opens it on replay."""

    # Separates this key from the other uses of the same server secret.
    KEY_LABEL = b"authflow: status tokens in idempotency records"

    def __init__(self, model: type[BaseModel], server_secret: Callable[[], bytes]):
        super().__init__(model)
        self.server_secret = server_secret

    def _fernet(self):
        from cryptography.fernet import Fernet  # on first use: a cold start without an Idempotency-Key skips it

        key = hmac.new(self.server_secret(), self.KEY_LABEL, hashlib.sha256).digest()
        return Fernet(base64.urlsafe_b64encode(key))

    def to_dict(self, data: BaseModel) -> dict:
        stored = super().to_dict(data)
        return {**stored, "status_token": self._fernet().encrypt(stored["status_token"].encode()).decode()}

    def from_dict(self, data: dict) -> BaseModel:
        return super().from_dict({**data, "status_token": self._fernet().decrypt(data["status_token"].encode()).decode()})
