"""Process and storage faults: S3 failing in the middle of an archive, the process dying
between archive and status write (lease expiry recovers it), jobs pending past the limit,
and a submission lost before the upstream create. None is left pending."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.clock import CLOCK
from tests.support.jobs import (
    assert_settled,
    finish_upstream,
    load,
    s3_keys,
    seed_jobs,
    stored_job,
    upstream_state,
)

pytestmark = pytest.mark.movable_clock


def test_s3_fails_in_the_middle_of_an_archive(aws, simulator, uploads):
    from chalicelib.jobs import refresher

    jobs = seed_jobs(1)
    finish_upstream(simulator, jobs)
    uploads.fail_next["thumbnail.webp"] = 1  # the video lands, then the thumbnail fails

    refresher.refresh_pending()
    window = load(jobs[0].id)
    assert window.status == "in_progress"
    assert window.archive_state == "none"
    assert "injected S3 failure" in window.archive_error
    assert uploads.videos(jobs[0].id) == 1

    refresher.refresh_pending()
    assert_settled(aws, simulator, jobs)
    assert uploads.videos(jobs[0].id) == 2  # copied again in full: no half archive is trusted


class ProcessDied(Exception):
    """Stands for the Lambda being killed: nothing after it runs."""


def test_process_dies_between_archive_and_status_write(aws, simulator, uploads, monkeypatch):
    from chalicelib.jobs import lifecycle, refresher
    from chalicelib.jobs import service as jobs_service
    from chalicelib.jobs import store as job_store

    jobs = seed_jobs(1)
    job_id = jobs[0].id
    finish_upstream(simulator, jobs)
    real_finish = job_store.finish
    deaths: list[str] = []

    def finish_or_die(job: Any, status: str, *args: Any, **kwargs: Any) -> None:
        if status == "completed" and not deaths:
            deaths.append(job.id)
            raise ProcessDied("killed after the copy, before the status write")
        real_finish(job, status, *args, **kwargs)

    monkeypatch.setattr(job_store, "finish", finish_or_die)
    with pytest.raises(ProcessDied):
        lifecycle.refresh_job(load(job_id))
    orphan = load(job_id)
    assert (orphan.status, orphan.archive_state) == ("in_progress", "archiving")
    assert orphan.archive_lease_until > CLOCK.now()
    assert len(s3_keys(aws, job_id)) == 3  # the copy itself finished

    # While the dead writer's lease runs, nobody else touches the job or even asks upstream.
    retrieves = simulator.stats["retrieve"]
    CLOCK.advance(5)
    assert refresher.refresh_pending().outcomes == {"in_progress": 1}
    assert jobs_service.get_job("local", job_id).status == "in_progress"
    assert simulator.stats["retrieve"] == retrieves
    assert uploads.videos(job_id) == 1

    from chalicelib.jobs.lifecycle import ARCHIVE_LEASE_SECONDS

    CLOCK.advance(ARCHIVE_LEASE_SECONDS)
    assert refresher.refresh_pending().outcomes == {"completed": 1}
    assert_settled(aws, simulator, jobs)
    assert int(load(job_id).archive_attempts) == 2
    assert uploads.videos(job_id) == 2


@pytest.fixture
def short_timeout(monkeypatch: pytest.MonkeyPatch, aws: dict[str, Any]) -> Iterator[int]:
    from chalicelib import runtime

    monkeypatch.setenv("PENDING_TIMEOUT_SECONDS", "60")
    runtime.init()
    yield 60
    runtime.init()


def test_job_pending_past_the_limit_fails_with_timeout(aws, simulator, short_timeout):
    from chalicelib.jobs import refresher

    jobs = seed_jobs(2)
    CLOCK.advance(short_timeout / 2)
    assert sum(refresher.refresh_pending().outcomes.values()) == 2
    assert all(load(j.id).is_pending for j in jobs)

    CLOCK.advance(short_timeout / 2 + 1)
    assert upstream_state(simulator, jobs[0].upstream_id).status == "in_progress"
    assert refresher.refresh_pending().outcomes == {"failed": 2}
    for job in jobs:
        assert load(job.id).error_code == "timeout"
    assert_settled(aws, simulator, jobs)


def test_video_finished_upstream_is_saved_even_if_seen_after_the_limit(
    aws, simulator, short_timeout
):
    """The refresher was away (an outage, say) while upstream finished: the limit is about
    jobs that stay pending, not about a finished video noticed late, so it is archived."""
    from chalicelib.jobs import refresher

    jobs = seed_jobs(1)
    finish_upstream(simulator, jobs)  # 101 s of clock: past the 60 s limit
    assert load(jobs[0].id).upstream_status == "queued"  # nobody looked since creation
    assert refresher.refresh_pending().outcomes == {"completed": 1}
    assert_settled(aws, simulator, jobs)


def test_submission_lost_before_the_upstream_create(aws, simulator):
    """The process died after storing the job and before the upstream create answered."""
    from chalicelib.jobs import refresher
    from chalicelib.jobs import store as job_store
    from chalicelib.jobs.lifecycle import SUBMISSION_GRACE_SECONDS

    job = stored_job("lost")
    retrieves = simulator.stats["retrieve"]
    assert refresher.refresh_pending().pending == 1
    assert load(job.id).status == "queued"  # it may still be on its way

    CLOCK.advance(SUBMISSION_GRACE_SECONDS + 1)
    assert refresher.refresh_pending().outcomes == {"failed": 1}
    assert load(job.id).error_code == "submission_lost"
    assert simulator.stats["retrieve"] == retrieves  # nothing to ask upstream about
    assert job_store.pending_jobs() == []
