"""`make run` speaks either protocol with one setting: `python -m devserver` in its own
process with UPSTREAM_PROTOCOL unset (OpenAI `/v1/videos`) and `=veo` (Gemini API Veo), each
completing a job whose video downloads as a real MP4."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devserver.stack import REPO_ROOT, free_port

pytestmark = pytest.mark.e2e

STRIPPED = ("AWS_", "VIDEOS_", "OPENAI_", "GEMINI_", "MODEL_CATALOG_JSON", "UPSTREAM_PROTOCOL")


def launch(port: int, data_dir: Path, protocol: str | None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(STRIPPED)}
    env.update(SIMULATOR_SPEED="50", POLL_INTERVAL_SECONDS="1", LOG_LEVEL="WARNING")
    if protocol:
        env["UPSTREAM_PROTOCOL"] = protocol
    return subprocess.Popen(
        [sys.executable, "-m", "devserver", "--port", str(port), "--data-dir", str(data_dir)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_healthy(process: subprocess.Popen, base: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/api/health", timeout=1).ok:
                return
        except requests.ConnectionError:
            time.sleep(0.2)
        if process.poll() is not None:
            raise AssertionError(process.stdout.read() if process.stdout else "exited")
    raise AssertionError("local stack did not start")


def stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # handled even where SIGINT is ignored
    try:
        output, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate(timeout=10)
    return output or ""


@pytest.fixture(scope="module")
def stacks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Both stacks at once (they start in parallel): {"openai": url, "veo": url}."""
    running: dict[str, tuple[subprocess.Popen, str]] = {}
    try:
        for name, protocol in (("openai", None), ("veo", "veo")):
            port = free_port()
            data_dir = tmp_path_factory.mktemp(f"stack-{name}")
            running[name] = (launch(port, data_dir, protocol), f"http://127.0.0.1:{port}")
        for process, base in running.values():
            wait_healthy(process, base)
        yield {name: base for name, (_, base) in running.items()}
    finally:
        for process, _ in running.values():
            stop(process)


@pytest.mark.parametrize(
    ("protocol", "models", "upstream_prefix"),
    [
        ("openai", ["sora-2", "sora-2-pro"], "video_"),
        ("veo", ["veo-3.1-generate-preview", "veo-3.1-fast-generate-preview"], "models/veo-"),
    ],
    ids=["openai", "veo"],
)
def test_one_setting_switches_the_protocol(stacks, protocol, models, upstream_prefix):
    base = stacks[protocol]
    config = requests.get(f"{base}/api/config", timeout=10).json()
    assert [m["id"] for m in config["models"]] == models
    assert config["upstream"] == "simulator"
    created = requests.post(
        f"{base}/api/videos", json={"prompt": "A lighthouse at dusk", "seconds": 4}, timeout=30
    )
    assert created.status_code == 201, created.text
    job = created.json()["job"]
    assert job["model"] == models[0]
    assert job["sora_job_id"].startswith(upstream_prefix)
    deadline = time.monotonic() + 60
    while job["status"] not in ("completed", "failed") and time.monotonic() < deadline:
        time.sleep(0.3)
        job = requests.get(f"{base}/api/videos/{job['id']}", timeout=10).json()["job"]
    assert job["status"] == "completed", job
    video = requests.get(base + job["media_url"], timeout=30)
    assert video.status_code == 200 and video.headers["Content-Type"] == "video/mp4"
    assert video.content[4:8] == b"ftyp" and len(video.content) > 10_000
