"""MFA QR codes: the PNG an authenticator app scans, and its private store in S3 (moto in-process)."""

import io
import urllib.parse
import uuid

import boto3
import pyotp
import pytest
import qrcode
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from PIL import Image
from pydantic import SecretStr

import authflow.aws
from authflow import errors
from authflow.qr import QrCodeStore, qr_png
from tests.support.workflow import in_process_aws  # noqa: F401 (fixture)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SECRET = pyotp.random_base32(32)


def pixels(png: bytes) -> tuple[tuple[int, int], bytes]:
    image = Image.open(io.BytesIO(png))
    image.load()
    grey = image.convert("L")
    return grey.size, grey.tobytes()


def expected_uri(secret: str, account: str, issuer: str) -> str:
    """The Key Uri Format authenticator apps read (github.com/google/google-authenticator/wiki/Key-Uri-Format)."""
    label = f"{urllib.parse.quote(issuer)}:{urllib.parse.quote(account)}"
    return f"otpauth://totp/{label}?secret={secret}&issuer={urllib.parse.quote(issuer)}"


def test_qr_png_is_a_png_image_of_the_provisioning_uri():
    png = qr_png(SecretStr(SECRET), account="ada@example.com", issuer="authflow")

    assert png.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size[0] == image.size[1] >= 200, "a square code large enough to scan"

    # "Decoding": the image is, pixel for pixel, the QR code of the otpauth:// URI built independently
    # from the spec of the format; any other content (another secret, account or issuer) differs.
    uri = expected_uri(SECRET, "ada@example.com", "authflow")
    reference = io.BytesIO()
    qrcode.make(uri).save(reference, format="PNG")
    assert pixels(png) == pixels(reference.getvalue())

    parsed = urllib.parse.urlparse(uri)
    assert parsed.scheme == "otpauth" and parsed.netloc == "totp"
    query = urllib.parse.parse_qs(parsed.query)
    assert query["issuer"] == ["authflow"] and query["secret"] == [SECRET]
    assert urllib.parse.unquote(parsed.path) == "/authflow:ada@example.com"
    # what the user's app will then generate is the code Cognito expects
    scanned = pyotp.parse_uri(uri)
    assert isinstance(scanned, pyotp.TOTP) and scanned.now() == pyotp.TOTP(SECRET).now()


def test_qr_png_differs_for_another_account_or_issuer():
    base = pixels(qr_png(SecretStr(SECRET), account="ada@example.com", issuer="authflow"))
    assert pixels(qr_png(SecretStr(SECRET), account="bob@example.com", issuer="authflow")) != base
    assert pixels(qr_png(SecretStr(SECRET), account="ada@example.com", issuer="other")) != base


@pytest.fixture
def bucket(in_process_aws) -> str:  # noqa: F811
    name = f"unit-qr-{uuid.uuid4().hex[:8]}"
    boto3.client("s3").create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": in_process_aws})
    return name


def test_qr_code_store_puts_links_and_deletes_a_users_png(bucket):
    store = QrCodeStore(bucket, link_expiry_seconds=600)
    user_id = str(uuid.uuid4())
    png = qr_png(SecretStr(SECRET), account="ada@example.com", issuer="authflow")

    store.put(user_id, png)

    s3 = boto3.client("s3")
    stored = s3.get_object(Bucket=bucket, Key=f"users_mfa/{user_id}.png")
    assert stored["ContentType"] == "image/png"
    assert stored["Body"].read() == png

    link = urllib.parse.urlparse(store.link(user_id))
    query = urllib.parse.parse_qs(link.query)
    assert link.path.endswith(f"users_mfa/{user_id}.png")
    assert query["X-Amz-Expires"] == ["600"], "the link is short-lived, as QR_LINK_EXPIRY_SECONDS says"
    assert "X-Amz-Signature" in query, "a presigned link, not a public object"

    store.put(user_id, png, reenrolment=True)
    assert urllib.parse.urlparse(store.link(user_id, reenrolment=True)).path.endswith(f"mfa_reenrolments/{user_id}.png")
    store.delete(user_id)
    for key in (f"users_mfa/{user_id}.png", f"mfa_reenrolments/{user_id}.png"):
        with pytest.raises(ClientError) as gone:
            s3.head_object(Bucket=bucket, Key=key)
        assert gone.value.response["Error"]["Code"] in ("404", "NoSuchKey")
    store.delete(user_id)  # compensation may run twice: deleting a missing code is not an error


def test_qr_code_store_throttling_is_transient(in_process_aws):  # noqa: F811
    store = QrCodeStore("bucket", link_expiry_seconds=60)
    stubber = Stubber(authflow.aws.client("s3"))
    stubber.add_client_error("put_object", "SlowDown", "Please reduce your request rate.", 503)
    stubber.add_client_error("delete_object", "AccessDenied", "Access Denied", 403)
    with stubber:
        with pytest.raises(errors.TransientError):
            store.put("u", b"png")
        with pytest.raises(ClientError):
            store.delete("u")


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_qr_links_are_signed_with_sigv4_on_the_buckets_regional_host(monkeypatch, region):
    """botocore presigns S3 links with SigV2 unless told otherwise; S3 refuses SigV2 in the newer
    regions and a link on the global host breaks when S3 redirects it (issue 12, item 8)."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for name, value in {"AWS_DEFAULT_REGION": region, "AWS_ACCESS_KEY_ID": "unit", "AWS_SECRET_ACCESS_KEY": "unit"}.items():
        monkeypatch.setenv(name, value)
    store = QrCodeStore("authflow-dev-qrcodebucket-1a2b3c", link_expiry_seconds=900)

    link = urllib.parse.urlparse(store.link("3f8199b4-0000-4000-8000-000000000000"))
    query = urllib.parse.parse_qs(link.query)

    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Credential"][0].split("/")[2:4] == [region, "s3"]
    assert query["X-Amz-Expires"] == ["900"] and "Signature" not in query and "AWSAccessKeyId" not in query
    regional_host = "s3.amazonaws.com" if region == "us-east-1" else f"s3.{region}.amazonaws.com"
    assert link.netloc == f"authflow-dev-qrcodebucket-1a2b3c.{regional_host}"
