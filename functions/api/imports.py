"""The user import routes of the v1 API (a Powertools Router that app.py includes with its use case):
admins only, since an import onboards many people at once."""

import hashlib
from http import HTTPStatus
from typing import Annotated
from uuid import UUID

from access import BEARER, required_bearer_token
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel

from authflow.admins import Callers
from authflow.http import responses
from authflow.idempotency import Idempotency
from authflow.imports import MEDIA_TYPES, UserImports
from authflow.models import CreateUserImportResponse, UserImportStatusResponse
from authflow.observability import metrics

S = HTTPStatus
ADMIN_ONLY = (S.UNAUTHORIZED, S.FORBIDDEN)
IMPORT_ROUTE = "/user-imports"


class ImportFile(BaseModel):
    """What an Idempotency-Key is checked against: the same key with another file is refused."""

    media_type: str
    sha256: str


def imports_router(imports: UserImports, idempotency: Idempotency, callers: Callers) -> Router:
    router = Router()

    def require_admin() -> None:
        """401 without a token Cognito accepts, 403 for a token of anyone outside the admin group."""
        callers.require_admin(required_bearer_token(router.current_event))

    @router.post(
        IMPORT_ROUTE,
        responses=responses(CreateUserImportResponse, *ADMIN_ONLY, S.CONFLICT, status=S.ACCEPTED),
        tags=["Onboarding"],
        security=BEARER,
    )
    def create_user_import() -> tuple[CreateUserImportResponse, int]:
        """Onboards up to 10 000 users from a CSV file (text/csv; header full_name,email,mobile_phone_number)
        or JSON lines (application/x-ndjson; one POST /v1/users body a line), 6 MB at most (admin token).

        Each row is checked as POST /v1/users checks its body; invalid rows are listed by
        GET /v1/user-imports/{import_id}, the others queued and onboarded at the operator's rate.
        With an Idempotency-Key header, the same file again gets the first answer (for a day)."""
        require_admin()
        event = router.current_event
        body = event.decoded_body or ""
        media_type = event.get_header_value("content-type", default_value="", case_sensitive=False).split(";")[0].strip().lower()
        key = event.get_header_value("idempotency-key", case_sensitive=False)
        request_id = event.raw_event["requestContext"]["requestId"]
        submitted = ImportFile(media_type=media_type, sha256=hashlib.sha256(body.encode()).hexdigest())
        answer = idempotency.run(
            "create-user-import",
            key,
            submitted,
            lambda: imports.submit(body, media_type, request_id),
            CreateUserImportResponse,
        )
        not_queued = answer.rows - answer.queued - answer.invalid
        if not_queued:
            metrics.add_metric(name="ImportRowsFailed", unit=MetricUnit.Count, value=not_queued)
        return answer, 202

    @router.get(
        f"{IMPORT_ROUTE}/<import_id>",
        responses=responses(UserImportStatusResponse, S.BAD_REQUEST, *ADMIN_ONLY, S.NOT_FOUND, body=False),
        tags=["Onboarding"],
        security=BEARER,
    )
    def user_import_status(
        import_id: Annotated[UUID, Path(description="The id POST /v1/user-imports answered.")],
    ) -> UserImportStatusResponse:
        """An import's counts (queued, created, duplicate, invalid, failed) and each invalid or failed row
        with its reason code; COMPLETED once every row is accounted for (admin token)."""
        require_admin()
        return imports.status_of(str(import_id))

    return router


def document_import_body(document: dict) -> dict:
    """The OpenAPI request body of POST /v1/user-imports, a file the route reads itself (no JSON model)."""
    file = {"schema": {"type": "string"}}
    operation = document["paths"][IMPORT_ROUTE]["post"]
    operation["requestBody"] = {"required": True, "content": {media_type: file for media_type in MEDIA_TYPES}}
    return document
