"""Static checks of the deployment description: template.yaml and samconfig.toml.

- cfn-lint (its Python API) on template.yaml as written, and again on the CloudFormation the SAM
  translator makes of it, with the Step Functions definitions from workflows/ inlined so that
  cfn-lint checks them too;
- the SAM translator (samtranslator, managed-policy loader mocked: no AWS call) and the resources
  and security settings the spec requires of its output;
- IAM statements use the narrowest valid resource (per cfn-lint's copy of the Service Authorization
  Reference);
- samconfig.toml: the dev and prod environments and their parameter overrides.

No AWS account, network or Docker is needed; the whole file runs in a few seconds.
"""

from __future__ import annotations

import copy
import json
import os
import shlex
import tomllib
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from cfnlint.api import ManualArgs, lint, lint_file
from cfnlint.data import AdditionalSpecs
from cfnlint.decode import decode
from cfnlint.helpers import load_resource
from samtranslator.public.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform

from infra.provision import Provisioner
from infra.template import Resolver, load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SAMCONFIG = ROOT / "samconfig.toml"

# The regions samconfig.toml deploys to; the samconfig test keeps the two in step.
LINT_REGIONS = ["eu-west-1"]

# Placeholder bucket for local artifact paths, as `sam package` would upload them.
ARTIFACT_BUCKET = "authflow-artifacts-placeholder"

# cfn-lint warnings accepted on template.yaml itself: rule id -> justification. Empty: any warning
# on our own template fails the test (fix it, or justify it here).
ALLOWED_SOURCE_WARNINGS: dict[str, str] = {}

# Warnings cfn-lint raises on what the SAM translator generates (not on anything we wrote), keyed by
# (rule id, logical id prefix of the generated resource) -> justification.
ALLOWED_TRANSLATED_WARNINGS: dict[tuple[str, str], str] = {
    ("W3005", "ApiUsagePlan"): (
        "SAM emits DependsOn on the usage plan and usage plan key besides the Refs that already "
        "order them; redundant, harmless, and not in our template."
    ),
    ("W1020", "SharedLayer"): (
        "SAM resolves the parameter in the layer's LayerName itself and leaves a Fn::Sub without "
        "variables in its output; harmless, and not in our template."
    ),
}

EXPECTED_FUNCTIONS = {
    "ApiFunction",
    "OnboardingTaskFunction",
    "PasswordResetTaskFunction",
    "CognitoTriggerFunction",
    "WebhookDeliveryFunction",
    "UserImportFunction",
    "MailRequestFunction",
}
RUNTIME = "python3.13"


# ------------------------------------------------------------------------------------- helpers


def _plain(node: Any) -> Any:
    """cfn-lint's decoded nodes (dict_node, str_node, ...) as plain JSON types."""
    return json.loads(json.dumps(node))


def _load_template() -> dict[str, Any]:
    template, matches = decode(str(TEMPLATE))
    assert not matches, "template.yaml does not parse:\n" + "\n".join(str(m) for m in matches)
    return _plain(template)


def _format(matches: list[Any]) -> str:
    return "\n".join(
        f"  {m.rule.id} [{m.rule.severity}] {m.message} "
        f"({Path(m.filename).name if m.filename else '<translated>'}:{m.linenumber}"
        f" {'/'.join(str(p) for p in getattr(m, 'path', []) or [])})"
        for m in matches
    )


def _split(matches: list[Any]) -> tuple[list[Any], list[Any]]:
    errors = [m for m in matches if m.rule.severity.lower() == "error"]
    warnings = [m for m in matches if m.rule.severity.lower() == "warning"]
    return errors, warnings


def _with_artifacts_in_s3(template: dict[str, Any]) -> dict[str, Any]:
    """Local CodeUri/ContentUri/DefinitionUri paths replaced by S3 locations, as `sam package`
    does before the SAM transform runs (the translator accepts only S3 locations)."""
    template = copy.deepcopy(template)
    for resource in template.get("Resources", {}).values():
        props = resource.get("Properties") or {}
        kind = resource.get("Type")
        if kind == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
            props["CodeUri"] = f"s3://{ARTIFACT_BUCKET}/{props['CodeUri'].strip('/')}.zip"
        elif kind == "AWS::Serverless::LayerVersion" and isinstance(props.get("ContentUri"), str):
            props["ContentUri"] = f"s3://{ARTIFACT_BUCKET}/{props['ContentUri'].strip('/')}.zip"
        elif kind == "AWS::Serverless::StateMachine" and isinstance(props.get("DefinitionUri"), str):
            props["DefinitionUri"] = {"Bucket": ARTIFACT_BUCKET, "Key": props["DefinitionUri"]}
    return template


