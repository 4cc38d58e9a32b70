"""The webhook routes of the v1 API (a Powertools Router that app.py includes with its use case): admins
only, since a subscription receives every user's lifecycle events."""

from http import HTTPStatus
from typing import Annotated
from uuid import UUID

from access import BEARER, required_bearer_token
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from authflow.admins import Callers
from authflow.http import responses
from authflow.idempotency import Idempotency
from authflow.models import CreateWebhookRequest, CreateWebhookResponse, DeleteWebhookResponse, WebhookListResponse
from authflow.webhooks import Webhooks

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

    return router
