"""End to end over real HTTP: `python -m devserver` (moto server, simulator, Chalice, the
refresher loop) in its own process; create, watch it complete, list, play, restart, still there."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from devserver.stack import REPO_ROOT, free_port

pytestmark = pytest.mark.e2e


def start_stack(port: int, data_dir: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "VIDEOS_", "OPENAI_"))}
    env.update(SIMULATOR_SPEED="50", POLL_INTERVAL_SECONDS="1", LOG_LEVEL="WARNING")
    process = subprocess.Popen(
        [sys.executable, "-m", "devserver", "--port", str(port), "--data-dir", str(data_dir)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/health", timeout=1).ok:
                return process
        except requests.ConnectionError:
            time.sleep(0.2)
        if process.poll() is not None:
            raise AssertionError(process.stdout.read())
    process.kill()
    raise AssertionError("local stack did not start")


def stop_stack(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    return output


def test_create_complete_list_play_and_survive_restart(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_stack(port, tmp_path)
    try:
        page = requests.get(base + "/", timeout=5)
        assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
        created = requests.post(
            base + "/api/videos", json={"prompt": "A cozy campfire", "seconds": 4}
        )
        assert created.status_code == 201, created.text
        job_id = created.json()["job"]["id"]
        deadline = time.monotonic() + 60
        job = created.json()["job"]
        while job["status"] not in ("completed", "failed") and time.monotonic() < deadline:
            time.sleep(0.3)
            job = requests.get(f"{base}/api/videos/{job_id}", timeout=10).json()["job"]
        assert job["status"] == "completed", job
        listed = requests.get(base + "/api/videos", timeout=10).json()["jobs"]
        assert [j["id"] for j in listed] == [job_id]
        video = requests.get(base + job["media_url"], timeout=10)
        assert video.status_code == 200 and video.headers["Content-Type"] == "video/mp4"
        assert video.content[4:8] == b"ftyp"
        ranged = requests.get(base + job["media_url"], headers={"Range": "bytes=0-99"}, timeout=10)
        assert ranged.status_code == 206 and len(ranged.content) == 100
    finally:
        output = stop_stack(process)
    assert process.returncode is not None
    # Everything stopped: the port is free again, and jobs and media survive a restart.
    process = start_stack(port, tmp_path)
    try:
        listed = requests.get(base + "/api/videos", timeout=10).json()["jobs"]
        assert [j["id"] for j in listed] == [job_id], output
        again = requests.get(base + job["media_url"], timeout=10)
        assert again.status_code == 200 and again.content == video.content
    finally:
        stop_stack(process)
