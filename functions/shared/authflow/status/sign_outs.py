"""USER#<id>, SIGNED_OUT: when every session of the user last ended, and the sign-ins completed just after.

AdminUserGlobalSignOut (a password change or reset, an MFA change, an operator's sign-out) and
GlobalSignOut (logout) make Cognito refuse the user's refresh and access tokens, but nobody checks an
id token but us: TokenVerifier refuses a token issued (iat) before the time recorded here. iat counts
whole seconds, so a token issued in the very second of the sign-out is refused as well, unless its
sign-in is known to have come after: fresh_sign_ins holds the origin_jti of each sign-in authflow
completed within a second or so of the sign-out. The item is kept while a token issued before it
could live (the id token's validity; access tokens live no longer).
"""

from datetime import timedelta
from decimal import Decimal
from math import floor

from botocore.exceptions import ClientError

from authflow.aws import error_code
from authflow.clock import Clock
from authflow.status.table import TableStore, user_key

SIGNED_OUT = "SIGNED_OUT"


def signed_out_key(user_id: str) -> dict[str, str]:
    return user_key(user_id, SIGNED_OUT)


# A sign-in's tokens carry Cognito's clock, the record ours: a sign-in up to this many seconds after
# the sign-out's second is noted as fresh, so a small skew between the two clocks refuses no new token.
CLOCK_SKEW_SECONDS = 2


class SignOuts(TableStore):
    def __init__(self, table_name: str, clock: Clock, id_token_validity: timedelta):
        super().__init__(table_name, clock)
        self.retention = id_token_validity

    def record(self, user_id: str) -> None:
        """Every session of the user ended now (after Cognito's sign-out): tokens issued before are refused."""
        now = self.clock()
        item = {
            **signed_out_key(user_id),
            "signed_out_at": Decimal(str(now.timestamp())),
            "expires_at": self._expires_at(self.retention),
        }
        self._call("put_item", Item=item)

    def note_sign_in(self, user_id: str, origin_jti: str, issued_at: int, read_before: dict | None) -> None:
        """A sign-in Cognito has just completed: if it falls in the sign-out's second (give or take the
        clock skew), its tokens are marked as fresh, so they are not taken for the ended sessions'.

        read_before: the item at signed_out_key(user_id) as read before the sign-in (the MFA step reads
        it with the step's other items); a sign-out recorded since then ended this sign-in too."""
        item = read_before if read_before and not self._expired(read_before) else None
        if item is None or issued_at > floor(item["signed_out_at"]) + CLOCK_SKEW_SECONDS:
            return
        try:
            self._call(
                "update_item",
                Key=signed_out_key(user_id),
                UpdateExpression="ADD fresh_sign_ins :jti",
                ConditionExpression="signed_out_at = :at",
                ExpressionAttributeValues={":jti": {origin_jti}, ":at": item["signed_out_at"]},
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            # A newer sign-out came in between: it ended this sign-in too.

    def ended(self, user_id: str, origin_jti: str, issued_at: int) -> bool:
        """Whether a token of this sign-in, issued at issued_at (epoch seconds), belongs to an ended session."""
        return self.ends(self._call("get_item", Key=signed_out_key(user_id), ConsistentRead=True).get("Item"), origin_jti, issued_at)

    def ends(self, item: dict | None, origin_jti: str, issued_at: int) -> bool:
        """Whether the item read at signed_out_key(user_id) ends that user's sign-in's token issued at
        issued_at (TokenVerifier reads it together with the revoked sign-in, status.revocations)."""
        if not item or self._expired(item) or issued_at > floor(item["signed_out_at"]):
            return False
        return origin_jti not in item.get("fresh_sign_ins", set())
