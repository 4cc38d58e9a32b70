"""The webhook routes of the v1 API (a Powertools Router that app.py includes)."""

from http import HTTPStatus
from typing import Annotated
from uuid import UUID

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from authflow.http import error_responses
from authflow.webhooks import (
    CreateWebhookRequest,
    CreateWebhookResponse,
    DeleteWebhookResponse,
    WebhookApiSettings,
    WebhookListResponse,
    Webhooks,
)

router = Router()
webhooks = Webhooks(WebhookApiSettings())
S = HTTPStatus


@router.post("/webhooks", responses=error_responses(S.BAD_REQUEST), tags=["Webhooks"])
def create_webhook(request: Annotated[CreateWebhookRequest, Body()]) -> tuple[CreateWebhookResponse, int]:
    """Subscribes an https URL to event types; the signing secret is in this answer only."""
    return webhooks.subscribe(request), 201


@router.get("/webhooks", tags=["Webhooks"])
def list_webhooks() -> WebhookListResponse:
    """Every subscription, without its secret."""
    return webhooks.list_subscriptions()


@router.delete("/webhooks/<webhook_id>", responses=error_responses(S.BAD_REQUEST, S.NOT_FOUND), tags=["Webhooks"])
def delete_webhook(webhook_id: Annotated[UUID, Path(description="The id POST /v1/webhooks returned.")]) -> DeleteWebhookResponse:
    """Ends a subscription; events not yet delivered to it are dropped."""
    return webhooks.unsubscribe(str(webhook_id))
