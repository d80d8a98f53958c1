"""Run the Chalice CLI from an interpreter whose version is a supported Lambda runtime.

Chalice takes the Lambda runtime from the Python that runs it (python3.11 from a 3.11 venv).
To pin python3.12 whatever the local Python is, `chalice deploy/delete/package` run from
`.venv-deploy/` (git-ignored), a venv made on first use from `python3.12` (or `python3.13`,
or `$DEPLOY_PYTHON`) with requirements.txt installed: Chalice imports app.py there and builds
the Lambda dependencies for that runtime.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

SUPPORTED_RUNTIMES = ("python3.12", "python3.13")
INTERPRETERS = ("python3.12", "python3.13")
DEPLOY_VENV = ".venv-deploy"


class RuntimeNotSupported(RuntimeError):
    pass


def runtime_of(python: str) -> str:
    """`python3.X` of an interpreter, or "" when it does not run (e.g. an inactive pyenv shim)."""
    try:
        result = subprocess.run(
            [python, "-c", "import sys; print('python%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except OSError:
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


def _candidates() -> list[str]:
    override = os.environ.get("DEPLOY_PYTHON", "").strip()
    if override:
        return [override]
    found = [path for name in INTERPRETERS if (path := shutil.which(name))]
    # pyenv keeps versions that are installed but not active out of PATH
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    for name in INTERPRETERS:
        found += sorted(str(p) for p in pyenv_root.glob(f"versions/{name[6:]}*/bin/{name}"))
    return found


def find_base_python() -> str:
    """$DEPLOY_PYTHON, else python3.12, else python3.13 (on PATH, then in pyenv)."""
    for candidate in _candidates():
        if runtime_of(candidate) in SUPPORTED_RUNTIMES:
            return candidate
    raise RuntimeNotSupported(
        f"Need {' or '.join(INTERPRETERS)} to run Chalice (it sets the Lambda runtime from "
        "its own Python). Install one (e.g. `pyenv install 3.12`, `apt install python3.12`) "
        "or set DEPLOY_PYTHON=/path/to/python3.12."
    )


def ensure_deploy_python(project_dir: Path) -> str:
    """The interpreter of `.venv-deploy`, created or refreshed when requirements.txt changed."""
    venv = project_dir / DEPLOY_VENV
    python = venv / "bin" / "python"
    requirements = project_dir / "requirements.txt"
    stamp = venv / ".requirements.sha256"
    # Chalice itself need not be a Lambda requirement: pin the one this project runs.
    chalice = f"chalice=={metadata.version('chalice')}"
    digest = hashlib.sha256(requirements.read_bytes() + chalice.encode()).hexdigest()
    if python.exists() and runtime_of(str(python)) not in SUPPORTED_RUNTIMES:
        shutil.rmtree(venv)
    if not python.exists():
        base = find_base_python()
        print(f"Creating {DEPLOY_VENV} with {base} ({runtime_of(base)})")
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
    if not stamp.exists() or stamp.read_text() != digest:
        subprocess.run(
            [python, "-m", "pip", "install", "--quiet", chalice, "boto3", "-r", requirements],
            check=True,
        )
        stamp.write_text(digest)
    return str(python)


class ChaliceCli:
    """`chalice <command>` in `project_dir` run by `python` (default: `.venv-deploy`)."""

    def __init__(self, project_dir: Path, python: str | None = None, region: str = "") -> None:
        self.project_dir = project_dir
        self._python = python
        self.region = region

    @property
    def python(self) -> str:
        if self._python is None:
            self._python = ensure_deploy_python(self.project_dir)
        return self._python

    def run(self, args: Sequence[str]) -> None:
        env = dict(os.environ)
        if self.region:
            env["AWS_DEFAULT_REGION"] = self.region
        code = "import sys; from chalice.cli import main; sys.exit(main())"
        command = [self.python, "-c", code, "--project-dir", str(self.project_dir), *args]
        print("$ chalice " + " ".join(args), flush=True)
        subprocess.run(command, check=True, env=env, cwd=self.project_dir)

    def deploy(self, stage: str) -> None:
        self.run(["deploy", "--stage", stage])

    def delete(self, stage: str) -> None:
        self.run(["delete", "--stage", stage])

    def package(self, stage: str, merge_template: Path, outdir: Path) -> None:
        self.run(
            ["package", "--stage", stage, "--merge-template", str(merge_template), str(outdir)]
        )
