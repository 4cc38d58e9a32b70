"""The status table's stores (authflow.status) against moto's in-process DynamoDB: email claims, status records, and the signal race
between the API (the user's action) and the waiting onboarding execution (its task token)."""

import time
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from pydantic import SecretStr

import authflow.aws
from authflow import errors
from authflow.models import OnboardingStatus, StepStatus, UserAction
from authflow.status import SignOuts, StatusRecords
from tests.support.workflow import TableStores, create_status_table, in_process_aws  # noqa: F401 (fixture)

TTL = timedelta(days=1)
ARN = "arn:aws:states:eu-west-3:123456789012:execution:authflow-dev-onboarding:{}"


@pytest.fixture
def store(in_process_aws) -> StatusRecords:  # noqa: F811
    name = f"unit-status-{uuid.uuid4().hex[:8]}"
    create_status_table(name)
    return StatusRecords(name)


@pytest.fixture
def stores(store) -> TableStores:
    return TableStores.on(store.table_name)


def new_user(store: StatusRecords, email: str | None = None) -> tuple[str, str]:
    user_id = str(uuid.uuid4())
    email = email or f"u-{user_id[:8]}@example.com"
    store.create(user_id, email, ARN.format(user_id))
    return user_id, email


def raw_item(store: StatusRecords, pk: str, sk: str) -> dict | None:
    return store.client.get_item(TableName=store.table_name, Key={"pk": pk, "sk": sk}, ConsistentRead=True).get("Item")


# ----------------------------------------------------------------------------- create / claims


def test_create_writes_a_created_record_and_claims_the_email(store, stores):
    user_id, email = new_user(store)

    record = store.get(user_id)
    assert record.status == OnboardingStatus.CREATED
    assert record.email == email and record.steps == []
    assert record.execution_arn == ARN.format(user_id)
    assert stores.claims.user_id_for(email) == user_id


def test_a_second_create_with_the_same_email_is_refused_and_leaves_no_record(store, stores):
    first, email = new_user(store)
    second = str(uuid.uuid4())

    with pytest.raises(errors.EmailAlreadyExists) as refused:
        store.create(second, email, ARN.format(second))

    assert refused.value.status == 409 and refused.value.code == "EMAIL_ALREADY_EXISTS"
    assert store.get(second) is None, "the refused create must not leave a status record behind"
    assert stores.claims.user_id_for(email) == first, "the claim still belongs to the first user"


def test_creating_the_same_user_with_the_same_email_again_returns_its_record(store, stores):
    """A retried create (same user_id, same email: an idempotent POST /v1/users) is not a conflict."""
    user_id, email = new_user(store)
    store.record_step(user_id, "CreateCognitoUser", StepStatus.SUCCEEDED)

    again = store.create(user_id, email, ARN.format(user_id))

    assert again.user_id == uuid.UUID(user_id) and again.email == email
    assert [s.name for s in store.get(user_id).steps] == ["CreateCognitoUser"], "the existing record is kept"
    assert stores.claims.user_id_for(email) == user_id


def test_unknown_user_and_unknown_email_read_as_none(store, stores):
    assert store.get(str(uuid.uuid4())) is None
    assert stores.claims.user_id_for("nobody@example.com") is None


# ----------------------------------------------------------------------------- steps


def test_record_step_appends_steps_in_order_and_sets_the_status_only_when_given(store):
    user_id, _ = new_user(store)

    store.record_step(user_id, "CreateCognitoUser", StepStatus.SUCCEEDED)
    assert store.get(user_id).status == OnboardingStatus.CREATED, "a step without a status keeps the status"

    store.record_step(user_id, "SendInvitation", StepStatus.SUCCEEDED, OnboardingStatus.INVITED)
    store.record_step(user_id, "WaitForConfirmation", StepStatus.WAITING, OnboardingStatus.INVITED)

    record = store.get(user_id)
    assert record.status == OnboardingStatus.INVITED
    assert [(s.name, s.status) for s in record.steps] == [
        ("CreateCognitoUser", StepStatus.SUCCEEDED),
        ("SendInvitation", StepStatus.SUCCEEDED),
        ("WaitForConfirmation", StepStatus.WAITING),
    ]
    assert record.steps[0].at <= record.steps[1].at <= record.steps[2].at
    assert record.updated_at == record.steps[-1].at


def test_record_step_for_an_unknown_user_fails_and_creates_nothing(store):
    ghost = str(uuid.uuid4())
    with pytest.raises(ClientError) as failed:
        store.record_step(ghost, "CreateCognitoUser", StepStatus.SUCCEEDED, OnboardingStatus.INVITED)
    assert authflow.aws.error_code(failed.value) == "ConditionalCheckFailedException"
    assert store.get(ghost) is None


# ----------------------------------------------------------------------------- releasing the email


