"""OpenRouter's Video API on the simulator: lifecycle, real media, errors, models, webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from simulator import SimulatorServer, probe
from tests.support.images import first_frame_rgb, solid_png
from tests.support.simulator import API_KEY, PROMPT, Client
from tests.support.wait import wait_until
from tests.support.webhooks import Receiver

SECRET = "or-signing-secret-1234"
MODEL_KEYS = {
    "id",
    "canonical_slug",
    "name",
    "created",
    "supported_resolutions",
    "supported_aspect_ratios",
    "supported_sizes",
    "supported_durations",
    "supported_frame_images",
    "upscale_factor",
    "creativity",
    "generate_audio",
    "seed",
    "allowed_passthrough_parameters",
    "pricing_skus",
}
SMALL = {"model": "sim/seedance-like", "resolution": "480p", "aspect_ratio": "16:9"}
BODY = {**SMALL, "prompt": PROMPT}


class OpenRouterClient(Client):
    def submit(self, **body: Any) -> dict[str, Any]:
        body.setdefault("prompt", PROMPT)
        response = self.post("/videos", json=body)
        assert response.status_code == 202, response.text
        return response.json()

    def finished(self, **body: Any) -> dict[str, Any]:
        return self.wait_for(self.submit(**body)["id"], "completed", "failed")


@pytest.fixture
def orapi(sim: SimulatorServer) -> Iterator[OpenRouterClient]:
    with OpenRouterClient(sim.openrouter_url) as session:
        yield session


def jobs(sim: SimulatorServer) -> int:
    assert sim.store is not None
    return len(sim.store)


def png_data_url(width: int, height: int, rgb: tuple[int, int, int]) -> str:
    return "data:image/png;base64," + base64.b64encode(solid_png(width, height, rgb)).decode()


def frame(frame_type: str, url: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}, "frame_type": frame_type}


def assert_error(response: requests.Response, status: int) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == status
    assert isinstance(error["message"], str) and error["message"]
    return error["message"]


def verify_openrouter(secret: str, header: str, body: bytes, now: float) -> bool:
    """Written from OpenRouter's docs, independently of the simulator's signing code."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    timestamp, digest = fields.get("t"), fields.get("v1")
    if not timestamp or not digest or not timestamp.isdigit():
        return False
    if now - int(timestamp) > 300:
        return False
    signed = timestamp.encode() + b"," + body
    expected = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, digest)


# --- models ---------------------------------------------------------------------------------
def test_the_model_list_covers_every_capability(sim: SimulatorServer) -> None:
    response = requests.get(sim.openrouter_url + "/videos/models", timeout=10)  # no key
    assert response.status_code == 200
    models = response.json()["data"]
    assert len(models) >= 4
    for model in models:
        assert set(model) >= MODEL_KEYS, model
        assert model["id"].startswith("sim/") and model["canonical_slug"] == model["id"]
        assert all(isinstance(d, int) for d in model["supported_durations"])
        assert model["pricing_skus"] and all(
            re.fullmatch(r"\d+\.\d+", price) for price in model["pricing_skus"].values()
        )
    frames = [m["supported_frame_images"] or [] for m in models]
    assert ["first_frame", "last_frame"] in frames and [] in frames
    assert any(m["supported_sizes"] is None for m in models)
    assert any(m["supported_sizes"] for m in models)
    assert any(m["seed"] is True for m in models) and any(m["seed"] is False for m in models)
    audio = [m for m in models if m["generate_audio"] is True]
    assert audio and all(any("audio" in sku for sku in m["pricing_skus"]) for m in audio)


