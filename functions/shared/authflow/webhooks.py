"""Webhook subscriptions: POST/GET/DELETE /v1/webhooks.

Subscriptions live in the status table (authflow.status.subscriptions); their deliveries are
authflow.deliveries'. Secrets follow the Standard Webhooks format: "whsec_" + base64 of 32 random bytes.
"""

import base64
import secrets
from datetime import datetime, timedelta
from uuid import uuid4

from pydantic import SecretStr

from authflow import errors
from authflow.adapters import Adapters
from authflow.callback_urls import check_callback_url
from authflow.models import (
    CreateWebhookRequest,
    CreateWebhookResponse,
    DeleteWebhookResponse,
    ReplayWebhookRequest,
    ReplayWebhookResponse,
    UpdateWebhookRequest,
    UpdateWebhookResponse,
    WebhookDeliveriesResponse,
    WebhookDeliveryResponse,
    WebhookListResponse,
)
from authflow.observability import logger
from authflow.replays import ArchiveReplays, ReplayTarget
from authflow.sealed_secrets import SecretSealer
from authflow.status.deliveries import DeliveryLogEntry
from authflow.status.subscriptions import Subscription
from authflow.webhook_routing import WebhookRouting

SECRET_PREFIX = "whsec_"
ROTATION_WINDOW = timedelta(hours=24)  # deliveries carry both signatures while receivers switch secrets
ONE_EVENT_WINDOW = timedelta(seconds=1)  # a replay of one event reads the archive around its time only
DELIVERIES_SHOWN, MOST_DELIVERIES_SHOWN = 50, 100  # the delivery log's limit: its default and its maximum
# Concurrent subscription changes: each re-routes until the subscriptions it read are still the same.
ROUTING_ROUNDS = 3


def new_secret() -> SecretStr:
    return SecretStr(SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode())


def delivery_log(webhook_id: str, entries: list[DeliveryLogEntry]) -> WebhookDeliveriesResponse:
    """The delivery log as GET /v1/webhooks/{id}/deliveries answers it (and the local console shows it)."""
    return WebhookDeliveriesResponse(
        webhook_id=webhook_id,
        deliveries=[WebhookDeliveryResponse.model_validate(entry.model_dump(exclude={"webhook_id", "updated_at"})) for entry in entries],
    )


class Webhooks:
    def __init__(self, adapters: Adapters, allow_loopback: bool, replays: ArchiveReplays, sealer: SecretSealer, routing: WebhookRouting):
        self.store = adapters.subscriptions
        self.sealer = sealer
        self.deliveries = adapters.deliveries
        self.resolve = adapters.resolve
        self.clock = adapters.clock
        self.allow_loopback = allow_loopback
        self.replays = replays
        self.routing = routing

    def subscribe(self, request: CreateWebhookRequest) -> CreateWebhookResponse:
        check_callback_url(request.url, self.allow_loopback, self.resolve)
        webhook_id, secret = str(uuid4()), new_secret()
        subscription = Subscription(
            id=webhook_id,
            url=request.url,
            events=request.events,
            sealed_secret=self.sealer.seal(webhook_id, secret),
            created_at=self.clock(),
            contact_email=request.contact_email,
        )
        self.store.add(subscription)
        try:
            self.route_subscribed_types()
        except Exception:
            # Not subscribed unless its events can reach the queue: the admin's retry creates it anew.
            self.store.remove(subscription.id)
            raise
        logger.info("webhook subscribed", extra={"webhook_id": subscription.id, "events": subscription.events})
        return CreateWebhookResponse(**subscription.public().model_dump(), secret=secret.get_secret_value())

    def list_subscriptions(self) -> WebhookListResponse:
        return WebhookListResponse(webhooks=[s.public() for s in self.store.all()])

    def unsubscribe(self, webhook_id: str) -> DeleteWebhookResponse:
        if not self.store.remove(webhook_id):
            raise errors.WebhookNotFound()
        self.route_subscribed_types()
        logger.info("webhook deleted", extra={"webhook_id": webhook_id})
        return DeleteWebhookResponse(id=webhook_id)

    def route_subscribed_types(self) -> None:
        """The webhook rule sends the detail-types some subscription names to the queue, and no other.

        A disabled subscription's types stay routed (the consumer drops their events), so that
        re-enabling it needs no rule change. Two admins changing subscriptions at once could each write
        the rule from what they read: each writes again until a fresh read agrees with what it wrote.
        """
        routed = None
        for _ in range(ROUTING_ROUNDS):
            subscribed = {event_type for subscription in self.store.all() for event_type in subscription.events}
            if subscribed == routed:
                return
            self.routing.route(subscribed)
            routed = subscribed
        logger.warning("webhook subscriptions kept changing while the rule was written", extra={"event_types": sorted(routed or ())})

    def update(self, webhook_id: str, request: UpdateWebhookRequest) -> UpdateWebhookResponse:
        """Re-enables a disabled subscription and/or rotates its secret (both signatures for ROTATION_WINDOW)."""
        secret = new_secret() if request.rotate_secret else None
        sealed = self.sealer.seal(webhook_id, secret) if secret is not None else None
        updated = self.store.update(webhook_id, enable=bool(request.enabled), sealed_secret=sealed, rotation_window=ROTATION_WINDOW)
        if updated is None:
            raise errors.WebhookNotFound()
        # Also how an operator restores the rule's pattern after a stack update reset it (README).
        self.route_subscribed_types()
        logger.info(
            "webhook updated", extra={"webhook_id": webhook_id, "re_enabled": bool(request.enabled), "secret_rotated": secret is not None}
        )
        return UpdateWebhookResponse(**updated.public().model_dump(), secret=secret.get_secret_value() if secret else None)

    def deliveries_of(self, webhook_id: str, limit: int) -> WebhookDeliveriesResponse:
        """The subscription's delivery log: each event's attempts, last answer, next attempt, state."""
        if self.store.get(webhook_id) is None:
            raise errors.WebhookNotFound()
        return delivery_log(webhook_id, self.deliveries.of_subscription(webhook_id, limit))

    def replay(self, webhook_id: str, request: ReplayWebhookRequest) -> ReplayWebhookResponse:
        """Delivers one event, or every event since a time, again to this subscription (from the bus's archive)."""
        subscription = self.store.get(webhook_id)
        if subscription is None:
            raise errors.WebhookNotFound()
        if not subscription.enabled:
            raise errors.WebhookDisabled()
        now = self.clock()
        if request.event_id is not None:
            entry = self.deliveries.get(webhook_id, request.event_id)
            if entry is None:
                raise errors.DeliveryNotFound()
            occurred = datetime.fromisoformat(entry.occurred_at)
            start, end = occurred - ONE_EVENT_WINDOW, occurred + ONE_EVENT_WINDOW
        else:
            start, end = min(request.since or now, now), now
        name = f"wh-{webhook_id}-{int(now.timestamp() * 1000)}"
        self.replays.start(name, ReplayTarget(webhook_id, request.event_id), start, end)
        logger.info("webhook replay started", extra={"webhook_id": webhook_id, "replay_name": name, "event_id": request.event_id})
        return ReplayWebhookResponse(webhook_id=webhook_id, replay_name=name, event_id=request.event_id, since=start, until=end)
