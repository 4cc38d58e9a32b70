"""The login workflow's task: runs one login step with the secrets from its handoff, returns an outcome."""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from authflow.adapters import lifecycle_adapters
from authflow.models import LoginTask
from authflow.observability import logger, metrics
from authflow.sessions import Sessions
from authflow.settings import CognitoSettings

sessions = Sessions(lifecycle_adapters(CognitoSettings.from_environment()))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    task = parse(event=event, model=LoginTask)
    result = sessions.run_login_task(task)
    metrics.add_metric(name=f"Login{task.step.title()}{result.outcome.title().replace('_', '')}", unit=MetricUnit.Count, value=1)
    return result.model_dump(mode="json")
