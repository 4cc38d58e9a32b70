"""Reads template.yaml and resolves its intrinsic functions, so the local stack is built from it alone."""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"
NO_VALUE = object()


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !GetAtt, !Sub, ...)."""


def _construct_tag(loader: _CfnLoader, tag_suffix: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    if tag_suffix == "Condition":
        return {"Condition": value}
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE_PATH) -> dict:
    return yaml.load(path.read_text(), Loader=_CfnLoader)


@dataclass
class Resolver:
    """Evaluates Ref, Fn::GetAtt, Fn::Sub, Fn::If, Fn::Equals, Fn::Not against known values."""

    template: dict
    parameters: dict[str, str]
    pseudo: dict[str, str]
    refs: dict[str, Any] = field(default_factory=dict)
    attributes: dict[tuple[str, str], Any] = field(default_factory=dict)

    def parameter_values(self) -> dict[str, str]:
        values = {}
        for name, spec in self.template.get("Parameters", {}).items():
            value = self.parameters.get(name, spec.get("Default"))
            if value is None:
                raise ValueError(f"template parameter {name} has no value")
            allowed = spec.get("AllowedValues")
            if allowed and str(value) not in [str(a) for a in allowed]:
                raise ValueError(f"template parameter {name}={value!r} is not one of {allowed}")
            values[name] = str(value)
        return values

    def broken_rules(self) -> list[str]:
        """The AssertDescription of each template Rule whose assertions these parameters fail, as
        CloudFormation refuses such a stack before creating anything."""
        broken = []
        for rule in self.template.get("Rules", {}).values():
            if "RuleCondition" in rule and not self.resolve(rule["RuleCondition"]):
                continue
            broken += [a.get("AssertDescription", "a template rule") for a in rule["Assertions"] if not self.resolve(a["Assert"])]
        return broken

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        values = self.parameter_values()
        if name in values:
            return values[name]
        if name not in self.refs:
            raise KeyError(f"Ref {name} is not available yet")
        return self.refs[name]

    def get_att(self, resource: str, attribute: str) -> Any:
        key = (resource, attribute)
        if key not in self.attributes:
            raise KeyError(f"GetAtt {resource}.{attribute} is not available yet")
        return self.attributes[key]

    def _sub(self, text: str, variables: dict[str, Any]) -> str:
        def replace(match: re.Match) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name:
                return str(self.get_att(*name.split(".", 1)))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}!]+)\}", replace, text)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self.resolve(v) for v in value) if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self.ref(argument)
            if key == "Fn::GetAtt":
                return self.get_att(*argument)
            if key == "Fn::Sub":
                if isinstance(argument, str):
                    return self._sub(argument, {})
                text, variables = argument
                return self._sub(text, {k: self.resolve(v) for k, v in variables.items()})
            if key == "Fn::If":
                name, when_true, when_false = argument
                return self.resolve(when_true if self.condition(name) else when_false)
            if key == "Fn::Equals":
                left, right = (self.resolve(a) for a in argument)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.resolve(argument[0])
            if key == "Fn::Join":
                separator, parts = argument
                return separator.join(str(p) for p in self.resolve(parts))
            if key.startswith("Fn::"):
                raise NotImplementedError(f"{key} is not supported by the local stack")
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}


def dependencies(value: Any) -> set[str]:
    """Logical ids a property value refers to."""
    found: set[str] = set()
    if isinstance(value, list):
        for v in value:
            found |= dependencies(v)
    elif isinstance(value, dict):
        for key, argument in value.items():
            if key == "Ref" and isinstance(argument, str):
                found.add(argument)
            elif key == "Fn::GetAtt":
                found.add(argument[0])
            elif key == "Fn::Sub":
                text = argument if isinstance(argument, str) else argument[0]
                found |= {name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text)}
                if not isinstance(argument, str):
                    found |= dependencies(argument[1])
            else:
                found |= dependencies(argument)
    return found
