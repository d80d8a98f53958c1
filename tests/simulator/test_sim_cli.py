"""``python -m simulator``: options, environment variables, clean Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from simulator.__main__ import build_parser

ROOT = Path(__file__).resolve().parents[2]


def test_options_default_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "SIMULATOR_SPEED": "50",
        "SIMULATOR_EXPIRY_SECONDS": "120",
        "SIMULATOR_LATENCY_MS": "25",
        "VIDEOS_WEBHOOK_URL": "http://127.0.0.1:8000/api/webhooks/videos",
        "VIDEOS_WEBHOOK_SECRET": "whsec_c2VjcmV0",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    args = build_parser().parse_args([])
    assert (args.speed, args.expiry_seconds, args.latency_ms) == (50.0, 120, 25)
    assert args.webhook_url == env["VIDEOS_WEBHOOK_URL"]
    assert args.webhook_secret == env["VIDEOS_WEBHOOK_SECRET"]
    assert (args.host, args.port, args.api_key, args.cache_dir) == ("127.0.0.1", 8100, None, None)
    flags = build_parser().parse_args(["--speed", "2", "--port", "9000", "--api-key", "k"])
    assert (flags.speed, flags.port, flags.api_key) == (2.0, 9000, "k")  # flags win


def test_serves_until_interrupted(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIMULATOR_", "VIDEOS_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--port", "0", "--cache-dir", str(tmp_path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/v1)", line)
        assert match, line
        response = requests.get(
            match[1] + "/videos", headers={"Authorization": "Bearer k"}, timeout=5
        )
        assert response.json()["object"] == "list"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        assert "stopped" in process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
