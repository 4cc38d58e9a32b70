"""Idempotency-Key for the routes that create things: a retried request gets the first answer.

Powertools' idempotency utility keeps each key's first response in the status table for a day; the
same key with a different body is refused, and a failed attempt is not remembered (so it can be retried).
"""

from collections.abc import Callable
from typing import TypeVar

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.serialization.base import BaseIdempotencySerializer
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from pydantic import BaseModel

from authflow import errors
from authflow.aws import client

KEY_TTL_SECONDS = 24 * 3600
MAX_KEY_LENGTH = 255

Result = TypeVar("Result", bound=BaseModel)


class Idempotency:
    def __init__(self, table_name: str):
        self.persistence = DynamoDBPersistenceLayer(
            table_name=table_name,
            key_attr="pk",
            sort_key_attr="sk",
            static_pk_value="IDEMPOTENCY",
            expiry_attr="expires_at",
            boto3_client=client("dynamodb"),
        )
        self.config = IdempotencyConfig(
            event_key_jmespath="key",
            payload_validation_jmespath="payload",
            expires_after_seconds=KEY_TTL_SECONDS,
            hash_function="sha256",
        )

    def run(
        self,
        scope: str,
        key: str | None,
        payload: BaseModel,
        action: Callable[[], Result],
        model: type[Result],
        serializer: BaseIdempotencySerializer | None = None,
    ) -> Result:
        """Runs action once per (scope, key); without a key, every call runs. The answer is stored with
        serializer (PydanticSerializer of model by default)."""
        if key is None:
            return action()
        if not 0 < len(key) <= MAX_KEY_LENGTH or not key.isprintable():
            raise errors.InvalidRequest("Idempotency-Key must be 1 to 255 printable characters.")

        @idempotent_function(
            data_keyword_argument="submission",
            config=self.config,
            persistence_store=self.persistence,
            output_serializer=serializer or PydanticSerializer(model),
        )
        def once(submission: dict) -> Result:
            return action()

        try:
            return once(submission={"key": f"{scope}#{key}", "payload": payload.model_dump(mode="json")})
        except IdempotencyValidationError:
            raise errors.IdempotencyKeyReused() from None
        except IdempotencyAlreadyInProgressError:
            raise errors.RequestInProgress() from None
        except IdempotencyPersistenceLayerError:
            raise errors.TransientError("The idempotency store is temporarily unavailable; retry with the same key.") from None
