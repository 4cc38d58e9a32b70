"""The event catalogue in events/, generated from the pydantic models in authflow.events.

`python -m infra.catalogue` writes, for every detail-type in EVENT_TYPES:
- events/<DetailType>.schema.json: a JSON Schema (2020-12) of the whole EventBridge event, whose
  `detail` is the model's own JSON Schema (serialization mode: what model_dump_json puts on the bus);
- events/samples/<DetailType>.json: a sample event, valid against both the schema and the model;
- events/README.md: the catalogue table (type, when it is emitted, fields) and the flow table
  (which events each flow emits, in order).

The files are committed; tests/unit/test_events_catalogue.py regenerates them in memory and fails on
any difference, so the schemas and the models cannot drift. A model may declare
`schema_version: ClassVar[int]` (default 1): bump it when a change would break a consumer (a field
removed, renamed or retyped).
"""

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from authflow.events import EVENT_TYPES, SOURCE, EventDetail, SystemEventDetail, UserEventDetail

ROOT = Path(__file__).resolve().parent.parent
EVENTS_DIR = ROOT / "events"
SAMPLES_DIR = EVENTS_DIR / "samples"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
COMMON_FIELDS = tuple(UserEventDetail.model_fields)  # a system fact has them all but user_id

# Which events each flow emits, in order; the README shows this table and the end-to-end tests
# check the flows they run against it. One event per fact (SPEC section 4), from the component that
# knows it first: CustomMessagePrepared from Cognito's custom message trigger while a mail is sent,
# LoginSucceeded from its post authentication trigger, TokenRefreshed from its pre token generation
# trigger (which records nothing at sign-in: the sign-in's tokens are part of LoginSucceeded's fact).
FLOWS: dict[str, dict[str, Any]] = {
    "Onboarding": {
        "when": "POST /v1/users, then confirm and confirm-mfa by the user",
        "events": ["UserCreated", "CustomMessagePrepared", "InvitationSent", "UserConfirmed", "MfaEnrolled", "OnboardingCompleted"],
    },
    "Invitation resent": {
        "when": "POST /v1/resend-confirmation-code for a user who has not confirmed yet",
        "events": ["CustomMessagePrepared", "InvitationSent"],
    },
    "Onboarding expired": {
        "when": "the user did not confirm within the temporary password's validity (or MFA within the session's)",
        "events": ["UserCreated", "CustomMessagePrepared", "InvitationSent", "OnboardingExpired"],
    },
    "Onboarding failed": {
        "when": "a step failed after its retries; compensation removed what onboarding had made",
        "events": ["OnboardingFailed"],
    },
    "Login": {
        "when": "POST /v1/login, then POST /v1/mfa-verify with the right code",
        "events": ["LoginSucceeded"],
    },
    "Login refused": {
        "when": "POST /v1/login with a wrong password (or an unknown email, under a pseudo-id)",
        "events": ["LoginFailed"],
    },
    "Login locked": {
        "when": "POST /v1/mfa-verify with the fifth wrong code within FailedAttemptWindowSeconds (also wrong passwords and reset codes)",
        "events": ["AccountLocked", "LoginFailed"],
    },
    "Token refresh": {
        "when": "POST /v1/refresh-token",
        "events": ["TokenRefreshed"],
    },
    "Logout": {"when": "POST /v1/logout", "events": ["LoggedOut"]},
    "Password change": {"when": "POST /v1/change-password", "events": ["PasswordChanged"]},
    "Password reset": {
        "when": "POST /v1/forgot-password, then POST /v1/users/{user_id}/confirm-password with the mailed code",
        "events": ["CustomMessagePrepared", "PasswordResetRequested", "PasswordResetCompleted"],
    },
    "Password reset expired": {
        "when": "no new password was set while the mailed code was valid",
        "events": ["CustomMessagePrepared", "PasswordResetRequested", "PasswordResetExpired"],
    },
    "Password reset forced": {
        "when": "POST /v1/users/{user_id}/reset-password with force and an admin's token",
        "events": ["CustomMessagePrepared", "PasswordResetForced"],
    },
    "New authenticator added": {
        "when": "POST /v1/resend-mfa with the password and a current code (a sign-in), then POST /v1/users/{user_id}/confirm-mfa",
        "events": ["LoginSucceeded", "MfaEnrolmentStarted", "MfaReplaced"],
    },
    "Lost authenticator replaced": {
        "when": "POST /v1/resend-mfa with the password and a recovery code, then POST /v1/users/{user_id}/confirm-mfa",
        "events": ["MfaEnrolmentStarted", "MfaReplaced"],
    },
    "MFA reset by an operator": {
        "when": "POST /v1/users/{user_id}/mfa-reset (admin), then the user's next POST /v1/login and POST /v1/users/{user_id}/confirm-mfa",
        "events": ["MfaResetByOperator", "MfaEnrolmentStarted", "MfaReplaced"],
    },
    "Signed out by an operator": {"when": "POST /v1/users/{user_id}/sign-out (admin)", "events": ["SignedOutByOperator"]},
    "Recovery codes regenerated": {
        "when": "POST /v1/recovery-codes with the password and a current code (a sign-in)",
        "events": ["LoginSucceeded", "RecoveryCodesRegenerated"],
    },
    "User deleted": {"when": "DELETE /v1/users/{user_id}", "events": ["UserDeleted"]},
    "Webhook endpoint disabled": {
        "when": "a delivery answered 410 Gone, or an endpoint failed every delivery for WEBHOOK_DISABLE_AFTER_DAYS",
        "events": ["WebhookEndpointDisabled"],
    },
    "User import": {
        "when": "POST /v1/user-imports (admin); each created row then goes through Onboarding",
        "events": ["ImportCompleted"],
    },
}

