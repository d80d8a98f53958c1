"""The app through a real LiteLLM proxy (an OpenAI-compatible `/v1/videos` gateway) routing
`sora-2` to the simulator as an OpenAI backend: create -> poll -> archive -> play, remix,
delete, and upstream errors, with the gateway's differences handled by the client.

LiteLLM is installed once into its own virtual environment (default
`~/.cache/sora-studio/litellm-<version>`, or `LITELLM_VENV`) and reused afterwards. A failed
install fails these tests loudly: they never skip.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from chalicelib import media_store, refresher
from devserver.stack import free_port
from simulator import SimulatorServer
from tests.backend.helpers import body, get, post_json, wait_until
from tests.conftest import table_items

pytestmark = [pytest.mark.gateway, pytest.mark.timeout(1800)]

LITELLM_VERSION = "1.106.12"  # 1.107-1.110 pin proxy extras that PyPI does not serve
INSTALL_TIMEOUT_SECONDS = 1500
START_TIMEOUT_SECONDS = 240
MODEL = "sora-2"


def venv_dir() -> Path:
    if os.environ.get("LITELLM_VENV"):
        return Path(os.environ["LITELLM_VENV"])
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "sora-studio" / f"litellm-{LITELLM_VERSION}"


def install_litellm(root: Path) -> Path:
    """`litellm[proxy]` in its own venv, installed once (under a lock) and reused."""
    exe = root / "bin" / "litellm"
    marker = root / ".installed"
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test run may be installing right now
        if exe.exists() and marker.read_text(encoding="utf-8").strip() == LITELLM_VERSION:
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
                pytest.fail(
                    f"installing LiteLLM {LITELLM_VERSION} failed ({' '.join(step[-2:])}):\n"
                    + (done.stdout + done.stderr)[-4000:],
                    pytrace=False,
                )
        if not exe.exists():
            pytest.fail(f"LiteLLM installed but {exe} is missing", pytrace=False)
        marker.write_text(LITELLM_VERSION, encoding="utf-8")
        return exe


def proxy_config(simulator: SimulatorServer, master_key: str) -> str:
    return f"""model_list:
  - model_name: {MODEL}
    litellm_params:
      model: openai/{MODEL}
      api_base: {simulator.url}
      api_key: simulator-upstream-key
router_settings:
  num_retries: 0  # a create is billed: never let the gateway repeat one
general_settings:
  master_key: {master_key}
"""


@pytest.fixture(scope="module")
def litellm_proxy(
    simulator: SimulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    exe = install_litellm(venv_dir())
    work = tmp_path_factory.mktemp("litellm")
    master_key = "sk-gateway-" + secrets.token_hex(12)
    config = work / "config.yaml"
    config.write_text(proxy_config(simulator, master_key), encoding="utf-8")
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "VIDEOS_", "OPENAI_", "GEMINI_", "DATABASE_", "LITELLM_"))
    }
    env.update(LITELLM_LOCAL_MODEL_COST_MAP="True", NO_DOCS="True", LITELLM_LOG="ERROR")
    log_path = work / "litellm.log"
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [str(exe), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
            cwd=work,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{base}/health/liveliness", timeout=2).ok:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    "the LiteLLM proxy did not start:\n" + log_path.read_text()[-4000:],
                    pytrace=False,
                )
            time.sleep(0.25)
        yield {"url": f"{base}/v1", "key": master_key, "log": str(log_path)}
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def gateway_env(
    app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, litellm_proxy: dict[str, str]
) -> dict[str, str]:
    monkeypatch.setenv("VIDEOS_API_BASE_URL", litellm_proxy["url"])
    monkeypatch.setenv("VIDEOS_API_KEY", litellm_proxy["key"])
    monkeypatch.setenv("VIDEOS_UPSTREAM", "remote")
    return {**app_env, "VIDEOS_API_BASE_URL": litellm_proxy["url"]}


def finish(client: Any, job_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        refresher.refresh_pending()
        job = body(get(client, f"/api/videos/{job_id}"))["job"]
        return job if job["status"] in ("completed", "failed") else None

    return wait_until(done, timeout=60, step=0.2)


def decoded(upstream_id: str) -> str:
    encoded = upstream_id.removeprefix("video_")
    return base64.b64decode(encoded + "=" * (-len(encoded) % 4)).decode()


def test_create_poll_archive_play_through_the_gateway(gateway_env, client, aws, simulator):
    seen = len(simulator.requests)
    created = post_json(client, "/api/videos", {"prompt": "A lighthouse at dusk", "seconds": 4})
    assert created.status_code == 201, created.body
    job = body(created)["job"]
    # LiteLLM's own ids carry its routing; the app keeps them opaque.
    assert decoded(job["sora_job_id"]).startswith("litellm:custom_llm_provider:openai;")
    final = finish(client, job["id"])
    assert final["status"] == "completed", final
    media = get(client, final["media_url"])
    assert media.status_code == 302
    key = media_store.media_key(final["id"], "video")
    data = aws["s3"].get_object(Bucket=aws["settings"].media_bucket, Key=key)["Body"].read()
    assert data[4:8] == b"ftyp" and len(data) > 10_000
    # The gateway ignores `variant` (it sends the MP4): no image is archived as one.
    assert get(client, f"{final['media_url']}?variant=thumbnail").status_code == 404
    reached = simulator.requests[seen:]
    assert ("POST", "/v1/videos") in reached
    assert any(path.endswith("/content") for _, path in reached)


def test_remix_through_the_gateway_keeps_polling_the_right_backend(gateway_env, client):
    created = body(post_json(client, "/api/videos", {"prompt": "A red boat"}))["job"]
    source = finish(client, created["id"])
    assert source["status"] == "completed", source
    remix = post_json(client, f"/api/videos/{source['id']}/remix", {"prompt": "at night"})
    assert remix.status_code == 201, remix.body
    remixed = body(remix)["job"]
    assert f";model_id:{MODEL};" in decoded(remixed["sora_job_id"])
    assert finish(client, remixed["id"])["status"] == "completed"


def test_delete_through_a_gateway_without_delete(gateway_env, client, aws):
    created = body(post_json(client, "/api/videos", {"prompt": "A kite"}))["job"]
    job = finish(client, created["id"])
    assert client.http.delete(f"/api/videos/{job['id']}").status_code == 204
    assert all(item["id"]["S"] != job["id"] for item in table_items(aws))


def test_upstream_failures_through_the_gateway(gateway_env, client, simulator):
    moderated = body(post_json(client, "/api/videos", {"prompt": "x [fail:moderation]"}))["job"]
    final = finish(client, moderated["id"])
    assert (final["status"], final["error_code"]) == ("failed", "moderation_blocked")
    before = simulator.stats["create"]
    limited = post_json(client, "/api/videos", {"prompt": "x [fail:ratelimit]"})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    failed = post_json(client, "/api/videos", {"prompt": "x [fail:create]"})
    assert failed.status_code == 502
    # Each create reached the backend once: our client never retries a billed create, and
    # the proxy is configured not to either (LiteLLM's router retries failed calls, creates
    # included, unless `router_settings.num_retries` is 0: 3 attempts each by default).
    creates = simulator.stats["create"] - before
    assert creates == 2, creates
    assert [j["id"] for j in body(get(client, "/api/videos"))["jobs"]] == [final["id"]]
