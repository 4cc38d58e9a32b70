"""The onboarding workflow's tasks: the state machine names the task, the domain code does it."""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from authflow.adapters import lifecycle_adapters
from authflow.models import OnboardingTask
from authflow.observability import logger, metrics
from authflow.onboarding import Onboarding
from authflow.settings import CognitoSettings

settings = CognitoSettings.from_environment()
onboarding = Onboarding(settings, lifecycle_adapters(settings))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    task = parse(event=event, model=OnboardingTask)
    logger.append_keys(user_id=str(task.onboarding.user_id), task=task.task, execution_arn=task.execution_arn)
    result = onboarding.run_task(task)
    # One count per step done, the onboarding funnel of template.yaml's OnboardingDashboard.
    metrics.add_metric(name=f"Onboarding{(task.outcome or task.task).title().replace('_', '')}", unit=MetricUnit.Count, value=1)
    return result
