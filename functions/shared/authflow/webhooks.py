"""Webhook subscriptions: POST/GET/DELETE /v1/webhooks.

Subscriptions live in the status table (authflow.status.subscriptions); their deliveries are
authflow.deliveries'. Secrets follow the Standard Webhooks format: "whsec_" + base64 of 32 random bytes.
"""

import base64
import secrets
from uuid import uuid4

from pydantic import SecretStr

from authflow import errors
from authflow.adapters import Adapters
from authflow.callback_urls import check_callback_url
from authflow.models import CreateWebhookRequest, CreateWebhookResponse, DeleteWebhookResponse, WebhookListResponse
from authflow.observability import logger
from authflow.status.subscriptions import Subscription

SECRET_PREFIX = "whsec_"


def new_secret() -> SecretStr:
    return SecretStr(SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode())


class Webhooks:
    def __init__(self, adapters: Adapters, allow_loopback: bool):
        self.store = adapters.subscriptions
        self.resolve = adapters.resolve
        self.clock = adapters.clock
        self.allow_loopback = allow_loopback

    def subscribe(self, request: CreateWebhookRequest) -> CreateWebhookResponse:
        check_callback_url(request.url, self.allow_loopback, self.resolve)
        subscription = Subscription(id=str(uuid4()), url=request.url, events=request.events, secret=new_secret(), created_at=self.clock())
        self.store.add(subscription)
        logger.info("webhook subscribed", extra={"webhook_id": subscription.id, "events": subscription.events})
        return CreateWebhookResponse(**subscription.public().model_dump(), secret=subscription.secret.get_secret_value())

    def list_subscriptions(self) -> WebhookListResponse:
        return WebhookListResponse(webhooks=[s.public() for s in self.store.all()])

    def unsubscribe(self, webhook_id: str) -> DeleteWebhookResponse:
        if not self.store.remove(webhook_id):
            raise errors.WebhookNotFound()
        logger.info("webhook deleted", extra={"webhook_id": webhook_id})
        return DeleteWebhookResponse(id=webhook_id)
