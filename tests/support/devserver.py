"""The one devserver launcher: `python -m devserver` (what `make run` starts: moto server,
simulator, Chalice and the refresher loop) in a child process on a free loopback port.

Its environment is built from scratch (a few passthrough variables, then the given ones), so
nothing in this process's os.environ (a developer's keys, another test's settings) leaks in.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

from devserver.stack import REPO_ROOT, free_port
from tests.support.wait import wait_until

# Only what a process needs to run; everything app-related is set explicitly.
PASSTHROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "SYSTEMROOT", "XDG_CACHE_HOME")
START_TIMEOUT_SECONDS = 90


class DevServer:
    """`work_dir` holds the stack's data (`data/`, kept across restarts) and its log;
    `env` adds to the defaults (simulator at `speed`, backend poll interval 1 s); `host` is
    its `--host` (it is reached on loopback either way)."""

    def __init__(
        self,
        work_dir: Path,
        env: dict[str, str] | None = None,
        *,
        speed: float = 50.0,
        host: str | None = None,
    ) -> None:
        self.host = host
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.work_dir = Path(work_dir)
        self.env = {k: os.environ[k] for k in PASSTHROUGH if k in os.environ}
        self.env.update(
            POLL_INTERVAL_SECONDS="1",
            SIMULATOR_SPEED=str(speed),
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )
        self.env.update(env or {})
        self.log_path = self.work_dir / "devserver.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> DevServer:
        """Start (or start again, on the same port and data) and wait until it is healthy."""
        self.launch()
        self.wait_healthy()
        return self

    def launch(self) -> None:
        """Start the process without waiting (to start several at once)."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        data = str(self.work_dir / "data")
        command = [sys.executable, "-m", "devserver", "--port", str(self.port), "--data-dir", data]
        if self.host is not None:
            command += ["--host", self.host]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_healthy(self) -> None:
        try:
            wait_until(self._healthy, timeout=START_TIMEOUT_SECONDS, step=0.2, what="devserver")
        except AssertionError:
            self.stop()
            raise AssertionError(f"devserver did not start:\n{self.output()}") from None

    def _healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"devserver exited:\n{self.output()}")
        with contextlib.suppress(requests.RequestException):
            return requests.get(f"{self.url}/api/health", timeout=1).ok
        return False

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> str:
        """Stop it with `sig` (SIGINT is Ctrl-C), killing it after 60 s; its output."""
        process = self.process
        if process is not None and process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        return self.output()

    def __enter__(self) -> DevServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