# Values for the samples, by field name; a model field's own `examples` win over these.
_SAMPLE_VALUES: dict[str, Any] = {
    "event_id": "3f1c9a52-8d0e-4c57-9a1b-6c2e4f0d7b11",
    "occurred_at": datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC),
    "user_id": "0b8f2c4e-6a1d-4e3b-9c5f-7d2a1e8b4c60",
    "request_id": "c2d3e4f5-a6b7-4c8d-9e0f-1a2b3c4d5e6f",
    "execution_arn": ("arn:aws:states:eu-west-1:123456789012:execution:authflow-dev-onboarding:0b8f2c4e-6a1d-4e3b-9c5f-7d2a1e8b4c60"),
    "resend": False,
    "waiting_for": "CONFIRMATION",
    "error": "States.TaskFailed",
    "step": "PASSWORD",
    "reason": "INVALID_CREDENTIALS",
    "trigger_source": "CustomMessage_AdminCreateUser",
    "webhook_id": "7d41c0e2-5b9a-4f36-8e1d-2a6c9b0f3e58",
    "import_id": "6d1e0c9b-3a4f-4b2e-8c7d-5f9a0b1c2d3e",
}
_SAMPLE_BY_TYPE = {"string": "example", "boolean": False, "integer": 0, "number": 0, "array": [], "object": {}}


def version_of(model: type[EventDetail]) -> int:
    return int(getattr(model, "schema_version", 1))


def schema_id(model: type[EventDetail]) -> str:
    return f"urn:authflow:event:{model.__name__}:v{version_of(model)}"


def detail_schema(model: type[EventDetail]) -> dict:
    """The model's JSON Schema as it is serialized: every field is always present in a detail."""
    schema = model.model_json_schema(mode="serialization")
    for field in schema.get("properties", {}).values():
        field.pop("default", None)
    schema["required"] = list(schema.get("properties", {}))
    return schema


