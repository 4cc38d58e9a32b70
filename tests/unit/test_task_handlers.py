"""The workflow task, trigger and webhook delivery functions' handlers called in-process with the
payloads their state machines, Cognito and SQS send, on the template's resources in moto."""

import json
import uuid

import boto3

from authflow.models import ForgotPasswordRequest
from authflow.status import StatusRecords
from tests.support.in_process import sqs_record
from tests.unit.conftest import new_email


def invoke(unit_stack, logical_id: str, event: dict):
    return unit_stack.load(logical_id).handler(event, unit_stack.context(logical_id))


def test_an_onboarding_task_does_its_step_and_records_it_under_its_state_name(unit_stack, settings):
    user_id, email = str(uuid.uuid4()), new_email("task")
    arn = f"{settings.onboarding_state_machine_arn.replace(':stateMachine:', ':execution:')}:{user_id}"
    StatusRecords(settings.status_table_name).create(user_id, email, arn)
    onboarding = {
        "user_id": user_id,
        "email": email,
        "full_name": "Ada Lovelace",
        "request_id": "r",
        "timeouts": {"confirmation_seconds": 60, "confirmation_limit_seconds": 180, "mfa_seconds": 60},
    }

    result = invoke(
        unit_stack,
        "OnboardingTaskFunction",
        {"task": "create_cognito_user", "state": "RenamedState", "onboarding": onboarding, "execution_arn": arn},
    )

    assert result == {"task": "create_cognito_user", "user_id": user_id}
    user = boto3.client("cognito-idp").admin_get_user(UserPoolId=settings.user_pool_id, Username=user_id)
    assert {a["Name"]: a["Value"] for a in user["UserAttributes"]}["email"] == email
    record = StatusRecords(settings.status_table_name).get(user_id)
    assert record is not None and [s.name for s in record.steps] == ["RenamedState"]


def test_a_password_reset_task_records_the_expiry(unit_stack, settings):
    user_id = str(uuid.uuid4())
    reset = {"user_id": user_id, "request_id": "r", "code_validity_seconds": 60}
    event = {"task": "expire_password_reset", "state": "ExpirePasswordReset", "reset": reset, "execution_arn": "arn"}
    assert invoke(unit_stack, "PasswordResetTaskFunction", event) == {"task": "expire_password_reset", "user_id": user_id}


def test_the_custom_message_trigger_writes_the_invitation(unit_stack):
    event = {
        "version": "1",
        "triggerSource": "CustomMessage_AdminCreateUser",
        "region": "eu-west-3",
        "userPoolId": "pool",
        "userName": "u-1",
        "callerContext": {"awsSdkVersion": "1", "clientId": "CLIENT_ID_NOT_APPLICABLE"},
        "request": {"userAttributes": {"given_name": "<Ada>"}, "codeParameter": "{####}", "usernameParameter": "{username}"},
        "response": {"smsMessage": None, "emailMessage": None, "emailSubject": None},
    }
    response = invoke(unit_stack, "CognitoTriggerFunction", event)["response"]
    assert "{####}" in response["emailMessage"] and "Hello there," in response["emailMessage"]
    assert "Ada" not in response["emailMessage"], "a name with markup is left out of the greeting"
    assert response["emailSubject"] == "Your authflow account"


def test_the_delivery_function_parks_a_message_that_is_not_an_authflow_event(unit_stack):
    sqs = boto3.client("sqs")
    queue, dead = unit_stack.ref("WebhookQueue"), unit_stack.ref("WebhookDeadLetterQueue")
    sqs.send_message(QueueUrl=queue, MessageBody="not json")
    (message,) = sqs.receive_message(QueueUrl=queue, AttributeNames=["All"])["Messages"]
    record = sqs_record(message)

    assert invoke(unit_stack, "WebhookDeliveryFunction", {"Records": [record]}) == {"batchItemFailures": []}
    parked = sqs.receive_message(QueueUrl=dead, MessageAttributeNames=["All"])["Messages"]
    assert [json.dumps(m["Body"]) for m in parked] == [json.dumps("not json")]
    assert parked[0]["MessageAttributes"]["failure_reason"]["StringValue"] == "not an authflow event"


def test_the_mail_request_function_starts_an_active_users_reset_only_and_returns_a_request_it_cannot_read(
    unit_stack, driver, passwords, mail_requests, mail_request_settings
):
    email = new_email("queued-reset")
    user_id = driver.onboard(email)
    passwords.forgot(ForgotPasswordRequest(email=email), "req-queued")
    passwords.forgot(ForgotPasswordRequest(email=new_email("nobody")), "req-queued")
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=mail_requests.queue_url, MessageBody="not a mail request")
    messages = sqs.receive_message(QueueUrl=mail_requests.queue_url, AttributeNames=["All"], MaxNumberOfMessages=10)["Messages"]
    unreadable = next(m["MessageId"] for m in messages if m["Body"] == "not a mail request")

    answer = invoke(unit_stack, "MailRequestFunction", {"Records": [sqs_record(m) for m in messages]})

    assert answer == {"batchItemFailures": [{"itemIdentifier": unreadable}]}, "it comes back, then goes to the dead-letter queue"
    machine = mail_request_settings.password_reset_state_machine_arn
    started = [e["name"] for e in boto3.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"]]
    assert len([name for name in started if name.startswith(f"reset-{user_id}-")]) == 1