# --- lifecycle ------------------------------------------------------------------------------
def test_submit_poll_complete_and_download_a_real_mp4(
    orapi: OpenRouterClient, tmp_path: Path
) -> None:
    created = orapi.submit(**SMALL, duration=4)
    assert created["status"] == "pending"
    assert created["polling_url"] == f"{orapi.base_url}/videos/{created['id']}"

    def completed() -> dict[str, Any] | None:
        job = requests.get(
            created["polling_url"], headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10
        ).json()
        assert job["status"] in ("pending", "in_progress", "completed"), job
        return job if job["status"] == "completed" else None

    job = wait_until(completed, timeout=20, what="the OpenRouter job completed")
    assert "progress" not in job  # the protocol has none
    assert job["generation_id"].startswith("gen-")
    assert job["usage"] == {"cost": pytest.approx(0.05 * 4), "is_byok": False}
    assert isinstance(job["expires_at"], int)
    [url] = job["unsigned_urls"]
    assert url == f"{created['polling_url']}/content?index=0"

    content = orapi.get(url.removeprefix(orapi.base_url))
    assert content.status_code == 200
    assert content.headers["content-type"] == "video/mp4"
    assert content.content[4:8] == b"ftyp"
    path = tmp_path / "video.mp4"
    path.write_bytes(content.content)
    width, height, seconds = probe(path)
    assert (width, height) == (854, 480)
    assert seconds == pytest.approx(4, abs=0.25)

    partial = orapi.get(f"/videos/{job['id']}/content", headers={"Range": "bytes=0-99"})
    assert partial.status_code == 206 and len(partial.content) == 100
    assert_error(requests.get(url, timeout=10), 401)  # unsigned URLs need the key
    assert_error(orapi.get(f"/videos/{job['id']}/content?index=1"), 404)
    assert_error(orapi.get(f"/videos/{job['id']}/content?index=-1"), 400)


def test_status_goes_pending_then_in_progress_then_completed(
    clock_sim: SimulatorServer, clock: Any
) -> None:
    with OpenRouterClient(clock_sim.openrouter_url) as orapi:
        job_id = orapi.submit(**SMALL, duration=4)["id"]  # (2 + 2 * 4) s at speed 1
        clock.advance(0.5)
        pending = orapi.get(f"/videos/{job_id}").json()
        assert pending["status"] == "pending" and "generation_id" not in pending
        clock.advance(4.5)
        running = orapi.get(f"/videos/{job_id}").json()
        assert running["status"] == "in_progress" and "unsigned_urls" not in running
        assert_error(orapi.get(f"/videos/{job_id}/content"), 404)
        clock.advance(6)
        done = orapi.wait_for(job_id, "completed")  # once ffmpeg has finished, in real time
        assert done["generation_id"] == running["generation_id"]
        clock.advance(clock_sim.expiry_seconds + 1)
        assert_error(orapi.get(f"/videos/{job_id}/content"), 404)  # expired


def test_a_size_with_a_first_frame_image_and_audio_pricing(
    orapi: OpenRouterClient, tmp_path: Path
) -> None:
    job = orapi.finished(
        model="sim/veo-3.1-like",
        size="1280x720",
        duration=4,
        seed=7,
        frame_images=[frame("first_frame", png_data_url(64, 36, (255, 0, 0)))],
        input_references=[{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}],
    )
    assert job["status"] == "completed", job
    assert job["usage"]["cost"] == pytest.approx(0.40 * 4)  # generate_audio defaults to true
    path = tmp_path / "first.mp4"
    path.write_bytes(orapi.get(f"/videos/{job['id']}/content").content)
    assert probe(path)[:2] == (1280, 720)
    rgb = first_frame_rgb(str(path), 1280, 720)
    middle = (360 * 1280 + 640) * 3
    red, green, blue = rgb[middle : middle + 3]
    assert red > 200 and green < 60 and blue < 60  # the first frame is the given image

    silent = orapi.submit(model="sim/veo-3.1-like", duration=6, generate_audio=False)
    priced = orapi.wait_for(silent["id"], "completed")
    assert priced["usage"]["cost"] == pytest.approx(0.20 * 6)


def test_a_job_of_another_protocol_is_not_found(sim: SimulatorServer) -> None:
    with Client(sim.url) as openai:
        video = openai.create()
    with OpenRouterClient(sim.openrouter_url) as orapi:
        assert_error(orapi.get(f"/videos/{video['id']}"), 404)
        assert_error(orapi.get("/videos/job-unknown"), 404)
        assert_error(orapi.get("/videos/job-unknown/content"), 404)
        assert_error(orapi.delete("/videos/job-unknown"), 405)


