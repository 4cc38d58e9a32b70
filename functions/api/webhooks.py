"""The webhook routes of the v1 API (a Powertools Router that app.py includes with its use case): admins
only, since a subscription receives every user's lifecycle events."""

from http import HTTPStatus
from typing import Annotated
from uuid import UUID

from access import BEARER, required_bearer_token
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from authflow.admins import Callers
from authflow.http import responses
from authflow.idempotency import Idempotency
from authflow.models import (
    CreateWebhookRequest,
    CreateWebhookResponse,
    DeleteWebhookResponse,
    ReplayWebhookRequest,
    ReplayWebhookResponse,
    UpdateWebhookRequest,
    UpdateWebhookResponse,
    WebhookDeliveriesResponse,
    WebhookListResponse,
)
from authflow.webhooks import DELIVERIES_SHOWN, MOST_DELIVERIES_SHOWN, Webhooks

S = HTTPStatus
ADMIN_ONLY = (S.UNAUTHORIZED, S.FORBIDDEN)


def webhooks_router(webhooks: Webhooks, idempotency: Idempotency, callers: Callers) -> Router:
    router = Router()

    def require_admin() -> None:
        """401 without a token Cognito accepts, 403 for a token of anyone outside the admin group."""
        callers.require_admin(required_bearer_token(router.current_event))

    @router.post("/webhooks", responses=responses(CreateWebhookResponse, *ADMIN_ONLY, status=S.CREATED), tags=["Webhooks"], security=BEARER)
    def create_webhook(request: Annotated[CreateWebhookRequest, Body()]) -> tuple[CreateWebhookResponse, int]:
        """Subscribes an https URL to event types; the signing secret is in this answer only (admin token).

        With an Idempotency-Key header, a retry of the same request gets the first answer (for a day).
        """
        require_admin()
        key = router.current_event.get_header_value("idempotency-key", case_sensitive=False)
        return idempotency.run("create-webhook", key, request, lambda: webhooks.subscribe(request), CreateWebhookResponse), 201

    @router.get("/webhooks", responses=responses(WebhookListResponse, *ADMIN_ONLY, body=False), tags=["Webhooks"], security=BEARER)
    def list_webhooks() -> WebhookListResponse:
        """Every subscription, without its secret (admin token)."""
        require_admin()
        return webhooks.list_subscriptions()

    @router.delete(
        "/webhooks/<webhook_id>",
        responses=responses(DeleteWebhookResponse, S.BAD_REQUEST, *ADMIN_ONLY, S.NOT_FOUND, body=False),
        tags=["Webhooks"],
        security=BEARER,
    )
    def delete_webhook(webhook_id: Annotated[UUID, Path(description="The id POST /v1/webhooks returned.")]) -> DeleteWebhookResponse:
        """Ends a subscription; events not yet delivered to it are dropped (admin token)."""
        require_admin()
        return webhooks.unsubscribe(str(webhook_id))

    @router.patch(
        "/webhooks/<webhook_id>", responses=responses(UpdateWebhookResponse, *ADMIN_ONLY, S.NOT_FOUND), tags=["Webhooks"], security=BEARER
    )
    def update_webhook(
        webhook_id: Annotated[UUID, Path(description="The id POST /v1/webhooks returned.")],
        request: Annotated[UpdateWebhookRequest, Body()],
    ) -> UpdateWebhookResponse:
        """Re-enables a disabled subscription ({"enabled": true}) and/or rotates its signing secret
        ({"rotate_secret": true}: the new secret is in this answer only; for 24 hours each delivery is
        signed with both secrets, space-separated in webhook-signature). Admin token."""
        require_admin()
        return webhooks.update(str(webhook_id), request)

    @router.get(
        "/webhooks/<webhook_id>/deliveries",
        responses=responses(WebhookDeliveriesResponse, S.BAD_REQUEST, *ADMIN_ONLY, S.NOT_FOUND, body=False),
        tags=["Webhooks"],
        security=BEARER,
    )
    def list_deliveries(
        webhook_id: Annotated[UUID, Path(description="The id POST /v1/webhooks returned.")],
        limit: Annotated[int, Query(ge=1, le=MOST_DELIVERIES_SHOWN, description="How many of the latest deliveries.")] = DELIVERIES_SHOWN,
    ) -> WebhookDeliveriesResponse:
        """The delivery log of a subscription (kept 30 days): per event, attempts, the last answer's
        status code and latency, the next attempt and the state. Admin token."""
        require_admin()
        return webhooks.deliveries_of(str(webhook_id), limit)

    @router.post(
        "/webhooks/<webhook_id>/replay",
        responses=responses(ReplayWebhookResponse, *ADMIN_ONLY, S.NOT_FOUND, S.CONFLICT, status=S.ACCEPTED),
        tags=["Webhooks"],
        security=BEARER,
    )
    def replay_webhook(
        webhook_id: Annotated[UUID, Path(description="The id POST /v1/webhooks returned.")],
        request: Annotated[ReplayWebhookRequest, Body()],
    ) -> tuple[ReplayWebhookResponse, int]:
        """Delivers again, to this subscription only, one event ({"event_id"}) or every event of its
        types since a time ({"since"}), from the event bus's archive; same webhook-id as before. Admin token."""
        require_admin()
        return webhooks.replay(str(webhook_id), request), 202

    return router
