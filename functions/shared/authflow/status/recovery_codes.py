"""USER#<id>, RECOVERY#<sha256>: the user's single-use MFA recovery codes, stored hashed.

Each code carries 120 random bits (15 bytes, shown as 24 base32 characters in groups of four), so an
unsalted SHA-256 is enough to store it: ASVS 5.0 6.5.2 asks for a salted hash only of codes with
fewer than 112 bits of entropy, and no table of precomputed hashes covers 2^120 codes. A code works
once: using it is a delete conditioned on its existence, so two concurrent uses cannot both succeed.
"""

import base64
import hashlib
import secrets

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from authflow.aws import error_code, raise_transient
from authflow.status.table import TableStore, user_key

RECOVERY_CODE_PREFIX = "RECOVERY#"
CODES_PER_SET = 10
_CODE_BYTES = 15


def _normalised(code: str) -> str:
    """What the user typed, without the grouping dashes and spaces, in the alphabet's case."""
    return "".join(code.split()).replace("-", "").upper()


def _digest(code: str) -> str:
    return hashlib.sha256(_normalised(code).encode()).hexdigest()


def new_code() -> str:
    plain = base64.b32encode(secrets.token_bytes(_CODE_BYTES)).decode().lower()
    return "-".join(plain[i : i + 4] for i in range(0, len(plain), 4))


class RecoveryCodes(TableStore):
    def _digests(self, user_id: str) -> list[str]:
        items = self._call(
            "query",
            KeyConditionExpression=Key("pk").eq(f"USER#{user_id}") & Key("sk").begins_with(RECOVERY_CODE_PREFIX),
            ProjectionExpression="sk",
            ConsistentRead=True,
        )["Items"]
        return [item["sk"] for item in items]

    def replace(self, user_id: str) -> list[str]:
        """Issues a new set and voids the old one in one transaction; returns the codes, the only time they exist in clear."""
        codes = [new_code() for _ in range(CODES_PER_SET)]
        table = self.table_name
        voided = [{"Delete": {"TableName": table, "Key": user_key(user_id, sk)}} for sk in self._digests(user_id)]
        issued = [{"Put": {"TableName": table, "Item": user_key(user_id, RECOVERY_CODE_PREFIX + _digest(code))}} for code in codes]
        try:
            self.client.transact_write_items(TransactItems=voided + issued)
        except ClientError as error:
            raise_transient(error, "The status table")
            raise
        return codes

    def void(self, user_id: str) -> None:
        """Deletes every unused code of the user (an operator's MFA reset)."""
        for sk in self._digests(user_id):
            self._call("delete_item", Key=user_key(user_id, sk))

    def use(self, user_id: str, code: str) -> bool:
        """Spends the code if it is one of the user's unused ones; False otherwise."""
        try:
            self._call(
                "delete_item",
                Key=user_key(user_id, RECOVERY_CODE_PREFIX + _digest(code)),
                ConditionExpression="attribute_exists(pk)",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def restore(self, user_id: str, code: str) -> None:
        """Gives back a code just spent for a change that then failed (Cognito throttled, say): nothing
        changed for the user, so the code must still work for their next try."""
        self._call("put_item", Item=user_key(user_id, RECOVERY_CODE_PREFIX + _digest(code)))

    def left(self, user_id: str) -> int:
        return len(self._digests(user_id))
