"""boto3 clients, made once per process and per service, and the mapping of AWS errors.

The endpoint comes from boto3's own configuration (AWS_ENDPOINT_URL locally), never from code.
"""

from functools import cache

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from authflow.errors import TransientError

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=8)

_TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "Throttling",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "InternalErrorException",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "SlowDown",
    }
)


@cache
def client(service: str):
    return boto3.client(service, config=_CONFIG)


@cache
def resource(service: str):
    return boto3.resource(service, config=_CONFIG)


def error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def is_transient(error: Exception) -> bool:
    if isinstance(error, BotoCoreError):
        return True
    return isinstance(error, ClientError) and error_code(error) in _TRANSIENT_CODES


def raise_transient(error: Exception, what: str) -> None:
    """Re-raise a throttling or transient AWS failure as TransientError, which callers and workflows retry."""
    if is_transient(error):
        raise TransientError(f"{what} is temporarily unavailable.") from error
