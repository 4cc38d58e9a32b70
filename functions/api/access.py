"""Who may call what (SPEC section 2): the credentials a request carries besides the API key.

The API key only identifies the calling app, which may be a browser: routes that manage other people's
data need an admin's access token (checked live by authflow.admins), and an onboarding's creator shows
the status token POST /v1/users answered.
"""

from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent
from pydantic import SecretStr

from authflow import errors

# OpenAPI security requirements: the API key and an access token (an admin's where the route says so).
BEARER: list[dict[str, list[str]]] = [{"apiKey": [], "bearerAuth": []}]
# GET /v1/users/{id}/onboarding: the status token of the user's creator, or an admin's access token.
STATUS_TOKEN_OR_BEARER: list[dict[str, list[str]]] = [{"apiKey": [], "statusToken": []}, *BEARER]


def bearer_token(event: BaseProxyEvent) -> SecretStr | None:
    """The Authorization: Bearer token, None without an Authorization header; InvalidToken if malformed."""
    header = event.get_header_value("authorization", default_value="", case_sensitive=False)
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.InvalidToken("Send the access token as Authorization: Bearer <token>.")
    return SecretStr(token.strip())


def required_bearer_token(event: BaseProxyEvent) -> SecretStr:
    token = bearer_token(event)
    if token is None:
        raise errors.InvalidToken("Send the access token as Authorization: Bearer <token>.")
    return token


def status_token(event: BaseProxyEvent) -> SecretStr | None:
    value = event.get_header_value("x-status-token", default_value="", case_sensitive=False)
    return SecretStr(value) if value else None