# --- failures -------------------------------------------------------------------------------
def test_moderation_and_render_failures_end_failed(orapi: OpenRouterClient) -> None:
    moderated = orapi.finished(**SMALL, prompt="a bad idea [fail:moderation]")
    assert moderated["status"] == "failed"
    assert moderated["error"] == "Content policy violation"
    assert "unsigned_urls" not in moderated and "usage" not in moderated
    assert_error(orapi.get(f"/videos/{moderated['id']}/content"), 404)
    broken = orapi.finished(**SMALL, prompt="a glitch [fail:render]")
    assert broken["status"] == "failed" and broken["error"]


@pytest.mark.parametrize(
    ("marker", "status"),
    [("[fail:create]", 500), ("[fail:ratelimit]", 429), ("[fail:credits]", 402)],
)
def test_create_markers_answer_errors_and_store_nothing(
    sim: SimulatorServer, orapi: OpenRouterClient, marker: str, status: int
) -> None:
    before = jobs(sim)
    response = orapi.post("/videos", json={**SMALL, "prompt": f"try {marker}"})
    message = assert_error(response, status)
    if status == 429:
        assert response.headers["retry-after"] == "1"
    if status == 402:
        assert message.startswith("Insufficient credits")
    assert jobs(sim) == before


# --- auth and validation ----------------------------------------------------------------------
def test_bearer_auth(make_sim: Callable[..., SimulatorServer]) -> None:
    sim = make_sim(api_key="the-key")
    base = sim.openrouter_url
    for method, path in (("POST", "/videos"), ("GET", "/videos/x"), ("GET", "/videos/x/content")):
        message = assert_error(requests.request(method, base + path, json=SMALL, timeout=10), 401)
        assert message == "Missing Authentication header"
        wrong = {"Authorization": "Bearer not-the-key"}
        assert_error(requests.request(method, base + path, headers=wrong, timeout=10), 401)
    with OpenRouterClient(base, key="the-key") as orapi:
        assert orapi.submit(**SMALL)["status"] == "pending"
        assert requests.get(base + "/videos/models", timeout=10).status_code == 200


FIRST = frame("first_frame", png_data_url(8, 8, (0, 0, 255)))
VEO = {"model": "sim/veo-3.1-like", "prompt": PROMPT}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param([SMALL], id="not-an-object"),
        pytest.param({**BODY, "seconds": "4"}, id="unknown-field"),
        pytest.param({"model": "sim/seedance-like"}, id="no-prompt"),
        pytest.param({**BODY, "prompt": "  "}, id="blank-prompt"),
        pytest.param({"prompt": PROMPT}, id="no-model"),
        pytest.param({**BODY, "duration": 7}, id="duration-not-listed"),
        pytest.param({**BODY, "duration": "4"}, id="duration-string"),
        pytest.param({**BODY, "resolution": "1080p"}, id="resolution-not-listed"),
        pytest.param({**BODY, "aspect_ratio": "9:21"}, id="aspect-not-listed"),
        pytest.param({**VEO, "size": "640x480"}, id="size-not-listed"),
        pytest.param({**VEO, "size": "1280x720", "aspect_ratio": "9:16"}, id="size-disagrees"),
        pytest.param({**VEO, "size": "1280x72O"}, id="size-malformed"),
        pytest.param({**VEO, "resolution": "1080p", "aspect_ratio": "1:1"}, id="no-such-size"),
        pytest.param(
            {**BODY, "frame_images": [frame("last_frame", FIRST["image_url"]["url"])]},
            id="last-frame-not-taken",
        ),
        pytest.param({**BODY, "frame_images": [FIRST, FIRST]}, id="two-first-frames"),
        pytest.param(
            {**BODY, "frame_images": [frame("first_frame", "data:image/png;base64,AAAA")]},
            id="not-an-image",
        ),
        pytest.param(
            {**BODY, "frame_images": [frame("first_frame", "ftp://example.com/a.png")]},
            id="bad-image-url",
        ),
        pytest.param(
            {**BODY, "input_references": [{"type": "text", "text": "hi"}]}, id="bad-reference"
        ),
        pytest.param({**BODY, "generate_audio": "yes"}, id="audio-not-boolean"),
        pytest.param({**BODY, "seed": "1"}, id="seed-not-integer"),
        pytest.param({**BODY, "callback_url": "ftp://example.com"}, id="bad-callback-url"),
    ],
)
def test_invalid_submissions_are_400(
    sim: SimulatorServer, orapi: OpenRouterClient, body: object
) -> None:
    assert_error(orapi.post("/videos", json=body), 400)
    assert jobs(sim) == 0