def _translate(parameter_values: dict[str, Any] | None = None) -> dict[str, Any]:
    loader = mock.Mock()
    loader.load.return_value = {}  # no managed policy names are used; no call to IAM
    with mock.patch.dict(os.environ, {"AWS_DEFAULT_REGION": LINT_REGIONS[0]}):
        try:
            return transform(_with_artifacts_in_s3(_load_template()), parameter_values or {}, loader)
        except InvalidDocumentException as exc:
            causes = "\n".join(f"  {cause.message}" for cause in exc.causes)
            pytest.fail(f"the SAM translator refused template.yaml:\n{causes}")


def _resources_of(cfn: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in cfn["Resources"].items() if r["Type"] == kind}


def _only(cfn: dict[str, Any], kind: str) -> dict[str, Any]:
    found = _resources_of(cfn, kind)
    assert len(found) == 1, f"expected one {kind}, found {sorted(found)}"
    return next(iter(found.values()))["Properties"]


def _resolve(value: Any, parameters: dict[str, Any]) -> Any:
    """A {"Ref": parameter} resolved to the parameter's default."""
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in parameters:
        return parameters[value["Ref"]].get("Default")
    return value


def _state_machine_definition_paths(template: dict[str, Any]) -> dict[str, Path]:
    return {
        lid: ROOT / r["Properties"]["DefinitionUri"]
        for lid, r in template["Resources"].items()
        if r["Type"] == "AWS::Serverless::StateMachine" and isinstance((r.get("Properties") or {}).get("DefinitionUri"), str)
    }


def _samconfig() -> dict[str, Any]:
    assert SAMCONFIG.exists(), "samconfig.toml is missing"
    with SAMCONFIG.open("rb") as f:
        return tomllib.load(f)


def _overrides(value: Any) -> dict[str, str]:
    """samconfig's parameter_overrides (a 'K=V K2="V 2"' string or a list of them) as a dict."""
    items = value if isinstance(value, list) else [value]
    pairs: dict[str, str] = {}
    for item in items:
        for token in shlex.split(item):
            key, sep, val = token.partition("=")
            assert sep, f"parameter override {token!r} is not KEY=VALUE"
            pairs[key] = val
    return pairs


# ------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return _load_template()


@pytest.fixture(scope="module")
def cfn() -> dict[str, Any]:
    """template.yaml translated to CloudFormation with the parameters' defaults."""
    return _translate()


# ------------------------------------------------------------------------------------- cfn-lint


def test_cfn_lint_reports_no_errors_on_template() -> None:
    matches = lint_file(TEMPLATE, config=ManualArgs(regions=LINT_REGIONS))
    errors, warnings = _split(matches)
    assert not errors, f"cfn-lint errors in template.yaml:\n{_format(errors)}"
    unjustified = [m for m in warnings if m.rule.id not in ALLOWED_SOURCE_WARNINGS]
    assert not unjustified, (
        f"cfn-lint warnings in template.yaml (fix them, or justify them in ALLOWED_SOURCE_WARNINGS):\n{_format(unjustified)}"
    )


def test_state_machine_definitions_exist_and_are_json(template: dict[str, Any]) -> None:
    paths = _state_machine_definition_paths(template)
    assert paths, "no AWS::Serverless::StateMachine with a DefinitionUri in template.yaml"
    for lid, path in paths.items():
        assert path.is_file(), f"{lid}: DefinitionUri {path.relative_to(ROOT)} does not exist"
        definition = json.loads(path.read_text(encoding="utf-8"))
        assert "StartAt" in definition and "States" in definition, f"{lid}: {path} is not ASL"


