"""The interpreter of the functions' runtime (python3.13): `sam build` and `make coldstart` need it.

Looked for in COLDSTART_PYTHON / RUNTIME_PYTHON, then pyenv's versions, then PATH; each candidate is
run to check its version (a pyenv shim on PATH exists even when its version is not installed).

    python -m infra.runtime_python 3.13     prints the interpreter's path, or says why not (exit 1)
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path


def candidates(version: str) -> list[str]:
    found = [os.environ[name] for name in ("RUNTIME_PYTHON", "COLDSTART_PYTHON") if os.environ.get(name)]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    found += sorted(str(p) for p in pyenv_root.glob(f"versions/{version}*/bin/python{version}"))
    on_path = shutil.which(f"python{version}")
    if on_path:
        found.append(on_path)
    return found


def find_python(version: str) -> str | None:
    """The first candidate that runs and reports `version` (e.g. "3.13"), else None."""
    for candidate in candidates(version):
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
            return candidate
    return None


def main(argv: list[str]) -> int:
    version = argv[0] if argv else "3.13"
    python = find_python(version)
    if python is None:
        print(
            f"Python {version} (the functions' runtime, python{version}) was not found on PATH, in pyenv "
            f"({os.environ.get('PYENV_ROOT', '~/.pyenv')}/versions) or in RUNTIME_PYTHON. sam build needs it: "
            f"install it (e.g. `pyenv install {version}`) or set RUNTIME_PYTHON=/path/to/python{version}.",
            file=sys.stderr,
        )
        return 1
    print(python)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
