"""queued -> in_progress -> completed | failed: never backwards, never out of a terminal state,
and DynamoDB itself refuses the wrong moves, whoever attempts them and however many at once."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.support.jobs import create_job, finish_upstream, load, stored_job

pytestmark = pytest.mark.movable_clock


def _insert(**overrides: Any) -> Any:
    return load(stored_job("state machine", **overrides).id)


def _refused(call: Any) -> None:
    from chalicelib.jobs.store import TransitionRefused

    with pytest.raises(TransitionRefused):
        call()


def test_completed_job_is_frozen_by_dynamodb(aws, simulator):
    from chalicelib.jobs import lifecycle
    from chalicelib.jobs import store as job_store
    from chalicelib.models import JobModel

    job = create_job()
    finish_upstream(simulator, [job])
    lifecycle.refresh_job(load(job.id))
    done = load(job.id)
    assert done.status == "completed"
    assert done.pending is None  # gone from the sparse pending index
    assert [j.id for j in job_store.pending_jobs()] == []

    # A fresh copy (current version): only the status condition can refuse these.
    _refused(lambda: job_store.set_progress(load(job.id), "in_progress", 100))
    _refused(lambda: job_store.set_progress(load(job.id), "queued", 100))
    _refused(lambda: job_store.fail(load(job.id), "timeout", "late"))
    _refused(
        lambda: job_store.finish(
            load(job.id), "completed", [JobModel.progress.set(100)], versioned=False
        )
    )
    _refused(lambda: job_store.finish(load(job.id), "failed", [JobModel.error_code.set("x")], None))
    # A stale copy, as a slow writer would hold: refused too.
    _refused(lambda: job_store.fail(job, "timeout", "late"))

    after = load(job.id)
    assert after.status == "completed"
    assert after.error_code is None
    assert after.version == done.version
    assert after.archived_variants == done.archived_variants


def test_failed_job_is_frozen_by_dynamodb(aws):
    from chalicelib.jobs import store as job_store
    from chalicelib.models import JobModel

    job = _insert()
    job_store.fail(job, "timeout", "too slow")
    failed = load(job.id)
    assert (failed.status, failed.error_code, failed.pending) == ("failed", "timeout", None)

    _refused(lambda: job_store.set_progress(load(job.id), "in_progress", 50))
    _refused(
        lambda: job_store.finish(
            load(job.id), "completed", [JobModel.archive_state.set("archived")], versioned=False
        )
    )
    _refused(lambda: job_store.fail(load(job.id), "expired", "again"))
    assert load(job.id).status == "failed"
    assert load(job.id).error_code == "timeout"


def test_never_backwards(aws):
    from chalicelib.jobs import lifecycle
    from chalicelib.jobs import store as job_store
    from chalicelib.upstreams.base import UpstreamVideo

    job = _insert(upstream_id="video_x")
    job_store.set_progress(job, "in_progress", 50)
    assert (load(job.id).status, load(job.id).progress) == ("in_progress", 50)

    _refused(lambda: job_store.set_progress(load(job.id), "queued", 60))  # status back
    _refused(lambda: job_store.set_progress(load(job.id), "in_progress", 10))  # progress back
    with pytest.raises(ValueError):
        job_store.set_progress(load(job.id), "completed", 100)
    with pytest.raises(ValueError):
        job_store.finish(load(job.id), "queued", [])

    # An upstream answer that looks older (queued, or lower progress) never moves it back.
    lifecycle._apply(load(job.id), UpstreamVideo(id="video_x", status="queued", progress=0))
    assert (load(job.id).status, load(job.id).progress) == ("in_progress", 50)
    lifecycle._apply(load(job.id), UpstreamVideo(id="video_x", status="in_progress", progress=20))
    assert (load(job.id).status, load(job.id).progress) == ("in_progress", 50)
    lifecycle._apply(load(job.id), UpstreamVideo(id="video_x", status="in_progress", progress=70))
    assert (load(job.id).status, load(job.id).progress) == ("in_progress", 70)
    # Progress stays below 100 until the video is archived.
    lifecycle._apply(load(job.id), UpstreamVideo(id="video_x", status="in_progress", progress=100))
    assert load(job.id).progress == 99


def test_stale_writer_is_refused(aws):
    """Version guard: a writer holding an older copy cannot overwrite a newer state."""
    from chalicelib.jobs import store as job_store

    job = _insert()
    stale = load(job.id)
    job_store.set_progress(load(job.id), "in_progress", 40)
    _refused(lambda: job_store.set_progress(stale, "in_progress", 45))
    assert load(job.id).progress == 40


def _race_to_finish(job_id: str, writers: int) -> tuple[list[int], list[int]]:
    """`writers` threads, each with its own fresh copy, released together by a barrier:
    odd ones fail the job, even ones complete it. Returns (winners, refused)."""
    from chalicelib.jobs import store as job_store
    from chalicelib.jobs.store import TransitionRefused
    from chalicelib.models import JobModel

    copies = [load(job_id) for _ in range(writers)]
    barrier = threading.Barrier(writers)
    wins: list[int] = []
    refusals: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def race(index: int, copy: Any) -> None:
        try:
            barrier.wait()
            if index % 2:
                job_store.fail(copy, f"code-{index}", "lost")
            else:
                job_store.finish(
                    copy,
                    "completed",
                    [JobModel.error_message.set(f"winner-{index}")],
                    versioned=False,  # the status condition alone must hold the line
                )
            outcome = wins
        except TransitionRefused:
            outcome = refusals
        except BaseException as exc:
            with lock:
                errors.append(exc)
            return
        with lock:
            outcome.append(index)

    threads = [threading.Thread(target=race, args=(i, c)) for i, c in enumerate(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not errors, errors
    return wins, refusals


def test_concurrent_finishers_exactly_one_wins(aws):
    """Threads race to finish the same job (some completing, some failing): one wins each
    round, the others get TransitionRefused, and the item shows the winner's outcome."""
    writers = 16
    for _round in range(5):
        job = _insert()
        wins, refusals = _race_to_finish(job.id, writers)
        assert len(wins) == 1, (wins, refusals)
        assert len(refusals) == writers - 1
        final = load(job.id)
        winner = wins[0]
        if winner % 2:
            assert (final.status, final.error_code) == ("failed", f"code-{winner}")
        else:
            assert (final.status, final.error_message) == ("completed", f"winner-{winner}")
