"""Cold start: the template's handlers, the import probe, and (with a cached build) the table."""

import sys
import zipfile

import pytest

from measures import coldstart

QR_AND_IMAGE = {"qrcode", "PIL", "pyotp"}


def test_every_function_of_the_template_is_measured_with_its_runtime_and_environment():
    functions = {f.logical_id: f for f in coldstart.functions_of_template()}
    assert {"ApiFunction", "LoginTaskFunction", "WebhookDeliveryFunction"} <= set(functions)
    api = functions["ApiFunction"]
    assert api.runtime.startswith("python3") and api.architecture in ("arm64", "x86_64")
    assert (api.code_dir / f"{api.module}.py").exists()
    assert api.environment["POWERTOOLS_SERVICE_NAME"] == "authflow"
    assert api.environment["USER_POOL_ID"]  # a placeholder: imports must not need AWS


def test_zip_size_counts_what_the_package_holds_bytecode_included(tmp_path):
    source = tmp_path / "src"
    (source / "pkg").mkdir(parents=True)
    (source / "pkg" / "mod.py").write_text("x = 1\n" * 100)
    (source / "pkg" / "__pycache__").mkdir()
    (source / "pkg" / "__pycache__" / "mod.cpython-313.pyc").write_bytes(b"0" * 1000)
    zipped, unzipped = coldstart.zip_size([(source, "python/")], tmp_path / "out.zip")
    assert unzipped == 1600 and zipped > 0
    assert zipfile.ZipFile(tmp_path / "out.zip").namelist() == ["python/pkg/__pycache__/mod.cpython-313.pyc", "python/pkg/mod.py"]
    stripped = coldstart.without_bytecode(source)
    assert [p.name for p in stripped.rglob("*.py*")] == ["mod.py"], "the no-bytecode variant keeps the sources only"


def test_the_api_handler_imports_no_qr_or_image_code(tmp_path):
    """Run with this interpreter and the repository's sources: the API draws QR codes only on confirm."""
    api = next(f for f in coldstart.functions_of_template() if f.logical_id == "ApiFunction")
    result = coldstart.import_once([sys.executable], api, [coldstart.ROOT / "functions" / "shared"])
    assert result["import_ms"] > 0 and result["cpu_ms"] > 0 and result["modules"] > 100
    assert not QR_AND_IMAGE & set(result["heavy"]), result["heavy"]


def test_the_table_for_one_handler_from_the_cached_build(capsys):
    if coldstart.find_python("3.13") is None:
        pytest.skip("no Python 3.13 interpreter (the runtime's version) on this machine; set RUNTIME_PYTHON")
    if not any((p / ".complete").exists() for p in (coldstart.BUILD / "layers").glob("SharedLayer-arm64-*")):
        pytest.skip("no cached layer build under build/coldstart; `make coldstart` makes one")
    result = coldstart.measure(runs=1, only=["CognitoTriggerFunction"], log=lambda _: None)
    coldstart.print_report(result)
    out = capsys.readouterr().out
    assert "CognitoTrigger" in out and "layer zip MB" in out and "no .pyc ms" in out and "SDK alone" in out
    assert result["sdk_floor"]["cpu_ms_median"] > 0
    (row,) = result["functions"]
    assert row["layer_zip"] > row["function_zip"] > 0
    assert not QR_AND_IMAGE & set(row["heavy"])
    assert "aws_xray_sdk" not in row["heavy"], "Lambda's active tracing needs no SDK"
    assert [name for name, _ in result["largest_in_layer"] if name in ("botocore", "boto3")] == [], "the runtime provides the SDK"
