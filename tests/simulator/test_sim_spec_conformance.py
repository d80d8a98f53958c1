"""The /v1/videos simulator where the official `openai` SDK showed it differed from OpenAI's
published spec: `limit=0`, remix as multipart, the dated Sora model ids, `POST
/videos/extensions` (JSON, and multipart with `video[id]` as the SDK sends it) and the
`openai-poll-after-ms` header on polls."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from simulator import SimulatorServer, probe
from simulator.render import FPS
from tests.simulator.test_sim_protocol import VIDEO_KEYS, assert_envelope
from tests.support.clock import MovableClock, frozen_clock
from tests.support.images import solid_png
from tests.support.simulator import PROMPT, Client
from tests.support.video import frame_at, frame_count, last_frame, mean_difference

SMALL = {"model": "veo-3", "size": "320x180", "seconds": "2"}  # quick to render


def content(api: Client, video: dict[str, Any], tmp_path: Path) -> Path:
    response = api.get(f"/videos/{video['id']}/content")
    assert response.status_code == 200, response.text
    path = tmp_path / f"{video['id']}.mp4"
    path.write_bytes(response.content)
    return path


# --- GET /videos?limit ----------------------------------------------------------------------
def test_limit_zero_is_a_valid_empty_page(api: Client) -> None:
    api.create(prompt="one")
    page = api.get("/videos", params={"limit": 0})
    assert page.status_code == 200, page.text
    assert page.json() == {
        "object": "list",
        "data": [],
        "first_id": None,
        "last_id": None,
        "has_more": True,
    }
    assert len(api.get("/videos", params={"limit": 100}).json()["data"]) == 1


@pytest.mark.parametrize("limit", ["-1", "101"])
def test_limit_outside_0_to_100_is_400(api: Client, limit: str) -> None:
    error = assert_envelope(api.get("/videos", params={"limit": limit}), 400, "invalid_value")
    assert error["param"] == "limit" and "between 0 and 100" in error["message"]


# --- remix ----------------------------------------------------------------------------------
def test_remix_accepts_multipart_form_data(api: Client) -> None:
    source = api.completed(**SMALL)
    response = api.post(f"/videos/{source['id']}/remix", files={"prompt": (None, "Now snowing")})
    assert response.status_code == 200, response.text
    remix = response.json()
    assert set(remix) == VIDEO_KEYS
    assert (remix["remixed_from_video_id"], remix["prompt"]) == (source["id"], "Now snowing")
    assert api.wait_for(remix["id"], "completed")["seconds"] == "2"


def test_a_multipart_remix_is_validated_like_a_json_one(api: Client) -> None:
    path = f"/videos/{api.completed(**SMALL)['id']}/remix"
    extra = api.post(path, files={"prompt": (None, "a"), "seconds": (None, "8")})
    assert assert_envelope(extra, 400, "unknown_parameter")["param"] == "seconds"
    missing = api.post(path, files={"model": (None, "sora-2")})
    assert assert_envelope(missing, 400, "unknown_parameter")["param"] == "model"
    empty = api.post(path, files={"prompt": (None, "")})
    assert assert_envelope(empty, 400, "string_below_min_length")["param"] == "prompt"


# --- dated model ids ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "big_size"),
    [
        ("sora-2-2025-10-06", False),
        ("sora-2-2025-12-08", False),
        ("sora-2-pro-2025-10-06", True),
    ],
)
def test_dated_model_ids_take_their_base_models_sizes_and_seconds(
    api: Client, model: str, big_size: bool
) -> None:
    video = api.create(model=model, size="1280x720", seconds="12")
    assert (video["model"], video["size"], video["seconds"]) == (model, "1280x720", "12")
    tall = api.post("/videos", json={"prompt": PROMPT, "model": model, "size": "1024x1792"})
    if big_size:
        assert tall.status_code == 200, tall.text
    else:
        assert assert_envelope(tall, 400, "invalid_value")["param"] == "size"
    odd = api.post("/videos", json={"prompt": PROMPT, "model": model, "seconds": "6"})
    assert assert_envelope(odd, 400, "invalid_value")["param"] == "seconds"
    free = api.post("/videos", json={"prompt": PROMPT, "model": model, "size": "320x180"})
    assert assert_envelope(free, 400, "invalid_value")["param"] == "size"  # not a gateway id


# --- POST /videos/extensions ----------------------------------------------------------------
def test_an_extension_continues_the_source_and_answers_a_video_object(
    api: Client, tmp_path: Path
) -> None:
    response = api.post(
        "/videos",
        files={
            **{name: (None, value) for name, value in SMALL.items()},
            "prompt": (None, "Starts on a red card"),
            "input_reference": ("red.png", solid_png(320, 180, (255, 0, 0)), "image/png"),
        },
    )
    assert response.status_code == 200, response.text
    source = api.wait_for(response.json()["id"], "completed")
    created = api.post(
        "/videos/extensions",
        json={"prompt": "And then it rains", "seconds": "4", "video": {"id": source["id"]}},
    )
    assert created.status_code == 200, created.text
    extension = created.json()
    assert set(extension) == VIDEO_KEYS
    assert extension["id"] != source["id"] and extension["status"] == "queued"
    assert (extension["model"], extension["size"]) == ("veo-3", "320x180")
    assert extension["seconds"] == "6"  # "for extensions, the stitched total duration"
    assert extension["prompt"] == "And then it rains"
    assert extension["remixed_from_video_id"] is None
    done = api.wait_for(extension["id"], "completed", "failed")
    assert done["status"] == "completed", done

    source_video, video = content(api, source, tmp_path), content(api, done, tmp_path)
    assert probe(video)[:2] == (320, 180)
    assert frame_count(video) == 6 * FPS
    seam = 2 * FPS  # the extension's first frame
    assert mean_difference(frame_at(video, seam), last_frame(source_video)) < 4
    assert mean_difference(frame_at(video, seam), frame_at(source_video, 0)) > 30  # not red
    assert mean_difference(frame_at(video, 0), frame_at(source_video, 0)) < 4  # stitched


def test_an_extension_in_multipart_form_as_the_sdk_sends_it(api: Client) -> None:
    source = api.completed(**SMALL)
    created = api.post(
        "/videos/extensions",
        files={
            "prompt": (None, "More"),
            "seconds": (None, "8"),
            "video[id]": (None, source["id"]),
        },
    )
    assert created.status_code == 200, created.text
    assert created.json()["seconds"] == "10"
    assert api.wait_for(created.json()["id"], "completed")["seconds"] == "10"


def test_a_sora_video_extends_past_its_create_seconds(api: Client) -> None:
    source = api.completed(model="sora-2", size="1280x720", seconds="4")
    body = {"prompt": "Further", "seconds": "20", "video": {"id": source["id"]}}
    created = api.post("/videos/extensions", json=body)
    assert created.status_code == 200, created.text
    assert (created.json()["model"], created.json()["seconds"]) == ("sora-2", "24")


@pytest.mark.parametrize(
    ("body", "status", "code", "param"),
    [
        ({"prompt": "p", "seconds": "4"}, 400, "missing_required_parameter", "video"),
        (
            {"prompt": "p", "seconds": "4", "video": {}},
            400,
            "missing_required_parameter",
            "video.id",
        ),
        ({"prompt": "p", "seconds": "4", "video": "vid"}, 400, "invalid_type", "video"),
        ({"seconds": "4", "video": {"id": "x"}}, 400, "missing_required_parameter", "prompt"),
        ({"prompt": "p", "video": {"id": "x"}}, 400, "missing_required_parameter", "seconds"),
        ({"prompt": "p", "seconds": "6", "video": {"id": "x"}}, 400, "invalid_value", "seconds"),
        ({"prompt": "p", "seconds": 4, "video": {"id": "x"}}, 400, "invalid_type", "seconds"),
        (
            {"prompt": "p", "seconds": "4", "video": {"id": "x"}, "n": 1},
            400,
            "unknown_parameter",
            "n",
        ),
        ({"prompt": "p", "seconds": "4", "video": {"id": "video_nope"}}, 404, "not_found", None),
    ],
)
def test_extension_bodies_are_validated(
    api: Client, body: dict[str, Any], status: int, code: str, param: str | None
) -> None:
    error = assert_envelope(api.post("/videos/extensions", json=body), status, code)
    assert error["param"] == param


def test_an_unfinished_source_cannot_be_extended(clock_api: Client) -> None:
    source = clock_api.create()
    body = {"prompt": "p", "seconds": "4", "video": {"id": source["id"]}}
    assert_envelope(clock_api.post("/videos/extensions", json=body), 400, "video_not_ready")


def test_an_uploaded_video_is_not_extended(api: Client) -> None:
    response = api.post(
        "/videos/extensions",
        files={
            "prompt": (None, "p"),
            "seconds": (None, "4"),
            "video": ("clip.mp4", b"\x00\x00\x00\x18ftypmp42", "video/mp4"),
        },
    )
    assert assert_envelope(response, 400, "invalid_value")["param"] == "video"


def test_extensions_take_post_only_and_are_counted(api: Client, sim: SimulatorServer) -> None:
    response = api.get("/videos/extensions")
    assert_envelope(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"
    source = api.completed(**SMALL)
    api.post(
        "/videos/extensions", json={"prompt": "p", "seconds": "4", "video": {"id": source["id"]}}
    )
    assert sim.stats["extend"] == 1  # a refused method is never routed, so never counted


# --- polls ----------------------------------------------------------------------------------
def test_polls_of_a_pending_video_say_when_to_poll_again(
    clock_api: Client, clock: MovableClock
) -> None:
    video = clock_api.create(seconds="4")  # (2 + 2 * 4) s at speed 1: a 1000 ms hint
    queued = clock_api.get(f"/videos/{video['id']}")
    assert queued.json()["status"] == "queued"
    assert queued.headers["openai-poll-after-ms"] == "1000"
    clock.advance(5)
    running = clock_api.get(f"/videos/{video['id']}")
    assert running.json()["status"] == "in_progress"
    assert running.headers["openai-poll-after-ms"] == "1000"
    clock.advance(6)
    done = clock_api.wait_for(video["id"], "completed")
    assert done["status"] == "completed"
    final = clock_api.get(f"/videos/{video['id']}")
    assert "openai-poll-after-ms" not in final.headers  # nothing left to wait for


@pytest.mark.parametrize(("speed", "hint"), [(500.0, "10"), (0.01, "10000")])
def test_the_poll_hint_follows_the_speed_within_10_ms_to_10_s(
    make_sim: Callable[..., SimulatorServer], speed: float, hint: str
) -> None:
    sim = make_sim(speed=speed, clock=frozen_clock())  # nothing finishes: always pending
    with Client(sim.url) as api:
        video = api.create(seconds="4")
        assert api.get(f"/videos/{video['id']}").headers["openai-poll-after-ms"] == hint
