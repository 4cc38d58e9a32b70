"""Cold start: the template's handlers, the import probe, and (with a cached build) the table."""

import sys
import zipfile

import pytest

from measures import coldstart

QR_AND_IMAGE = {"qrcode", "PIL", "pyotp"}


def test_every_function_of_the_template_is_measured_with_its_runtime_and_environment():
    functions = {f.logical_id: f for f in coldstart.functions_of_template()}
    assert {"ApiFunction", "OnboardingTaskFunction", "WebhookDeliveryFunction"} <= set(functions)
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


# What a handler's import loads, made and built, from this interpreter and the repository's sources.
LOADED_AT_IMPORT = r"""
import importlib, json, sys
code_dir, module = sys.argv[1], sys.argv[2]
sys.path[:0] = [code_dir] + sys.argv[3:]
import botocore.session
clients = []
create_client = botocore.session.Session.create_client
def counted(self, service_name, *args, **kwargs):
    clients.append(service_name)
    return create_client(self, service_name, *args, **kwargs)
botocore.session.Session.create_client = counted
importlib.import_module(module)
from authflow import models
built = [name for name, value in vars(models).items() if isinstance(value, type) and issubclass(value, models.Model) and value.__pydantic_complete__]
print(json.dumps({"modules": sorted(sys.modules), "clients": clients, "built": built}))
"""
# Each was measured to cost 10-45 ms of CPU per cold start (README, Cold start): no handler loads them at import.
NO_HANDLER_LOADS = {
    "pydantic_settings",  # settings are a plain model read from the environment
    "email_validator",  # only for the API's request models, built on first use
    "aws_lambda_powertools.event_handler.openapi.models",  # only for GET /v1/openapi.json
    "qrcode",  # QR and image code: the API's confirm route only, when it draws a code
    "PIL",
    "pyotp",
    "aws_xray_sdk",  # Lambda's active tracing needs no SDK
}
ONLY_FOR = {
    "aws_lambda_powertools.utilities.idempotency": {"ApiFunction"},  # the API's Idempotency-Key
    "aws_lambda_powertools.utilities.batch": {"UserImportFunction", "MailRequestFunction"},  # their batch processors
    "aws_lambda_powertools.event_handler": {"ApiFunction"},
}


@pytest.mark.parametrize("logical_id", [f.logical_id for f in coldstart.functions_of_template()])
def test_a_handler_import_loads_no_heavy_module_builds_no_model_and_makes_one_client_at_most(logical_id):
    """The levers of the README's cold start list, each guarded: a function imports what it uses,
    builds the models it reads on first use, and makes at init only the client every invocation needs
    (the status table's; the Cognito triggers none)."""
    function = next(f for f in coldstart.functions_of_template() if f.logical_id == logical_id)
    answer = coldstart.import_once([sys.executable], function, [coldstart.ROOT / "functions" / "shared"], probe=LOADED_AT_IMPORT)
    loaded = set(answer["modules"])
    assert not NO_HANDLER_LOADS & loaded, NO_HANDLER_LOADS & loaded
    for module, users in ONLY_FOR.items():
        assert (module in loaded) <= (logical_id in users), f"{logical_id} imports {module}"
    assert answer["built"] == [], "authflow's models are built on first use (defer_build), none at import"
    assert answer["clients"] in ([], ["dynamodb"]), f"clients made at import: {answer['clients']}"


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
