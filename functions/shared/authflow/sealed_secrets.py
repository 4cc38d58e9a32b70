"""Webhook signing secrets at rest: sealed with the stack's KMS key, opened only to sign a delivery.

KMS Encrypt and Decrypt directly rather than envelope encryption (GenerateDataKey, then AES-GCM here):
a signing secret is 50 bytes, far under Encrypt's 4 KiB; each subscription would need its own data key
anyway, so opening one costs a Decrypt either way; and no data key or cipher code lives in the
functions (the layer needs no `cryptography`). The encryption context names the subscription, so a
sealed secret copied onto another subscription's item does not open (KMS refuses the context), and
CloudTrail records which subscription each Decrypt was for. The API may only Encrypt, the webhook
delivery function only Decrypt (template.yaml).
"""

import base64

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import SecretStr

from authflow.aws import client, raise_transient

CONTEXT_KEY = "webhook_id"  # the IAM policies require it (template.yaml)


class SecretSealer:
    def __init__(self, key_id: str):
        self.key_id = key_id

    def seal(self, webhook_id: str, secret: SecretStr) -> str:
        """The secret encrypted under the key, bound to the subscription (base64, for the table)."""
        try:
            blob = client("kms").encrypt(
                KeyId=self.key_id, Plaintext=secret.get_secret_value().encode(), EncryptionContext={CONTEXT_KEY: webhook_id}
            )["CiphertextBlob"]
        except (BotoCoreError, ClientError) as error:
            raise_transient(error, "The key service")
            raise
        return base64.b64encode(blob).decode()

    def open(self, webhook_id: str, sealed: str) -> SecretStr:
        """The plaintext of a secret sealed for this subscription; KMS refuses one sealed for another."""
        try:
            plaintext = client("kms").decrypt(
                KeyId=self.key_id, CiphertextBlob=base64.b64decode(sealed), EncryptionContext={CONTEXT_KEY: webhook_id}
            )["Plaintext"]
        except (BotoCoreError, ClientError) as error:
            raise_transient(error, "The key service")
            raise
        return SecretStr(plaintext.decode())