def test_cfn_lint_reports_no_errors_on_translated_template(template: dict[str, Any], cfn: dict[str, Any]) -> None:
    """The generated CloudFormation, with each state machine's ASL inlined as Definition so that
    cfn-lint validates the workflow definitions against the States Language schema as well."""
    generated = copy.deepcopy(cfn)
    for lid, path in _state_machine_definition_paths(template).items():
        assert path.is_file(), f"{lid}: DefinitionUri {path.relative_to(ROOT)} does not exist"
        props = generated["Resources"][lid]["Properties"]
        props.pop("DefinitionS3Location", None)
        props["Definition"] = json.loads(path.read_text(encoding="utf-8"))

    matches = lint(json.dumps(generated), config=ManualArgs(regions=LINT_REGIONS))
    errors, warnings = _split(matches)
    assert not errors, f"cfn-lint errors in the translated template:\n{_format(errors)}"

    def allowed(m: Any) -> bool:
        path = list(getattr(m, "path", []) or [])
        lid = str(path[1]) if len(path) > 1 and path[0] == "Resources" else ""
        return any(m.rule.id == rule and lid.startswith(prefix) for rule, prefix in ALLOWED_TRANSLATED_WARNINGS)

    unjustified = [m for m in warnings if not allowed(m)]
    assert not unjustified, (
        f"cfn-lint warnings in the translated template (fix them, or justify them in ALLOWED_TRANSLATED_WARNINGS):\n{_format(unjustified)}"
    )


# ------------------------------------------------------------------------------------- SAM translator


def test_translation_has_the_expected_resources(cfn: dict[str, Any]) -> None:
    types = [r["Type"] for r in cfn["Resources"].values()]
    assert not any(t.startswith("AWS::Serverless::") for t in types), "untranslated SAM resources"

    functions = _resources_of(cfn, "AWS::Lambda::Function")
    assert set(functions) == EXPECTED_FUNCTIONS, (
        f"Lambda functions {sorted(functions)}, expected {sorted(EXPECTED_FUNCTIONS)} "
        "(update EXPECTED_FUNCTIONS when the template gains a function)"
    )
    assert {"OnboardingStateMachine", "LoginStateMachine", "PasswordResetStateMachine"} <= set(
        _resources_of(cfn, "AWS::StepFunctions::StateMachine")
    )
    for kind in (
        "AWS::ApiGatewayV2::Api",
        "AWS::ApiGatewayV2::Stage",
        "AWS::Cognito::UserPool",
        "AWS::Cognito::UserPoolClient",
        "AWS::S3::Bucket",
        "AWS::Events::EventBus",
    ):
        assert types.count(kind) == 1, f"expected exactly one {kind}, found {types.count(kind)}"
    # HTTP API (1.00 USD per million requests, not REST's 3.50): no gateway API key, usage plan or REST API.
    assert not any(t.startswith("AWS::ApiGateway::") for t in types), "a REST API resource is left"
    assert "ApiKeyId" not in cfn["Outputs"]


def test_user_pool_requires_mfa_and_a_15_character_password_without_composition_rules_by_default(cfn: dict[str, Any]) -> None:
    """NIST SP 800-63B-4 3.1.1.2: at least 15 characters for a password, no composition rules."""
    pool = _only(cfn, "AWS::Cognito::UserPool")
    parameters = cfn["Parameters"]
    assert pool["MfaConfiguration"] == "ON"
    assert pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    policy = pool["Policies"]["PasswordPolicy"]
    assert _resolve(policy["MinimumLength"], parameters) == 15
    assert parameters["PasswordCompositionRules"]["Default"] == "false"
    assert cfn["Conditions"]["RequirePasswordComposition"] == {"Fn::Equals": [{"Ref": "PasswordCompositionRules"}, "true"]}
    for flag in ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols"):
        assert policy[flag] == {"Fn::If": ["RequirePasswordComposition", True, False]}, flag