def test_invalid_json_and_unknown_model(sim: SimulatorServer, orapi: OpenRouterClient) -> None:
    assert_error(orapi.post("/videos", data=b"{not json"), 400)
    assert_error(orapi.post("/videos", json={"model": "sim/nope", "prompt": PROMPT}), 404)
    assert jobs(sim) == 0


# --- webhooks -------------------------------------------------------------------------------
def test_signed_webhooks_to_the_callback_url(
    make_sim: Callable[..., SimulatorServer],
    receiver: Receiver,
) -> None:
    sim = make_sim(openrouter_webhook_secret=SECRET)
    with OpenRouterClient(sim.openrouter_url) as orapi:
        done = orapi.submit(**SMALL, callback_url=receiver.url)
        failed = orapi.submit(**SMALL, prompt="no [fail:moderation]", callback_url=receiver.url)
        orapi.wait_for(done["id"], "completed")
        orapi.wait_for(failed["id"], "failed")
        calls = receiver.wait_for(2)
        polled = orapi.get(f"/videos/{done['id']}").json()
    events = {}
    for headers, body in calls:
        assert verify_openrouter(SECRET, headers["x-openrouter-signature"], body, time.time())
        assert not verify_openrouter("another-secret", headers["x-openrouter-signature"], body, 0)
        event = json.loads(body)
        data = event["data"]
        assert headers["x-openrouter-idempotency-key"] == f"{data['id']}-{data['status']}"
        assert event["type"] == f"video.generation.{data['status']}"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", event["created_at"])
        assert data["model"] == "sim/seedance-like" and data["generation_id"].startswith("gen-")
        events[data["id"]] = data
    assert events[done["id"]]["unsigned_urls"] == polled["unsigned_urls"]
    assert events[done["id"]]["usage"] == polled["usage"]
    assert events[failed["id"]]["error"] == "Content policy violation"
    assert "unsigned_urls" not in events[failed["id"]]


def test_the_default_callback_url_gets_unsigned_events_and_retries(
    make_sim: Callable[..., SimulatorServer],
    receiver: Receiver,
) -> None:
    receiver.failures = 1
    sim = make_sim(openrouter_webhook_url=receiver.url)  # no secret: unsigned, as documented
    with OpenRouterClient(sim.openrouter_url) as orapi:
        job = orapi.submit(**SMALL)
        first, second = receiver.wait_for(2)
    assert "x-openrouter-signature" not in first[0]
    assert first[1] == second[1]
    key = f"{job['id']}-completed"
    assert first[0]["x-openrouter-idempotency-key"] == second[0]["x-openrouter-idempotency-key"]
    assert first[0]["x-openrouter-idempotency-key"] == key


def test_openrouter_jobs_send_no_standard_webhooks(
    make_sim: Callable[..., SimulatorServer],
    receiver: Receiver,
) -> None:
    sim = make_sim(webhook_url=receiver.url, webhook_secret="whsec_c2VjcmV0c2VjcmV0")
    with OpenRouterClient(sim.openrouter_url) as orapi:
        orapi.wait_for(orapi.submit(**SMALL)["id"], "completed")
    with Client(sim.url) as openai:
        video = openai.completed()
    [(headers, body)] = receiver.wait_for(1)
    time.sleep(0.5)  # a stray event for the OpenRouter job would have been queued first
    assert len(receiver.calls) == 1
    assert "webhook-signature" in headers
    assert json.loads(body)["data"]["id"] == video["id"]
