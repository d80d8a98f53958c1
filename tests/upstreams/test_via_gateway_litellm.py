"""The app through a real LiteLLM proxy (an OpenAI-compatible `/v1/videos` gateway) routing
`sora-2` to a simulator as an OpenAI backend: create -> poll -> archive -> play, remix,
delete, and upstream errors, with the gateway's differences handled by the client.

The proxy (see `gateway_support`) is installed once into its own venv and started in the
background when these tests are collected; a failed install or start fails them loudly.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from chalicelib.media import store as media_store
from simulator import SimulatorServer
from tests.support.api import body, get, post_json
from tests.support.aws import table_items
from tests.support.gateway import MODEL
from tests.support.jobs import settle

pytestmark = [pytest.mark.gateway, pytest.mark.timeout(1800)]


@pytest.fixture
def gateway_env(
    app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, litellm_proxy: dict[str, str]
) -> dict[str, str]:
    monkeypatch.setenv("VIDEOS_API_BASE_URL", litellm_proxy["url"])
    monkeypatch.setenv("VIDEOS_API_KEY", litellm_proxy["key"])
    monkeypatch.setenv("VIDEOS_UPSTREAM", "remote")
    return {**app_env, "VIDEOS_API_BASE_URL": litellm_proxy["url"]}


def finish(client: Any, job_id: str) -> dict[str, Any]:
    return settle(client, job_id, timeout=60)


def decoded(upstream_id: str) -> str:
    encoded = upstream_id.removeprefix("video_")
    return base64.b64decode(encoded + "=" * (-len(encoded) % 4)).decode()


@pytest.fixture
def simulator(litellm_proxy: dict[str, Any]) -> SimulatorServer:
    """The backend behind the gateway (not the session's simulator)."""
    return litellm_proxy["simulator"]


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
