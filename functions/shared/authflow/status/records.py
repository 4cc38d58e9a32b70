"""USER#<id>, STATUS: a user's onboarding status record, and the user's partition as a whole."""

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from authflow import errors
from authflow.aws import error_code, raise_transient
from authflow.models import OnboardingStatus, StatusRecord, Step, StepStatus
from authflow.status.claims import EmailClaims, idempotency_digest
from authflow.status.recovery_codes import RECOVERY_CODE_PREFIX, RECOVERY_COUNT
from authflow.status.table import TableStore, email_key, user_key


def status_key(user_id: str) -> dict[str, str]:
    return user_key(user_id, "STATUS")


class StatusRecords(TableStore):
    def create(
        self, user_id: str, email: str, execution_arn: str, status_token_digest: str | None = None, idempotency_key: str | None = None
    ) -> StatusRecord:
        """Claims the email and writes the CREATED record in one transaction; EmailAlreadyExists if another
        user holds the email. Creating the same user_id with the same email again returns its record.

        The claim keeps a digest of the request's Idempotency-Key, so a retry finds this user_id
        (EmailClaims.user_id_for_retry) though ids are random."""
        now = self.clock()
        record = StatusRecord(
            user_id=user_id,
            email=email,
            status=OnboardingStatus.CREATED,
            updated_at=now,
            execution_arn=execution_arn,
            status_token_digest=status_token_digest,
        )
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": {
                                **email_key(email),
                                "user_id": user_id,
                                "created_at": now.isoformat(),
                                **({"idempotency_key": idempotency_digest(idempotency_key)} if idempotency_key else {}),
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": {**user_key(user_id, "STATUS"), **record.model_dump(mode="json")},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":
                raise_transient(error, "The status table")
                raise
            reasons = {reason.get("Code") for reason in error.response.get("CancellationReasons", [])}
            if "ConditionalCheckFailed" not in reasons:
                # Cancelled by throttling or a concurrent transaction, not because the email is taken.
                raise errors.TransientError("The status table is busy; retry.") from None
            if EmailClaims(self.table_name, self.clock).user_id_for(email) != user_id:
                raise errors.EmailAlreadyExists() from None
            existing = self.get(user_id)
            if existing is None or existing.email != email:
                raise errors.Conflict("This user id belongs to another onboarding.") from None
            return existing
        return record

    def replace_status_token(self, user_id: str, status_token_digest: str) -> None:
        self._call(
            "update_item",
            Key=user_key(user_id, "STATUS"),
            UpdateExpression="SET status_token_digest = :digest",
            ExpressionAttributeValues={":digest": status_token_digest},
            ConditionExpression="attribute_exists(pk)",
        )

    def get(self, user_id: str) -> StatusRecord | None:
        return self.record_in(self._call("get_item", Key=status_key(user_id), ConsistentRead=True).get("Item"))

    @staticmethod
    def record_in(item: dict | None) -> StatusRecord | None:
        """The record of the item read at status_key(user_id) (the MFA step reads it in one BatchGetItem)."""
        return StatusRecord.model_validate(item) if item else None

    def record_step(self, user_id: str, step: str, step_status: StepStatus, status: OnboardingStatus | None = None) -> None:
        """Appends the step (a state name of the workflow) and sets the status when given."""
        now = self.clock()
        entry = Step(name=step, status=step_status, at=now).model_dump(mode="json")
        update = "SET steps = list_append(if_not_exists(steps, :empty), :step), updated_at = :now"
        values = {":step": [entry], ":empty": [], ":now": now.isoformat()}
        if status:
            update += ", #status = :status"
            values[":status"] = status.value
        self._call(
            "update_item",
            Key=user_key(user_id, "STATUS"),
            UpdateExpression=update,
            ExpressionAttributeValues=values,
            **({"ExpressionAttributeNames": {"#status": "status"}} if status else {}),
            ConditionExpression="attribute_exists(pk)",
        )

    def delete_user_items(self, user_id: str, keep_status: bool, keep_recovery_codes: bool = False) -> None:
        """Removes the user's partition (signals, MFA session, counters), and the status record unless keep_status.

        Activation keeps the recovery codes confirm-mfa has just handed out, and their count (keep_recovery_codes)."""
        items = self._call("query", KeyConditionExpression=Key("pk").eq(f"USER#{user_id}"))["Items"]
        # The codes' count goes before the codes: if this stops half-way, what is left is counted by a Query
        # (status.recovery_codes), never by a count of codes already gone.
        items.sort(key=lambda item: item["sk"] != RECOVERY_COUNT)
        for item in items:
            recovery = item["sk"] == RECOVERY_COUNT or item["sk"].startswith(RECOVERY_CODE_PREFIX)
            if (keep_status and item["sk"] == "STATUS") or (keep_recovery_codes and recovery):
                continue
            self._call("delete_item", Key={"pk": item["pk"], "sk": item["sk"]})
