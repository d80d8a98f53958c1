"""`make run` speaks either protocol with one setting: `python -m devserver` in its own
process with UPSTREAM_PROTOCOL unset (OpenAI `/v1/videos`) and `=veo` (Gemini API Veo), each
completing a job whose video downloads as a real MP4."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.support.devserver import DevServer
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stacks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Both stacks at once (they start in parallel): {"openai": url, "veo": url}."""
    running = {
        name: DevServer(tmp_path_factory.mktemp(f"stack-{name}"), env)
        for name, env in (("openai", {}), ("veo", {"UPSTREAM_PROTOCOL": "veo"}))
    }
    try:
        for stack in running.values():  # start all before waiting for any
            stack.launch()
        for stack in running.values():
            stack.wait_healthy()
        yield {name: stack.url for name, stack in running.items()}
    finally:
        for stack in running.values():
            stack.stop()


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

    def terminal() -> dict | None:
        current = requests.get(f"{base}/api/videos/{job['id']}", timeout=10).json()["job"]
        return current if current["status"] in ("completed", "failed") else None

    job = wait_until(terminal, timeout=60, step=0.2, what=f"job {job['id']} terminal")
    assert job["status"] == "completed", job
    video = requests.get(base + job["media_url"], timeout=30)
    assert video.status_code == 200 and video.headers["Content-Type"] == "video/mp4"
    assert video.content[4:8] == b"ftyp" and len(video.content) > 10_000
