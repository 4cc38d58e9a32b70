"""MFA QR codes: the PNG of a TOTP provisioning URI, kept in the private QR bucket.

qrcode and pyotp are imported here only, so functions that never draw a QR code don't pay for them.
"""

import io
from functools import cached_property

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from pydantic import SecretStr

from authflow.aws import client, raise_transient

# The links' signature: SigV4 (botocore still presigns S3 URLs with SigV2 by default, which S3 refuses
# in the regions opened since 2014 and AWS is retiring), on the bucket's regional host (the global
# s3.amazonaws.com redirects requests for a new bucket outside us-east-1, and a redirected link no
# longer matches its signed Host). A custom endpoint (the local stack's) keeps path-style addressing.
_PRESIGN_CONFIG = Config(signature_version="s3v4", s3={"addressing_style": "virtual"})


def qr_png(secret: SecretStr, account: str, issuer: str) -> bytes:
    import pyotp
    import qrcode

    uri = pyotp.TOTP(secret.get_secret_value()).provisioning_uri(name=account, issuer_name=issuer)
    buffer = io.BytesIO()
    qrcode.make(uri).save(buffer, format="PNG")
    return buffer.getvalue()


# Onboarding's QR code is removed by onboarding itself (at ACTIVE, expiry, failure). A re-enrolment's
# lives under a prefix of its own, which the bucket's lifecycle rule expires a day after it was written
# (S3's shortest) if neither its confirmation, a later enrolment nor an expiry noticed removed it first.
ONBOARDING_PREFIX = "users_mfa/"
REENROLMENT_PREFIX = "mfa_reenrolments/"


class QrCodeStore:
    def __init__(self, bucket: str, link_expiry_seconds: int):
        self.bucket = bucket
        self.link_expiry_seconds = link_expiry_seconds

    @staticmethod
    def key(user_id: str, reenrolment: bool = False) -> str:
        return f"{REENROLMENT_PREFIX if reenrolment else ONBOARDING_PREFIX}{user_id}.png"

    def put(self, user_id: str, png: bytes, reenrolment: bool = False) -> None:
        try:
            client("s3").put_object(Bucket=self.bucket, Key=self.key(user_id, reenrolment), Body=png, ContentType="image/png")
        except ClientError as error:
            raise_transient(error, "The QR code store")
            raise

    @cached_property
    def _presigner(self):
        """Made on the first link (presigning calls no AWS API), once per store."""
        return boto3.client("s3", config=_PRESIGN_CONFIG)

    def link(self, user_id: str, reenrolment: bool = False) -> str:
        return self._presigner.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self.key(user_id, reenrolment)}, ExpiresIn=self.link_expiry_seconds
        )

    def delete(self, user_id: str) -> None:
        """Removes the user's QR codes, onboarding's and a re-enrolment's (S3 deletes are free requests)."""
        try:
            for reenrolment in (False, True):
                client("s3").delete_object(Bucket=self.bucket, Key=self.key(user_id, reenrolment))
        except ClientError as error:
            raise_transient(error, "The QR code store")
            raise
