"""Every error code a client can receive is in the README's error table: the codes of the domain's
error classes and the codes the HTTP layer answers with itself. HTTP API's own few answers (stage
throttling, a body over 10 MB, a path outside the stage) carry no code: the README quotes their bodies."""

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import authflow
from authflow import errors

ROOT = Path(__file__).resolve().parents[2]
CODE = re.compile(r"^[A-Z]+(_[A-Z]+)+$|^[A-Z]{6,}$")


def readme_error_codes() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Errors", 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return {code for row in rows for code in re.findall(r"`([A-Z_]+)`", row)}


def _subclasses(cls: type[errors.AuthflowError]) -> list[type[errors.AuthflowError]]:
    return [sub for direct in cls.__subclasses__() for sub in (direct, *_subclasses(direct))]


def domain_error_codes() -> set[str]:
    """The codes of every error class of the package (the root class's default is never raised)."""
    for module in pkgutil.walk_packages(authflow.__path__, "authflow."):
        importlib.import_module(module.name)
    return {cls.code for cls in _subclasses(errors.AuthflowError)}


def _is_status(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, int) and 400 <= node.value <= 599


def http_layer_codes() -> set[str]:
    """Codes written as literals where the package shapes an error answer itself: arguments of an
    *error* call (error_response(app, 404, "NOT_FOUND", ...)) and (status, code, message) tuples."""
    found = set()
    for path in Path(authflow.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                candidates = node.args if "error" in name.lower() else []
            elif isinstance(node, ast.Tuple) and any(_is_status(element) for element in node.elts):
                candidates = node.elts
            else:
                continue
            found |= {c.value for c in candidates if isinstance(c, ast.Constant) and isinstance(c.value, str) and CODE.match(c.value)}
    return found


def test_the_code_scans_find_what_they_look_for():
    assert {"EMAIL_ALREADY_EXISTS", "WEBHOOK_NOT_FOUND", "IDEMPOTENCY_KEY_REUSED"} <= domain_error_codes()
    assert {"PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE", "INTERNAL_ERROR"} <= http_layer_codes()


def test_every_error_code_is_in_the_readme_error_table():
    documented = readme_error_codes()
    for source, codes in (
        ("functions/shared/authflow error classes", domain_error_codes()),
        ("functions/shared/authflow HTTP layer", http_layer_codes()),
    ):
        assert codes <= documented, f"codes of {source} missing from README.md's error table: {sorted(codes - documented)}"
