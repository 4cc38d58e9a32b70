"""Where the CLI reads from: the local stack over HTTP (its /_local views and the v1 API) or a
deployed stack in AWS (CloudFormation finds the resources, then Step Functions, DynamoDB and
CloudWatch Logs). Both answer in the shapes of the local JSON views."""

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

DEFAULT_PORT = "3000"
LOCAL_API_KEY = "local-api-key"  # the local stack's (infra/stack.py); AUTHFLOW_API_KEY overrides it


class SourceError(Exception):
    """Something the operator can act on: the message says what and how."""


class NoSuchUser(SourceError):
    """The target answered, and has no such user."""


def default_url() -> str:
    return os.environ.get("AUTHFLOW_URL") or f"http://127.0.0.1:{os.environ.get('AUTHFLOW_PORT', DEFAULT_PORT)}"


@dataclass
class LocalSource:
    url: str = field(default_factory=default_url)
    timeout: float = 15.0

    @property
    def label(self) -> str:
        return f"local stack {self.url}"

    def _get(self, path: str, params: dict | None = None, headers: dict | None = None):
        query = urllib.parse.urlencode({k: v for k, v in (params or {}).items() if v not in (None, "")})
        url = f"{self.url.rstrip('/')}{path}" + (f"?{query}" if query else "")
        request = urllib.request.Request(url, headers={"accept": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, json.loads(response.read() or b"null"), dict(response.headers)
        except urllib.error.HTTPError as error:
            try:
                body = json.loads(error.read() or b"null")
            except ValueError:
                body = None
            return error.code, body, dict(error.headers)
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            reason = getattr(error, "reason", error)
            raise SourceError(
                f"No local stack answers at {self.url} ({reason}). Start it with `make run`, "
                f"or point the CLI at it with --url / AUTHFLOW_URL, or at AWS with --stack-name."
            ) from None

    def _ok(self, answer, what: str):
        status, body, _ = answer
        if status != 200:
            message = (body or {}).get("error", {}).get("message", "") if isinstance(body, dict) else ""
            raise SourceError(f"{what}: the local stack answered {status} {message}".strip())
        return body

    def executions(self, state_machine: str | None = None, status: str | None = None, limit: int | None = None):
        answer = self._get("/_local/executions", {"state_machine": state_machine, "status": status})
        rows = self._ok(answer, "Listing executions")
        notes = json.loads(answer[2].get("X-Authflow-Notes") or "[]")
        return (rows[:limit] if limit else rows), notes

    def execution(self, name: str, state_machine: str | None = None) -> dict | None:
        answer = self._get(f"/_local/executions/{urllib.parse.quote(name, safe='')}", {"state_machine": state_machine})
        if answer[0] == 404:
            return None
        return self._ok(answer, f"Reading execution {name}")

    def events(self, user_id: str | None = None, detail_type: str | None = None, since: float | None = None) -> list[dict]:
        events = self._ok(self._get("/_local/events", {"user_id": user_id, "type": detail_type}), "Reading events")
        return [e for e in events if since is None or float(e.get("time") or 0) > since]

    def _resources(self) -> dict:
        return self._ok(self._get("/_local/stack"), "Reading the local stack's resources")

    def _aws_settings(self) -> dict:
        """The local stack's AWS (moto): its endpoint, region and fake credentials."""
        stack = self._resources()
        return {
            "endpoint_url": stack["aws_endpoint_url"],
            "region_name": stack["region"],
            "aws_access_key_id": "local",
            "aws_secret_access_key": "local",
        }

    def client(self, service: str):
        import boto3

        return boto3.client(service, **self._aws_settings())

    def api_keys(self, what: str, operation: str, *args):
        """operation of the stack's API keys (authflow.status.ApiKeys: create, entries, revoke)."""
        table = self._resources()["resources"]["StatusTable"]
        return self._aws(what, api_key_operation, self.client("dynamodb"), table, operation, *args)

    def _aws(self, what: str, function, *args):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return function(*args)
        except (BotoCoreError, ClientError) as error:
            raise SourceError(f"{what}: the local stack's AWS answered {error}") from None

    def user_status(self, user_id: str) -> dict | None:
        table = self._resources()["resources"]["StatusTable"]
        return self._aws(f"Reading table {table}", read_user_status, self.client("dynamodb"), table, user_id)

    def webhook_deliveries(self, webhook_id: str, limit: int) -> list[dict] | None:
        table = self._resources()["resources"]["StatusTable"]
        return self._aws(f"Reading table {table}", read_webhook_deliveries, self.client("dynamodb"), table, webhook_id, limit)

    def add_admin(self, email: str) -> str:
        resources = self._resources()["resources"]
        pool, group = resources["UserPool"], resources["AdminGroup"]
        return self._aws(f"Adding {email} to {group}", add_to_admin_group, self.client("cognito-idp"), pool, group, email)

    def operate(self, path: str, admin_token: str, request: "AdminRequest | None" = None) -> dict:
        api_key = os.environ.get("AUTHFLOW_API_KEY") or LOCAL_API_KEY
        return call_admin_route(f"{self.url.rstrip('/')}/v1{path}", api_key, admin_token, self.timeout, request)


@dataclass
class AwsSource:
    stack_name: str
    profile: str | None = None
    region: str | None = None
    log_group: str | None = None

    def __post_init__(self) -> None:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        self._errors = (BotoCoreError, ClientError)
        try:
            self.session = boto3.Session(profile_name=self.profile, region_name=self.region)
        except self._errors as error:
            raise SourceError(f"AWS settings: {error}") from None
        if not self.session.region_name:
            raise SourceError("No AWS region: pass --region, or set AWS_REGION or the profile's region.")
        self._resources: list[dict] | None = None

    @property
    def label(self) -> str:
        return f"stack {self.stack_name} ({self.session.region_name}{', profile ' + self.profile if self.profile else ''})"

    def client(self, service: str):
        return self.session.client(service)

    def _call(self, what: str, function, *args, **kwargs):
        try:
            return function(*args, **kwargs)
        except self._errors as error:
            raise SourceError(f"{what}: {error}") from None

    def resources(self) -> list[dict]:
        if self._resources is None:
            paginator = self.client("cloudformation").get_paginator("list_stack_resources")

            def read():
                return [r for page in paginator.paginate(StackName=self.stack_name) for r in page["StackResourceSummaries"]]

            self._resources = self._call(f"Reading stack {self.stack_name} in {self.session.region_name}", read)
        return self._resources

    def _of_type(self, resource_type: str) -> dict[str, str]:
        return {
            r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in self.resources()
            if r["ResourceType"] == resource_type and r.get("PhysicalResourceId")
        }

    def state_machines(self) -> dict[str, str]:
        return self._of_type("AWS::StepFunctions::StateMachine")

    def _machines(self, state_machine: str | None):
        from infra.console import stepfunctions

        machines = stepfunctions.describe_machines(self.client("stepfunctions"), self.state_machines())
        return stepfunctions.select(machines, state_machine)

    def executions(self, state_machine: str | None = None, status: str | None = None, limit: int | None = None):
        from infra.console import stepfunctions

        machines = self._machines(state_machine)
        if not machines:
            return [], [f"No state machine {state_machine or ''} in stack {self.stack_name}.".replace("  ", " ")]
        return self._call("Listing executions", stepfunctions.list_executions, self.client("stepfunctions"), machines, status, limit)

    def execution(self, name: str, state_machine: str | None = None) -> dict | None:
        from infra.console import stepfunctions

        return self._call(
            f"Reading execution {name}", stepfunctions.find_execution, self.client("stepfunctions"), self._machines(state_machine), name
        )

    def _log_group(self) -> str:
        """The stack's log group that a rule on the stack's bus sends events to (the audit log group)."""
        if self.log_group:
            return self.log_group
        groups = set(self._of_type("AWS::Logs::LogGroup").values())
        buses = list(self._of_type("AWS::Events::EventBus").values())
        events = self.client("events")

        def targeted() -> set[str]:
            found = set()
            for bus in buses:
                for page in events.get_paginator("list_rules").paginate(EventBusName=bus):
                    for rule in page["Rules"]:
                        for targets in events.get_paginator("list_targets_by_rule").paginate(Rule=rule["Name"], EventBusName=bus):
                            found |= {_log_group_name(t["Arn"]) for t in targets["Targets"]} & groups
            return found

        found = self._call(f"Reading the rules of {', '.join(buses) or 'the stack'}", targeted)
        if len(found) == 1:
            return found.pop()
        if found:
            raise SourceError(
                f"Rules of stack {self.stack_name} send its events to {len(found)} log groups ({', '.join(sorted(found))}): pass --log-group."
            )
        raise SourceError(
            f"Stack {self.stack_name} has no CloudWatch log group of its events. EventBridge cannot be read back: events on "
            + (", ".join(buses) or "the stack's bus")
            + " go to their rules' targets and the bus archive, which can only be replayed. "
            "Add a rule that sends the bus's events to a log group (AWS::Logs::LogGroup) to tail them here, or pass --log-group."
        )

    def events(self, user_id: str | None = None, detail_type: str | None = None, since: float | None = None) -> list[dict]:
        group = self._log_group()
        logs = self.client("logs")
        # Without a start, read the last day; CloudWatch keeps them as long as the group's retention.
        arguments = {"logGroupName": group, "startTime": int((since if since is not None else time.time() - 86400) * 1000)}

        def read() -> list[dict]:
            found = []
            for page in logs.get_paginator("filter_log_events").paginate(**arguments):
                for record in page.get("events", []):
                    try:
                        event = json.loads(record["message"])
                    except ValueError:
                        continue
                    if not isinstance(event, dict) or "detail-type" not in event:
                        continue
                    event.setdefault("time", record["timestamp"] / 1000)
                    found.append(event)
            return found

        events = self._call(f"Reading log group {group}", read)
        return [
            e
            for e in events
            if (not user_id or (e.get("detail") or {}).get("user_id") == user_id)
            and (not detail_type or e.get("detail-type") == detail_type)
            and (since is None or _epoch(e.get("time")) > since)
        ]

    def _the(self, resource_type: str, logical_id: str) -> str:
        found = self._of_type(resource_type)
        physical = found.get(logical_id) or (next(iter(found.values())) if len(found) == 1 else None)
        if not physical:
            raise SourceError(f"Stack {self.stack_name} has no {resource_type} ({logical_id}).")
        return physical

    def user_status(self, user_id: str) -> dict | None:
        table = self._the("AWS::DynamoDB::Table", "StatusTable")
        return self._call(f"Reading table {table}", read_user_status, self.client("dynamodb"), table, user_id)

    def webhook_deliveries(self, webhook_id: str, limit: int) -> list[dict] | None:
        table = self._the("AWS::DynamoDB::Table", "StatusTable")
        return self._call(f"Reading table {table}", read_webhook_deliveries, self.client("dynamodb"), table, webhook_id, limit)

    def add_admin(self, email: str) -> str:
        pool = self._the("AWS::Cognito::UserPool", "UserPool")
        group = self._the("AWS::Cognito::UserPoolGroup", "AdminGroup")
        return self._call(f"Adding {email} to {group}", add_to_admin_group, self.client("cognito-idp"), pool, group, email)

    def api_keys(self, what: str, operation: str, *args):
        table = self._the("AWS::DynamoDB::Table", "StatusTable")
        return self._call(what, api_key_operation, self.client("dynamodb"), table, operation, *args)

    def operate(self, path: str, admin_token: str, request: "AdminRequest | None" = None) -> dict:
        """The stack's admin route, found from its outputs (ApiUrl), with an API key of the operator's
        (AUTHFLOW_API_KEY: keys are stored hashed, so none can be read back from the stack)."""
        api_key = os.environ.get("AUTHFLOW_API_KEY")
        if not api_key:
            raise SourceError(
                "Set AUTHFLOW_API_KEY to an API key of this stack (make one with: authflow api-keys create NAME --stack-name ...)."
            )
        stack = self._call("Reading the stack", self.client("cloudformation").describe_stacks, StackName=self.stack_name)["Stacks"][0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        return call_admin_route(f"{outputs['ApiUrl']}{path}", api_key, admin_token, 30.0, request)


def api_key_operation(dynamodb, table: str, operation: str, *args):
    """ApiKeys' operation on the stack's status table, through the operator's DynamoDB client."""
    from authflow.aws import plain_values
    from authflow.status.api_keys import ApiKeys

    return getattr(ApiKeys(table, client=plain_values(dynamodb)), operation)(*args)


@dataclass(frozen=True)
class AdminRequest:
    """What an admin route is sent: by default an empty POST."""

    method: str = "POST"
    body: bytes | None = b""
    headers: tuple[tuple[str, str], ...] = (("content-type", "application/json"),)


def call_admin_route(url: str, api_key: str, admin_token: str, timeout: float, request: AdminRequest | None = None) -> dict:
    """Calls an admin route of the v1 API: the same checks, mail and events as any admin's call."""
    sent = request or AdminRequest()
    headers = {"x-api-key": api_key, "authorization": f"Bearer {admin_token}", **dict(sent.headers)}
    http_request = urllib.request.Request(url, data=sent.body, method=sent.method, headers=headers)
    try:
        with urllib.request.urlopen(http_request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        try:
            refusal = json.loads(error.read() or b"null")["error"]
        except (ValueError, KeyError, TypeError):
            refusal = {"code": str(error.code), "message": ""}
        if refusal.get("code") == "USER_NOT_FOUND":
            raise NoSuchUser(f"No such active user ({url.rsplit('/', 2)[-2]}).") from None
        raise SourceError(f"The API answered {error.code} {refusal.get('code')}: {refusal.get('message')}") from None
    except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
        raise SourceError(f"No API answers at {url} ({getattr(error, 'reason', error)}).") from None


def read_user_status(dynamodb, table: str, user_id: str) -> dict | None:
    """The onboarding status record, in the shape GET /v1/users/{id}/onboarding answers (operators read
    the table with their AWS credentials; the API answers only a user's creator or an admin)."""
    from boto3.dynamodb.types import TypeDeserializer

    item = dynamodb.get_item(TableName=table, Key={"pk": {"S": f"USER#{user_id}"}, "sk": {"S": "STATUS"}}, ConsistentRead=True).get("Item")
    if not item:
        return None
    record = {k: TypeDeserializer().deserialize(v) for k, v in item.items()}
    arn = record.get("execution_arn")
    return {
        "user_id": record.get("user_id", user_id),
        "status": record.get("status"),
        "steps": [_plain(s) for s in record.get("steps", [])],
        "updated_at": _as_api_time(record.get("updated_at")),
        "execution": {"name": arn.rsplit(":", 1)[1], "arn": arn} if arn else None,
    }


def read_webhook_deliveries(dynamodb, table: str, webhook_id: str, limit: int) -> list[dict] | None:
    """A webhook's delivery log (WEBHOOK#<id>, DELIVERY#<event_id>), latest event first, in the shape GET
    /v1/webhooks/{id}/deliveries answers; None if there is no such webhook and no log."""
    from boto3.dynamodb.types import TypeDeserializer

    items: list[dict] = []
    start: dict = {}
    while True:
        page = dynamodb.query(
            TableName=table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :sk)",
            ExpressionAttributeValues={":pk": {"S": f"WEBHOOK#{webhook_id}"}, ":sk": {"S": "DELIVERY#"}},
            **start,
        )
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            break
        start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
    if not items and "Item" not in dynamodb.get_item(
        TableName=table, Key={"pk": {"S": "WEBHOOKS"}, "sk": {"S": f"SUBSCRIPTION#{webhook_id}"}}
    ):
        return None
    hidden = {"pk", "sk", "expires_at", "webhook_id", "updated_at"}
    entries = [_plain({k: TypeDeserializer().deserialize(v) for k, v in item.items() if k not in hidden}) for item in items]
    return sorted(entries, key=lambda e: (e.get("occurred_at", ""), e.get("event_id", "")), reverse=True)[:limit]


def _as_api_time(value):
    """A stored UTC timestamp as the API writes it (pydantic's ISO 8601 with Z)."""
    return value.replace("+00:00", "Z") if isinstance(value, str) and value.endswith("+00:00") else value


def add_to_admin_group(cognito, user_pool_id: str, group: str, email: str) -> str:
    """AdminAddUserToGroup for the user with this email; their user id. The API asks Cognito for the
    groups, so the user's access tokens open the admin routes once the admin check's cache (a minute at
    most) has passed, without signing in again."""
    email = email.strip().lower()
    if not email or '"' in email or "\\" in email:
        raise SourceError(f"{email!r} is not an email address.")
    users = cognito.list_users(UserPoolId=user_pool_id, Filter=f'email = "{email}"', Limit=2)["Users"]
    if not users:
        raise NoSuchUser(f"No user with the email {email}: create them with POST /v1/users and let them finish onboarding.")
    user_id = users[0]["Username"]
    cognito.admin_add_user_to_group(UserPoolId=user_pool_id, Username=user_id, GroupName=group)
    return user_id


def _log_group_name(arn: str) -> str:
    """arn:aws:logs:REGION:ACCOUNT:log-group:NAME[:*] -> NAME ("" for any other ARN)."""
    _, found, name = arn.partition(":log-group:")
    return name.removesuffix(":*") if found else ""


def _plain(value):
    """DynamoDB's Decimals and sets as JSON-friendly values."""
    from decimal import Decimal

    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, set, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _epoch(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        from datetime import datetime

        try:
            return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
        except ValueError:
            return 0.0
