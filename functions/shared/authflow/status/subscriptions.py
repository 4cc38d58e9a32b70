"""WEBHOOKS, SUBSCRIPTION#<id>: webhook subscriptions, all in one partition (listing them is one Query).

The signing secret is kept because every delivery is signed with it; it is returned once, at
creation, and never listed or logged. It is stored sealed with the stack's KMS key
(authflow.sealed_secrets), and only the webhook delivery function can open it, to sign.
"""

from datetime import datetime, timedelta

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from authflow.aws import error_code
from authflow.models import Model, WebhookResponse
from authflow.status.table import TableStore

SUBSCRIPTIONS_PK = "WEBHOOKS"


class Subscription(Model):
    id: str
    url: str
    events: list[str]
    sealed_secret: str  # the signing secret, KMS-encrypted for this subscription (authflow.sealed_secrets)
    created_at: datetime
    contact_email: str | None = None
    failing_since: datetime | None = None  # the first failure since the last delivery
    disabled_at: datetime | None = None
    disabled_reason: str | None = None
    # The secret a rotation replaced, still signed with until previous_secret_until (receivers switch meanwhile).
    previous_sealed_secret: str | None = None
    previous_secret_until: datetime | None = None

    def sealed_signing_secrets(self, now: datetime) -> list[str]:
        """The secrets each delivery is signed with, sealed: the current one, and the previous one during its rotation window."""
        sealed = [self.sealed_secret]
        if self.previous_sealed_secret is not None and self.previous_secret_until is not None and now < self.previous_secret_until:
            sealed.append(self.previous_sealed_secret)
        return sealed

    @property
    def enabled(self) -> bool:
        return self.disabled_at is None

    def public(self) -> WebhookResponse:
        return WebhookResponse(
            id=self.id,
            url=self.url,
            events=self.events,
            created_at=self.created_at,
            contact_email=self.contact_email,
            enabled=self.enabled,
            disabled_reason=self.disabled_reason,
        )


def _key(webhook_id: str) -> dict[str, str]:
    return {"pk": SUBSCRIPTIONS_PK, "sk": f"SUBSCRIPTION#{webhook_id}"}


class SubscriptionStore(TableStore):
    def add(self, subscription: Subscription) -> None:
        item = {**_key(subscription.id), **subscription.model_dump(mode="json", exclude_none=True)}
        self._call("put_item", Item=item, ConditionExpression="attribute_not_exists(pk)")

    def get(self, webhook_id: str) -> Subscription | None:
        item = self._call("get_item", Key=_key(webhook_id), ConsistentRead=True).get("Item")
        return Subscription.model_validate(item) if item else None

    def all(self) -> list[Subscription]:
        items: list[dict] = []
        start: dict = {}
        while True:
            page = self._call(
                "query",
                KeyConditionExpression=Key("pk").eq(SUBSCRIPTIONS_PK) & Key("sk").begins_with("SUBSCRIPTION#"),
                ConsistentRead=True,
                **start,
            )
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                break
            start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
        return sorted((Subscription.model_validate(item) for item in items), key=lambda s: s.created_at)

    def failing(self, webhook_id: str, since: datetime | None) -> None:
        """Records since when every delivery failed (kept if already set), or, with None, that one succeeded."""
        if since is None:
            self._update_if_present(webhook_id, "REMOVE failing_since")
        else:
            self._update_if_present(webhook_id, "SET failing_since = if_not_exists(failing_since, :since)", {":since": since.isoformat()})

    def disable(self, webhook_id: str, reason: str) -> None:
        """Stops deliveries to the subscription (410 Gone, or days of failures) until an admin re-enables it."""
        self._update_if_present(
            webhook_id, "SET disabled_at = :now, disabled_reason = :reason", {":now": self.clock().isoformat(), ":reason": reason}
        )

    def _update_if_present(self, webhook_id: str, expression: str, values: dict | None = None) -> None:
        """An update of the subscription, skipped if it was deleted meanwhile (a delivery outlived it)."""
        try:
            self._call(
                "update_item",
                Key=_key(webhook_id),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(pk)",
                **({"ExpressionAttributeValues": values} if values else {}),
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise

    def update(self, webhook_id: str, enable: bool, sealed_secret: str | None, rotation_window: timedelta) -> Subscription | None:
        """Re-enables the subscription and/or replaces its sealed secret (the old one kept for rotation_window); None if there is none."""
        sets, removes, values = [], [], {}
        if enable:
            removes += ["disabled_at", "disabled_reason"]
        if sealed_secret is not None:
            sets += ["previous_sealed_secret = sealed_secret", "sealed_secret = :secret", "previous_secret_until = :until"]
            values.update({":secret": sealed_secret, ":until": (self.clock() + rotation_window).isoformat()})
        if not sets and not removes:
            return self.get(webhook_id)
        expression = " ".join(part for part in (sets and "SET " + ", ".join(sets), removes and "REMOVE " + ", ".join(removes)) if part)
        try:
            item = self._call(
                "update_item",
                Key=_key(webhook_id),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(pk)",
                ReturnValues="ALL_NEW",
                **({"ExpressionAttributeValues": values} if values else {}),
            )["Attributes"]
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return None
            raise
        return Subscription.model_validate(item)

    def remove(self, webhook_id: str) -> bool:
        try:
            self._call("delete_item", Key=_key(webhook_id), ConditionExpression="attribute_exists(pk)")
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True
