"""`make coldstart`: each Lambda handler's import time in a fresh interpreter, and its package size.

For each AWS::Serverless::Function of template.yaml (CodeUri + Handler):
- Packages, built for the template's runtime and architecture (python3.13, arm64) as `sam build`
  does: the shared layer (functions/shared/requirements.txt, with manylinux aarch64 wheels for
  CPython 3.13, plus the authflow package under python/), and the function's own package (its CodeUri
  and, if it has one, its own requirements.txt). Sizes are of the zip files and unzipped.
- Import time: the same files installed for this machine's platform (aarch64 wheels do not load on
  x86_64), imported by a fresh interpreter of the runtime's Python version, with the environment the
  template gives the function. Median of --runs runs, from sources only (`-B`, no bytecode cache:
  /opt and /var/task are read-only in Lambda and the packages carry no .pyc), and with a warm
  bytecode cache for comparison. boto3 comes from a separate directory, as the runtime provides it.
- The heavy modules (QR and image code, schema tooling, crypto) each import loads: they should be
  loaded only by the handlers that use them.

Builds are cached under build/coldstart/, keyed by the requirements, so reruns are fast.
"""

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from measures.report import print_table, say

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "coldstart"
SHARED_REQUIREMENTS = ROOT / "functions" / "shared" / "requirements.txt"
SHARED_PACKAGE = ROOT / "functions" / "shared" / "authflow"
CONSTRAINTS = ROOT / "constraints.txt"
HEAVY_MODULES = (
    "qrcode",
    "PIL",
    "pyotp",
    "jwt",
    "cryptography",
    "jsonschema",
    "fastjsonschema",
    "aws_lambda_powertools.event_handler.openapi",
    "email_validator",
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
started = time.perf_counter()
importlib.import_module(module)
elapsed = time.perf_counter() - started
heavy = json.loads(sys.stdin.read())
print(json.dumps({"import_ms": elapsed * 1000, "modules": len(sys.modules),
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


def _constraints() -> list[str]:
    return ["-c", str(CONSTRAINTS)] if CONSTRAINTS.exists() else []


def pip_target(
    requirements: Path,
    target_platform: list[str] | None,
    python_version: str,
    installer: list[str],
    log=say,
    compile_bytecode: bool = False,
) -> Path:
    """Installs requirements into a cached directory: for another platform (target_platform), or
    for the machine's own with the interpreter `installer` runs (with .pyc if compile_bytecode)."""
    text = requirements.read_text()
    flavour = ",".join(target_platform) if target_platform else f"local-{' '.join(installer)}-pyc{compile_bytecode}"
    directory = (
        BUILD
        / "deps"
        / f"{requirements.parent.name}-{_key(text, flavour, python_version, CONSTRAINTS.read_text() if CONSTRAINTS.exists() else '')}"
    )
    if (directory / ".complete").exists():
        return directory
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    command = [
        *installer,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        *([] if compile_bytecode else ["--no-compile"]),
        "--target",
        str(directory),
        "-r",
        str(requirements),
        *_constraints(),
    ]
    if target_platform:
        command += [f"--platform={p}" for p in target_platform]
        command += ["--python-version", python_version, "--implementation", "cp", "--only-binary=:all:"]
    log(f"building {directory.relative_to(ROOT)} ({'for ' + flavour if target_platform else 'for this machine'})")
    answer = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if answer.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{answer.stderr[-3000:]}")
    (directory / ".complete").write_text(" ".join(command))
    return directory


def _files(directory: Path, prefix: str = ""):
    for path in sorted(directory.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.name != ".complete" and not path.name.endswith(".pyc"):
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


# ---------------------------------------------------------------------- the runtime's interpreter


def find_python(version: str) -> tuple[list[str], bool]:
    """An interpreter of the runtime's Python version; else this one (the table then says so)."""
    candidates = []
    if os.environ.get("COLDSTART_PYTHON"):
        candidates.append(os.environ["COLDSTART_PYTHON"])
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted(str(p) for p in pyenv_root.glob(f"versions/{version}*/bin/python{version}"))
    if shutil.which(f"python{version}"):
        candidates.append(shutil.which(f"python{version}"))
    for candidate in candidates:
        try:
            answer = subprocess.run(
                [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=30,
                env={**os.environ, "PYENV_VERSION": os.environ.get("PYENV_VERSION", version)},
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if answer.returncode == 0 and answer.stdout.strip() == version:
            return [candidate], True
    return [sys.executable], False


def import_once(python: list[str], function: Function, paths: list[Path], bytecode_cache: Path | None) -> dict:
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
        "LAMBDA_TASK_ROOT": str(function.code_dir),
    }
    flags = ["-I"]
    if bytecode_cache is None:
        flags.append("-B")
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        flags += ["-X", f"pycache_prefix={bytecode_cache}"]  # -I ignores PYTHONPYCACHEPREFIX
    answer = subprocess.run(
        [*python, *flags, "-c", PROBE, str(function.code_dir), function.module, *map(str, paths)],
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
    python, exact = find_python(version)
    if not exact:
        log(f"Python {version} was not found (set COLDSTART_PYTHON); timing with {sys.version.split()[0]} instead")
    local_version = subprocess.run(
        [*python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"], capture_output=True, text=True, check=True
    ).stdout.strip()

    # The runtime's own boto3 (not packaged), for the local imports only.
    runtime_requirements = BUILD / "runtime-requirements" / "requirements.txt"
    runtime_requirements.parent.mkdir(parents=True, exist_ok=True)
    boto3_pin = next((line for line in CONSTRAINTS.read_text().splitlines() if line.lower().startswith("boto3==")), "boto3")
    if not runtime_requirements.exists() or runtime_requirements.read_text().strip() != boto3_pin:
        runtime_requirements.write_text(boto3_pin + "\n")
    # The runtime's boto3 comes compiled, as in Lambda's image; the packages do not.
    runtime_dir = pip_target(runtime_requirements, None, local_version, python, log, compile_bytecode=True)
    local_layer = pip_target(SHARED_REQUIREMENTS, None, local_version, python, log)

    prepared = []
    for function in functions:
        platforms = ARCH_PLATFORMS.get(function.architecture, ARCH_PLATFORMS["x86_64"])
        lambda_layer = pip_target(SHARED_REQUIREMENTS, platforms, function.python_version, [sys.executable], log)
        own_requirements = function.code_dir / "requirements.txt"
        function_sources = [(function.code_dir, "")]
        local_paths = [local_layer, ROOT / "functions" / "shared", runtime_dir]
        if own_requirements.exists():
            function_sources.append((pip_target(own_requirements, platforms, function.python_version, [sys.executable], log), ""))
            local_paths.insert(0, pip_target(own_requirements, None, local_version, python, log))
        layer_zip, layer_unzipped = zip_size(
            [(lambda_layer, "python/"), (SHARED_PACKAGE, "python/authflow/")], BUILD / "zips" / f"layer-{function.architecture}.zip"
        )
        function_zip, function_unzipped = zip_size(function_sources, BUILD / "zips" / f"{function.logical_id}.zip")
        prepared.append(
            (
                function,
                local_paths,
                {
                    "function": function.logical_id,
                    "handler": f"{function.code_dir.relative_to(ROOT)}/{function.handler}",
                    "architecture": function.architecture,
                    "function_zip": function_zip,
                    "function_unzipped": function_unzipped,
                    "layer_zip": layer_zip,
                    "layer_unzipped": layer_unzipped,
                },
            )
        )

    # Runs interleave the handlers, so that a busy moment of the machine spreads over all of them.
    cache = Path(tempfile.mkdtemp(prefix="pycache-", dir=BUILD))
    cold = {f.logical_id: [] for f, _, _ in prepared}
    warm = {f.logical_id: [] for f, _, _ in prepared}
    try:
        for function, paths, _ in prepared:
            import_once(python, function, paths, None)  # the files in the page cache, as for every later run
            import_once(python, function, paths, cache)  # writes the bytecode cache
        for run in range(runs):
            for function, paths, _ in prepared:
                cold[function.logical_id].append(import_once(python, function, paths, None))
                warm[function.logical_id].append(import_once(python, function, paths, cache))
            log(f"run {run + 1}/{runs} done")
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    rows = []
    for function, _, row in prepared:
        runs_cold, runs_warm = cold[function.logical_id], warm[function.logical_id]
        rows.append(
            {
                **row,
                "import_ms_median": statistics.median(r["import_ms"] for r in runs_cold),
                "import_ms_runs": [round(r["import_ms"], 1) for r in runs_cold],
                "import_ms_bytecode_median": statistics.median(r["import_ms"] for r in runs_warm),
                "modules": runs_cold[0]["modules"],
                "heavy": runs_cold[0]["heavy"],
            }
        )
    largest = _largest_packages(pip_target(SHARED_REQUIREMENTS, ARCH_PLATFORMS[functions[0].architecture], version, [sys.executable], log))
    return {
        "python": local_version,
        "exact_runtime_version": exact,
        "runtime": functions[0].runtime,
        "runs": runs,
        "functions": rows,
        "largest_in_layer": largest,
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
                f"{r['import_ms_bytecode_median']:.0f}",
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
        ["function", "import ms", ".pyc ms", "modules", "fn zip KB", "layer zip MB", "unzipped MB", "heavy modules at import"],
        rows,
        [
            "import ms: from sources, no bytecode cache (Lambda's /opt and /var/task are read-only and the packages carry no .pyc);",
            ".pyc ms: the same with a warm bytecode cache. modules: sys.modules after the import.",
            "layer zip: functions/shared/requirements.txt built for the runtime + the authflow package, shared by every function;",
            "unzipped: function + layer (Lambda's limit is 250 MB). Largest in the layer: "
            + ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in result["largest_in_layer"]),
            "QR and image code (qrcode, PIL, pyotp) belongs to the API's confirm route only, which imports it when it draws a code.",
        ],
    )


SHORT = {"aws_lambda_powertools.event_handler.openapi": "powertools.openapi", "email_validator": "email_validator"}


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