def test_release_email_frees_the_email_for_a_new_onboarding(store, stores):
    user_id, email = new_user(store)

    stores.claims.release(email, user_id)

    assert stores.claims.user_id_for(email) is None
    again = str(uuid.uuid4())
    store.create(again, email, ARN.format(again))
    assert stores.claims.user_id_for(email) == again


def test_release_email_by_another_user_leaves_the_claim_alone(store, stores):
    owner, email = new_user(store)

    stores.claims.release(email, str(uuid.uuid4()))  # a stale compensation of some other user: no error

    assert stores.claims.user_id_for(email) == owner
    stores.claims.release("never-claimed@example.com", owner)  # nothing to release: no error either


def test_delete_user_items_keeps_the_status_record_when_asked(store, stores):
    user_id, _ = new_user(store)
    stores.signals.arm(user_id, UserAction.CONFIRMATION, SecretStr("token-1"), TTL)
    stores.mfa_sessions.save(user_id, SecretStr("session-1"), TTL)

    store.delete_user_items(user_id, keep_status=True)

    assert store.get(user_id) is not None
    assert raw_item(store, f"USER#{user_id}", "SIGNAL#CONFIRMATION") is None
    assert stores.mfa_sessions.get(user_id) is None

    store.delete_user_items(user_id, keep_status=False)
    assert store.get(user_id) is None


# ----------------------------------------------------------------------------- signals


def test_signal_when_the_execution_waits_first_returns_its_token_to_the_api(store, stores):
    user_id, _ = new_user(store)

    already = stores.signals.arm(user_id, UserAction.CONFIRMATION, SecretStr("task-token-A"), TTL)
    assert already is False, "nothing arrived yet: the execution keeps waiting"
    assert stores.signals.received(user_id, UserAction.CONFIRMATION) is False

    token = stores.signals.receive(user_id, UserAction.CONFIRMATION, TTL)
    assert token is not None and token.get_secret_value() == "task-token-A"
    assert "task-token-A" not in repr(token)
    assert stores.signals.received(user_id, UserAction.CONFIRMATION) is True


def test_signal_when_the_user_acts_first_is_kept_for_the_execution(store, stores):
    user_id, _ = new_user(store)

    token = stores.signals.receive(user_id, UserAction.CONFIRMATION, TTL)
    assert token is None, "no execution waits yet: the API has nothing to resume"
    assert stores.signals.received(user_id, UserAction.CONFIRMATION) is True

    already = stores.signals.arm(user_id, UserAction.CONFIRMATION, SecretStr("task-token-B"), TTL)
    assert already is True, "the execution must see the earlier action and resume itself"


def test_signals_of_the_two_waits_are_independent(store, stores):
    user_id, _ = new_user(store)
    stores.signals.receive(user_id, UserAction.CONFIRMATION, TTL)

    assert stores.signals.received(user_id, UserAction.MFA_CONFIRMATION) is False
    assert stores.signals.arm(user_id, UserAction.MFA_CONFIRMATION, SecretStr("t"), TTL) is False


def test_signal_items_expire_through_the_tables_ttl_attribute(store, stores):
    user_id, _ = new_user(store)
    stores.signals.arm(user_id, UserAction.CONFIRMATION, SecretStr("t"), timedelta(hours=2))
    item = raw_item(store, f"USER#{user_id}", "SIGNAL#CONFIRMATION")
    assert item is not None
    # template.yaml's TimeToLiveSpecification names the attribute: the item must carry it in epoch seconds.
    from infra.template import load_template

    ttl = load_template()["Resources"]["StatusTable"]["Properties"]["TimeToLiveSpecification"]
    assert ttl == {"AttributeName": "expires_at", "Enabled": True}
    assert 2 * 3600 - 60 <= int(item["expires_at"]) - time.time() <= 2 * 3600 + 60


# ----------------------------------------------------------------------------- MFA session


def test_mfa_session_is_returned_while_valid_and_not_after(store, stores):
    user_id, _ = new_user(store)
    stores.mfa_sessions.save(user_id, SecretStr("cognito-session"), timedelta(minutes=15))
    pending = stores.mfa_sessions.get(user_id)
    assert pending.credential.get_secret_value() == "cognito-session" and not pending.by_access_token

    stores.mfa_sessions.save(user_id, SecretStr("old-session"), timedelta(seconds=-1))
    assert stores.mfa_sessions.get(user_id) is None, "an expired session (TTL deletion is lazy) must not be used"


# ----------------------------------------------------------------------------- sign-outs


