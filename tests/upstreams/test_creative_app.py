"""The creative controls end to end (issue 14), the app against the simulator: OpenRouter's
`sim/veo-3.1-like` with first and last frame, two reference images, sound and a seed, its
inputs served back as media variants and an MP4 with an audio track; and extensions, through
the `/v1/videos` protocol (`POST /videos/extensions`) and OpenRouter's `previous_job_id`, each a
new, longer job with `extended_from`. Routes, refresher and archive are the shared ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from chalicelib.catalog.refresh import refresh_listings
from simulator import SimulatorServer
from tests.support.api import body, get, post_json
from tests.support.images import data_url, solid_png
from tests.support.jobs import completed_job, s3_bytes, settle
from tests.support.video import SMALL, audio_codecs, frame_at, frame_count, last_frame, share_near

MODEL = "sim/veo-3.1-like"
RED, GREEN = (220, 30, 30), (30, 200, 60)
# The listing says nothing of reference images or extension: this deployment offers them.
CAPABILITIES = {"*": {"reference_images": 4, "extend": True}}


@pytest.fixture
def openrouter(
    app_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    simulator: SimulatorServer,
    client: Any,
) -> Any:
    """The app with OpenRouter (the simulator's) as its only upstream, listing refreshed."""
    from tests.support.env import reload_runtime

    for name in ("VIDEOS_API_KEY", "VIDEOS_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-test-key-0123456789")
    monkeypatch.setenv("OPENROUTER_BASE_URL", simulator.openrouter_url)
    monkeypatch.setenv("OPENROUTER_CAPABILITIES_JSON", json.dumps(CAPABILITIES))
    reload_runtime()
    assert refresh_listings() == {"openrouter": "refreshed"}
    return client


def fetch(client: Any, link: str) -> bytes:
    """The bytes behind one of the job's media links (a 302 to the bucket)."""
    redirect = get(client, link)
    assert redirect.status_code == 302, (link, redirect.body)
    fetched = requests.get(redirect.headers["Location"], timeout=30)
    assert fetched.status_code == 200
    return fetched.content


def saved_video(client: Any, job: dict[str, Any], tmp_path: Path) -> Path:
    path = tmp_path / f"{job['id']}.mp4"
    path.write_bytes(fetch(client, job["media_url"]))
    return path


def test_the_catalog_offers_every_control_of_the_model(openrouter):
    models = {m["id"]: m for m in body(get(openrouter, "/api/config"))["models"]}
    assert models[MODEL]["capabilities"] == {
        "first_frame": True,
        "last_frame": True,
        "reference_images": 4,
        "audio": True,
        "seed": True,
        "remix": False,
        "extend": True,
    }
    assert models[MODEL]["extend_seconds"] == [4, 6, 8]
    # The listing's own flags still rule what they cover.
    assert models["sim/text-only-like"]["capabilities"]["last_frame"] is False


def test_first_and_last_frame_references_sound_and_seed_end_to_end(openrouter, aws, tmp_path):
    first, last = solid_png(1280, 720, RED), solid_png(1280, 720, GREEN)
    references = [solid_png(256, 256, (20, 20, 220)), solid_png(300, 200, (230, 230, 20))]
    created = post_json(
        openrouter,
        "/api/videos",
        {
            "prompt": "a lighthouse at dusk",
            "model": MODEL,
            "size": "1280x720",
            "seconds": 4,
            "input_reference": data_url(first),
            "last_frame": data_url(last),
            "reference_images": [data_url(image) for image in references],
            "audio": True,
            "seed": 1234,
        },
    )
    assert created.status_code == 201, created.body
    job = settle(openrouter, body(created)["job"]["id"], timeout=60)
    assert job["status"] == "completed", job
    assert (job["audio"], job["seed"]) == (True, 1234)
    assert job["estimated_cost_usd"] == pytest.approx(4 * 0.4)  # the sound SKU

    # Every input is served back as it was given.
    assert fetch(openrouter, job["reference_url"]) == first
    assert fetch(openrouter, job["last_frame_url"]) == last
    assert [fetch(openrouter, link) for link in job["reference_urls"]] == references

    video = saved_video(openrouter, job, tmp_path)
    assert audio_codecs(video) == ["aac"]
    assert share_near(frame_at(video, 0), RED) > 0.8  # opens on the first frame
    assert share_near(last_frame(video, SMALL), GREEN) > 0.8  # and ends on the last
    key = f"videos/{job['id']}/video.mp4"
    assert s3_bytes(aws, key) == video.read_bytes()


def test_sound_off_makes_a_silent_video(openrouter, tmp_path):
    created = post_json(
        openrouter, "/api/videos", {"prompt": "quiet sea", "model": MODEL, "audio": False}
    )
    job = settle(openrouter, body(created)["job"]["id"], timeout=60)
    assert job["status"] == "completed" and job["audio"] is False
    assert job["estimated_cost_usd"] == pytest.approx(4 * 0.2)
    assert audio_codecs(saved_video(openrouter, job, tmp_path)) == []


def test_extend_through_openrouters_previous_job_id(openrouter, tmp_path):
    source = completed_job(openrouter, {"prompt": "a fox runs", "model": MODEL, "seconds": 4})
    extended = post_json(
        openrouter, f"/api/videos/{source['id']}/extend", {"prompt": "it leaps", "seconds": 6}
    )
    assert extended.status_code == 201, extended.body
    job = settle(openrouter, body(extended)["job"]["id"], timeout=60)
    assert job["status"] == "completed", job
    assert (job["extended_from"], job["seconds"]) == (source["id"], 10)
    longer, shorter = (
        saved_video(openrouter, job, tmp_path),
        saved_video(openrouter, source, tmp_path),
    )
    assert frame_count(longer) > frame_count(shorter) * 2


def test_extend_through_the_videos_extensions_endpoint(client, aws, tmp_path):
    source = completed_job(client, {"prompt": "a campfire at night", "model": "sora-2"})
    assert source["seconds"] == 4
    extended = post_json(
        client, f"/api/videos/{source['id']}/extend", {"prompt": "the fire dies down", "seconds": 8}
    )
    assert extended.status_code == 201, extended.body
    created = body(extended)["job"]
    assert (created["extended_from"], created["seconds"], created["status"]) == (
        source["id"],
        12,
        "queued",
    )
    assert created["estimated_cost_usd"] == pytest.approx(0.1 * 8)  # the new seconds only
    job = settle(client, created["id"], timeout=60)
    assert job["status"] == "completed", job
    assert job["extended_from"] == source["id"]
    longer, shorter = saved_video(client, job, tmp_path), saved_video(client, source, tmp_path)
    assert frame_count(longer) == frame_count(shorter) * 3  # 4 s + 8 s, one stitched clip
    # The source is unchanged and may be extended again.
    assert body(get(client, f"/api/videos/{source['id']}"))["job"]["seconds"] == 4


def test_extend_seconds_the_protocol_does_not_take_are_refused_before_any_call(client, aws):
    source = completed_job(client, {"prompt": "a campfire", "model": "sora-2"})
    response = post_json(
        client, f"/api/videos/{source['id']}/extend", {"prompt": "more", "seconds": 6}
    )
    assert response.status_code == 400
    assert body(response)["error"]["field"] == "seconds"
    jobs = body(get(client, "/api/videos"))["jobs"]
    assert [j["id"] for j in jobs] == [source["id"]]