def event_schema(model: type[EventDetail]) -> dict:
    """The whole EventBridge event of this detail-type, with the model's schema as its detail."""
    detail = detail_schema(model)
    definitions = detail.pop("$defs", {})
    name = model.__name__
    schema = {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": schema_id(model),
        "title": name,
        "description": (model.__doc__ or "").strip(),
        "version": str(version_of(model)),
        "type": "object",
        "required": ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"],
        "properties": {
            "version": {"type": "string"},
            "id": {"type": "string"},
            "detail-type": {"const": name},
            "source": {"const": SOURCE},
            "account": {"type": "string"},
            "time": {"type": "string", "format": "date-time"},
            "region": {"type": "string"},
            "resources": {"type": "array", "items": {"type": "string"}},
            "detail": detail,
        },
    }
    if definitions:
        schema["$defs"] = definitions
    return schema


def _sample_value(model: type[EventDetail], name: str, field_schema: dict) -> Any:
    if kind_of(model) == "system" and name in ("request_id", "execution_arn"):
        return None  # the delivery function's facts come from no request or execution
    examples = model.model_fields[name].examples
    if examples:
        return examples[0]
    if name in _SAMPLE_VALUES:
        return _SAMPLE_VALUES[name]
    kinds = [field_schema.get("type")] + [option.get("type") for option in field_schema.get("anyOf", [])]
    return next((_SAMPLE_BY_TYPE[k] for k in kinds if k in _SAMPLE_BY_TYPE), None)


def sample_event(model: type[EventDetail]) -> dict:
    properties = detail_schema(model)["properties"]
    detail = model.model_validate({name: _sample_value(model, name, s) for name, s in properties.items()})
    return {
        "version": "0",
        "id": "5e2b1f4a-0c3d-4e7f-8a9b-1c2d3e4f5a6b",
        "detail-type": model.__name__,
        "source": SOURCE,
        "account": "123456789012",
        "time": "2025-01-01T12:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": json.loads(detail.model_dump_json()),
    }


def _type_text(field_schema: dict) -> str:
    if "anyOf" in field_schema:
        return " or ".join(_type_text(option) for option in field_schema["anyOf"])
    if "enum" in field_schema:
        return " \\| ".join(f"`{v}`" for v in field_schema["enum"])
    text = field_schema.get("type", "object")
    return f"{text} ({field_schema['format']})" if "format" in field_schema else text


def kind_of(model: type[EventDetail]) -> str:
    """Whom the fact is about: a user (named by user_id) or the system (a webhook endpoint, an import)."""
    if issubclass(model, UserEventDetail):
        return "user"
    if issubclass(model, SystemEventDetail):
        return "system"
    raise TypeError(f"{model.__name__} derives from neither UserEventDetail nor SystemEventDetail")


