"""The password reset workflow's tasks."""

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from authflow.adapters import lifecycle_adapters
from authflow.models import PasswordResetTask
from authflow.observability import logger
from authflow.passwords import Passwords
from authflow.settings import CognitoSettings

settings = CognitoSettings.from_environment()
passwords = Passwords(settings, lifecycle_adapters(settings))


# Its invocations are AWS/Lambda's Invocations metric: the function writes no EMF line of its own.
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: LambdaContext) -> dict:
    task = parse(event=event, model=PasswordResetTask)
    logger.append_keys(user_id=str(task.reset.user_id), task=task.task)
    return passwords.run_reset_task(task)
