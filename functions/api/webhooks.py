"""The webhook routes of the v1 API (a Powertools Router that app.py includes with its use case)."""

from http import HTTPStatus
from typing import Annotated
from uuid import UUID

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from authflow.http import responses
from authflow.idempotency import Idempotency
from authflow.models import CreateWebhookRequest, CreateWebhookResponse, DeleteWebhookResponse, WebhookListResponse
from authflow.webhooks import Webhooks

S = HTTPStatus


def webhooks_router(webhooks: Webhooks, idempotency: Idempotency) -> Router:
    router = Router()

    @router.post("/webhooks", responses=responses(CreateWebhookResponse, status=S.CREATED), tags=["Webhooks"])
    def create_webhook(request: Annotated[CreateWebhookRequest, Body()]) -> tuple[CreateWebhookResponse, int]:
        """Subscribes an https URL to event types; the signing secret is in this answer only.

        With an Idempotency-Key header, a retry of the same request gets the first answer (for a day).
        """
        key = router.current_event.get_header_value("idempotency-key", case_sensitive=False)
        return idempotency.run("create-webhook", key, request, lambda: webhooks.subscribe(request), CreateWebhookResponse), 201

    @router.get("/webhooks", responses=responses(WebhookListResponse, body=False), tags=["Webhooks"])
    def list_webhooks() -> WebhookListResponse:
        """Every subscription, without its secret."""
        return webhooks.list_subscriptions()

    @router.delete(
        "/webhooks/<webhook_id>", responses=responses(DeleteWebhookResponse, S.BAD_REQUEST, S.NOT_FOUND, body=False), tags=["Webhooks"]
    )
    def delete_webhook(webhook_id: Annotated[UUID, Path(description="The id POST /v1/webhooks returned.")]) -> DeleteWebhookResponse:
        """Ends a subscription; events not yet delivered to it are dropped."""
        return webhooks.unsubscribe(str(webhook_id))

    return router
