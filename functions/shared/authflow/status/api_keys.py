"""API_KEYS, KEY#<sha256>: the named API keys of the front ends, stored as digests.

A key is 32 random bytes (256 bits, shown as 43 base64url characters), so an unsalted SHA-256 is
enough to store it: no table of precomputed hashes covers 2^256 keys, and ASVS 5.0 asks for salted,
slow hashing only of low-entropy secrets (6.5.2's threshold is 112 bits). A request's key is found
by its digest (one GetItem), never compared in clear, so the time an answer takes says nothing about
how much of a stored key a guess shares (ASVS 5.0 11.2.4). The key itself exists once: in the answer
to create, which the operator copies.
"""

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from authflow.aws import error_code
from authflow.status.table import TableStore

API_KEYS_PK = "API_KEYS"
KEY_PREFIX = "KEY#"
_KEY_BYTES = 32
# The name is what rate limits and logs show of a key: short, lower-case, no secret in it.
KEY_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class ApiKeyNameTaken(Exception):
    pass


@dataclass(frozen=True)
class ApiKeyEntry:
    name: str
    created_at: str
    digest_prefix: str  # the first characters of the digest, to tell two listings apart; not the key


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(_KEY_BYTES)).rstrip(b"=").decode()


class ApiKeys(TableStore):
    def name_of(self, key: str) -> str | None:
        """The name of the key whose digest is stored, None for any other string."""
        item = self._call("get_item", Key={"pk": API_KEYS_PK, "sk": KEY_PREFIX + key_digest(key)}).get("Item")
        return str(item["name"]) if item else None

    def entries(self) -> list[ApiKeyEntry]:
        items = self._call("query", KeyConditionExpression=Key("pk").eq(API_KEYS_PK) & Key("sk").begins_with(KEY_PREFIX))["Items"]
        found = [ApiKeyEntry(str(i["name"]), str(i["created_at"]), str(i["sk"])[len(KEY_PREFIX) :][:8]) for i in items]
        return sorted(found, key=lambda entry: entry.name)

    def create(self, name: str, key: str | None = None) -> str:
        """Stores a new key under name and returns it (the only time it exists in clear); ApiKeyNameTaken
        if a key has that name. `key` is for the local stack's fixed key only; operators get a random one."""
        if not KEY_NAME.match(name):
            raise ValueError("An API key's name is 1 to 63 lower-case letters, digits and dashes.")
        if any(entry.name == name for entry in self.entries()):
            raise ApiKeyNameTaken(name)
        key = key or new_key()
        created_at = self.clock().replace(microsecond=0).isoformat()
        try:
            self._call(
                "put_item",
                Item={"pk": API_KEYS_PK, "sk": KEY_PREFIX + key_digest(key), "name": name, "created_at": created_at},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                raise ApiKeyNameTaken(name) from error
            raise
        return key

    def revoke(self, name: str) -> bool:
        """Deletes the key named name; False if there is none. Warm API functions stop accepting it
        within their cache's lifetime (authflow.api_keys)."""
        items = self._call("query", KeyConditionExpression=Key("pk").eq(API_KEYS_PK) & Key("sk").begins_with(KEY_PREFIX))["Items"]
        named = [item for item in items if item["name"] == name]
        for item in named:
            self._call("delete_item", Key={"pk": API_KEYS_PK, "sk": item["sk"]})
        return bool(named)
