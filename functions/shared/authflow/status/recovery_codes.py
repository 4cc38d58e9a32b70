"""USER#<id>, RECOVERY#<sha256>: the user's single-use MFA recovery codes, stored hashed; and
USER#<id>, RECOVERY_COUNT: how many of them are left.

Each code carries 120 random bits (15 bytes, shown as 24 base32 characters in groups of four), so an
unsalted SHA-256 is enough to store it: ASVS 5.0 6.5.2 asks for a salted hash only of codes with
fewer than 112 bits of entropy, and no table of precomputed hashes covers 2^120 codes. A code works
once: using it is a delete conditioned on its existence, so two concurrent uses cannot both succeed.

The count lets GET /userinfo answer `recovery_codes_left` with one read of a known key (issue 13: in
the same BatchGetItem as an id token's revocation records) instead of a Query of the partition. It is
an item of its own rather than an attribute of the status record: the record is validated as a
StatusRecord and rewritten by onboarding, and a code's use would contend with those writes. Every
change of the codes writes the count in the same transaction. A user whose codes predate the count
has none (its absence is checked in the same transaction): their count is the Query's, until their
next set of codes brings one.
"""

import base64
import hashlib
import secrets

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from authflow import errors
from authflow.aws import error_code, raise_transient
from authflow.status.table import TableStore, user_key

RECOVERY_CODE_PREFIX = "RECOVERY#"
RECOVERY_COUNT = "RECOVERY_COUNT"
CODES_PER_SET = 10
_CODE_BYTES = 15
_CONDITION_FAILED = "ConditionalCheckFailed"


def _normalised(code: str) -> str:
    """What the user typed, without the grouping dashes and spaces, in the alphabet's case."""
    return "".join(code.split()).replace("-", "").upper()


def _digest(code: str) -> str:
    return hashlib.sha256(_normalised(code).encode()).hexdigest()


def new_code() -> str:
    plain = base64.b32encode(secrets.token_bytes(_CODE_BYTES)).decode().lower()
    return "-".join(plain[i : i + 4] for i in range(0, len(plain), 4))


def count_key(user_id: str) -> dict[str, str]:
    return user_key(user_id, RECOVERY_COUNT)