@pytest.mark.parametrize(("composition", "required"), [("false", False), ("true", True)])
def test_the_composition_parameter_sets_the_pools_four_character_rules(composition: str, required: bool) -> None:
    """PasswordCompositionRules "true" restores CognitoApi's policy (upper, lower, digit, symbol)."""
    template = load_template()
    resolver = Resolver(template, {"PasswordCompositionRules": composition}, pseudo={})
    policy = resolver.resolve(template["Resources"]["UserPool"]["Properties"]["Policies"]["PasswordPolicy"])
    assert [policy[flag] for flag in ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols")] == [required] * 4


def test_functions_get_the_password_policy_the_user_pool_has(cfn: dict[str, Any]) -> None:
    """authflow checks new passwords itself (to say why one is refused) with the pool's own parameters."""
    functions = _resources_of(cfn, "AWS::Lambda::Function")
    for name, function in functions.items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["PASSWORD_MINIMUM_LENGTH"] == {"Ref": "PasswordMinimumLength"}, name
        assert variables["PASSWORD_COMPOSITION_RULES"] == {"Ref": "PasswordCompositionRules"}, name
        assert variables["PWNED_PASSWORDS_RANGE_URL"] == {"Ref": "PwnedPasswordsRangeUrl"}, name
    assert cfn["Parameters"]["PwnedPasswordsRangeUrl"]["Default"] == "https://api.pwnedpasswords.com/range"


def test_user_pool_client_revokes_tokens_and_hides_user_existence(cfn: dict[str, Any]) -> None:
    client = _only(cfn, "AWS::Cognito::UserPoolClient")
    parameters = cfn["Parameters"]
    assert client["EnableTokenRevocation"] is True
    assert client["PreventUserExistenceErrors"] == "ENABLED"
    # a secret, so Cognito's client APIs need its SECRET_HASH (issue 15 item 6); the functions read it
    # from AppClientSecret, which holds the client's own secret
    assert client["GenerateSecret"] is True
    assert cfn["Resources"]["AppClientSecret"]["Properties"]["SecretString"] == {"Fn::GetAtt": ["UserPoolClient", "ClientSecret"]}
    # access and id 1 h, refresh 24 h by default (spec section 2)
    units = client["TokenValidityUnits"]
    assert (_resolve(client["AccessTokenValidity"], parameters), units["AccessToken"]) == (60, "minutes")
    assert (_resolve(client["IdTokenValidity"], parameters), units["IdToken"]) == (60, "minutes")
    assert (_resolve(client["RefreshTokenValidity"], parameters), units["RefreshToken"]) == (24, "hours")


@pytest.mark.parametrize(
    ("tier", "threat_protection", "accepted"),
    [
        ("LITE", "OFF", True),
        ("ESSENTIALS", "OFF", True),
        ("PLUS", "OFF", True),
        ("PLUS", "AUDIT", True),
        ("PLUS", "ENFORCED", True),
        ("LITE", "ENFORCED", False),
        ("ESSENTIALS", "AUDIT", False),
    ],
)
def test_threat_protection_is_a_parameter_allowed_only_on_the_plus_tier(
    template: dict[str, Any], tier, threat_protection, accepted
) -> None:
    parameters = {"UserPoolTier": tier, "ThreatProtection": threat_protection}
    resolver = Resolver(template, parameters, pseudo={})
    assert (resolver.broken_rules() == []) is accepted
    pool = resolver.resolve(template["Resources"]["UserPool"]["Properties"]["UserPoolAddOns"])
    assert pool == {"AdvancedSecurityMode": threat_protection}
    assert template["Parameters"]["ThreatProtection"]["Default"] == "OFF"


def test_the_local_stack_refuses_what_the_rules_refuse(template: dict[str, Any]) -> None:
    provisioner = Provisioner(template, {"UserPoolTier": "LITE", "ThreatProtection": "ENFORCED"}, runtime=None, stack_name="rules")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs UserPoolTier PLUS"):
        provisioner.provision()


def test_qr_bucket_is_encrypted_and_blocks_all_public_access(cfn: dict[str, Any]) -> None:
    bucket = _only(cfn, "AWS::S3::Bucket")
    rules = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rules and all(r["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms", "aws:kms:dsse") for r in rules)
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }


