"""The status table: onboarding status records, email claims, and the signals between API and workflow.

Items (pk, sk):
- USER#<id>, STATUS           the onboarding status GET /v1/users/{id}/onboarding returns
- EMAIL#<email>, CLAIM        makes an email unique before Cognito is called (one user per email)
- USER#<id>, SIGNAL#<action>  the task token a waiting execution left, or the user's action that came first
- USER#<id>, MFA_SETUP        Cognito's MFA-enrolment session between confirm and confirm-mfa
- USER#<id>, RATE#<action>    a per-user counter in a fixed window (resend-mfa's rate limit)
- HANDOFF#<id>, <kind>        a one-time record carrying secrets between the API and a workflow task,
                              so that they never enter the execution's input or output
"""

import json
from datetime import UTC, datetime, timedelta

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError
from pydantic import SecretStr

from authflow import errors
from authflow.aws import TableStore, error_code, raise_transient
from authflow.models import OnboardingStatus, StatusRecord, Step, StepStatus, UserAction


def _now() -> datetime:
    return datetime.now(UTC)


def _user_key(user_id: str, sk: str) -> dict:
    return {"pk": f"USER#{user_id}", "sk": sk}


def _email_key(email: str) -> dict:
    return {"pk": f"EMAIL#{email}", "sk": "CLAIM"}


