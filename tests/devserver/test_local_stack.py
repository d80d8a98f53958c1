"""End to end over real HTTP: `python -m devserver` (moto server, simulator, Chalice, the
refresher loop) in its own process; create, watch it complete, list, play, stop with Ctrl-C,
start again, still there."""

from __future__ import annotations

import signal

import pytest
import requests

from tests.support.devserver import DevServer
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e


def test_create_complete_list_play_and_survive_restart(tmp_path):
    stack = DevServer(tmp_path).start()
    base = stack.url
    try:
        page = requests.get(base + "/", timeout=5)
        assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
        created = requests.post(
            base + "/api/videos", json={"prompt": "A cozy campfire", "seconds": 4}, timeout=30
        )
        assert created.status_code == 201, created.text
        job_id = created.json()["job"]["id"]

        def terminal() -> dict | None:
            job = requests.get(f"{base}/api/videos/{job_id}", timeout=10).json()["job"]
            return job if job["status"] in ("completed", "failed") else None

        job = wait_until(terminal, timeout=60, step=0.2, what=f"job {job_id} terminal")
        assert job["status"] == "completed", job
        listed = requests.get(base + "/api/videos", timeout=10).json()["jobs"]
        assert [j["id"] for j in listed] == [job_id]
        video = requests.get(base + job["media_url"], timeout=10)
        assert video.status_code == 200 and video.headers["Content-Type"] == "video/mp4"
        assert video.content[4:8] == b"ftyp"
        ranged = requests.get(base + job["media_url"], headers={"Range": "bytes=0-99"}, timeout=10)
        assert ranged.status_code == 206 and len(ranged.content) == 100
    finally:
        output = stack.stop(signal.SIGINT)  # Ctrl-C, as in `make run`
    assert stack.process is not None and stack.process.returncode is not None
    # Everything stopped: the port is free again, and jobs and media survive a restart.
    stack.start()
    try:
        listed = requests.get(base + "/api/videos", timeout=10).json()["jobs"]
        assert [j["id"] for j in listed] == [job_id], output
        again = requests.get(base + job["media_url"], timeout=10)
        assert again.status_code == 200 and again.content == video.content
    finally:
        stack.stop()
