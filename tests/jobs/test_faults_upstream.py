"""Upstream faults: 500s and timeouts during refresh and download (injected under a real
VideosApiClient), bodies that break off, a hung upstream, and upstream-side failures.
Afterwards every job is completed-and-playable or failed with a reason; none is pending."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.support.clock import CLOCK, RENDER_CLOCK_SECONDS
from tests.support.env import API_KEY
from tests.support.jobs import (
    assert_settled,
    assert_untouched,
    finish_upstream,
    load,
    s3_keys,
    seed_jobs,
)

pytestmark = pytest.mark.movable_clock

RETRIEVE = r"^/v1/videos/video_[0-9a-f]+$"
VIDEO_CONTENT = r"/content\?variant=video$"


def test_refresh_rides_out_upstream_500s_and_timeouts(aws, simulator, faults, uploads):
    from chalicelib.jobs import refresher

    jobs = seed_jobs(6)
    finish_upstream(simulator, jobs)
    before = {j.id: load(j.id) for j in jobs}
    # One retry per read: two faults make one refresh fail. Sequential, so the first four
    # jobs (in pending-index order) are the ones that fail.
    faults.inject("GET", RETRIEVE, "500", times=4)
    faults.inject("GET", RETRIEVE, "timeout", times=4)

    report = refresher.refresh_pending(concurrency=1)
    assert dict(report.outcomes) == {"error": 4, "completed": 2}, report.as_dict()
    assert faults.pending_faults() == 0
    assert faults.injected == {"500": 4, "timeout": 4}
    failed_refresh = [j for j in jobs if load(j.id).status != "completed"]
    assert len(failed_refresh) == 4
    for job in failed_refresh:
        assert_untouched(before[job.id])

    report = refresher.refresh_pending(concurrency=1)
    assert dict(report.outcomes) == {"completed": 4}
    assert_settled(aws, simulator, jobs)
    assert all(uploads.videos(j.id) == 1 for j in jobs)


def test_download_500_timeout_and_broken_body_leave_job_retryable(aws, simulator, faults):
    from chalicelib.jobs import refresher
    from chalicelib.jobs.view import to_public

    jobs = seed_jobs(3)
    finish_upstream(simulator, jobs)
    faults.inject("GET", VIDEO_CONTENT, "500", times=2)  # job 1: both attempts answer 500
    faults.inject("GET", VIDEO_CONTENT, "timeout", times=2)  # job 2: both attempts time out
    faults.inject("GET", VIDEO_CONTENT, "break", times=1)  # job 3: the body breaks off

    report = refresher.refresh_pending(concurrency=1)
    assert report.outcomes == {"in_progress": 3}, report.as_dict()
    assert faults.pending_faults() == 0
    for job in jobs:
        window = load(job.id)
        assert (window.status, window.progress) == ("in_progress", 100)
        assert window.upstream_status == "completed"
        assert window.archive_state == "none"
        assert int(window.archive_lease_until) == 0
        assert window.archive_error
        assert int(window.archive_attempts) == 1
        assert "videos/" + job.id + "/video.mp4" not in s3_keys(aws, job.id)
        assert to_public(window)["media_url"] is None  # the API does not offer it yet

    report = refresher.refresh_pending(concurrency=1)
    assert report.outcomes == {"completed": 3}
    assert_settled(aws, simulator, jobs)
    for job in jobs:
        final = load(job.id)
        assert int(final.archive_attempts) == 2
        assert final.archive_error is None


@pytest.fixture
def blackhole() -> Iterator[str]:
    """A socket that accepts connections (the kernel's backlog) and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    listener.close()


def test_hung_upstream_is_bounded_by_timeouts(aws, simulator, blackhole):
    """Every call to a hung upstream carries the client's timeout and ends as an error; how
    long a refresh of many hung jobs takes is budgeted in bench/bench_backend.py."""
    from chalicelib import runtime
    from chalicelib.jobs import refresher
    from chalicelib.upstreams import registry as providers
    from chalicelib.upstreams.videos_api import VideosApiClient

    jobs = seed_jobs(4)
    finish_upstream(simulator, jobs)
    before = {j.id: load(j.id) for j in jobs}
    session = TimeoutRecorder()
    hung = VideosApiClient(blackhole, API_KEY, timeout=0.3, max_retries=0, session=session)
    providers.set_provider("openai", hung)

    report = refresher.refresh_pending()
    assert report.outcomes == {"error": 4}
    assert session.timeouts == [0.3] * 4  # one call per job, none without a timeout
    for job in jobs:
        assert_untouched(before[job.id])

    runtime.init()  # the upstream answers again
    assert refresher.refresh_pending().outcomes == {"completed": 4}
    assert_settled(aws, simulator, jobs)


class TimeoutRecorder(requests.Session):
    """Records the timeout of every request it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[object] = []

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self.timeouts.append(kwargs.get("timeout"))
        return super().request(method, url, *args, **kwargs)


def test_upstream_failure_ends_failed_with_its_reason(aws, simulator):
    from chalicelib.jobs import refresher

    jobs = seed_jobs(1, prompt="A storm [fail:moderation]") + seed_jobs(1, prompt="x [fail:render]")
    CLOCK.advance(RENDER_CLOCK_SECONDS + 1)
    assert refresher.refresh_pending().outcomes == {"failed": 2}
    codes = sorted(load(j.id).error_code for j in jobs)
    assert codes == ["internal_error", "moderation_blocked"]
    assert_settled(aws, simulator, jobs)


def test_transient_image_download_failure_is_retried_not_dropped(aws, simulator, faults):
    """A 500 on the thumbnail is a hiccup, not a missing thumbnail: the archive is retried
    rather than completing without the thumbnail the job view advertises."""
    from chalicelib.jobs import refresher
    from chalicelib.jobs import service as jobs_service
    from chalicelib.jobs.view import to_public

    jobs = seed_jobs(1)
    finish_upstream(simulator, jobs)
    faults.inject("GET", r"/content\?variant=thumbnail$", "500", times=2)
    refresher.refresh_pending()
    refresher.refresh_pending()
    final = load(jobs[0].id)
    assert final.status == "completed"
    assert set(final.archived_variants) == {"video", "thumbnail", "spritesheet"}
    public = to_public(jobs_service.get_job("local", final.id))
    assert public["thumbnail_url"] is not None
    assert_settled(aws, simulator, jobs)


def test_unreachable_upstream_past_expiry_ends_expired(aws, simulator, blackhole, uploads):
    """Upstream finished, the archive failed, then upstream became unreachable: once the
    content's expiry has passed nothing can be saved, so the job fails `expired` instead of
    staying pending for ever."""
    from chalicelib.jobs import refresher
    from chalicelib.upstreams import registry as providers
    from chalicelib.upstreams.videos_api import VideosApiClient

    jobs = seed_jobs(1)
    finish_upstream(simulator, jobs)
    uploads.fail_next["video.mp4"] = 1
    refresher.refresh_pending()
    window = load(jobs[0].id)
    assert (window.status, window.upstream_status) == ("in_progress", "completed")

    providers.set_provider(
        "openai", VideosApiClient(blackhole, API_KEY, timeout=0.3, max_retries=0)
    )
    assert refresher.refresh_pending().outcomes == {"error": 1}  # not expired yet: try later
    CLOCK.advance(window.upstream_expires_at - CLOCK.now() + 1)
    assert refresher.refresh_pending().outcomes == {"failed": 1}
    assert load(jobs[0].id).error_code == "expired"
    assert_settled(aws, simulator, jobs)
