"""The status token: the creator's proof that it may poll a user's onboarding.

POST /v1/users answers a random token (256 bits, ASVS 5.0 7.2.3: at least 128 bits of entropy) and the
status table keeps only its SHA-256, so a read of the table gives no one the right to poll. The token is
compared in constant time. Anyone without it (or an admin's token) is answered as for an unknown user,
so the route confirms no user id (ASVS 5.0 6.3.8, no enumeration).

A create with an Idempotency-Key is answered again, token included, from the idempotency record kept
in the same table for a day; that record holds the token sealed (authflow.idempotency.SealedStatusToken),
so the table alone never yields a usable token.
"""

import hashlib
import hmac
import secrets

from pydantic import SecretStr

TOKEN_BYTES = 32


def new_status_token() -> SecretStr:
    return SecretStr(secrets.token_urlsafe(TOKEN_BYTES))


def digest(token: SecretStr) -> str:
    return hashlib.sha256(token.get_secret_value().encode()).hexdigest()


def matches(presented: SecretStr | None, stored_digest: str | None) -> bool:
    if presented is None or not stored_digest:
        return False
    return hmac.compare_digest(digest(presented), stored_digest)
