"""EMAIL#<email>, CLAIM: the one user an email belongs to (claimed with the status record, see records)."""

from botocore.exceptions import ClientError

from authflow.aws import error_code
from authflow.status.table import TableStore, email_key


class EmailClaims(TableStore):
    def user_id_for(self, email: str) -> str | None:
        item = self._call("get_item", Key=email_key(email), ConsistentRead=True).get("Item")
        return item["user_id"] if item else None

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
