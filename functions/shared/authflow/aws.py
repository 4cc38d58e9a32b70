"""boto3 clients, made once per process and per service, and the mapping of AWS errors.

The endpoint comes from boto3's own configuration (AWS_ENDPOINT_URL locally), never from code.
"""

from functools import cache

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from authflow.errors import TransientError

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=8)

# A service's request-rate quota: per second, so a retry a second later may pass.
_THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "Throttling",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "SlowDown",
    }
)
QUOTA_RETRY_AFTER_SECONDS = 1
_TRANSIENT_CODES = _THROTTLING_CODES | frozenset(
    {
        "InternalErrorException",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)


@cache
def client(service: str):
    return boto3.client(service, config=_CONFIG)


class ClientOnFirstUse:
    """The service's client (client(service)), made when a method is first called: for a bundle that
    holds a client its function calls on rare paths only (each client made after the first costs 5-30 ms of CPU)."""

    def __init__(self, service: str):
        self.service = service

    def __getattr__(self, name: str):
        return getattr(client(self.service), name)


@cache
def table_client():
    """A DynamoDB client that takes and answers plain Python values, as boto3's Table resource does.

    The resource costs ~45 ms more at every cold start (its model is loaded and its classes built);
    this is a plain client with the same transformations boto3 registers on the resource's own client
    (values serialised, condition objects rendered as expressions). It is not client("dynamodb"),
    whose callers (the idempotency layer) send DynamoDB's typed values.
    """
    return plain_values(boto3.client("dynamodb", config=_CONFIG))


def plain_values(dynamodb):
    """dynamodb (a DynamoDB client, also one of another session: the operator's CLI) made to take and
    answer plain Python values: the transformations boto3 registers on its Table resource's client."""
    from boto3.dynamodb.transform import TransformationInjector, copy_dynamodb_params

    injector = TransformationInjector()
    events = dynamodb.meta.events
    events.register("provide-client-params.dynamodb", copy_dynamodb_params, unique_id="dynamodb-create-params-copy")
    events.register("before-parameter-build.dynamodb", injector.inject_condition_expressions, unique_id="dynamodb-condition-expression")
    events.register("before-parameter-build.dynamodb", injector.inject_attribute_value_input, unique_id="dynamodb-attr-value-input")
    events.register("after-call.dynamodb", injector.inject_attribute_value_output, unique_id="dynamodb-attr-value-output")
    return dynamodb


def error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def is_transient(error: Exception) -> bool:
    if isinstance(error, BotoCoreError):
        return True
    return isinstance(error, ClientError) and error_code(error) in _TRANSIENT_CODES


def raise_transient(error: Exception, what: str) -> None:
    """Re-raise a throttling or transient AWS failure as TransientError, which callers and workflows retry."""
    if isinstance(error, ClientError) and error_code(error) in _THROTTLING_CODES:
        raise TransientError(f"{what} is busy; retry in a second.", retry_after=QUOTA_RETRY_AFTER_SECONDS) from error
    if is_transient(error):
        raise TransientError(f"{what} is temporarily unavailable.") from error
