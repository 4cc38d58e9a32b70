"""The build path: `make build` finds the runtime's Python or says why not, and the shared layer's
Makefile (the template's `BuildMethod: makefile`, which `sam build` runs) builds a layer for arm64
and python3.13 with its bytecode and without the SDK the runtime provides.

The SAM CLI itself is not needed: the layer's target is run as sam build runs it (make with
ARTIFACTS_DIR), and `make build`'s answers without sam or without Python 3.13 are checked.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra import runtime_python

ROOT = Path(__file__).resolve().parents[2]
ELF_MACHINE_AARCH64 = 183
PYC_HASH_BASED_UNCHECKED = 0b01  # PEP 552 flags: hash-based, source not checked


def _minimal_path(tmp_path: Path) -> str:
    """PATH with make and the shell tools but no python3.13 and no sam."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # The interpreter itself, not a pyenv shim (which would put pyenv's versions back on PATH).
    os.symlink(os.path.realpath(sys.executable), bin_dir / "python3")
    return f"{bin_dir}:/usr/bin:/bin"


def test_the_runtime_python_is_found_with_its_version():
    python = runtime_python.find_python("3.13")
    if python is None:
        pytest.skip("no Python 3.13 on this machine (PATH or pyenv)")
    version = subprocess.run([python, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True, check=True)
    assert version.stdout.strip() == "(3, 13)"


def test_make_build_says_clearly_when_python_3_13_is_missing(tmp_path):
    env = {"PATH": _minimal_path(tmp_path), "PYENV_ROOT": str(tmp_path / "no-pyenv"), "HOME": str(tmp_path)}
    answer = subprocess.run(["make", "-s", "build"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert answer.returncode != 0
    assert "Python 3.13" in answer.stderr and "pyenv install 3.13" in answer.stderr and "RUNTIME_PYTHON" in answer.stderr


def test_make_build_says_clearly_when_the_sam_cli_is_missing(tmp_path):
    python = runtime_python.find_python("3.13")
    if python is None:
        pytest.skip("no Python 3.13 on this machine (PATH or pyenv)")
    env = {"PATH": _minimal_path(tmp_path), "RUNTIME_PYTHON": python, "HOME": str(tmp_path), "PYENV_VERSION": "3.13"}
    answer = subprocess.run(["make", "-s", "build"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert answer.returncode != 0
    assert "AWS SAM CLI" in answer.stderr


@pytest.fixture(scope="module")
def layer(tmp_path_factory) -> Path:
    """functions/shared/Makefile's build-SharedLayer, run as sam build runs it (in a copy of the
    ContentUri, ARTIFACTS_DIR set), for the template's arm64 and python3.13."""
    python = runtime_python.find_python("3.13")
    if python is None:
        pytest.skip("no Python 3.13 on this machine: sam build needs it too (make build says so)")
    scratch = tmp_path_factory.mktemp("sam-scratch")
    source = scratch / "shared"
    subprocess.run(["cp", "-R", str(ROOT / "functions" / "shared"), str(source)], check=True)
    artifacts = scratch / "SharedLayer"
    env = {**os.environ, "PIP_CONSTRAINT": str(ROOT / "constraints.txt"), "PIP_ROOT_USER_ACTION": "ignore"}
    answer = subprocess.run(
        ["make", "-s", "build-SharedLayer", f"ARTIFACTS_DIR={artifacts}", f"PYTHON={python}"],
        cwd=source,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if answer.returncode != 0 and "No matching distribution" in answer.stderr:
        pytest.skip(f"the aarch64 wheels cannot be fetched here: {answer.stderr[-300:]}")
    assert answer.returncode == 0, answer.stderr[-3000:]
    return artifacts / "python"


def test_the_layer_holds_aarch64_cpython_3_13_binaries(layer):
    binaries = list((layer / "pydantic_core").glob("_pydantic_core*.so"))
    assert [b.name for b in binaries] == ["_pydantic_core.cpython-313-aarch64-linux-gnu.so"]
    header = binaries[0].read_bytes()[:20]
    assert header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == ELF_MACHINE_AARCH64


def test_the_layer_ships_bytecode_lambda_can_use_without_the_sources_mtime(layer):
    for module in ("authflow/settings.py", "pydantic/main.py", "aws_lambda_powertools/logging/logger.py"):
        source = layer / module
        pyc = source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc"
        assert pyc.exists(), module
        flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
        assert flags == PYC_HASH_BASED_UNCHECKED, f"{module}: a zip does not keep the mtime a timestamp .pyc checks"
    assert not list(layer.glob("authflow/__pycache__/*.cpython-311.pyc")), "no bytecode of the build machine's Python"


def test_the_layer_leaves_the_sdk_to_the_runtime_and_carries_no_xray_sdk(layer):
    top_level = {p.name for p in layer.iterdir()}
    assert {"authflow", "pydantic", "aws_lambda_powertools"} <= top_level
    assert not {"boto3", "botocore", "s3transfer", "aws_xray_sdk", "wrapt"} & top_level
    assert "bin" not in top_level


def test_the_layer_imports_its_pure_python_parts(layer):
    """The authflow package in the layer is the repository's, importable (pure Python modules only:
    the aarch64 binaries do not load on this machine)."""
    answer = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); import authflow.errors; print(authflow.errors.__file__)",
            str(layer),
        ],
        capture_output=True,
        text=True,
    )
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.strip() == str(layer / "authflow" / "errors.py")
