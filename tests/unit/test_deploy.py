"""The deploy path as an operator walks it (issue 12, item 8): samconfig environments that keep their
parameters when more are given (infra/deploy.py, `make deploy`), the stack's outputs, the teardown
switch (UserPoolDeletionProtection) and SnapStart as template parameters, and README commands that
name their region."""

import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from infra import deploy
from infra.template import load_template
from tests.unit.test_template import _overrides, _resources_of, _samconfig, _translate

ROOT = Path(__file__).resolve().parents[2]
SES_IDENTITY = "arn:aws:ses:eu-west-1:123456789012:identity/example.com"


@pytest.fixture(scope="module")
def parameters() -> dict[str, Any]:
    return load_template()["Parameters"]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_adding_mail_parameters_keeps_the_environments_own(env, parameters):
    """`sam deploy --parameter-overrides MailFromAddress=...` alone would deploy prod as Environment=dev."""
    own = _overrides(_samconfig()[env]["deploy"]["parameters"]["parameter_overrides"])
    assert own["Environment"] == env

    merged = deploy.merged_overrides(
        env, ["MailFromAddress=no-reply@example.com", f"SesIdentityArn={SES_IDENTITY}"], _samconfig(), parameters
    )

    assert merged == {**own, "MailFromAddress": "no-reply@example.com", "SesIdentityArn": SES_IDENTITY}
    command = deploy.deploy_command(env, merged)
    assert command[:4] == ["sam", "deploy", "--config-env", env]
    assert command[4] == "--parameter-overrides"
    assert dict(token.split("=", 1) for token in shlex.split(command[5])) == merged


def test_a_given_parameter_changes_the_environments_value(parameters):
    merged = deploy.merged_overrides("dev", ["UserPoolDeletionProtection=ACTIVE"], _samconfig(), parameters)
    assert merged["UserPoolDeletionProtection"] == "ACTIVE" and merged["Environment"] == "dev"


@pytest.mark.parametrize(
    ("given", "refusal"),
    [
        (["Environment=dev"], "make deploy ENV=dev"),
        (["MailFrom=no-reply@example.com"], "no parameter 'MailFrom'"),
        (["MailFromAddress"], "not NAME=VALUE"),
    ],
)
def test_a_deploy_that_would_change_another_stack_or_a_misspelt_parameter_is_refused(given, refusal, parameters, capsys):
    with pytest.raises(deploy.DeployError, match=re.escape(refusal)):
        deploy.merged_overrides("prod", given, _samconfig(), parameters)
    assert deploy.main(["prod", *given, "--print"]) == 2
    assert refusal in capsys.readouterr().err


def test_values_with_spaces_reach_sam_quoted(parameters):
    merged = deploy.merged_overrides("dev", ['AppName=Acme "Login" Desk'], _samconfig(), parameters)
    pairs = deploy.deploy_command("dev", merged)[5]
    assert 'AppName="Acme \\"Login\\" Desk"' in pairs


def test_make_deploy_prints_the_merged_command(capsys):
    assert deploy.main(["prod", "MailFromAddress=no-reply@example.com", "--print"]) == 0
    printed = shlex.split(capsys.readouterr().out)
    overrides = dict(token.split("=", 1) for token in shlex.split(printed[printed.index("--parameter-overrides") + 1]))
    assert overrides["Environment"] == "prod" and overrides["MailFromAddress"] == "no-reply@example.com"


def test_every_state_machine_and_the_qr_bucket_are_stack_outputs():
    cfn = _translate()
    outputs = {name: output["Value"] for name, output in cfn["Outputs"].items()}
    for logical_id in _resources_of(cfn, "AWS::StepFunctions::StateMachine"):
        assert outputs.get(f"{logical_id}Arn") == {"Ref": logical_id}, f"no output gives {logical_id}'s ARN"
    assert outputs["QrCodeBucketName"] == {"Ref": "QrCodeBucket"}, "teardown empties this bucket first"


@pytest.mark.parametrize("protection", ["ACTIVE", "INACTIVE"])
def test_the_user_pools_deletion_protection_is_a_parameter(protection):
    cfn = _translate({"UserPoolDeletionProtection": protection})
    (pool,) = _resources_of(cfn, "AWS::Cognito::UserPool").values()
    assert pool["Properties"]["DeletionProtection"] in (protection, {"Ref": "UserPoolDeletionProtection"})


def test_prod_keeps_its_user_pool_protected_and_dev_can_be_torn_down():
    assert _overrides(_samconfig()["prod"]["deploy"]["parameters"]["parameter_overrides"])["UserPoolDeletionProtection"] == "ACTIVE"
    assert _overrides(_samconfig()["dev"]["deploy"]["parameters"]["parameter_overrides"])["UserPoolDeletionProtection"] == "INACTIVE"


@pytest.mark.parametrize("apply_on", ["None", "PublishedVersions"])
def test_snapstart_of_the_api_function_is_a_parameter_and_the_api_invokes_the_published_alias(apply_on, parameters):
    assert parameters["ApiSnapStart"]["Default"] == "None"
    cfn = _translate({"ApiSnapStart": apply_on})
    function = cfn["Resources"]["ApiFunction"]["Properties"]
    assert function["SnapStart"]["ApplyOn"] in (apply_on, {"Ref": "ApiSnapStart"})
    aliases = _resources_of(cfn, "AWS::Lambda::Alias")
    assert [a["Properties"]["Name"] for a in aliases.values()] == ["live"]
    (alias_id,) = aliases
    versions = _resources_of(cfn, "AWS::Lambda::Version")
    assert any(v["Properties"]["FunctionName"] == {"Ref": "ApiFunction"} for v in versions.values())
    # SnapStart applies to published versions only: the gateway must call the alias, not $LATEST.
    permissions = _resources_of(cfn, "AWS::Lambda::Permission")
    api_permissions = [p for p in permissions.values() if p["Properties"]["Principal"] == "apigateway.amazonaws.com"]
    assert api_permissions and all(p["Properties"]["FunctionName"] == {"Ref": alias_id} for p in api_permissions)


def test_every_aws_and_sam_command_of_the_deploy_section_names_its_region_or_environment():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("\n## Deploy") :]
    section = section[: section.find("\n## ", 1)] if "\n## " in section[1:] else section
    commands = [line.strip() for line in re.findall(r"```sh\n(.*?)```", section, re.S) for line in line.split("\n") if line.strip()]
    joined: list[str] = []
    for line in commands:  # continuation lines belong to the command before
        if joined and joined[-1].endswith("\\"):
            joined[-1] = joined[-1][:-1] + " " + line
        else:
            joined.append(line)
    # each command, and each command substituted in it ($(aws ...)), on its own
    pieces = []
    for command in joined:
        while substituted := re.search(r"\$\(([^()]*)\)", command):
            pieces.append(substituted[1].strip())
            command = command[: substituted.start()] + "SUBSTITUTED" + command[substituted.end() :]
        pieces.append(command)
    aws_commands = [c for c in pieces if re.match(r"(aws|sam) ", c)]
    assert aws_commands, "the Deploy section shows the commands"
    for command in aws_commands:
        assert "--region" in command or "--config-env" in command, f"no region in: {command}"