class RecoveryCodes(TableStore):
    def _code_key(self, user_id: str, code: str) -> dict[str, str]:
        return user_key(user_id, RECOVERY_CODE_PREFIX + _digest(code))

    def _sets(self, user_id: str) -> tuple[list[str], dict | None]:
        """The sort keys of the user's unused codes, and their count's item (None for a user whose codes predate it).

        One Query: both sort keys begin with RECOVERY (RECOVERY# < RECOVERY_COUNT)."""
        items = self._call(
            "query",
            KeyConditionExpression=Key("pk").eq(f"USER#{user_id}") & Key("sk").begins_with("RECOVERY"),
            ConsistentRead=True,
        )["Items"]
        count = next((item for item in items if item["sk"] == RECOVERY_COUNT), None)
        return [item["sk"] for item in items if item["sk"].startswith(RECOVERY_CODE_PREFIX)], count

    def _transact(self, items: list[dict]) -> list[str | None] | None:
        """None if the transaction was written; else the reason each item gave (ConditionalCheckFailed or None)."""
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":
                raise_transient(error, "The status table")
                raise
            reasons = [reason.get("Code") for reason in error.response.get("CancellationReasons", [])]
            if not set(reasons) <= {_CONDITION_FAILED, "None", None}:
                # Cancelled by throttling or a concurrent transaction, not by a condition.
                raise errors.TransientError("The status table is busy; retry.") from None
            return [reason if reason == _CONDITION_FAILED else None for reason in reasons]
        return None

    def _set_to(self, user_id: str, codes_left: int, count_read: dict | None) -> dict:
        """The count's write that ends a set: conditioned on the count read before, so that a code used or
        given back since (its sort key unread) cancels the transaction rather than survive it."""
        if count_read is None:
            condition: dict = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {"ConditionExpression": "codes_left = :read", "ExpressionAttributeValues": {":read": count_read["codes_left"]}}
        return {"Put": {"TableName": self.table_name, "Item": {**count_key(user_id), "codes_left": codes_left}, **condition}}

    def _change_by(self, user_id: str, change: int) -> dict:
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": count_key(user_id),
                "UpdateExpression": "SET codes_left = codes_left + :change",
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeValues": {":change": change},
            }
        }

    def _uncounted(self, user_id: str) -> dict:
        """A user whose codes predate the count: their codes change alone while it is still absent."""
        return {
            "ConditionCheck": {"TableName": self.table_name, "Key": count_key(user_id), "ConditionExpression": "attribute_not_exists(pk)"}
        }

    def _replace_set(self, user_id: str, codes: list[str]) -> None:
        """The user's codes become these (hashed), in one transaction with their count; retried if a code
        changed meanwhile. A set holds at most CODES_PER_SET codes (a code is given back only after it
        was spent), so the transaction's 2 x 10 + 1 items stay far below DynamoDB's 100."""
        table = self.table_name
        issued = [{"Put": {"TableName": table, "Item": self._code_key(user_id, code)}} for code in codes]
        for _ in range(3):
            old, count = self._sets(user_id)
            voided = [{"Delete": {"TableName": table, "Key": user_key(user_id, sk)}} for sk in old]
            if self._transact([*voided, *issued, self._set_to(user_id, len(codes), count)]) is None:
                return
        raise errors.TransientError("The status table is busy; retry.")

    def replace(self, user_id: str) -> list[str]:
        """Issues a new set and voids the old one in one transaction; returns the codes, the only time they exist in clear."""
        codes = [new_code() for _ in range(CODES_PER_SET)]
        self._replace_set(user_id, codes)
        return codes

    def void(self, user_id: str) -> None:
        """Deletes every unused code of the user (an operator's MFA reset); their count becomes 0."""
        self._replace_set(user_id, [])

    def _change_one(self, user_id: str, write: dict, change: int) -> bool:
        """The write of one code (conditioned on it), with the count's change, or with the count's absence
        for a user whose codes predate it; False if the code's own condition failed."""
        # The count can only appear in between (a new set), never go: a third try finds it.
        for counted in (self._change_by(user_id, change), self._uncounted(user_id), self._change_by(user_id, change)):
            reasons = self._transact([write, counted])
            if reasons is None:
                return True
            if reasons[0] == _CONDITION_FAILED:
                return False
        raise errors.TransientError("The status table is busy; retry.")

    def use(self, user_id: str, code: str) -> bool:
        """Spends the code if it is one of the user's unused ones; False otherwise."""
        spend = {
            "Delete": {"TableName": self.table_name, "Key": self._code_key(user_id, code), "ConditionExpression": "attribute_exists(pk)"}
        }
        return self._change_one(user_id, spend, -1)

    def restore(self, user_id: str, code: str) -> None:
        """Gives back a code just spent for a change that then failed (Cognito throttled, say): nothing
        changed for the user, so the code must still work for their next try."""
        give_back = {
            "Put": {"TableName": self.table_name, "Item": self._code_key(user_id, code), "ConditionExpression": "attribute_not_exists(pk)"}
        }
        # False: the code is there already (given back before), and counted.
        self._change_one(user_id, give_back, +1)

    def left(self, user_id: str) -> int:
        return self.left_in(user_id, self._call("get_item", Key=count_key(user_id), ConsistentRead=True).get("Item"))

    def left_in(self, user_id: str, count: dict | None) -> int:
        """The codes left, from the item read at count_key(user_id) (GET /userinfo reads it beside an id
        token's revocation records); a user whose codes predate the count has their codes counted."""
        if count is not None:
            return int(count["codes_left"])
        return len(self._sets(user_id)[0])
