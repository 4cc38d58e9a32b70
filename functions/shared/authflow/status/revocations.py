"""SIGN_IN#<origin_jti>, REVOKED: a sign-in authflow revoked (logout), kept while its tokens could live.

Cognito refuses a revoked sign-in's access and refresh tokens, but nobody checks an id token but
us: TokenVerifier refuses any token whose origin_jti is recorded here.
"""

from datetime import timedelta

from authflow.clock import Clock
from authflow.status.table import TableStore


def revoked_key(origin_jti: str) -> dict[str, str]:
    return {"pk": f"SIGN_IN#{origin_jti}", "sk": "REVOKED"}


class RevokedSignIns(TableStore):
    def __init__(self, table_name: str, clock: Clock, id_token_validity: timedelta):
        super().__init__(table_name, clock)
        # Every token of a sign-in revoked now was issued before now, so the id token (the only kind
        # Cognito does not refuse by itself) expires within its validity from now: then the item may go.
        self.retention = id_token_validity

    def revoke(self, origin_jti: str) -> None:
        self._call("put_item", Item={**revoked_key(origin_jti), "expires_at": self._expires_at(self.retention)})

    def revokes(self, item: dict | None) -> bool:
        """Whether the item read at revoked_key(origin_jti) revokes that sign-in (TokenVerifier reads
        it together with the user's sign-out, status.sign_outs, in one request)."""
        return item is not None and not self._expired(item)
