"""Idempotency-Key for the routes that create things: a retried request gets the first answer.

Powertools' idempotency utility keeps each key's first response in the status table for a day; the
same key with a different body is refused, and a failed attempt is not remembered (so it can be retried).
The status token POST /v1/users answers is kept in that record sealed (SealedStatusToken): Fernet, under
a key derived from the server's secret, so the table alone never yields a usable token.
"""

import base64
import hashlib
import hmac
from collections.abc import Callable
from functools import cached_property
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
        self.table_name = table_name
        self.config = IdempotencyConfig(
            event_key_jmespath="key",
            payload_validation_jmespath="payload",
            expires_after_seconds=KEY_TTL_SECONDS,
            hash_function="sha256",
        )

    @cached_property
    def persistence(self) -> DynamoDBPersistenceLayer:
        """Made by the first request with a key, which most cold starts never see: its DynamoDB client
        (one of typed values, a second beside the status stores') was made at every cold start."""
        return DynamoDBPersistenceLayer(
            table_name=self.table_name,
            key_attr="pk",
            sort_key_attr="sk",
            static_pk_value="IDEMPOTENCY",
            expiry_attr="expires_at",
            boto3_client=client("dynamodb"),
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


class SealedStatusToken(PydanticSerializer):
    """Stores a response model with its status_token field encrypted, and opens it on replay."""

    # Separates this key from the other uses of the same server secret.
    KEY_LABEL = b"authflow: status tokens in idempotency records"

    def __init__(self, model: type[BaseModel], server_secret: Callable[[], bytes]):
        super().__init__(model)
        self.server_secret = server_secret

    def _fernet(self):
        from cryptography.fernet import Fernet  # on first use: a cold start without an Idempotency-Key skips it

        key = hmac.new(self.server_secret(), self.KEY_LABEL, hashlib.sha256).digest()
        return Fernet(base64.urlsafe_b64encode(key))

    def to_dict(self, data: BaseModel) -> dict:
        stored = super().to_dict(data)
        return {**stored, "status_token": self._fernet().encrypt(stored["status_token"].encode()).decode()}

    def from_dict(self, data: dict) -> BaseModel:
        return super().from_dict({**data, "status_token": self._fernet().decrypt(data["status_token"].encode()).decode()})
