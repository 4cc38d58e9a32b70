"""The event catalogue in events/ against the pydantic models it is generated from.

- events/ is exactly what `python -m infra.catalogue` generates from authflow.events now (the
  schemas and the models cannot drift: change a model, regenerate, commit both);
- every schema is a valid JSON Schema 2020-12 document with an $id, title and version, and every
  detail carries the common fields and nothing named like a secret;
- every sample validates against its schema and against its model;
- the schemas refuse what a consumer must never get (a missing field, an unknown one, a wrong type);
- the events a state machine publishes itself (PutEvents in workflows/*.asl.json) are the models':
  same detail-type, source and fields, and their constant values pass the model's validation.
"""

import json

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from pydantic import ValidationError

from authflow.events import EVENT_TYPES, SOURCE, EventDetail, UserCreated, WebhookEndpointDisabled
from infra import catalogue
from tests.support import asl

NAMES = [model.__name__ for model in EVENT_TYPES]
SECRET_WORDS = ("password", "secret", "token", "otp", "code", "session")
# Events name users by user_id only (SPEC section 2): no field that would carry personal data.
PERSONAL_WORDS = ("email", "mail", "name", "phone", "address", "birth")


def _schema(name: str) -> dict:
    return json.loads((catalogue.EVENTS_DIR / f"{name}.schema.json").read_text())


def _sample(name: str) -> dict:
    return json.loads((catalogue.SAMPLES_DIR / f"{name}.json").read_text())


def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(_schema(name), format_checker=FormatChecker())


def test_the_catalogue_is_what_the_models_generate() -> None:
    expected = catalogue.render()
    stale = sorted(str(p.relative_to(catalogue.ROOT)) for p, text in expected.items() if not p.exists() or p.read_text() != text)
    extra = sorted(str(p.relative_to(catalogue.ROOT)) for p in catalogue.catalogue_files() - set(expected))
    assert not stale and not extra, (
        "events/ and authflow/events.py disagree; run `python -m infra.catalogue` and commit events/.\n"
        f"  out of date or missing: {stale}\n  without a model: {extra}"
    )


@pytest.mark.parametrize("name", NAMES)
def test_each_schema_is_valid_and_identified(name: str) -> None:
    schema = _schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"urn:authflow:event:{name}:v{schema['version']}"
    assert schema["title"] == name and schema["description"]
    assert schema["properties"]["source"] == {"const": SOURCE}
    assert schema["properties"]["detail-type"] == {"const": name}


@pytest.mark.parametrize("name", NAMES)
def test_each_detail_has_the_common_fields_and_no_secret(name: str) -> None:
    detail = _schema(name)["properties"]["detail"]
    assert {"event_id", "occurred_at", "request_id", "execution_arn"} <= set(detail["required"])
    model = next(m for m in EVENT_TYPES if m.__name__ == name)
    if catalogue.kind_of(model) == "user":
        assert "user_id" in detail["required"]
    else:
        assert "user_id" not in detail["properties"], "a system fact concerns no single user"
    assert detail["additionalProperties"] is False
    secretive = [field for field in detail["properties"] if any(word in field.lower() for word in SECRET_WORDS)]
    assert not secretive, f"{name} has fields named like secrets: {secretive}"
    personal = [field for field in detail["properties"] if any(word in field.lower() for word in PERSONAL_WORDS)]
    assert not personal, f"{name} has fields named like personal data: {personal}"


@pytest.mark.parametrize("name", NAMES)
def test_each_sample_is_valid_against_its_schema_and_its_model(name: str) -> None:
    sample = _sample(name)
    _validator(name).validate(sample)
    model = next(m for m in EVENT_TYPES if m.__name__ == name)
    assert json.loads(model.model_validate(sample["detail"]).model_dump_json()) == sample["detail"]


def test_a_schema_refuses_what_a_consumer_must_not_get() -> None:
    validator = _validator("InvitationSent")
    sample = _sample("InvitationSent")
    broken = {
        "a missing field": {k: v for k, v in sample["detail"].items() if k != "resend"},
        "personal data": {**sample["detail"], "email": "ada@example.com"},
        "an unknown field": {**sample["detail"], "temporary_password": "Hunter2-Hunter2"},
        "a retyped field": {**sample["detail"], "resend": "yes"},
        "a bad timestamp": {**sample["detail"], "occurred_at": "yesterday"},
    }
    for what, detail in broken.items():
        assert not validator.is_valid({**sample, "detail": detail}), f"the schema accepts {what}"
    assert not validator.is_valid({**sample, "detail-type": "UserCreated"})
    assert not validator.is_valid({**sample, "source": "someone-else"})


def test_an_event_type_is_a_fact_about_a_user_or_about_the_system() -> None:
    class Unclassified(EventDetail):
        """Derives from the common base only."""

    with pytest.raises(TypeError):
        catalogue.kind_of(Unclassified)
    assert catalogue.kind_of(WebhookEndpointDisabled) == "system" and catalogue.kind_of(UserCreated) == "user"
    system = catalogue.sample_event(WebhookEndpointDisabled)["detail"]
    assert "user_id" not in system and system["request_id"] is None and system["execution_arn"] is None
    with pytest.raises(ValidationError):
        WebhookEndpointDisabled.model_validate({**system, "user_id": "u-1"})
    with pytest.raises(ValidationError):
        UserCreated.model_validate({k: v for k, v in catalogue.sample_event(UserCreated)["detail"].items() if k != "user_id"})


def test_the_flows_name_only_catalogued_events() -> None:
    for flow, spec in catalogue.FLOWS.items():
        unknown = set(spec["events"]) - set(NAMES)
        assert not unknown, f"flow {flow} names events without a model: {unknown}"


def test_the_readme_lists_every_event_type() -> None:
    readme = (catalogue.EVENTS_DIR / "README.md").read_text()
    for name in NAMES:
        assert f"[{name}]({name}.schema.json)" in readme


ASL_EVENTS = [
    (machine, state, entry) for machine, definition in asl.definitions().items() for state, entry in asl.event_entries(definition)
]


def test_no_state_machine_publishes_an_event_of_its_own() -> None:
    """Every event goes through EventPublisher, whose model validates its detail: the API publishes
    LoginFailed after it counted the refusal (the refusal that locks is TOO_MANY_ATTEMPTS), and Cognito's
    post authentication trigger records a sign-in (one event per fact)."""
    assert ASL_EVENTS == []
