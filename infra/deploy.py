"""`make deploy`: `sam deploy` of one samconfig.toml environment, with parameters added to its own.

`sam deploy --parameter-overrides K=V` replaces the environment's parameter_overrides wholesale: a
prod deploy given only MailFromAddress would silently fall back to the template's Environment=dev.
This command starts from the environment's overrides in samconfig.toml, adds or changes the given
parameters (names the template does not declare are refused, and so is another Environment) and
runs `sam deploy --config-env ENV --parameter-overrides <all of them>`.

    python -m infra.deploy prod MailFromAddress=no-reply@example.com SesIdentityArn=arn:aws:ses:...
    python -m infra.deploy prod MailFromAddress=... --print      prints the command instead
"""

import argparse
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from infra.template import load_template

ROOT = Path(__file__).resolve().parent.parent
SAMCONFIG = ROOT / "samconfig.toml"


class DeployError(ValueError):
    pass


def samconfig(path: Path = SAMCONFIG) -> dict:
    with path.open("rb") as f:
        return tomllib.load(f)


def environment_overrides(config: dict, environment: str) -> dict[str, str]:
    """The environment's parameter_overrides (a "K=V K2=V2" string or a list of them) as a dict."""
    try:
        value = config[environment]["deploy"]["parameters"].get("parameter_overrides", [])
    except KeyError:
        raise DeployError(f"samconfig.toml has no [{environment}.deploy.parameters]") from None
    pairs = {}
    for item in value if isinstance(value, list) else [value]:
        for token in shlex.split(item):
            key, sep, val = token.partition("=")
            if not sep:
                raise DeployError(f"samconfig.toml [{environment}]: {token!r} is not KEY=VALUE")
            pairs[key] = val
    return pairs


def merged_overrides(environment: str, extra: list[str], config: dict, template_parameters: dict) -> dict[str, str]:
    merged = environment_overrides(config, environment)
    for token in extra:
        key, sep, value = token.partition("=")
        if not sep:
            raise DeployError(f"{token!r} is not NAME=VALUE")
        if key not in template_parameters:
            raise DeployError(f"template.yaml has no parameter {key!r} (it has {', '.join(sorted(template_parameters))})")
        if key == "Environment" and value != environment:
            raise DeployError(f"Environment={value} would deploy {environment}'s stack as {value}: use `make deploy ENV={value}`")
        merged[key] = value
    return merged


def _sam_value(value: str) -> str:
    """A value as SAM CLI's "Key=Value Key2=Value2" syntax reads it: double-quoted if it has spaces."""
    if value and not any(c.isspace() or c in '"\\' for c in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def deploy_command(environment: str, overrides: dict[str, str]) -> list[str]:
    pairs = " ".join(f"{key}={_sam_value(value)}" for key, value in overrides.items())
    return ["sam", "deploy", "--config-env", environment, "--parameter-overrides", pairs]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("environment", help="a samconfig.toml environment (dev, prod)")
    parser.add_argument("parameters", nargs="*", help="NAME=VALUE template parameters to add or change")
    parser.add_argument("--print", action="store_true", help="print the sam deploy command instead of running it")
    args = parser.parse_args(argv)
    try:
        overrides = merged_overrides(args.environment, args.parameters, samconfig(), load_template()["Parameters"])
    except DeployError as error:
        print(f"make deploy: {error}", file=sys.stderr)
        return 2
    command = deploy_command(args.environment, overrides)
    if args.print:
        print(shlex.join(command))
        return 0
    if shutil.which("sam") is None:
        print("make deploy: the AWS SAM CLI (sam) is not on PATH; README, Deploy, lists the prerequisites.", file=sys.stderr)
        return 1
    return subprocess.run(command, cwd=ROOT).returncode


if __name__ == "__main__":
    raise SystemExit(main())
