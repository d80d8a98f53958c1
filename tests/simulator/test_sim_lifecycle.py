"""Clock-driven state: queued -> in_progress -> completed/failed, fail markers, expiry."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.render import Media
from simulator.store import Failure, VideoStore
from tests.support.clock import MovableClock, frozen_clock
from tests.support.simulator import PROMPT, Client


def test_timeline_at_speed_1(clock_api: Client, clock: MovableClock) -> None:
    video = clock_api.create(seconds="4")  # (2 + 2 * 4) = 10 s of render time
    vid = video["id"]
    assert (video["status"], video["progress"]) == ("queued", 0)
    seen = []
    for _ in range(9):
        clock.advance(1)
        state = clock_api.get(f"/videos/{vid}").json()
        seen.append((state["status"], state["progress"]))
    assert seen[0] == ("in_progress", 0)  # 10 % queued, then in_progress from 0
    assert all(status == "in_progress" for status, _ in seen)
    progress = [p for _, p in seen]
    assert progress == sorted(progress) and 0 < progress[-1] <= 99
    clock.advance(1)  # t = 10 s: done once the media exists (contract: within 15 s)
    done = clock_api.wait_for(vid, "completed")
    assert done["progress"] == 100
    assert done["completed_at"] == int(done["created_at"] + 10)
    assert done["expires_at"] == done["completed_at"] + 3600


def test_remains_in_progress_99_until_media_is_rendered() -> None:
    clock = frozen_clock()
    store = VideoStore(clock=clock, speed=1.0, expiry_seconds=60)
    job, _ = store.create(model="sora-2", size="720x1280", seconds="4", prompt=PROMPT)
    clock.advance(30)
    _, state = store.get(job.id)
    assert (state.status, state.progress) == ("in_progress", 99)
    store.finish_render(job.id, Media(Path("/nonexistent")), None)
    _, state = store.get(job.id)
    assert state.status == "completed"
    assert state.completed_at == int(clock())  # rendered late: completed when rendered
    assert state.expires_at == state.completed_at + 60


def test_render_failure_fails_the_job() -> None:
    clock = frozen_clock()
    store = VideoStore(clock=clock)
    job, _ = store.create(model="sora-2", size="720x1280", seconds="4", prompt=PROMPT)
    store.finish_render(job.id, None, Failure("internal_error", "ffmpeg died"))
    clock.advance(5)
    assert store.get(job.id)[1].status == "in_progress"  # failures also wait for the timeline
    clock.advance(5)
    _, state = store.get(job.id)
    assert (state.status, state.error) == ("failed", Failure("internal_error", "ffmpeg died"))


def test_store_announces_each_terminal_job_once() -> None:
    clock = frozen_clock()
    seen: list[tuple[str, str]] = []
    store = VideoStore(
        clock=clock, on_terminal=lambda job, state: seen.append((job.id, state.status))
    )
    done, _ = store.create(model="m", size="64x64", seconds="1", prompt="p")
    failed, _ = store.create(
        model="m", size="64x64", seconds="1", prompt="p", planned_failure=Failure("x", "y")
    )
    store.finish_render(done.id, Media(Path("/nonexistent")), None)
    assert store.poll() == 2 and seen == []
    clock.advance(5)
    for _ in range(3):
        store.get(done.id)
        store.page(limit=10, after=None, order="desc")
        assert store.poll() == 0
    assert sorted(seen) == sorted([(done.id, "completed"), (failed.id, "failed")])


@pytest.mark.parametrize(
    ("marker", "code"),
    [("[fail:moderation]", "moderation_blocked"), ("[fail:render]", "internal_error")],
)
def test_failure_markers_run_then_fail(api: Client, marker: str, code: str) -> None:
    video = api.create(prompt=f"A forbidden scene {marker}")
    assert video["status"] == "queued"
    failed = api.wait_for(video["id"], "failed")
    assert failed["error"]["code"] == code
    assert failed["error"]["message"]
    assert failed["completed_at"] is None and failed["expires_at"] is None
    content = api.get(f"/videos/{video['id']}/content")
    assert content.status_code == 400
    assert content.json()["error"]["code"] == "video_failed"


def test_create_marker_answers_500_and_creates_nothing(api: Client, sim) -> None:
    response = api.post("/videos", json={"prompt": "boom [fail:create]"})
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["type"] == "server_error" and error["code"] == "internal_error"
    assert api.get("/videos").json()["data"] == []
    assert sim.stats["create"] == 1


def test_ratelimit_marker_answers_429_with_retry_after(api: Client) -> None:
    response = api.post("/videos", json={"prompt": "busy [fail:ratelimit]"})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.headers["retry-after-ms"] == "1000"
    assert response.json()["error"]["code"] == "rate_limit_exceeded"
    assert api.get("/videos").json()["data"] == []


def test_markers_apply_to_remix_prompts(api: Client) -> None:
    source = api.completed()
    path = f"/videos/{source['id']}/remix"
    assert api.post(path, json={"prompt": "again [fail:ratelimit]"}).status_code == 429
    remix = api.post(path, json={"prompt": "again [fail:moderation]"}).json()
    assert api.wait_for(remix["id"], "failed")["error"]["code"] == "moderation_blocked"


def test_content_is_400_until_completed_and_404_after_expiry(make_sim, clock: MovableClock) -> None:
    sim = make_sim(speed=1.0, clock=clock, expiry_seconds=60)
    with Client(sim.url) as api:
        vid = api.create()["id"]
        early = api.get(f"/videos/{vid}/content")
        assert early.status_code == 400
        assert early.json()["error"]["code"] == "video_not_ready"
        clock.advance(10)
        video = api.wait_for(vid, "completed")
        assert api.get(f"/videos/{vid}/content").status_code == 200
        clock.advance(video["expires_at"] - clock() - 1)
        assert api.get(f"/videos/{vid}/content", params={"variant": "thumbnail"}).ok
        clock.advance(1)
        gone = api.get(f"/videos/{vid}/content")
        assert gone.status_code == 404
        assert gone.json()["error"]["code"] == "video_expired"
        assert api.get(f"/videos/{vid}").json()["status"] == "completed"  # metadata remains
