"""Cognito triggers: each formats a message or publishes a fact and returns within Cognito's 5 seconds."""

from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.cognito_user_pool_event import CustomMessageTriggerEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from authflow import events, mail
from authflow.observability import logger, tracer
from authflow.settings import CommonSettings

settings = CommonSettings()
publisher = events.EventPublisher(settings.event_bus_name)

INVITATION_TRIGGERS = ("CustomMessage_AdminCreateUser",)
RESET_CODE_TRIGGERS = ("CustomMessage_ForgotPassword",)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@event_source(data_class=CustomMessageTriggerEvent)
def handler(event: CustomMessageTriggerEvent, context: LambdaContext) -> dict:
    if event.trigger_source in INVITATION_TRIGGERS:
        message = mail.invitation(
            app_name=settings.app_name,
            given_name=event.request.user_attributes.get("given_name", ""),
            username_placeholder=event.request.username_parameter,
            code_placeholder=event.request.code_parameter,
            validity_days=settings.temporary_password_validity_days,
        )
        event.response.email_subject = message.subject
        event.response.email_message = message.html
    elif event.trigger_source in RESET_CODE_TRIGGERS:
        message = mail.password_reset_code(
            app_name=settings.app_name,
            given_name=event.request.user_attributes.get("given_name", ""),
            code_placeholder=event.request.code_parameter,
        )
        event.response.email_subject = message.subject
        event.response.email_message = message.html
    fact = events.CustomMessagePrepared(user_id=event.user_name, request_id=context.aws_request_id, trigger_source=event.trigger_source)
    try:
        publisher.publish(fact)
    except Exception:
        # The user's mail matters more than this audit fact: Cognito would drop the mail if the trigger failed.
        logger.exception("could not publish the trigger's event", extra={"event_id": fact.event_id})
    return event.raw_event
