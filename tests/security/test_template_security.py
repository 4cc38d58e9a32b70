"""Security review of the deployment description: checkov, least-privilege IAM, encryption at rest.

- checkov (pinned in checkov-requirements.txt) runs once per session on template.yaml and on the
  CloudFormation the SAM translator makes of it (so it also sees the generated IAM roles and the API
  stage), offline (--skip-download, BC_SKIP_MAPPING). A failing check must be justified: in
  template.yaml beside the resource (Metadata: checkov: skip:, checkov's own way, with a comment)
  for a finding about one resource, or in ACCEPTED below for a finding about a kind of resource.
- IAM, read from the translated template: no wildcard action, Resource "*" only for the actions in
  NO_RESOURCE_LEVEL_PERMISSIONS (each with its reason), each role names only the services its
  code uses (SERVICES, checked against the clients its modules can reach), and only the AWS
  managed policies of MANAGED_POLICIES.
- Encryption at rest of the bucket, the table, the queues, the secret and the log groups, and no
  secret in a function's environment.

checkov cannot share .venv: checkov 3.3.30 pins boto3==1.35.49, packaging<24 and networkx<2.7, which
the project's pins (boto3 1.44.8, pytest 9's packaging>=24, cfn-lint's networkx) exclude. It is
installed by the Makefile's install step, with --no-deps from its full pinned list, into .venv/checkov,
and run as a subprocess with that directory first on PYTHONPATH.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from infra.template import load_template
from tests.security import _summary
from tests.support.sam import translated_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
FUNCTIONS = ROOT / "functions"
SHARED = FUNCTIONS / "shared" / "authflow"
CHECKOV_REQUIREMENTS = Path(__file__).with_name("checkov-requirements.txt")
# Where the Makefile's install step puts checkov: beside the packages of the venv running the tests.
CHECKOV_DIR = Path(sys.prefix) / "checkov"

# Failing checkov checks accepted for every resource of a kind: check id -> justification. A finding
# about one resource is justified beside it in template.yaml (Metadata: checkov: skip: with a comment).
ACCEPTED: dict[str, str] = {
    "CKV_AWS_116": (
        "Lambda dead-letter queue: no function is invoked asynchronously. The API (API Gateway proxy), "
        "the workflow tasks (Step Functions' synchronous Invoke, with Retry and Catch) and the Cognito "
        "trigger are synchronous, and the webhook consumer is an SQS event source whose queue has its own "
        "redrive dead-letter queue. A function DLQ only receives failed asynchronous invocations."
    ),
    "CKV_AWS_117": (
        "Lambda in a VPC: the functions reach only AWS public APIs and, for webhooks, public HTTPS "
        "endpoints (the SSRF guard refuses private, loopback, link-local and metadata addresses in "
        "code); there is nothing in a VPC to reach. A VPC would add NAT gateways or interface "
        "endpoints (a fixed monthly cost) and cold-start latency for no isolation gain."
    ),
    "CKV_AWS_115": (
        "Lambda reserved concurrency: the API is throttled at the gateway (HTTP API stage: 100 rps, burst "
        "200) and Cognito's quotas bound the rest; a reservation would carve a fixed share out of the "
        "account's pool and turn a load spike into throttled logins."
    ),
    "CKV_AWS_173": (
        "Lambda environment encryption with a customer managed key: Lambda encrypts environment "
        "variables at rest with its AWS managed key, and no variable holds a secret (names, ARNs and "
        "settings only; the pseudo-id key is read from Secrets Manager at run time), which "
        "test_no_function_environment_variable_holds_a_secret asserts."
    ),
    "CKV_AWS_95": (
        "HTTP API access logging: the REST API it replaced had none, and at 50 000 MAU (36 M requests a "
        "month, ~250 bytes a line) access logs would add ~9 GB of CloudWatch Logs ingestion (~4.5 USD a "
        "month) to a stack whose cost is a goal (issue 13). Lambda logs a START/REPORT line per request "
        "with its request id, refusals are in the function's log, and every lifecycle fact reaches the "
        "audit log group. Follow-up where source IPs must be kept: AccessLogSettings on the stage."
    ),
    "CKV_AWS_158": (
        "CloudWatch Logs encryption with a customer managed key: CloudWatch Logs encrypts every log "
        "group at rest (AWS-owned keys). None receives a secret: the functions never log one "
        "(SecretStr models), the audit group receives events that never carry one "
        "(tests/e2e/test_no_secrets_leak.py) and the Express log group runs with IncludeExecutionData: "
        "false. A customer managed key would add a key policy granting logs.<region>.amazonaws.com and a "
        "KMS cost per request."
    ),
}

# Actions IAM defines no resource type for (Service Authorization Reference): "*" is the only
# resource that matches them. Any other action granted on "*" fails the test.
NO_RESOURCE_LEVEL_PERMISSIONS: dict[str, str] = {
    "cognito-idp:AssociateSoftwareToken": "authorised by the user's session or access token; no resource type",
    "cognito-idp:VerifySoftwareToken": "authorised by the user's session or access token; no resource type",
    "states:SendTaskSuccess": "the task token is the capability; no resource type",
    "states:SendTaskFailure": "the task token is the capability; no resource type",
    "states:SendTaskHeartbeat": "the task token is the capability; no resource type",
    "logs:CreateLogDelivery": "vended log delivery of the Express state machine; no resource type",
    "logs:GetLogDelivery": "vended log delivery of the Express state machine; no resource type",
    "logs:UpdateLogDelivery": "vended log delivery of the Express state machine; no resource type",
    "logs:DeleteLogDelivery": "vended log delivery of the Express state machine; no resource type",
    "logs:ListLogDeliveries": "vended log delivery of the Express state machine; no resource type",
    "logs:PutResourcePolicy": "vended log delivery of the Express state machine; no resource type",
    "logs:DescribeResourcePolicies": "vended log delivery of the Express state machine; no resource type",
    "logs:DescribeLogGroups": "vended log delivery of the Express state machine; no resource type",
}

# AWS managed policies SAM attaches, and why each is needed.
MANAGED_POLICIES: dict[str, str] = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": "every function writes its own logs",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess": "Tracing: Active / Tracing: Enabled sends X-Ray segments",
    "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole": "the SQS event sources of the webhook, user import and mail request consumers",
}

# The services each role's own policies may name: what its code calls (Lambda functions) or its
# definition's tasks use (state machines). Managed policies (above) are checked apart.
SERVICES: dict[str, set[str]] = {
    "ApiFunction": {
        "cognito-idp",
        "states",
        "ses",
        "secretsmanager",
        "dynamodb",
        "s3",
        "events",
        "sqs",
        "kms",
    },  # kms: seals webhook secrets
    # ForgotPassword, the one Cognito call of the reset tasks, is a public API authorised by the app
    # client and its secret (secretsmanager: the SECRET_HASH): no IAM grant exists for it.
    "PasswordResetTaskFunction": {"states", "dynamodb", "events", "secretsmanager"},
    "OnboardingTaskFunction": {"cognito-idp", "states", "dynamodb", "s3", "events"},
    "CognitoTriggerFunction": {"events"},
    # events: DescribeReplay; ses: a disabled webhook's contact; kms: opens the signing secrets
    "WebhookDeliveryFunction": {"dynamodb", "sqs", "events", "ses", "kms"},
    "UserImportFunction": {"states", "dynamodb", "sqs", "events"},
    # cognito-idp: the invitation resent; states: the reset started, a superseded one cancelled, a wait's heartbeat
    "MailRequestFunction": {"cognito-idp", "states", "dynamodb", "events"},
    "OnboardingStateMachine": {"lambda"},
    # cognito-idp: the login steps call Cognito directly (issue 13 item 3); logs: Express logging
    "LoginStateMachine": {"cognito-idp", "logs"},
    "PasswordResetStateMachine": {"lambda"},
}

# boto3 service names and Powertools helpers as IAM service prefixes.
BOTO3_TO_IAM = {"stepfunctions": "states"}
HELPERS_TO_IAM = {"get_secret": "secretsmanager", "DynamoDBPersistenceLayer": "dynamodb"}


# ------------------------------------------------------------------------------------- helpers


def _listed(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _roles(cfn: dict) -> dict[str, dict]:
    """Function or state machine logical id -> the properties of its generated role."""
    owners = {}
    for lid, resource in cfn["Resources"].items():
        role = (resource.get("Properties") or {}).get("Role") or (resource.get("Properties") or {}).get("RoleArn")
        if resource["Type"] in ("AWS::Lambda::Function", "AWS::StepFunctions::StateMachine") and isinstance(role, dict):
            owners[lid] = cfn["Resources"][role["Fn::GetAtt"][0]]["Properties"]
    return owners


def _statements(role: dict) -> list[dict]:
    return [s for policy in role.get("Policies", []) for s in _listed(policy["PolicyDocument"]["Statement"])]


def _checkov_environment() -> Path:
    """checkov-requirements.txt as the Makefile's install step put it, beside the venv's own packages."""
    installed = [line.strip() for line in CHECKOV_REQUIREMENTS.read_text().splitlines() if line.strip() and not line.startswith("#")]
    pinned = next(line for line in installed if line.startswith("checkov=="))
    found = list(CHECKOV_DIR.glob(f"checkov-{pinned.split('==')[1]}.dist-info"))
    if not found:
        pytest.fail(f"{pinned} is not installed in {CHECKOV_DIR}: run `make .venv/.installed` (it installs {CHECKOV_REQUIREMENTS.name})")
    return CHECKOV_DIR


@pytest.fixture(scope="module")
def cfn() -> dict:
    return translated_template()


@pytest.fixture(scope="module")
def checkov_report(cfn, tmp_path_factory) -> dict:
    """One checkov run over template.yaml and its translation: {"failed": [...], "skipped": [...], ...}."""
    environment = _checkov_environment()
    translated = tmp_path_factory.mktemp("checkov") / "translated-template.json"
    translated.write_text(json.dumps(cfn))
    started = time.perf_counter()
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "checkov.main",
            "-f",
            str(TEMPLATE),
            "-f",
            str(translated),
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--skip-download",
            "--compact",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": str(environment),
            "PYTHONNOUSERSITE": "1",
            "BC_SKIP_MAPPING": "TRUE",
            "CHECKOV_NO_OUTPUT_COLOR": "1",
            "LOG_LEVEL": "WARNING",
        },
    )
    seconds = round(time.perf_counter() - started, 1)
    _summary.durations["checkov (template.yaml + translated)"] = seconds
    assert run.returncode in (0, 1), f"checkov did not run:\n{run.stderr[-3000:]}"
    report = json.loads(run.stdout)
    reports = report if isinstance(report, list) else [report]
    results: dict[str, Any] = {"failed": [], "passed": [], "skipped": []}
    for one in reports:
        results["version"] = one["summary"]["checkov_version"]
        results["parsing_errors"] = one["summary"]["parsing_errors"]
        for kind in ("failed", "passed", "skipped"):
            results[kind] += one["results"][f"{kind}_checks"]
    _summary.facts["checkov"] = (
        f"{results['version']}: {len(results['passed'])} passed, {len(results['failed'])} failed "
        f"(accepted kinds: {', '.join(sorted({c['check_id'] for c in results['failed']}))}), "
        f"{len(results['skipped'])} skipped with a comment in template.yaml"
    )
    return results


# ------------------------------------------------------------------------------------- checkov


def test_checkov_runs_offline(checkov_report):
    assert checkov_report["parsing_errors"] == 0
    assert checkov_report["passed"], "checkov ran no check"


def test_every_failing_checkov_check_is_justified(checkov_report):
    unjustified = sorted(
        {
            f"{c['check_id']} {c['resource']} ({Path(c['file_path']).name}): {c['check_name']}"
            for c in checkov_report["failed"]
            if c["check_id"] not in ACCEPTED
        }
    )
    assert not unjustified, "checkov findings to fix, or to justify in template.yaml or ACCEPTED:\n  " + "\n  ".join(unjustified)


def test_no_accepted_finding_is_stale(checkov_report):
    failing = {c["check_id"] for c in checkov_report["failed"]}
    assert set(ACCEPTED) <= failing, f"no longer failing, drop from ACCEPTED: {sorted(set(ACCEPTED) - failing)}"


def test_every_checkov_skip_in_the_template_says_why(checkov_report):
    assert checkov_report["skipped"], "template.yaml's Metadata skips were not read"
    for check in checkov_report["skipped"]:
        comment = (check.get("check_result") or {}).get("suppress_comment") or ""
        assert len(comment.split()) >= 8, f"{check['check_id']} on {check['resource']}: skip without a reason"
    skipped_in_template = {
        (lid, skip["id"])
        for lid, resource in load_template()["Resources"].items()
        for skip in (resource.get("Metadata") or {}).get("checkov", {}).get("skip", [])
    }
    reported = {(c["resource"].split(".")[-1], c["check_id"]) for c in checkov_report["skipped"]}
    assert skipped_in_template <= reported, f"skips checkov no longer needs: {sorted(skipped_in_template - reported)}"


# ------------------------------------------------------------------------------------- IAM


def test_no_wildcard_actions(cfn):
    problems = []
    for owner, role in _roles(cfn).items():
        for statement in _statements(role):
            for action in _listed(statement.get("Action", [])):
                if statement.get("Effect") == "Allow" and (action == "*" or action.endswith(":*")):
                    problems.append(f"{owner}: {action}")
    assert not problems, "wildcard actions granted:\n  " + "\n  ".join(problems)


def test_resource_star_only_for_actions_without_resource_level_permissions(cfn):
    problems = []
    for owner, role in _roles(cfn).items():
        for statement in _statements(role):
            if statement.get("Effect") == "Allow" and "*" in _listed(statement.get("Resource")):
                for action in _listed(statement["Action"]):
                    if action not in NO_RESOURCE_LEVEL_PERMISSIONS:
                        problems.append(f'{owner}: {action} on "*"')
    assert not problems, "actions granted on every resource:\n  " + "\n  ".join(problems)


def test_each_role_names_only_the_services_it_uses(cfn):
    granted = {
        owner: {action.split(":", 1)[0] for s in _statements(role) if s.get("Effect") == "Allow" for action in _listed(s["Action"])}
        for owner, role in _roles(cfn).items()
    }
    assert set(granted) == set(SERVICES), "a function or state machine was added or removed: update SERVICES"
    wrong = {
        owner: {"extra": sorted(g - SERVICES[owner]), "missing": sorted(SERVICES[owner] - g)}
        for owner, g in granted.items()
        if g != SERVICES[owner]
    }
    assert not wrong, f"services granted differ from SERVICES: {wrong}"


def test_the_login_workflow_gets_only_its_two_cognito_calls_and_logs_no_execution_data(cfn):
    """A login step's secrets are in its Express execution, in flight only (SPEC section 3): its logging
    never includes execution data, and its role may make the two Cognito calls, on the pool, nothing more."""
    machine = cfn["Resources"]["LoginStateMachine"]["Properties"]
    assert machine["StateMachineType"] == "EXPRESS"
    assert machine["LoggingConfiguration"]["IncludeExecutionData"] is False
    cognito = [s for s in _statements(_roles(cfn)["LoginStateMachine"]) if any(a.startswith("cognito-idp:") for a in _listed(s["Action"]))]
    assert [sorted(_listed(s["Action"])) for s in cognito] == [["cognito-idp:AdminInitiateAuth", "cognito-idp:AdminRespondToAuthChallenge"]]
    assert cognito[0]["Resource"] == {"Fn::GetAtt": ["UserPool", "Arn"]}


def test_only_the_expected_managed_policies_are_attached(cfn):
    attached = {arn for role in _roles(cfn).values() for arn in role.get("ManagedPolicyArns", [])}
    attached = {a if isinstance(a, str) else json.dumps(a) for a in attached}
    assert attached <= set(MANAGED_POLICIES), f"unexpected managed policies: {sorted(attached - set(MANAGED_POLICIES))}"


def _imports(path: Path) -> set[str]:
    """authflow modules a file imports (from authflow import x / from authflow.x import y / import authflow.x)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "authflow":
                found |= {alias.name for alias in node.names}
            elif node.module.startswith("authflow."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {alias.name.split(".")[1] for alias in node.names if alias.name.startswith("authflow.")}
    return {name for name in found if _module_files(name)}


def _module_files(name: str) -> list[Path]:
    """The files of authflow's module or package `name` (authflow.status is a package)."""
    if (SHARED / f"{name}.py").exists():
        return [SHARED / f"{name}.py"]
    return sorted((SHARED / name).glob("*.py")) if (SHARED / name).is_dir() else []


def _services_called(path: Path) -> set[str]:
    """IAM prefixes of the AWS clients a file creates: client("x")/resource("x") and Powertools helpers."""
    services = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if (
                name in ("client", "resource")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                services.add(BOTO3_TO_IAM.get(node.args[0].value, node.args[0].value))
            elif name in HELPERS_TO_IAM:
                services.add(HELPERS_TO_IAM[name])
    return services


def _reachable_services(function_dir: Path) -> set[str]:
    """Every AWS service the function's modules, and the authflow modules they import (transitively),
    create a client for: an upper bound of what the function can call."""
    files = list(function_dir.glob("*.py"))
    seen: set[str] = set()
    pending = set().union(*(_imports(f) for f in files))
    while pending:
        module = pending.pop()
        if module not in seen:
            seen.add(module)
            pending |= set().union(*(_imports(f) for f in _module_files(module)))
    return set().union(*(_services_called(f) for f in files + [f for m in seen for f in _module_files(m)]))


def test_each_function_is_granted_only_services_its_code_can_reach():
    """SERVICES, the grants, is no wider than what each function's code (its import graph) can call."""
    template = load_template()
    for owner, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        reachable = _reachable_services(ROOT / resource["Properties"]["CodeUri"])
        assert SERVICES[owner] <= reachable, f"{owner} is granted {sorted(SERVICES[owner] - reachable)}, which its code never calls"


# ------------------------------------------------------------------------------------- encryption at rest and secrets


def _of_type(kind: str) -> dict[str, dict]:
    return {lid: r.get("Properties") or {} for lid, r in load_template()["Resources"].items() if r["Type"] == kind}


def test_the_bucket_is_encrypted_at_rest_and_refuses_plain_http():
    buckets = _of_type("AWS::S3::Bucket")
    assert buckets
    for lid, props in buckets.items():
        rules = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert all(r["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms", "aws:kms:dsse") for r in rules), lid
    tls_only = [
        p
        for p in _of_type("AWS::S3::BucketPolicy").values()
        for s in p["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert len(tls_only) == len(buckets)


def test_the_table_is_encrypted_at_rest():
    tables = _of_type("AWS::DynamoDB::Table")
    assert tables and all(p["SSESpecification"]["SSEEnabled"] is True for p in tables.values())


def test_queues_are_encrypted_at_rest():
    queues = _of_type("AWS::SQS::Queue")
    assert queues, "no queue: drop this test"
    for lid, props in queues.items():
        assert props.get("SqsManagedSseEnabled") is True or props.get("KmsMasterKeyId"), lid


def test_log_groups_have_a_bounded_retention():
    """CloudWatch Logs encrypts every log group at rest by default (AWS-owned keys; the KMS finding
    CKV_AWS_158 is justified beside each group); what the template must set is how long they keep."""
    groups = _of_type("AWS::Logs::LogGroup")
    assert groups and all(p.get("RetentionInDays") for p in groups.values())


def test_no_function_environment_variable_holds_a_secret():
    template = load_template()
    variables = dict(template["Globals"]["Function"]["Environment"]["Variables"])
    for resource in _of_type("AWS::Serverless::Function").values():
        variables.update((resource.get("Environment") or {}).get("Variables", {}))
    parameters = template["Parameters"]
    secret_words = ("SECRET", "PASSWORD", "TOKEN", "KEY", "CREDENTIAL")
    for name, value in variables.items():
        assert isinstance(value, dict) or len(str(value)) < 40, f"{name} holds a literal that may be a secret"
        if isinstance(value, dict) and value.get("Ref") in parameters:
            assert not parameters[value["Ref"]].get("NoEcho"), f"{name} passes a NoEcho (secret) parameter"
        if any(word in name.upper() for word in secret_words):
            # A secret's ARN (a resource's Ref) or a setting that cannot hold a secret: a number (validity
            # days, limits), one of a few allowed values (a switch), or a URL whose pattern forbids
            # credentials in it; never a value.
            ref = value.get("Ref") if isinstance(value, dict) else None
            attribute = value.get("Fn::GetAtt", [None, None]) if isinstance(value, dict) else [None, None]
            is_resource = ref in template["Resources"] or (attribute[0] in template["Resources"] and attribute[1] == "Arn")
            parameter = parameters.get(ref, {})
            is_number = parameter.get("Type") == "Number"
            is_switch = bool(parameter.get("AllowedValues"))
            pattern = parameter.get("AllowedPattern")
            is_plain_url = bool(pattern) and re.fullmatch(pattern, "https://user:password@example.com/range") is None
            assert (is_resource and name.endswith("_ARN")) or is_number or is_switch or is_plain_url, f"{name} looks like a secret: {value}"
