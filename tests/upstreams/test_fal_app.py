"""The app with fal.ai as its only upstream, against the simulator's fal queue: the curated
catalog (and FAL_MODELS_JSON), create -> poll -> archive -> play, a first frame sent as a
presigned S3 URL the simulator fetches, the failures a user can act on, and fal's ED25519-
signed webhooks (processed once, re-read upstream; forgeries and stale ones refused)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chalicelib.jobs import refresher
from chalicelib.media import store as media_store
from chalicelib.upstreams.fal import split_upstream_id
from simulator import SimulatorServer
from simulator.webhooks import fal_signed_headers
from tests.support.api import body, get, post_json
from tests.support.aws import table_items
from tests.support.images import data_url, solid_png
from tests.support.jobs import load
from tests.support.wait import wait_until

VEO = "fal-ai/veo3.1/fast"
WAN = "fal-ai/wan/v2.7/text-to-video"
FAL_KEY = "fal-test-key-0123456789:secret"
WEBHOOK_URL = "https://studio.example/api/webhooks/fal"


@pytest.fixture
def fal_env(
    app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, simulator: SimulatorServer
) -> None:
    """Only FAL_* set: no `/v1/videos` key, so every model is a fal preset."""
    for name in ("VIDEOS_API_KEY", "VIDEOS_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FAL_KEY", FAL_KEY)
    monkeypatch.setenv("FAL_QUEUE_BASE_URL", simulator.fal_url)
    monkeypatch.setenv("FAL_JWKS_URL", simulator.fal_jwks_url)
    monkeypatch.setenv("FAL_WEBHOOK_URL", WEBHOOK_URL)


@pytest.fixture
def app(fal_env: None, client: Any) -> Any:
    return client


def create(client: Any, **fields: Any) -> Any:
    return post_json(client, "/api/videos", {"model": VEO, "seconds": 4, **fields})


def finish(client: Any, job_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        refresher.refresh_pending()
        job = body(get(client, f"/api/videos/{job_id}"))["job"]
        return job if job["status"] in ("completed", "failed") else None

    return wait_until(done, timeout=60, step=0.1, what=f"job {job_id} finished")


def jobs_stored(aws: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in table_items(aws) if not i["id"]["S"].startswith("catalog#")]


def request_of(job: dict[str, Any]) -> str:
    return split_upstream_id(job["sora_job_id"])[1]


def test_the_catalog_is_the_curated_fal_list(app):
    config = body(get(app, "/api/config"))
    models = {m["id"]: m for m in config["models"]}
    assert set(models) == {
        "fal-ai/veo3.1/fast",
        "fal-ai/veo3.1",
        "fal-ai/kling-video/v2.5-turbo/pro/text-to-video",
        "fal-ai/bytedance/seedance/v1.5/pro/text-to-video",
        "fal-ai/wan/v2.7/text-to-video",
        "fal-ai/minimax/hailuo-2.3/standard/text-to-video",
    }
    assert config["defaults"]["model"] == VEO
    veo = models[VEO]
    assert veo["provider"] == "fal" and veo["seconds"] == [4, 6, 8]
    assert veo["capabilities"]["first_frame"] is True and veo["capabilities"]["remix"] is False
    assert veo["price_per_second_with_audio_by_size"]["1280x720"] == 0.15
    assert "wire" not in veo  # the upstream's own names stay on the server


def test_fal_models_json_adds_and_replaces_entries_without_code(fal_env, monkeypatch, client):
    monkeypatch.setenv(
        "FAL_MODELS_JSON",
        json.dumps(
            [
                {"id": VEO, "label": "Veo, 8 s only", "sizes": ["1280x720"], "seconds": [8]},
                {
                    "id": "fal-ai/veo3.1/image-to-video",
                    "label": "Veo from a photo",
                    "sizes": ["1280x720"],
                    "seconds": [4],
                    "price_per_second_usd": 0.4,
                    "wire": {"inputs": {"prompt": "prompt", "seconds": "duration"}},
                },
            ]
        ),
    )
    from chalicelib import runtime

    runtime.init()
    models = {m["id"]: m for m in body(get(client, "/api/config"))["models"]}
    assert models[VEO]["label"] == "Veo, 8 s only" and models[VEO]["seconds"] == [8]
    added = models["fal-ai/veo3.1/image-to-video"]
    assert added["provider"] == "fal" and added["label"] == "Veo from a photo"


def test_create_poll_archive_play(app, simulator, aws):
    response = create(app, prompt="a lighthouse at dusk", size="1280x720")
    assert response.status_code == 201, response.body
    job = body(response)["job"]
    assert job["provider"] == "fal"
    assert job["sora_job_id"].startswith("fal-ai/veo3.1#")  # the app root, not the endpoint
    assert job["estimated_cost_usd"] == pytest.approx(4 * 0.15)  # Veo makes sound by default
    done = finish(app, job["id"])
    assert done["status"] == "completed", done
    assert done["thumbnail_url"] is None  # fal makes no thumbnail
    key = media_store.media_key(job["id"], "video")
    stored = aws["s3"].get_object(Bucket=aws["settings"].media_bucket, Key=key)["Body"].read()
    assert stored[4:8] == b"ftyp"
    media = app.http.get(f"/api/videos/{job['id']}/media", headers={"Accept": "*/*"})
    assert media.status_code == 302


def test_an_integer_duration_model_completes(app):
    job = body(create(app, model=WAN, prompt="waves on a shore", seconds=5))["job"]
    assert finish(app, job["id"])["status"] == "completed"


def test_a_first_frame_goes_to_fal_as_a_presigned_url_the_simulator_fetches(app, simulator):
    image = data_url(solid_png(1280, 720, (20, 160, 90)))
    response = create(app, prompt="the meadow comes alive", size="1280x720", input_reference=image)
    assert response.status_code == 201, response.body
    job = body(response)["job"]
    fetched = simulator.fal.fetched_images(request_of(job))
    assert len(fetched) == 1
    assert f"videos/{job['id']}/reference.png" in fetched[0]
    assert "Signature=" in fetched[0] or "X-Amz-Signature=" in fetched[0]
    assert finish(app, job["id"])["status"] == "completed"


def test_a_content_refusal_ends_the_job_as_moderation_blocked(app):
    job = body(create(app, prompt="something [fail:moderation]"))["job"]
    done = finish(app, job["id"])
    assert done["status"] == "failed"
    assert done["error_code"] == "moderation_blocked"


def test_a_render_failure_ends_the_job_failed(app):
    done = finish(app, body(create(app, prompt="a fox [fail:render]"))["job"]["id"])
    assert done["status"] == "failed" and done["error_code"] == "upstream_failed"


def test_an_exhausted_balance_is_a_clear_402_and_stores_nothing(app, aws):
    response = create(app, prompt="a fox [fail:credits]")
    assert response.status_code == 402
    assert body(response)["error"]["code"] == "upstream_out_of_credits"
    assert jobs_stored(aws) == []


def test_a_rate_limit_is_a_429_with_retry_after(app, aws):
    response = create(app, prompt="a fox [fail:ratelimit]")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert jobs_stored(aws) == []


def test_an_upstream_error_on_create_is_a_502_not_retried(app, simulator, aws):
    before = simulator.fal.stats["submit"]
    response = create(app, prompt="a fox [fail:create]")
    assert response.status_code == 502
    assert simulator.fal.stats["submit"] == before + 1  # billed: never sent twice
    assert jobs_stored(aws) == []


def deliver(app: Any, request_id: str, payload: dict[str, Any], **signing: Any) -> Any:
    raw = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", **fal_signed_headers(request_id, raw, **signing)}
    return app.http.post("/api/webhooks/fal?app=fal-ai%2Fveo3.1", headers=headers, body=raw)


def upstream_status(simulator: SimulatorServer, upstream_id: str) -> str:
    root, request_id = split_upstream_id(upstream_id)
    url = f"{simulator.fal_url}/{root}/requests/{request_id}/status"
    return str(requests.get(url, headers={"Authorization": "Key k"}, timeout=10).json()["status"])


def test_a_signed_webhook_refreshes_the_job_at_once_and_is_processed_once(app, simulator):
    job = body(create(app, prompt="a heron in the reeds"))["job"]
    wait_until(
        lambda: upstream_status(simulator, job["sora_job_id"]) == "COMPLETED",
        timeout=60,
        step=0.1,
        what="simulated render",
    )
    # The body claims an outcome; the app re-reads the request upstream instead.
    claim = {"request_id": request_of(job), "status": "OK", "payload": {"video": {"url": "x"}}}
    assert load(job["id"]).upstream_status == "queued"  # nothing has polled it yet
    first = deliver(app, request_of(job), claim)
    assert first.status_code == 200 and body(first) == {"status": "processed"}
    assert load(job["id"]).upstream_status == "completed"  # re-read upstream at once
    again = deliver(app, request_of(job), claim)
    assert body(again) == {"status": "duplicate"}
    assert finish(app, job["id"])["status"] == "completed"


def test_a_webhook_without_the_app_in_its_url_is_refused(app):
    raw = b'{"request_id": "r", "status": "OK"}'
    headers = {"Content-Type": "application/json", **fal_signed_headers("r" * 36, raw)}
    response = app.http.post("/api/webhooks/fal", headers=headers, body=raw)
    assert response.status_code == 400


@pytest.mark.parametrize("forgery", ["other key", "stale timestamp", "tampered body", "unsigned"])
def test_forged_or_replayed_webhooks_are_refused_with_400(app, forgery):
    payload = {"request_id": "0" * 36, "status": "OK", "payload": {}}
    raw = json.dumps(payload).encode()
    signing: dict[str, Any] = {}
    if forgery == "other key":
        signing["key"] = Ed25519PrivateKey.generate()
    elif forgery == "stale timestamp":
        signing["timestamp"] = int(time.time()) - 301
    headers = {"Content-Type": "application/json", **fal_signed_headers("0" * 36, raw, **signing)}
    if forgery == "tampered body":
        raw = raw.replace(b"OK", b"ERROR")
    if forgery == "unsigned":
        headers = {"Content-Type": "application/json"}
    response = app.http.post("/api/webhooks/fal?app=fal-ai%2Fveo3.1", headers=headers, body=raw)
    assert response.status_code == 400
    assert body(response)["error"]["code"] == "invalid_webhook"


def test_a_non_ascii_timestamp_is_a_400_not_a_500(app):
    raw = b'{"status": "OK"}'
    headers = {**fal_signed_headers("r" * 36, raw), "x-fal-webhook-timestamp": "²³"}
    response = app.http.post("/api/webhooks/fal?app=fal-ai%2Fveo3.1", headers=headers, body=raw)
    assert response.status_code == 400
