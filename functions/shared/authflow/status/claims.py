"""EMAIL#<email>, CLAIM: the one user an email belongs to (claimed with the status record, see records)."""

import hashlib

from botocore.exceptions import ClientError

from authflow.aws import error_code
from authflow.status.table import TableStore, email_key


def idempotency_digest(idempotency_key: str) -> str:
    """What a claim keeps of the Idempotency-Key that created it."""
    return hashlib.sha256(idempotency_key.encode()).hexdigest()


def claim_key(email: str) -> dict[str, str]:
    return email_key(email)


class EmailClaims(TableStore):
    @staticmethod
    def user_id_in(item: dict | None) -> str | None:
        """The user the item read at claim_key(email) names (the login steps read it in one BatchGetItem)."""
        return item["user_id"] if item else None

    def user_id_for(self, email: str, consistent: bool = True) -> str | None:
        """The user the email is claimed by; consistent=False (half the read units) where a stale answer
        only refuses a request, as a claim changes only when its user is created or deleted."""
        item = self._call("get_item", Key=email_key(email), ConsistentRead=consistent).get("Item")
        return item["user_id"] if item else None

    def owned_by(self, email: str, user_id: str) -> bool:
        """Whether the email is this user's, asked where a verified token already names the user: an
        eventually consistent read (half the read units) is enough, as a claim changes only when its
        user is created or deleted, and Cognito refuses a deleted user's tokens."""
        item = self._call("get_item", Key=email_key(email), ProjectionExpression="user_id").get("Item")
        return item is not None and item["user_id"] == user_id

    def user_id_for_retry(self, email: str, idempotency_key: str) -> str | None:
        """The user a request with this Idempotency-Key already claimed the email for, if any."""
        item = self._call("get_item", Key=email_key(email), ConsistentRead=True).get("Item")
        return item["user_id"] if item and item.get("idempotency_key") == idempotency_digest(idempotency_key) else None

    def release(self, email: str, user_id: str) -> None:
        """Frees the email for a new onboarding, only if this user still holds it."""
        try:
            self._call(
                "delete_item",
                Key=email_key(email),
                ConditionExpression="user_id = :user_id",
                ExpressionAttributeValues={":user_id": user_id},
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
