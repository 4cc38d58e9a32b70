"""`make coldstart`: each Lambda handler's import time in a fresh interpreter, and its package size.

For each AWS::Serverless::Function of template.yaml (CodeUri + Handler), on the artifacts the build
really produces:
- the shared layer built by its own Makefile (functions/shared/Makefile, the template's
  `BuildMethod: makefile`, which `sam build` runs): manylinux aarch64 wheels for CPython 3.13 and the
  authflow package, with the bytecode it ships; the function's package as sam build's python builder
  makes it (its CodeUri and own requirements.txt, no bytecode). Sizes are of these, zipped and not.
- Import time: the same two builds made for this machine's platform (aarch64 wheels do not load on
  x86_64), imported by a fresh interpreter of the runtime's Python version that writes no bytecode
  (/opt and /var/task are read-only in Lambda), with the environment the template gives the function;
  median of --runs runs, with the layer's shipped .pyc and, for comparison, from its sources alone.
  boto3 and botocore come from a separate, compiled directory, as Lambda's runtime provides them.
- The heavy modules (QR and image code, schema tooling, crypto) each import loads: they should be
  loaded only by the handlers that use them.

Builds are cached under build/coldstart/, keyed by what goes into them, so reruns are fast.
"""

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from infra.runtime_python import find_python
from measures.report import print_table, say

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "coldstart"
SHARED_REQUIREMENTS = ROOT / "functions" / "shared" / "requirements.txt"
SHARED_PACKAGE = ROOT / "functions" / "shared" / "authflow"
LAYER_MAKEFILE = ROOT / "functions" / "shared" / "Makefile"
CONSTRAINTS = ROOT / "constraints.txt"
HEAVY_MODULES = (
    "qrcode",
    "PIL",
    "pyotp",
    "jwt",
    "cryptography",
    "jsonschema",
    "fastjsonschema",
    "aws_lambda_powertools.event_handler.openapi.models",
    "aws_lambda_powertools.utilities.batch",
    "aws_lambda_powertools.utilities.idempotency",
    "email_validator",
    "pydantic_settings",
    "standardwebhooks",
    "aws_xray_sdk",
)
ARCH_PLATFORMS = {
    "arm64": ["manylinux2014_aarch64", "manylinux_2_28_aarch64", "manylinux_2_34_aarch64"],
    "x86_64": ["manylinux2014_x86_64", "manylinux_2_28_x86_64", "manylinux_2_34_x86_64"],
}
PROBE = r"""
import importlib, json, sys, time
code_dir, module = sys.argv[1], sys.argv[2]
sys.path[:0] = [code_dir] + sys.argv[3:]
started, cpu_started = time.perf_counter(), time.process_time()
importlib.import_module(module)
elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
heavy = json.loads(sys.stdin.read())
print(json.dumps({"import_ms": elapsed * 1000, "cpu_ms": cpu * 1000, "modules": len(sys.modules),
                  "heavy": sorted(h for h in heavy if h in sys.modules)}))
"""


@dataclass
class Function:
    logical_id: str
    code_dir: Path
    handler: str
    runtime: str
    architecture: str
    environment: dict[str, str]

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def python_version(self) -> str:
        return self.runtime.removeprefix("python")


def functions_of_template() -> list[Function]:
    """The template's functions with their runtime, architecture and resolved environment
    (references to other resources become placeholders: imports must not call AWS)."""
    from infra.template import Resolver, load_template

    template = load_template()

    class Placeholders(Resolver):
        def ref(self, name):
            try:
                return super().ref(name)
            except KeyError:
                return f"placeholder-{name.lower()}"

        def get_att(self, resource, attribute):
            return f"arn:aws:placeholder:us-east-1:123456789012:{resource.lower()}"

    pseudo = {
        "AWS::Region": "us-east-1",
        "AWS::AccountId": "123456789012",
        "AWS::Partition": "aws",
        "AWS::StackName": "authflow",
        "AWS::URLSuffix": "amazonaws.com",
    }
    resolver = Placeholders(template, {}, pseudo)
    defaults = template.get("Globals", {}).get("Function", {})
    found = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resource.get("Properties", {})
        variables = {
            **defaults.get("Environment", {}).get("Variables", {}),
            **props.get("Environment", {}).get("Variables", {}),
        }
        environment = {k: str(v) for k, v in resolver.resolve(variables).items()}
        found.append(
            Function(
                logical_id=logical_id,
                code_dir=ROOT / props.get("CodeUri", defaults.get("CodeUri", "")),
                handler=props.get("Handler", defaults.get("Handler", "")),
                runtime=props.get("Runtime", defaults.get("Runtime", "python3.13")),
                architecture=(props.get("Architectures") or defaults.get("Architectures") or ["x86_64"])[0],
                environment=environment,
            )
        )
    return found


