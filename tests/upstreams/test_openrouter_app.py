"""The app with OpenRouter as its only upstream, against the simulator's OpenRouter protocol:
the live catalog, create -> poll -> archive -> play with the actual cost, signed webhooks,
and the failures a user can act on. Routes, refresher and archive are the shared ones."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import pytest

from chalicelib.catalog.refresh import refresh_listings
from chalicelib.jobs import refresher
from chalicelib.media import store as media_store
from chalicelib.webhooks.signature import sign_openrouter
from simulator import SimulatorServer
from tests.support.api import body, get, post_json
from tests.support.aws import table_items
from tests.support.jobs import upstream_state
from tests.support.wait import wait_until

SECRET = "openrouter-webhook-secret-for-tests"
MODEL = "sim/veo-3.1-like"


@pytest.fixture
def openrouter_client(
    app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, simulator: SimulatorServer
) -> Any:
    """Only OPENROUTER_* set: no `/v1/videos` key, so every model comes from the listing."""
    for name in ("VIDEOS_API_KEY", "VIDEOS_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-test-key-0123456789")
    monkeypatch.setenv("OPENROUTER_BASE_URL", simulator.openrouter_url)
    monkeypatch.setenv("OPENROUTER_WEBHOOK_SECRET", SECRET)
    return None


@pytest.fixture
def app(openrouter_client: Any, client: Any) -> Any:
    assert refresh_listings() == {"openrouter": "refreshed"}
    return client


def finish(client: Any, job_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        refresher.refresh_pending()
        job = body(get(client, f"/api/videos/{job_id}"))["job"]
        return job if job["status"] in ("completed", "failed") else None

    return wait_until(done, timeout=60, step=0.1, what=f"job {job_id} finished")


def create(client: Any, **fields: Any) -> Any:
    return post_json(client, "/api/videos", {"model": MODEL, "seconds": 4, **fields})


def test_before_the_first_listing_no_model_is_offered_and_create_says_why(
    openrouter_client, client, aws
):
    config = body(get(client, "/api/config"))
    assert config["models"] == [] and config["catalog"] == {"loading": True, "error": None}
    response = create(client, prompt="a fox in the snow")
    assert response.status_code == 503
    assert body(response)["error"]["code"] == "no_models"
    assert response.headers["Retry-After"] == "60"
    assert jobs_stored(aws) == []


def test_a_listing_that_keeps_failing_says_why_instead_of_loading_forever(
    openrouter_client, client, aws, monkeypatch
):
    from chalicelib import runtime
    from chalicelib.upstreams.registry import provider_named
    from devserver.stack import free_port

    monkeypatch.setenv("OPENROUTER_BASE_URL", f"http://127.0.0.1:{free_port()}/api/v1")
    runtime.init()
    sleeps: list[float] = []  # the backoff between tries, taken without waiting it out
    provider = provider_named("openrouter")
    provider.retry = dataclasses.replace(provider.retry, sleep=sleeps.append)
    assert refresh_listings() == {"openrouter": "failed"}
    assert len(sleeps) == provider.retry.max_retries, sleeps
    catalog = body(get(client, "/api/config"))["catalog"]
    assert catalog["loading"] is True
    assert "could not reach OpenRouter" in catalog["error"]
    response = create(client, prompt="a fox")
    assert response.status_code == 503
    assert "could not be fetched" in body(response)["error"]["message"]
    assert "sk-or-" not in response.body.decode()


def jobs_stored(aws: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in table_items(aws) if not i["id"]["S"].startswith("catalog#")]


def test_the_catalog_is_the_accounts_live_listing(app):
    config = body(get(app, "/api/config"))
    assert config["catalog"] == {"loading": False, "error": None}
    models = {m["id"]: m for m in config["models"]}
    assert set(models) >= {MODEL, "sim/seedance-like", "sim/wan-like"}
    veo = models[MODEL]
    assert veo["provider"] == "openrouter"
    assert veo["seconds"] == [4, 6, 8]
    assert veo["capabilities"] == {
        "first_frame": True,
        "last_frame": True,
        "reference_images": 0,
        "audio": True,
        "seed": True,
        "remix": False,
        "extend": False,
    }
    assert (
        veo["price_per_second_with_audio_by_size"]["1280x720"]
        > veo["price_per_second_by_size"]["1280x720"]
    )
    # Built from resolution x aspect ratio (supported_sizes is null there).
    assert "1280x720" in models["sim/seedance-like"]["sizes"]


def test_openrouter_models_narrows_the_listing(app, monkeypatch):
    from chalicelib import runtime

    monkeypatch.setenv("OPENROUTER_MODELS", f"{MODEL},no/such-model")
    runtime.init()
    assert [m["id"] for m in body(get(app, "/api/config"))["models"]] == [MODEL]


def test_create_poll_archive_play_with_the_actual_cost(app, simulator, aws):
    response = create(app, prompt="a lighthouse at dusk", size="1280x720")
    assert response.status_code == 201, response.body
    job = body(response)["job"]
    assert job["provider"] == "openrouter" and job["cost_usd"] is None
    estimated = job["estimated_cost_usd"]
    assert estimated == pytest.approx(4 * 0.4)  # sound is on by default: the audio SKU
    done = finish(app, job["id"])
    assert done["status"] == "completed", done
    assert done["cost_usd"] is not None and done["cost_usd"] > 0
    usage = body(get(app, "/api/usage"))
    assert usage["spent_today_usd"] == pytest.approx(done["cost_usd"])
    key = media_store.media_key(job["id"], "video")
    stored = aws["s3"].get_object(Bucket=aws["settings"].media_bucket, Key=key)["Body"].read()
    assert stored[4:8] == b"ftyp"
    media = app.http.get(f"/api/videos/{job['id']}/media", headers={"Accept": "*/*"})
    assert media.status_code == 302
    assert done["thumbnail_url"] is None  # OpenRouter makes no thumbnail


def test_a_content_refusal_ends_the_job_as_moderation_blocked(app):
    job = body(create(app, prompt="something [fail:moderation]"))["job"]
    done = finish(app, job["id"])
    assert done["status"] == "failed"
    assert done["error_code"] == "moderation_blocked"


def test_an_account_out_of_credits_is_a_clear_402_and_stores_nothing(app, aws):
    response = create(app, prompt="a fox [fail:credits]")
    assert response.status_code == 402
    error = body(response)["error"]
    assert error["code"] == "upstream_out_of_credits"
    assert "credit" in error["message"]
    assert jobs_stored(aws) == []
    assert body(get(app, "/api/usage"))["pending"] == 0


def test_a_rate_limit_is_a_429_with_retry_after(app, aws):
    response = create(app, prompt="a fox [fail:ratelimit]")
    assert response.status_code == 429
    assert body(response)["error"]["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) >= 1
    assert jobs_stored(aws) == []


def test_an_upstream_error_on_create_is_a_502_with_nothing_half_made(app, aws):
    response = create(app, prompt="a fox [fail:create]")
    assert response.status_code == 502
    assert body(response)["error"]["code"] == "upstream_error"
    assert jobs_stored(aws) == []


def deliver(app: Any, event: dict[str, Any], *, secret: str = SECRET, at: int | None = None):
    raw = json.dumps(event).encode()
    timestamp = int(time.time()) if at is None else at
    data = event["data"]
    headers = {
        "Content-Type": "application/json",
        "X-OpenRouter-Signature": sign_openrouter(secret, timestamp, raw),
        "X-OpenRouter-Idempotency-Key": f"{data['id']}-{data['status']}",
    }
    return app.http.post("/api/webhooks/openrouter", headers=headers, body=raw)


def completed_event(upstream_id: str) -> dict[str, Any]:
    # The body claims success and a cost; the app re-reads the job upstream instead.
    return {
        "type": "video.generation.completed",
        "created_at": "2026-12-01T12:00:00.000Z",
        "data": {"id": upstream_id, "status": "completed", "usage": {"cost": 999.0}},
    }


def test_a_signed_webhook_refreshes_the_job_at_once_and_is_processed_once(app, simulator):
    job = body(create(app, prompt="a heron in the reeds"))["job"]
    upstream_id = job["sora_job_id"]
    wait_until(
        lambda: upstream_state(simulator, upstream_id).status == "completed",
        timeout=60,
        step=0.1,
        what="simulated render",
    )
    first = deliver(app, completed_event(upstream_id))
    assert first.status_code == 200 and body(first) == {"status": "processed"}
    seen = body(get(app, f"/api/videos/{job['id']}"))["job"]
    assert (seen["status"], seen["progress"]) == ("in_progress", 100)  # saving: the refresher
    assert seen["cost_usd"] != 999.0  # read from upstream, never from the body
    refresher.refresh_pending()
    assert body(get(app, f"/api/videos/{job['id']}"))["job"]["status"] == "completed"
    again = deliver(app, completed_event(upstream_id))
    assert body(again) == {"status": "duplicate"}


@pytest.mark.parametrize(
    "forgery",
    ["wrong secret", "stale timestamp", "tampered body", "no signature"],
)
def test_forged_or_replayed_webhooks_are_refused_with_400(app, forgery):
    event = completed_event("video_does_not_matter")
    raw = json.dumps(event).encode()
    now = int(time.time())
    signature = sign_openrouter(SECRET, now, raw)
    headers = {"X-OpenRouter-Idempotency-Key": "video_does_not_matter-completed"}
    if forgery == "wrong secret":
        signature = sign_openrouter("another-secret", now, raw)
    elif forgery == "stale timestamp":
        signature = sign_openrouter(SECRET, now - 301, raw)
    elif forgery == "tampered body":
        raw = raw.replace(b"completed", b"failed", 1)
    if forgery != "no signature":
        headers["X-OpenRouter-Signature"] = signature
    response = app.http.post(
        "/api/webhooks/openrouter",
        headers={"Content-Type": "application/json", **headers},
        body=raw,
    )
    assert response.status_code == 400
    assert body(response)["error"]["code"] == "invalid_webhook"


def test_a_non_ascii_signature_timestamp_is_a_400_not_a_500(app):
    raw = json.dumps(completed_event("x")).encode()
    response = app.http.post(
        "/api/webhooks/openrouter",
        headers={
            "Content-Type": "application/json",
            "X-OpenRouter-Signature": "t=²,v1=ü",
            "X-OpenRouter-Idempotency-Key": "x-completed",
        },
        body=raw,
    )
    assert response.status_code == 400
