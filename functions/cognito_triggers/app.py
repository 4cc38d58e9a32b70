"""Cognito triggers: each formats a message or publishes a fact and returns within Cognito's 5 seconds.

Publishing is best effort: a trigger that failed would make Cognito drop the user's mail or refuse
their sign-in, which matters more than the audit fact (a failure is logged as an ERROR).
"""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.data_classes.cognito_user_pool_event import (
    CustomMessageTriggerEvent,
    PostAuthenticationTriggerEvent,
    PreTokenGenerationTriggerEvent,
)
from aws_lambda_powertools.utilities.data_classes.common import DictWrapper
from aws_lambda_powertools.utilities.typing import LambdaContext

from authflow import events, mail
from authflow.adapters import trigger_publisher
from authflow.observability import logger
from authflow.settings import CommonSettings

REFRESH_TRIGGER_SOURCE = "TokenGeneration_RefreshTokens"

settings = CommonSettings.from_environment()
publisher = trigger_publisher(settings)


def _publish(fact: events.EventDetail) -> None:
    try:
        publisher.publish(fact)
    except Exception:
        logger.exception("could not publish the trigger's event", extra={"event_id": fact.event_id})


def custom_message(event: CustomMessageTriggerEvent, request_id: str) -> None:
    given_name = event.request.user_attributes.get("given_name", "")
    if event.trigger_source == "CustomMessage_AdminCreateUser":
        message = mail.invitation(
            app_name=settings.app_name,
            given_name=given_name,
            username_placeholder=event.request.username_parameter,
            code_placeholder=event.request.code_parameter,
            validity_days=settings.temporary_password_validity_days,
        )
    elif event.trigger_source == "CustomMessage_ForgotPassword":
        message = mail.password_reset_code(settings.app_name, given_name, event.request.code_parameter)
    else:
        message = None
    if message:
        event.response.email_subject = message.subject
        event.response.email_message = message.html
    _publish(events.CustomMessagePrepared(user_id=event.user_name, request_id=request_id, trigger_source=event.trigger_source))


def post_authentication(event: PostAuthenticationTriggerEvent, request_id: str) -> None:
    """A sign-in completed: Cognito knows it first, so the sign-in's one audit event comes from here.

    The API hands its request id and the login execution's ARN to AdminRespondToAuthChallenge as client
    metadata (authflow.users.AuditContext); without them (a sign-in authflow did not make) the
    trigger's own request id stands in.
    """
    metadata = event.request.client_metadata or {}
    _publish(
        events.LoginSucceeded(
            user_id=event.user_name,
            request_id=metadata.get("request_id") or request_id,
            execution_arn=metadata.get("execution_arn"),
            client_id=event.caller_context.client_id,
        )
    )


def pre_token_generation(event: PreTokenGenerationTriggerEvent, request_id: str) -> None:
    """A refresh is recorded here, where Cognito issues its tokens; a sign-in's tokens are part of the
    sign-in post authentication already recorded (one event per fact, SPEC section 4)."""
    if event.trigger_source == REFRESH_TRIGGER_SOURCE:
        _publish(events.TokenRefreshed(user_id=event.user_name, request_id=request_id, client_id=event.caller_context.client_id))


TRIGGERS: dict[str, tuple[type[DictWrapper], Callable[[Any, str], None]]] = {
    "CustomMessage_": (CustomMessageTriggerEvent, custom_message),
    "PostAuthentication_": (PostAuthenticationTriggerEvent, post_authentication),
    "TokenGeneration_": (PreTokenGenerationTriggerEvent, pre_token_generation),
}


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: LambdaContext) -> dict:
    source = event["triggerSource"]
    for prefix, (data_class, respond) in TRIGGERS.items():
        if source.startswith(prefix):
            trigger_event = data_class(event)
            respond(trigger_event, context.aws_request_id)
            return trigger_event.raw_event
    logger.warning("unhandled trigger source", extra={"trigger_source": source})
    return event
