"""A real LiteLLM proxy in front of a simulator, for the gateway tests.

LiteLLM is installed once into its own virtual environment (default
`~/.cache/sora-studio/litellm-<version>`, or `LITELLM_VENV`) and reused afterwards. Nothing
happens at import or collection: the `litellm_proxy` session fixture (tests/upstreams)
starts a `Gateway` when the first gateway test runs, and stops it at the end of the session.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests

from devserver.stack import free_port
from simulator import SimulatorServer
from tests.support.tool_cache import cache_dir, install_lock
from tests.support.wait import wait_until

LITELLM_VERSION = "1.106.12"  # 1.107-1.110 pin proxy extras that PyPI does not serve here
INSTALL_TIMEOUT_SECONDS = 1500
START_TIMEOUT_SECONDS = 240
MODEL = "sora-2"


class GatewayError(RuntimeError):
    """LiteLLM could not be installed or started; the message says why (with its output)."""


def venv_dir() -> Path:
    return cache_dir("LITELLM_VENV", f"litellm-{LITELLM_VERSION}")


def install_litellm(root: Path) -> Path:
    """`litellm[proxy]` in its own venv, installed once (under a file lock) and reused."""
    exe = root / "bin" / "litellm"
    marker = root / ".installed"
    with install_lock(root):
        if exe.exists() and marker.exists() and marker.read_text().strip() == LITELLM_VERSION:
            return exe
        steps = [
            [sys.executable, "-m", "venv", "--clear", str(root)],
            [
                str(root / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                f"litellm[proxy]=={LITELLM_VERSION}",
            ],
        ]
        for step in steps:
            done = subprocess.run(
                step, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_SECONDS
            )
            if done.returncode != 0:
                raise GatewayError(
                    f"installing LiteLLM {LITELLM_VERSION} failed ({' '.join(step[-2:])}):\n"
                    + (done.stdout + done.stderr)[-4000:]
                )
        if not exe.exists():
            raise GatewayError(f"LiteLLM installed but {exe} is missing")
        marker.write_text(LITELLM_VERSION)
        return exe


def proxy_config(backend_url: str, master_key: str) -> str:
    return f"""model_list:
  - model_name: {MODEL}
    litellm_params:
      model: openai/{MODEL}
      api_base: {backend_url}
      api_key: simulator-upstream-key
router_settings:
  num_retries: 0  # a create is billed: never let the gateway repeat one
general_settings:
  master_key: {master_key}
"""


class Gateway:
    """A simulator and the LiteLLM proxy in front of it, with their files in `work_dir`."""

    def __init__(self, work_dir: Path) -> None:
        self._work = Path(work_dir)
        self._process: subprocess.Popen[bytes] | None = None
        self.simulator: SimulatorServer | None = None

    def start(self) -> dict[str, Any]:
        """Install LiteLLM if needed, start both; {"url", "key", "simulator"}."""
        exe = install_litellm(venv_dir())
        self.simulator = SimulatorServer(speed=400.0, cache_dir=self._work / "media").start()
        master_key = "sk-gateway-" + secrets.token_hex(12)
        config = self._work / "config.yaml"
        config.write_text(proxy_config(self.simulator.url, master_key))
        port = free_port()
        skip = ("AWS_", "VIDEOS_", "OPENAI_", "GEMINI_", "DATABASE_", "LITELLM_")
        env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
        # No network here but loopback: the bundled cost map, no docs UI.
        env.update(LITELLM_LOCAL_MODEL_COST_MAP="True", NO_DOCS="True", LITELLM_LOG="ERROR")
        log_path = self._work / "litellm.log"
        with open(log_path, "wb") as log:
            self._process = subprocess.Popen(
                [str(exe), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
                cwd=self._work,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        base = f"http://127.0.0.1:{port}"

        def live() -> bool:
            assert self._process is not None
            if self._process.poll() is not None:
                raise GatewayError("the LiteLLM proxy exited:\n" + log_path.read_text()[-4000:])
            with contextlib.suppress(requests.RequestException):
                return requests.get(f"{base}/health/liveliness", timeout=2).ok
            return False

        try:
            wait_until(live, timeout=START_TIMEOUT_SECONDS, step=0.25, what="LiteLLM proxy")
        except AssertionError:
            raise GatewayError(
                "the LiteLLM proxy did not start:\n" + log_path.read_text()[-4000:]
            ) from None
        return {"url": f"{base}/v1", "key": master_key, "simulator": self.simulator}

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        if self.simulator is not None:
            self.simulator.stop()