def test_a_sign_out_ends_the_tokens_issued_before_it_and_only_those(store):
    """iat counts whole seconds: in the sign-out's own second only a sign-in noted as fresh passes."""
    now = [datetime(2026, 1, 1, 12, 0, 0, 400000, tzinfo=UTC)]
    sign_outs = SignOuts(store.table_name, lambda: now[0], timedelta(hours=1))
    user_id, _ = new_user(store)
    second = int(now[0].timestamp())
    assert not sign_outs.ended(user_id, "jti-any", second - 60), "no sign-out recorded: nothing ended"
    sign_outs.record(user_id)
    assert sign_outs.ended(user_id, "jti-before", second - 1)
    assert sign_outs.ended(user_id, "jti-same-second", second)
    assert not sign_outs.ended(user_id, "jti-after", second + 1)
    assert not sign_outs.ended(str(uuid.uuid4()), "jti-other-user", second - 1)

    read_before = raw_item(store, f"USER#{user_id}", "SIGNED_OUT")  # as the MFA step reads it, before Cognito's call
    sign_outs.note_sign_in(user_id, "jti-fresh", second, read_before)
    assert not sign_outs.ended(user_id, "jti-fresh", second) and sign_outs.ended(user_id, "jti-same-second", second)
    sign_outs.note_sign_in(user_id, "jti-much-later", second + 60, read_before)
    sign_outs.note_sign_in(user_id, "jti-never-signed-out", second, None)
    recorded = raw_item(store, f"USER#{user_id}", "SIGNED_OUT")
    assert recorded is not None and recorded["fresh_sign_ins"] == {"jti-fresh"}, "only sign-ins near the sign-out"

    now[0] += timedelta(seconds=5)
    sign_outs.record(user_id)
    assert sign_outs.ended(user_id, "jti-fresh", second), "a newer sign-out ends the fresh sign-in too"
    now[0] += timedelta(hours=1, seconds=1)
    assert not sign_outs.ended(user_id, "jti-before", second - 1), "kept no longer than an id token lives (TTL deletion is lazy)"


def test_items_read_together_come_back_in_the_keys_order_and_unprocessed_keys_are_asked_again(store, monkeypatch):
    """TokenVerifier reads a revoked sign-in and the user's sign-out in one BatchGetItem (issue 13 item 3)."""
    first, _ = new_user(store)
    second, _ = new_user(store)
    keys = [{"pk": f"USER#{second}", "sk": "STATUS"}, {"pk": "SIGN_IN#none", "sk": "REVOKED"}, {"pk": f"USER#{first}", "sk": "STATUS"}]
    found = store.get_many(keys)
    assert [item and item["pk"] for item in found] == [f"USER#{second}", None, f"USER#{first}"]

    batch_get_item, asked = store.client.batch_get_item, []

    def leaving_the_last_key_unprocessed(RequestItems):
        request = RequestItems[store.table_name]
        asked.append(len(request["Keys"]))
        answer = batch_get_item(RequestItems={store.table_name: {**request, "Keys": request["Keys"][:1]}})
        if len(request["Keys"]) > 1:
            answer["UnprocessedKeys"] = {store.table_name: {"Keys": request["Keys"][1:], "ConsistentRead": True}}
        return answer

    monkeypatch.setattr(store.client, "batch_get_item", leaving_the_last_key_unprocessed)
    assert [item and item["pk"] for item in store.get_many(keys)] == [f"USER#{second}", None, f"USER#{first}"]
    assert asked == [3, 2, 1]


# ----------------------------------------------------------------------------- transient errors


def test_throttling_of_the_table_surfaces_as_transient_error(in_process_aws):  # noqa: F811
    store = StatusRecords("any-table")
    user_id = str(uuid.uuid4())
    stubber = Stubber(store.client)
    stubber.add_client_error("get_item", "ProvisionedThroughputExceededException", "Rate exceeded", 400)
    stubber.add_client_error("transact_write_items", "ThrottlingException", "Rate exceeded", 400)
    stubber.add_client_error("get_item", "AccessDeniedException", "no", 400)
    with stubber:
        with pytest.raises(errors.TransientError):
            store.get(user_id)
        with pytest.raises(errors.TransientError):
            store.create(user_id, "a@example.com", ARN.format(user_id))
        with pytest.raises(ClientError):  # not transient: stays an error of ours, not retried as transient
            store.get(user_id)


def test_a_throttled_create_is_transient_not_a_taken_email(in_process_aws):  # noqa: F811
    """DynamoDB reports throttling inside a transaction as TransactionCanceledException with a
    ThrottlingError reason. The caller must get a retryable 503, not a 409 telling them the email is
    taken (the client would never retry, and the email is free)."""
    store = StatusRecords("any-table")
    user_id = str(uuid.uuid4())
    stubber = Stubber(store.client)
    stubber.add_client_error(
        "transact_write_items",
        "TransactionCanceledException",
        "Transaction cancelled, please refer cancellation reasons for specific reasons [ThrottlingError, None]",
        400,
        modeled_fields={"CancellationReasons": [{"Code": "ThrottlingError", "Message": "Rate exceeded"}, {"Code": "None"}]},
    )
    with stubber, pytest.raises(errors.TransientError):
        store.create(user_id, "free@example.com", ARN.format(user_id))


def test_the_in_process_mock_does_not_touch_the_default_region(in_process_aws):  # noqa: F811
    """Guard for the fixture: unit tests never work in the local stack's region."""
    assert boto3.session.Session().region_name == in_process_aws != "us-east-1"
