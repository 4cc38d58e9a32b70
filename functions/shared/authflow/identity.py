"""Stable pseudo-ids for unknown emails, so that answers to them look like answers to known ones.

An HMAC of the email under a key kept in Secrets Manager: stable for an email, unguessable without
the key, and never the id of a real user.
"""

import hashlib
import hmac
import uuid
from functools import cached_property

from aws_lambda_powertools.utilities.parameters import get_secret


class PseudoIds:
    def __init__(self, secret_arn: str):
        self.secret_arn = secret_arn

    @cached_property
    def key(self) -> bytes:
        """The server's secret (also the root of other derived keys, each under its own label)."""
        return get_secret(self.secret_arn, max_age=3600).encode()

    def for_email(self, email: str) -> str:
        digest = hmac.new(self.key, email.encode(), hashlib.sha256).digest()
        return str(uuid.UUID(bytes=digest[:16], version=4))