def test_unconfirmed_reenrolment_qr_codes_expire_and_onboardings_are_left_to_onboarding(cfn: dict[str, Any]) -> None:
    """A re-enrolment's QR code nobody confirmed is a picture of a seed: the bucket expires it after a
    day (S3's shortest), under the prefix the QR store writes it to; onboarding's codes are not touched."""
    from authflow.qr import ONBOARDING_PREFIX, REENROLMENT_PREFIX, QrCodeStore

    (rule,) = _only(cfn, "AWS::S3::Bucket")["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled" and rule["ExpirationInDays"] == 1
    assert rule["Prefix"] == REENROLMENT_PREFIX and QrCodeStore.key("u-1", reenrolment=True).startswith(REENROLMENT_PREFIX)
    assert not ONBOARDING_PREFIX.startswith(REENROLMENT_PREFIX) and not QrCodeStore.key("u-1").startswith(rule["Prefix"])


def test_event_bus_is_named_after_the_environment(cfn: dict[str, Any]) -> None:
    bus = _only(cfn, "AWS::Events::EventBus")
    assert bus["Name"] == {"Fn::Sub": "authflow-${Environment}"}
    archives = _resources_of(cfn, "AWS::Events::Archive")
    assert any(a["Properties"]["SourceArn"] == {"Fn::GetAtt": ["EventBus", "Arn"]} for a in archives.values()), "the bus has no archive"


def test_the_http_api_sends_every_request_of_the_v1_stage_to_the_live_alias(cfn: dict[str, Any]) -> None:
    """CognitoApi's URLs (.../v1/<route>): stage v1; one $default route, so unknown routes get the
    function's 404 in the one error shape; payload 2.0 to the `live` alias (SnapStart needs a version)."""
    body = _only(cfn, "AWS::ApiGatewayV2::Api")["Body"]
    assert list(body["paths"]) == ["$default"]
    route = body["paths"]["$default"]["x-amazon-apigateway-any-method"]
    integration = route["x-amazon-apigateway-integration"]
    assert route["isDefaultRoute"] is True and integration["payloadFormatVersion"] == "2.0" and integration["type"] == "aws_proxy"
    assert "${ApiFunctionAliaslive}" in integration["uri"]["Fn::Sub"]
    stage = _only(cfn, "AWS::ApiGatewayV2::Stage")
    assert stage["StageName"] == "v1" and stage["AutoDeploy"] is True
    assert stage["DefaultRouteSettings"] == {"ThrottlingRateLimit": 100, "ThrottlingBurstLimit": 200}
    assert cfn["Outputs"]["ApiUrl"]["Value"] == {"Fn::Sub": "https://${Api}.execute-api.${AWS::Region}.amazonaws.com/v1"}


def test_cors_preflight_is_answered_by_the_gateway_with_the_headers_a_browser_sends(cfn: dict[str, Any]) -> None:
    cors = _only(cfn, "AWS::ApiGatewayV2::Api")["Body"]["x-amazon-apigateway-cors"]
    assert cors["allowOrigins"] == ["*"]
    assert set(cors["allowMethods"]) == {"GET", "POST", "DELETE", "OPTIONS"}
    assert set(cors["allowHeaders"]) == {"content-type", "authorization", "x-api-key", "idempotency-key", "x-status-token"}


def test_the_per_source_ip_limit_reaches_the_api_function(template: dict[str, Any], cfn: dict[str, Any]) -> None:
    """Issue 15 item 6: HTTP API has no WAF, so the function counts requests per source IP."""
    parameters = template["Parameters"]
    assert (parameters["SourceIpRequestsPerWindow"]["Default"], parameters["SourceIpWindowSeconds"]["Default"]) == (500, 300)
    variables = _resources_of(cfn, "AWS::Lambda::Function")["ApiFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["SOURCE_IP_REQUESTS_PER_WINDOW"] == {"Ref": "SourceIpRequestsPerWindow"}
    assert variables["SOURCE_IP_WINDOW_SECONDS"] == {"Ref": "SourceIpWindowSeconds"}


def test_the_abuse_limits_default_to_the_documented_figures(template: dict[str, Any]) -> None:
    defaults = {name: template["Parameters"][name]["Default"] for name in template["Parameters"]}
    assert defaults["MailRequestsPerEmailPerHour"] == 5 and defaults["MailRequestsPerApiKeyPerHour"] == 1000
    assert (defaults["FailedAttemptLimit"], defaults["FailedAttemptWindowSeconds"], defaults["LockoutSeconds"]) == (5, 900, 900)


def test_every_function_runs_python_3_13(template: dict[str, Any], cfn: dict[str, Any]) -> None:
    functions = _resources_of(cfn, "AWS::Lambda::Function")
    assert functions
    for lid, fn in functions.items():
        assert fn["Properties"].get("Runtime") == RUNTIME, f"{lid} runs {fn['Properties'].get('Runtime')}"
    # ... and the shared layer is built for, and compatible with, that runtime: by its Makefile
    # (tests/unit/test_build.py runs it), whose target Python is the runtime's.
    for lid, r in template["Resources"].items():
        if r["Type"] == "AWS::Serverless::LayerVersion":
            assert RUNTIME in r["Properties"]["CompatibleRuntimes"], lid
            assert r.get("Metadata", {}).get("BuildMethod") == "makefile", lid
            makefile = (ROOT / r["Properties"]["ContentUri"] / "Makefile").read_text()
            assert f"build-{lid}:" in makefile and f"PYTHON_VERSION ?= {RUNTIME.removeprefix('python')}" in makefile, lid


def test_iam_statements_use_the_narrowest_valid_resource(cfn: dict[str, Any]) -> None:
    """An action without resource-level permissions only matches Resource "*" (an ARN there
    silently grants nothing); an action with them must not be granted on "*"."""
    service_map = load_resource(AdditionalSpecs, "Policies.json")
    problems: list[str] = []
    for lid, role in _resources_of(cfn, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                if statement.get("Effect") != "Allow" or "Action" not in statement:
                    continue
                resources = statement.get("Resource")
                resources = resources if isinstance(resources, list) else [resources]
                actions = statement["Action"]
                for action in actions if isinstance(actions, list) else [actions]:
                    if "*" in action or ":" not in action:
                        continue
                    service, name = action.lower().split(":", 1)
                    info = service_map.get(service, {}).get("Actions", {}).get(name)
                    where = f"{lid}/{policy['PolicyName']}: {action}"
                    if info is None:
                        problems.append(f"{where} is not an IAM action")
                    elif not info.get("Resources") and resources != ["*"]:
                        problems.append(f'{where} has no resource-level permissions: use "*"')
                    elif info.get("Resources") and "*" in resources:
                        problems.append(f'{where} supports {info["Resources"]}: scope it, not "*"')
    assert not problems, "IAM statements:\n  " + "\n  ".join(problems)


# ------------------------------------------------------------------------------------- samconfig.toml


def test_samconfig_has_dev_and_prod_matching_the_template(template: dict[str, Any]) -> None:
    config = _samconfig()
    assert str(config.get("version")) == "0.1"
    environment = template["Parameters"]["Environment"]
    allowed = environment["AllowedValues"]

    for env in ("dev", "prod"):
        assert env in config, f"samconfig.toml has no [{env}] environment"
        deploy = config[env]["deploy"]["parameters"]
        overrides = _overrides(deploy["parameter_overrides"])
        unknown = set(overrides) - set(template["Parameters"])
        assert not unknown, f"[{env}] overrides parameters the template lacks: {sorted(unknown)}"
        assert overrides.get("Environment") in allowed, f"[{env}] Environment={overrides.get('Environment')!r} is not one of {allowed}"
        assert overrides["Environment"] == env
        assert deploy["stack_name"] == f"authflow-{env}"
        assert deploy["region"] in LINT_REGIONS, "lint in every region samconfig deploys to"
        capabilities = deploy["capabilities"]
        capabilities = capabilities.split() if isinstance(capabilities, str) else capabilities
        assert {"CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"} <= set(capabilities)
        assert deploy["resolve_s3"] is True
        build = config[env]["build"]["parameters"]
        assert build["cached"] is True and build["parallel"] is True

    assert config["prod"]["deploy"]["parameters"]["confirm_changeset"] is True


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_template_translates_with_each_environments_overrides(env: str) -> None:
    overrides = _overrides(_samconfig()[env]["deploy"]["parameters"]["parameter_overrides"])
    generated = _translate(overrides)
    layers = _resources_of(generated, "AWS::Lambda::LayerVersion")
    assert [layer["Properties"]["LayerName"] for layer in layers.values()] in (
        [f"authflow-{env}-shared"],
        [{"Fn::Sub": f"authflow-{env}-shared"}],
    )


# ------------------------------------------------------------------------------------- what operations cost (issue 13)


def test_xray_samples_the_stack_by_a_rule_whose_rate_is_a_parameter(template: dict[str, Any], cfn: dict[str, Any]) -> None:
    (rule,) = _resources_of(cfn, "AWS::XRay::SamplingRule").values()
    sampling = rule["Properties"]["SamplingRule"]
    assert sampling["FixedRate"] == {"Ref": "TraceSampleRate"} and sampling["ReservoirSize"] == {"Ref": "TraceReservoirPerSecond"}
    assert sampling["ServiceName"] == {"Fn::Sub": "authflow-${Environment}*"}, "the rule samples this stack's services only"
    assert template["Parameters"]["TraceSampleRate"]["Default"] == 0.01
    assert template["Parameters"]["TraceReservoirPerSecond"]["Default"] == 0
    # Lambda ignores sampling rules: its functions join sampled callers' traces and start none by default.
    assert template["Parameters"]["FunctionTracing"]["Default"] == "PassThrough"
    for logical_id, function in _resources_of(cfn, "AWS::Lambda::Function").items():
        assert function["Properties"]["TracingConfig"] == {"Mode": {"Ref": "FunctionTracing"}}, logical_id


def test_log_levels_are_parameters_with_quiet_production_defaults(template: dict[str, Any], cfn: dict[str, Any]) -> None:
    assert template["Parameters"]["LogLevel"]["Default"] == "WARN"
    assert template["Parameters"]["PlatformLogLevel"]["Default"] == "WARN"
    for logical_id, function in _resources_of(cfn, "AWS::Lambda::Function").items():
        properties = function["Properties"]
        assert properties["LoggingConfig"] == {
            "LogFormat": "JSON",
            "ApplicationLogLevel": {"Ref": "LogLevel"},
            "SystemLogLevel": {"Ref": "PlatformLogLevel"},
        }, logical_id
        assert properties["Environment"]["Variables"]["POWERTOOLS_LOG_LEVEL"] == {"Ref": "LogLevel"}, logical_id
    dev = _overrides(_samconfig()["dev"]["deploy"]["parameters"]["parameter_overrides"])
    assert dev["LogLevel"] == "INFO" and dev["FunctionTracing"] == "Active", "dev keeps the detail prod leaves out"


def test_the_api_function_gets_128_mb_and_the_rest_the_global_256(template: dict[str, Any], cfn: dict[str, Any]) -> None:
    """make cost's memory table: at 128 MB the API function costs about 40 % less a month for ~9 ms more a refresh.
    The Cognito trigger stays at 256 MB: Cognito gives it 5 s, cold start included."""
    memory = {logical_id: f["Properties"]["MemorySize"] for logical_id, f in _resources_of(cfn, "AWS::Lambda::Function").items()}
    assert template["Globals"]["Function"]["MemorySize"] == 256
    assert memory.pop("ApiFunction") == 128
    assert set(memory.values()) == {256}, memory


def test_the_audit_trail_keeps_a_queryable_quarter_and_a_replayable_year(template: dict[str, Any], cfn: dict[str, Any]) -> None:
    """90 days in the audit log group (Infrequent Access: half the ingestion price, Logs Insights still works), the year in
    the archive: the 12 months, 3 at hand, that PCI DSS 4.0 10.5.1 asks of an audit trail (README, Cost per user)."""
    assert template["Parameters"]["AuditLogRetentionDays"]["Default"] == 90
    assert template["Parameters"]["EventArchiveRetentionDays"]["Default"] == 365
    audit = cfn["Resources"]["AuditLogGroup"]["Properties"]
    assert audit["RetentionInDays"] == {"Ref": "AuditLogRetentionDays"}
    assert audit["LogGroupClass"] == {"Ref": "AuditLogClass"}
    assert template["Parameters"]["AuditLogClass"]["Default"] == "INFREQUENT_ACCESS"
    # The class has no metric or subscription filters: none may read the audit log group.
    for kind in ("AWS::Logs::MetricFilter", "AWS::Logs::SubscriptionFilter"):
        assert not _resources_of(cfn, kind), kind
