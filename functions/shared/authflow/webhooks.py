"""Webhook subscriptions: POST/GET/DELETE /v1/webhooks, and the records deliveries read and write.

Items in the status table (pk, sk):
- WEBHOOKS, SUBSCRIPTION#<id>        a subscription: url, events (detail-types), its signing secret
  (kept because every delivery is signed with it; returned once, at creation, never listed or logged)
- DELIVERY#<event_id>, SUBSCRIPTION#<id>  the event reached the subscription (TTL'd), so a retry or a
  duplicate SQS message never posts it twice

All subscriptions share one partition: listing them, and finding those of a detail-type, is one
Query. Secrets follow the Standard Webhooks format: "whsec_" + base64 of 32 random bytes.
"""

import base64
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal
from uuid import UUID, uuid4

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError
from pydantic import BaseModel, Field, SecretStr, StringConstraints, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from authflow import errors
from authflow.aws import TableStore, error_code
from authflow.callback_urls import Resolve, check_callback_url, resolve_host
from authflow.events import EVENT_TYPES
from authflow.models import Request, Response
from authflow.observability import logger

SUBSCRIPTIONS_PK = "WEBHOOKS"
SECRET_PREFIX = "whsec_"
DELIVERY_RECORD_TTL = timedelta(days=15)  # longer than any message can stay on the queues

EventTypeName = Literal[tuple(model.__name__ for model in EVENT_TYPES)]


class WebhookApiSettings(BaseSettings):
    """What the API's webhook routes read from the environment template.yaml sets."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    status_table_name: str
    webhook_allow_loopback: bool


class WebhookNotFound(errors.NotFound):
    code = "WEBHOOK_NOT_FOUND"
    message = "No such webhook."


# ----------------------------------------------------------------------------- HTTP models


class CreateWebhookRequest(Request):
    url: Annotated[str, StringConstraints(min_length=1, max_length=2048, strip_whitespace=True)] = Field(
        description="https URL that receives the events (public addresses only)."
    )
    events: list[EventTypeName] = Field(min_length=1, description="The detail-types to deliver.")

    @field_validator("events")
    @classmethod
    def _unique(cls, events: list[str]) -> list[str]:
        return list(dict.fromkeys(events))


class WebhookResponse(Response):
    id: UUID
    url: str
    events: list[str]
    created_at: datetime


class CreateWebhookResponse(WebhookResponse):
    secret: str = Field(description="Standard Webhooks signing secret (whsec_...). Shown once: store it now.")


class WebhookListResponse(Response):
    webhooks: list[WebhookResponse]


class DeleteWebhookResponse(Response):
    id: UUID
    status: Literal["DELETED"] = "DELETED"


# ----------------------------------------------------------------------------- storage


class Subscription(BaseModel):
    id: str
    url: str
    events: list[str]
    secret: SecretStr
    created_at: datetime

    def public(self) -> WebhookResponse:
        return WebhookResponse(id=self.id, url=self.url, events=self.events, created_at=self.created_at)


def new_secret() -> SecretStr:
    return SecretStr(SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode())


def _subscription_key(webhook_id: str) -> dict:
    return {"pk": SUBSCRIPTIONS_PK, "sk": f"SUBSCRIPTION#{webhook_id}"}


class SubscriptionStore(TableStore):
    def add(self, subscription: Subscription) -> None:
        item = {
            **_subscription_key(subscription.id),
            **subscription.model_dump(mode="json", exclude={"secret"}),
            "secret": subscription.secret.get_secret_value(),
        }
        self._call("put_item", Item=item, ConditionExpression="attribute_not_exists(pk)")

    def all(self) -> list[Subscription]:
        items, start = [], {}
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

    def remove(self, webhook_id: str) -> bool:
        try:
            self._call("delete_item", Key=_subscription_key(webhook_id), ConditionExpression="attribute_exists(pk)")
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # ----------------------------------------------------------------- delivery records

    def delivered(self, event_id: str, webhook_id: str) -> bool:
        key = {"pk": f"DELIVERY#{event_id}", "sk": f"SUBSCRIPTION#{webhook_id}"}
        return "Item" in self._call("get_item", Key=key, ConsistentRead=True)

    def mark_delivered(self, event_id: str, webhook_id: str, status: int) -> None:
        now = datetime.now(UTC)
        self._call(
            "put_item",
            Item={
                "pk": f"DELIVERY#{event_id}",
                "sk": f"SUBSCRIPTION#{webhook_id}",
                "delivered_at": now.isoformat(),
                "http_status": status,
                "expires_at": int((now + DELIVERY_RECORD_TTL).timestamp()),
            },
        )


# ----------------------------------------------------------------------------- use cases


class Webhooks:
    def __init__(self, settings: WebhookApiSettings, resolve: Resolve = resolve_host):
        self.settings = settings
        self.store = SubscriptionStore(settings.status_table_name)
        self.resolve = resolve

    def subscribe(self, request: CreateWebhookRequest) -> CreateWebhookResponse:
        check_callback_url(request.url, self.settings.webhook_allow_loopback, self.resolve)
        subscription = Subscription(
            id=str(uuid4()), url=request.url, events=request.events, secret=new_secret(), created_at=datetime.now(UTC)
        )
        self.store.add(subscription)
        logger.info("webhook subscribed", extra={"webhook_id": subscription.id, "events": subscription.events})
        return CreateWebhookResponse(**subscription.public().model_dump(), secret=subscription.secret.get_secret_value())

    def list_subscriptions(self) -> WebhookListResponse:
        return WebhookListResponse(webhooks=[s.public() for s in self.store.all()])

    def unsubscribe(self, webhook_id: str) -> DeleteWebhookResponse:
        if not self.store.remove(webhook_id):
            raise WebhookNotFound()
        logger.info("webhook deleted", extra={"webhook_id": webhook_id})
        return DeleteWebhookResponse(id=webhook_id)