class StatusStore(TableStore):
    # ----------------------------------------------------------------- onboarding records

    def create(self, user_id: str, email: str, execution_arn: str) -> StatusRecord:
        """Claims the email and writes the CREATED record in one transaction; EmailAlreadyExists if another
        user holds the email. Creating the same user_id with the same email again returns its record."""
        now = _now()
        record = StatusRecord(user_id=user_id, email=email, status=OnboardingStatus.CREATED, updated_at=now, execution_arn=execution_arn)
        client = self.table.meta.client
        try:
            client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table.name,
                            "Item": {**_email_key(email), "user_id": user_id, "created_at": now.isoformat()},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table.name,
                            "Item": {**_user_key(user_id, "STATUS"), **record.model_dump(mode="json")},
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
            if self.user_id_for(email) != user_id:
                raise errors.EmailAlreadyExists() from None
            existing = self.get(user_id)
            if existing is None or existing.email != email:
                raise errors.Conflict("This user id belongs to another onboarding.") from None
            return existing
        return record

    def get(self, user_id: str) -> StatusRecord | None:
        item = self._call("get_item", Key=_user_key(user_id, "STATUS"), ConsistentRead=True).get("Item")
        return StatusRecord.model_validate(item) if item else None

    def user_id_for(self, email: str) -> str | None:
        item = self._call("get_item", Key=_email_key(email), ConsistentRead=True).get("Item")
        return item["user_id"] if item else None

    def record_step(self, user_id: str, step: str, step_status: StepStatus, status: OnboardingStatus | None = None) -> None:
        now = _now()
        entry = Step(name=step, status=step_status, at=now).model_dump(mode="json")
        update = "SET steps = list_append(if_not_exists(steps, :empty), :step), updated_at = :now"
        values = {":step": [entry], ":empty": [], ":now": now.isoformat()}
        if status:
            update += ", #status = :status"
            values[":status"] = status.value
        self._call(
            "update_item",
            Key=_user_key(user_id, "STATUS"),
            UpdateExpression=update,
            ExpressionAttributeValues=values,
            **({"ExpressionAttributeNames": {"#status": "status"}} if status else {}),
            ConditionExpression="attribute_exists(pk)",
        )

    def release_email(self, email: str, user_id: str) -> None:
        """Frees the email for a new onboarding, only if this user still holds it."""
        try:
            self._call(
                "delete_item",
                Key=_email_key(email),
                ConditionExpression="user_id = :user_id",
                ExpressionAttributeValues={":user_id": user_id},
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise

    def delete_user_items(self, user_id: str, keep_status: bool) -> None:
        """Removes the user's signals and MFA session, and the status record unless keep_status."""
        items = self._call("query", KeyConditionExpression=Key("pk").eq(f"USER#{user_id}"))["Items"]
        for item in items:
            if keep_status and item["sk"] == "STATUS":
                continue
            self._call("delete_item", Key={"pk": item["pk"], "sk": item["sk"]})

    # ----------------------------------------------------------------- signals

    def arm_signal(self, user_id: str, action: UserAction, task_token: SecretStr, ttl: timedelta) -> bool:
        """Leaves the waiting execution's task token; True if the user's action already arrived."""
        item = self._call(
            "update_item",
            Key=_user_key(user_id, f"SIGNAL#{action.value}"),
            UpdateExpression="SET task_token = :token, expires_at = :expires",
            ExpressionAttributeValues={
                ":token": task_token.get_secret_value(),
                ":expires": int((_now() + ttl).timestamp()),
            },
            ReturnValues="ALL_NEW",
        )["Attributes"]
        return bool(item.get("received"))

    def receive_signal(self, user_id: str, action: UserAction, ttl: timedelta) -> SecretStr | None:
        """Records that the user's action arrived; the task token if the execution is already waiting."""
        item = self._call(
            "update_item",
            Key=_user_key(user_id, f"SIGNAL#{action.value}"),
            UpdateExpression="SET received = :true, expires_at = :expires",
            ExpressionAttributeValues={":true": True, ":expires": int((_now() + ttl).timestamp())},
            ReturnValues="ALL_NEW",
        )["Attributes"]
        token = item.get("task_token")
        return SecretStr(token) if token else None

    def waiting_token(self, user_id: str, action: UserAction) -> SecretStr | None:
        """The task token of an execution still waiting for this action, if there is one."""
        item = self._call("get_item", Key=_user_key(user_id, f"SIGNAL#{action.value}"), ConsistentRead=True).get("Item")
        if not item or item.get("received") or not item.get("task_token"):
            return None
        return SecretStr(item["task_token"])

    def signal_received(self, user_id: str, action: UserAction) -> bool:
        item = self._call("get_item", Key=_user_key(user_id, f"SIGNAL#{action.value}"), ConsistentRead=True).get("Item")
        return bool(item and item.get("received"))

    # ----------------------------------------------------------------- MFA enrolment session

    def save_mfa_session(self, user_id: str, session: SecretStr, ttl: timedelta) -> None:
        self._call(
            "put_item",
            Item={
                **_user_key(user_id, "MFA_SETUP"),
                "session": session.get_secret_value(),
                "expires_at": int((_now() + ttl).timestamp()),
            },
        )

    def mfa_session(self, user_id: str) -> SecretStr | None:
        item = self._call("get_item", Key=_user_key(user_id, "MFA_SETUP"), ConsistentRead=True).get("Item")
        if not item or item["expires_at"] < _now().timestamp():
            return None
        return SecretStr(item["session"])

    def clear_signal(self, user_id: str, action: UserAction) -> SecretStr | None:
        """Forgets a previous signal (a new password reset starts afresh); its task token if one waited."""
        item = self._call("delete_item", Key=_user_key(user_id, f"SIGNAL#{action.value}"), ReturnValues="ALL_OLD").get("Attributes", {})
        token = item.get("task_token")
        return SecretStr(token) if token and not item.get("received") else None

    # ----------------------------------------------------------------- rate limits

    def count(self, user_id: str, action: str, window: timedelta) -> int:
        """Counts one more use of action by the user in the current fixed window; returns the count."""
        now = _now()
        window_start = int(now.timestamp()) // int(window.total_seconds())
        item = self._call(
            "update_item",
            Key=_user_key(user_id, f"RATE#{action}#{window_start}"),
            UpdateExpression="ADD uses :one SET expires_at = :expires",
            ExpressionAttributeValues={":one": 1, ":expires": int((now + window).timestamp())},
            ReturnValues="ALL_NEW",
        )["Attributes"]
        return int(item["uses"])

    # ----------------------------------------------------------------- secret handoffs

    def put_handoff(self, handoff_id: str, kind: str, payload: dict, ttl: timedelta) -> None:
        self._call(
            "put_item",
            Item={
                "pk": f"HANDOFF#{handoff_id}",
                "sk": kind,
                "payload": json.dumps(payload),
                "expires_at": int((_now() + ttl).timestamp()),
            },
        )

    def take_handoff(self, handoff_id: str, kind: str) -> dict | None:
        """Reads and deletes a handoff in one call, so its secrets can be used once only."""
        item = self._call("delete_item", Key={"pk": f"HANDOFF#{handoff_id}", "sk": kind}, ReturnValues="ALL_OLD").get("Attributes")
        if not item or item["expires_at"] < _now().timestamp():
            return None
        return json.loads(item["payload"])