# ---------------------------------------------------------------------- builds (cached)


def _key(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def _tree_digest(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(directory)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _run(command: list[str], log, what: str, env: dict[str, str] | None = None) -> None:
    log(f"building {what}")
    answer = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
    if answer.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{answer.stderr[-3000:]}")


def build_layer(python: str, platforms: list[str] | None, log=say) -> Path:
    """The shared layer as `sam build` makes it (functions/shared/Makefile, build-SharedLayer), for
    the runtime's platforms, or for this machine's (platforms=None) so that it can be imported here.
    Cached under build/coldstart/layers/ while the requirements, constraints, Makefile and authflow
    package are unchanged."""
    flavour = ",".join(platforms) if platforms else f"local-{python}"
    key = _key(
        SHARED_REQUIREMENTS.read_text(),
        CONSTRAINTS.read_text() if CONSTRAINTS.exists() else "",
        LAYER_MAKEFILE.read_text(),
        _tree_digest(SHARED_PACKAGE),
        flavour,
    )
    directory = BUILD / "layers" / f"SharedLayer-{'arm64' if platforms else 'local'}-{key}"
    if (directory / ".complete").exists():
        return directory
    shutil.rmtree(directory, ignore_errors=True)
    command = ["make", "-s", "-C", str(LAYER_MAKEFILE.parent), "build-SharedLayer", f"ARTIFACTS_DIR={directory}", f"PYTHON={python}"]
    if platforms:
        command.append(f"PLATFORMS={' '.join(platforms)}")
    else:
        command.append("PIP_TARGET_FLAGS=")
    env = {**os.environ, "PIP_CONSTRAINT": str(CONSTRAINTS), "PIP_ROOT_USER_ACTION": "ignore"}
    _run(command, log, f"{directory.relative_to(ROOT)} with functions/shared/Makefile ({flavour})", env)
    (directory / ".complete").write_text(" ".join(command))
    return directory


def build_function(function: Function, python: str, platforms: list[str] | None, log=say) -> Path:
    """The function's package as sam build's python builder makes it: its CodeUri and its own
    requirements.txt installed beside it, no bytecode."""
    flavour = ",".join(platforms) if platforms else f"local-{python}"
    key = _key(_tree_digest(function.code_dir), CONSTRAINTS.read_text() if CONSTRAINTS.exists() else "", flavour)
    directory = BUILD / "functions" / f"{function.logical_id}-{'arm64' if platforms else 'local'}-{key}"
    if (directory / ".complete").exists():
        return directory
    shutil.rmtree(directory, ignore_errors=True)
    shutil.copytree(function.code_dir, directory, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    own_requirements = function.code_dir / "requirements.txt"
    if own_requirements.exists():
        command = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
        command += ["--target", str(directory), "-r", str(own_requirements), "-c", str(CONSTRAINTS)]
        if platforms:
            command += [f"--platform={p}" for p in platforms]
            command += ["--python-version", function.python_version, "--implementation", "cp", "--only-binary=:all:"]
        _run(command, log, f"{directory.relative_to(ROOT)} ({flavour})", {**os.environ, "PIP_ROOT_USER_ACTION": "ignore"})
    (directory / ".complete").write_text(flavour)
    return directory


def runtime_sdk(python: str, log=say) -> Path:
    """boto3 and botocore as Lambda's python3.13 runtime provides them: outside the packages, and
    compiled (the runtime's own files carry bytecode). The version is constraints.txt's."""
    pin = next((line for line in CONSTRAINTS.read_text().splitlines() if line.lower().startswith("boto3==")), "boto3")
    directory = BUILD / "runtime-sdk" / f"{pin.replace('==', '-')}-{_key(python)}"
    if (directory / ".complete").exists():
        return directory
    shutil.rmtree(directory, ignore_errors=True)
    command = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target", str(directory), pin]
    _run(command, log, f"{directory.relative_to(ROOT)} (the runtime's SDK)", {**os.environ, "PIP_CONSTRAINT": str(CONSTRAINTS)})
    (directory / ".complete").write_text(pin)
    return directory


def sdk_floor(like: Function) -> Function:
    """A module that only imports the runtime's SDK and makes one client, as every handler does at
    init: the part of each import no change to authflow's packages can remove."""
    directory = BUILD / "sdk-floor"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sdk_floor.py").write_text('import boto3\n\nboto3.client("dynamodb")\n')
    return Function("SdkFloor", directory, "sdk_floor.handler", like.runtime, like.architecture, {})


def without_bytecode(directory: Path) -> Path:
    """A copy of a built package without its .pyc, to time what the bytecode saves."""
    copy = directory.with_name(directory.name + "-sources")
    if not (copy / ".complete").exists():
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(directory, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        (copy / ".complete").write_text("")
    return copy


def _files(directory: Path, prefix: str = ""):
    for path in sorted(directory.rglob("*")):
        if path.is_file() and path.name != ".complete":
            yield path, prefix + str(path.relative_to(directory))


def zip_size(sources: list[tuple[Path, str]], destination: Path) -> tuple[int, int]:
    """Writes the zip Lambda would get; (zipped bytes, unzipped bytes). Reuses the last zip while
    no file of the sources changed."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    listing = [
        (name, path.stat().st_size, path.stat().st_mtime_ns) for directory, prefix in sources for path, name in _files(directory, prefix)
    ]
    key = _key(json.dumps(listing))
    record = destination.with_suffix(".json")
    if destination.exists() and record.exists():
        saved = json.loads(record.read_text())
        if saved.get("key") == key:
            return saved["zipped"], saved["unzipped"]
    unzipped = 0
    with zipfile.ZipFile(destination, "w", zipfile.ZIP_DEFLATED) as archive:
        for directory, prefix in sources:
            for path, name in _files(directory, prefix):
                archive.write(path, name)
                unzipped += path.stat().st_size
    record.write_text(json.dumps({"key": key, "zipped": destination.stat().st_size, "unzipped": unzipped}))
    return destination.stat().st_size, unzipped


# ---------------------------------------------------------------------- the import probe


def import_once(python: list[str], function: Function, paths: list[Path], code_dir: Path | None = None, probe: str = PROBE) -> dict:
    """Imports the function's handler module from code_dir (its CodeUri by default) with `paths`
    after it, in a fresh interpreter that reads .pyc where the packages ship them and writes none
    (Lambda's /var/task and /opt are read-only); probe (PROBE's arguments, its answer a JSON line)
    says what to report."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        **function.environment,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "coldstart",
        "AWS_SECRET_ACCESS_KEY": "coldstart",
        # Any AWS call at import would fail fast on this closed loopback port (none is expected).
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_LAMBDA_FUNCTION_NAME": function.logical_id,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
        "LAMBDA_TASK_ROOT": str(code_dir or function.code_dir),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    answer = subprocess.run(
        [*python, "-I", "-B", "-c", probe, str(code_dir or function.code_dir), function.module, *map(str, paths)],
        input=json.dumps(HEAVY_MODULES),
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    if answer.returncode != 0:
        raise RuntimeError(f"importing {function.logical_id}'s {function.module} failed:\n{answer.stderr[-2000:]}")
    return json.loads(answer.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------- the measure


def measure(runs: int = 5, only: list[str] | None = None, log=say) -> dict:
    functions = [f for f in functions_of_template() if not only or f.logical_id in only]
    if not functions:
        raise SystemExit(f"no function matches {only}")
    version = functions[0].python_version
    found = find_python(version)
    if found is None:
        log(f"Python {version} was not found (set RUNTIME_PYTHON); timing with {sys.version.split()[0]} instead")
    python = found or sys.executable
    local_version = subprocess.run(
        [python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"], capture_output=True, text=True, check=True
    ).stdout.strip()
    platforms = ARCH_PLATFORMS.get(functions[0].architecture, ARCH_PLATFORMS["x86_64"])

    # What Lambda gets (sizes), and the same build for this machine's platform (timings).
    lambda_layer = build_layer(python, platforms, log)
    local_layer = build_layer(python, None, log)
    local_layer_sources = without_bytecode(local_layer)
    sdk = runtime_sdk(python, log)
    layer_zip, layer_unzipped = zip_size([(lambda_layer, "")], BUILD / "zips" / f"layer-{functions[0].architecture}.zip")

    prepared = []
    for function in functions:
        lambda_package = build_function(function, python, platforms, log)
        local_package = build_function(function, python, None, log)
        function_zip, function_unzipped = zip_size([(lambda_package, "")], BUILD / "zips" / f"{function.logical_id}.zip")
        shipped = (local_package, [local_layer / "python", sdk])
        sources = (local_package, [local_layer_sources / "python", sdk])
        row = {
            "function": function.logical_id,
            "handler": f"{function.code_dir.relative_to(ROOT)}/{function.handler}",
            "architecture": function.architecture,
            "function_zip": function_zip,
            "function_unzipped": function_unzipped,
            "layer_zip": layer_zip,
            "layer_unzipped": layer_unzipped,
        }
        prepared.append((function, shipped, sources, row))

    floor = sdk_floor(functions[0])

    # Runs interleave the handlers, so that a busy moment of the machine spreads over all of them.
    timed: dict[str, dict[str, list[dict]]] = {f.logical_id: {"shipped": [], "sources": []} for f, *_ in prepared}
    floor_runs = []
    for function, shipped, sources, _ in prepared:
        import_once([python], function, shipped[1], shipped[0])  # the files in the page cache, as for every later run
        import_once([python], function, sources[1], sources[0])
    for run in range(runs):
        for function, shipped, sources, _ in prepared:
            timed[function.logical_id]["shipped"].append(import_once([python], function, shipped[1], shipped[0]))
            timed[function.logical_id]["sources"].append(import_once([python], function, sources[1], sources[0]))
        floor_runs.append(import_once([python], floor, [sdk]))
        log(f"run {run + 1}/{runs} done")
    rows = []
    for function, _, _, row in prepared:
        shipped_runs, source_runs = timed[function.logical_id]["shipped"], timed[function.logical_id]["sources"]
        rows.append(
            {
                **row,
                "import_ms_median": statistics.median(r["import_ms"] for r in shipped_runs),
                "import_ms_runs": [round(r["import_ms"], 1) for r in shipped_runs],
                "cpu_ms_median": statistics.median(r["cpu_ms"] for r in shipped_runs),
                "import_ms_sources_median": statistics.median(r["import_ms"] for r in source_runs),
                "modules": shipped_runs[0]["modules"],
                "heavy": shipped_runs[0]["heavy"],
            }
        )
    return {
        "sdk_floor": {
            "import_ms_median": statistics.median(r["import_ms"] for r in floor_runs),
            "cpu_ms_median": statistics.median(r["cpu_ms"] for r in floor_runs),
        },
        "python": local_version,
        "exact_runtime_version": found is not None,
        "runtime": functions[0].runtime,
        "runs": runs,
        "functions": rows,
        "largest_in_layer": _largest_packages(lambda_layer / "python"),
    }


def _largest_packages(directory: Path, top: int = 5) -> list[tuple[str, int]]:
    sizes = {}
    for entry in directory.iterdir():
        if entry.name.endswith(".dist-info") or entry.name in ("bin", "__pycache__", ".complete"):
            continue
        sizes[entry.name] = sum(p.stat().st_size for p in entry.rglob("*") if p.is_file()) if entry.is_dir() else entry.stat().st_size
    return sorted(sizes.items(), key=lambda kv: kv[1], reverse=True)[:top]


def print_report(result: dict) -> None:
    def mb(n: int) -> str:
        return f"{n / 1e6:.2f}"

    rows = []
    for r in result["functions"]:
        rows.append(
            [
                r["function"],
                f"{r['import_ms_median']:.0f}",
                f"{r['cpu_ms_median']:.0f}",
                f"{r['import_ms_sources_median']:.0f}",
                str(r["modules"]),
                f"{r['function_zip'] / 1e3:.1f}",
                mb(r["layer_zip"]),
                mb(r["function_unzipped"] + r["layer_unzipped"]),
                ", ".join(SHORT.get(h, h) for h in r["heavy"]) or "-",
            ]
        )
    interpreter = f"Python {result['python']}" + ("" if result["exact_runtime_version"] else f", NOT the runtime's {result['runtime']}")
    print_table(
        f"Cold start per handler: import in a fresh interpreter ({interpreter}, median of {result['runs']} runs), "
        f"packages built for {result['runtime']} {result['functions'][0]['architecture']}",
        ["function", "import ms", "CPU ms", "no .pyc ms", "modules", "fn zip KB", "layer zip MB", "unzipped MB", "heavy modules at import"],
        rows,
        [
            "import ms: the artifacts as built (the layer ships .pyc; the function's own few KB compile at import), no bytecode written;",
            "CPU ms: the import's CPU time (user + system), which other jobs on a shared machine disturb less than the elapsed time;",
            "no .pyc ms: the same layer without its .pyc (every module compiled at import). modules: sys.modules after the import.",
            "layer zip: functions/shared/Makefile's build for the runtime (requirements + the authflow package, with .pyc);",
            "unzipped: function + layer (Lambda's limit is 250 MB). Largest in the layer: "
            + ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in result["largest_in_layer"]),
            "QR and image code (qrcode, PIL, pyotp) belongs to the API's confirm route only, which imports it when it draws a code.",
            f"Of each import, the runtime's SDK alone (import boto3 and make one client, as every handler does at init): "
            f"{result['sdk_floor']['import_ms_median']:.0f} ms, CPU {result['sdk_floor']['cpu_ms_median']:.0f} ms.",
        ],
    )


SHORT = {
    "aws_lambda_powertools.event_handler.openapi.models": "powertools.openapi.models",
    "aws_lambda_powertools.utilities.batch": "powertools.batch",
    "aws_lambda_powertools.utilities.idempotency": "powertools.idempotency",
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--function", action="append", help="logical id (repeatable); all by default")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    import time

    from measures.cost import machine_description

    result = measure(args.runs, args.function)
    say(f"Measured on {time.strftime('%Y-%m-%d')}, {machine_description()}")
    print_report(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
