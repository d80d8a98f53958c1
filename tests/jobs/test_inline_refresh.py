"""`GET /api/videos/{id}` of a pending job not checked for longer than POLL_INTERVAL_SECONDS
refreshes it inline (through the refresher's own code path); fresher jobs are not re-asked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.jobs import refresher
from tests.support.api import body, get
from tests.support.clock import CLOCK, RENDER_CLOCK_SECONDS
from tests.support.jobs import finish_upstream, load, s3_keys, seed_jobs

pytestmark = pytest.mark.movable_clock


@pytest.fixture
def poll(monkeypatch: pytest.MonkeyPatch, aws: dict[str, Any]) -> Iterator[int]:
    """A poll interval long enough that real time spent on a loaded machine never counts."""
    from chalicelib import runtime
    from chalicelib.config import get_settings

    monkeypatch.setenv("POLL_INTERVAL_SECONDS", "30")
    runtime.init()
    # Loaded here: during a request the Chalice test client swaps in the dev stage's env.
    assert get_settings().poll_interval_seconds == 30
    yield 30
    runtime.init()


def test_stale_pending_job_is_refreshed_by_a_get(client, aws, simulator, poll):
    job = seed_jobs(1)[0]
    path = f"/api/videos/{job.id}"
    retrieves = simulator.stats["retrieve"]

    assert body(get(client, path))["job"]["status"] == "queued"
    assert simulator.stats["retrieve"] == retrieves  # checked just now: no upstream call

    CLOCK.advance(RENDER_CLOCK_SECONDS / 2)  # stale (50 s > 30 s), upstream half way
    shown = body(get(client, path))["job"]
    assert simulator.stats["retrieve"] == retrieves + 1
    assert shown["status"] == "in_progress"
    assert 0 < shown["progress"] < 100
    assert load(job.id).checked_at >= CLOCK.now() - 1

    assert body(get(client, path))["job"] == shown  # fresh again: served as stored
    assert simulator.stats["retrieve"] == retrieves + 1

    CLOCK.advance(poll + 0.5)
    get(client, path)
    assert simulator.stats["retrieve"] == retrieves + 2

    finish_upstream(simulator, [job])
    saving = body(get(client, path))["job"]
    # A request never copies the video (it would not fit the request's deadline): the GET
    # records that upstream finished, and the refresher archives it.
    assert (saving["status"], saving["progress"]) == ("in_progress", 100)
    assert s3_keys(aws, job.id) == []
    refresher.refresh_pending()
    done = body(get(client, path))["job"]
    assert done["status"] == "completed"
    assert done["media_url"] == f"{path}/media"
    assert done["content_ready_at"] is not None
    assert len(s3_keys(aws, job.id)) == 3

    calls = simulator.stats["retrieve"]
    CLOCK.advance(poll + 1)
    assert body(get(client, path))["job"]["status"] == "completed"
    assert simulator.stats["retrieve"] == calls  # terminal jobs never go upstream


def test_get_survives_an_upstream_failure_during_inline_refresh(client, aws, simulator, faults):
    job = seed_jobs(1)[0]
    CLOCK.advance(RENDER_CLOCK_SECONDS / 2)
    faults.inject("GET", r"^/v1/videos/video_[0-9a-f]+$", "500", times=2)
    answer = get(client, f"/api/videos/{job.id}")
    assert answer.status_code == 200
    assert body(answer)["job"]["status"] == "queued"  # as stored; the next GET tries again
    # One attempt only: a request never sleeps in retries (its deadline would not allow it).
    assert faults.pending_faults() == 1
    CLOCK.advance(2)
    assert body(get(client, f"/api/videos/{job.id}"))["job"]["status"] == "queued"
    assert faults.pending_faults() == 0

    CLOCK.advance(2)
    assert body(get(client, f"/api/videos/{job.id}"))["job"]["status"] == "in_progress"
