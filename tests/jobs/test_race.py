"""50 jobs finish upstream at once while the refresher, signed webhooks and GETs all refresh
them concurrently: each job is archived exactly once and ends completed with its video."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.clock import CLOCK
from tests.support.jobs import OWNER, finish_upstream, s3_bytes, seed_jobs, sim_bytes
from tests.support.webhooks import signed_webhook

pytestmark = pytest.mark.movable_clock

JOBS = 50


def _run_all(workers: list[Callable[[], None]]) -> list[BaseException]:
    barrier = threading.Barrier(len(workers))
    errors: list[BaseException] = []
    lock = threading.Lock()

    def wrap(work: Callable[[], None]) -> None:
        try:
            barrier.wait()
            work()
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=wrap, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a racing thread hung"
    return errors


def test_fifty_jobs_refresher_webhooks_and_gets_race(aws, simulator, uploads, secret):
    from chalicelib.jobs import refresher
    from chalicelib.jobs import service as jobs_service
    from chalicelib.media.store import media_key
    from chalicelib.models import JobModel
    from chalicelib.webhooks import service as webhook_service

    jobs = seed_jobs(JOBS)
    finish_upstream(simulator, jobs)
    CLOCK.advance(5)  # every job is now stale for an inline GET refresh (poll interval 1 s)

    retrieves_before = simulator.stats["retrieve"]
    statuses: dict[str, list[str]] = {}
    answers: list[dict[str, str]] = []
    reports: list[Any] = []
    lock = threading.Lock()

    def refresher_run() -> None:
        reports.append(refresher.refresh_pending(concurrency=8))

    def webhook_run(chunk: list[Any]) -> Callable[[], None]:
        def run() -> None:
            for job in chunk:
                headers, body = signed_webhook(secret, job.upstream_id)
                answer = webhook_service.handle(headers, body)
                with lock:
                    answers.append(answer)

        return run

    def get_run(chunk: list[Any]) -> Callable[[], None]:
        def run() -> None:
            for job in chunk:
                status = jobs_service.get_job(OWNER, job.id).status
                with lock:
                    statuses.setdefault(job.id, []).append(status)

        return run

    workers: list[Callable[[], None]] = [refresher_run]
    workers += [webhook_run(jobs[i::4]) for i in range(4)]
    workers += [get_run(list(reversed(jobs))[i::4]) for i in range(4)]
    errors = _run_all(workers)
    assert not errors, errors

    # The writers really overlapped: jobs were looked at upstream by more than one of them.
    assert simulator.stats["retrieve"] - retrieves_before > JOBS
    assert len(answers) == JOBS
    assert {a["status"] for a in answers} == {"processed"}
    for report in reports:
        assert report.outcomes.get("error", 0) == 0, report.as_dict()

    video = sim_bytes(simulator, jobs[0].upstream_id)
    digest = hashlib.sha256(video).hexdigest()
    finals = {j.id: j for j in JobModel.scan(JobModel.owner.exists())}
    for job in jobs:
        final = finals[job.id]
        assert final.status == "completed", (job.id, final.status, final.archive_state)
        assert final.archive_state == "archived"
        assert {"video", "thumbnail", "spritesheet"} <= set(final.archived_variants)
        assert uploads.videos(job.id) == 1, f"job {job.id} archived {uploads.videos(job.id)}x"
        assert int(final.archive_attempts) == 1
        archived = s3_bytes(aws, media_key(job.id, "video"))
        assert hashlib.sha256(archived).hexdigest() == digest
        # a GET during the race saw a valid state, and the API now shows the job completed
        assert set(statuses[job.id]) <= {"queued", "in_progress", "completed"}

    # The API shows them completed (a GET of a completed job makes no upstream call).
    retrieves = simulator.stats["retrieve"]
    for job in jobs[:5]:
        assert jobs_service.get_job(OWNER, job.id).status == "completed"
    assert simulator.stats["retrieve"] == retrieves
    # Everything is terminal: the next refresher run has nothing to read upstream.
    assert refresher.refresh_pending().pending == 0