def readme() -> str:
    common = detail_schema(UserEventDetail)["properties"]
    flows_by_event: dict[str, list[str]] = {}
    for flow, spec in FLOWS.items():
        for name in dict.fromkeys(spec["events"]):
            flows_by_event.setdefault(name, []).append(flow)
    rows = []
    for model in EVENT_TYPES:
        own = {k: v for k, v in detail_schema(model)["properties"].items() if k not in COMMON_FIELDS}
        fields = ", ".join(f"`{k}`: {_type_text(v)}" for k, v in own.items()) or "—"
        flows = ", ".join(flows_by_event.get(model.__name__, [])) or "—"
        when = (model.__doc__ or "").strip().replace("|", "\\|")
        rows.append(
            f"| [{model.__name__}]({model.__name__}.schema.json) | v{version_of(model)} | {kind_of(model)} | {when} | {flows} | {fields} |"
        )
    flow_rows = [f"| {flow} | {spec['when']} | {' → '.join(spec['events'])} |" for flow, spec in FLOWS.items()]
    common_rows = [f"| `{k}` | {_type_text(v)} |" for k, v in common.items()]
    return "\n".join(
        [
            "# Event catalogue",
            "",
            "<!-- Generated by `python -m infra.catalogue` from functions/shared/authflow/events.py; do not edit. -->",
            "",
            f"Every lifecycle fact is an EventBridge event with source `{SOURCE}` on the bus `authflow-<env>`,",
            "which archives every event and routes them all to the audit log group `/aws/events/authflow-<env>`",
            "(retention: the template's `AuditLogRetentionDays`); the webhook delivery queue gets only the types",
            "some webhook subscription names.",
            "Each detail-type has a JSON Schema here (the whole event; `detail` is generated from the pydantic",
            "model) and a sample event in `samples/`. A detail never carries a secret: no password, code,",
            "token, session or TOTP secret.",
            "",
            "Every detail has these fields except `user_id`, which only the facts about a user carry (kind",
            "`user`); a fact about the system itself (kind `system`: a webhook endpoint, say) concerns no",
            "single user and names what it is about in fields of its own:",
            "",
            "| field | type |",
            "|---|---|",
            *common_rows,
            "",
            "`request_id` is the API request the fact comes from, and `execution_arn` the Step Functions",
            "execution it belongs to, where one exists (null otherwise).",
            "",
            "## Event types",
            "",
            "| type | version | kind | emitted when | flows | fields besides the common ones |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
            "## Flows",
            "",
            "What each flow emits, in this order (tests/e2e/test_events.py checks the flows it runs).",
            "",
            "| flow | started by | events, in order |",
            "|---|---|---|",
            *flow_rows,
            "",
            "## Webhooks",
            "",
            "`POST /v1/webhooks` with `url` and `events` (detail-types) subscribes a URL; each matching event",
            'is POSTed to it as `{"type": <detail-type>, "timestamp": <occurred_at>, "data": <detail>}`,',
            "signed per the Standard Webhooks specification with the secret returned once at subscription:",
            "`webhook-id` is the detail's `event_id` (the same on every retry: de-duplicate on it),",
            "`webhook-timestamp` the attempt's time, `webhook-signature` `v1,<base64 HMAC-SHA256>`.",
            "Failed deliveries are retried with exponential backoff and finally parked in the dead-letter",
            "queue with the reason. Deliveries are not ordered: order by `timestamp` where it matters.",
            "",
            "## Versions",
            "",
            "A schema's `version` (and its `$id`) changes when a change to the model would break a consumer:",
            "a field removed, renamed or retyped. Declare it on the model as `schema_version: ClassVar[int]`,",
            "then run `python -m infra.catalogue`.",
            "",
        ]
    )


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def render() -> dict[Path, str]:
    """Every catalogue file, by path, as the generator writes it."""
    files = {EVENTS_DIR / "README.md": readme()}
    for model in EVENT_TYPES:
        files[EVENTS_DIR / f"{model.__name__}.schema.json"] = _dump(event_schema(model))
        files[SAMPLES_DIR / f"{model.__name__}.json"] = _dump(sample_event(model))
    return files


def catalogue_files() -> set[Path]:
    """The generated files now in events/."""
    return {EVENTS_DIR / "README.md", *EVENTS_DIR.glob("*.schema.json"), *SAMPLES_DIR.glob("*.json")}


def write() -> list[Path]:
    files = render()
    SAMPLES_DIR.mkdir(parents=True, exist_ok=True)
    for stale in catalogue_files() - set(files):
        stale.unlink()
    changed = []
    for path, text in files.items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            changed.append(path)
    return changed


def main() -> None:
    parser = argparse.ArgumentParser(description="Generate events/ from authflow.events.")
    parser.add_argument("--check", action="store_true", help="exit 1 if events/ is not up to date, write nothing")
    args = parser.parse_args()
    if args.check:
        files = render()
        stale = sorted(str(p.relative_to(ROOT)) for p, t in files.items() if not p.exists() or p.read_text() != t)
        stale += sorted(str(p.relative_to(ROOT)) for p in catalogue_files() - set(files))
        if stale:
            print("events/ is out of date (run python -m infra.catalogue):\n  " + "\n  ".join(stale))
            sys.exit(1)
        return
    for path in write():
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
