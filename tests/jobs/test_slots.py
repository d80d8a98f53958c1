"""Pending slots and spend are counted exactly once, whoever races: a DELETE while the paid
create still waits upstream, parallel DELETEs of one job, the refresher x DELETE x webhook,
a render that never ends, a create that broke off after it was sent, and drift repaired by
the reconciliation. Counters are read raw (never through `/api/usage`'s `max(0, ...)`)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from pynamodb.exceptions import DoesNotExist

from chalicelib import runtime
from chalicelib.errors import LimitReached
from chalicelib.jobs import lifecycle, quotas, reconcile, refresher
from chalicelib.jobs import service as jobs_service
from chalicelib.jobs import store as job_store
from chalicelib.models import JobModel, QuotaCounter
from chalicelib.upstreams import registry
from chalicelib.upstreams.base import (
    CreateRequest,
    UpstreamOutcomeUncertain,
    UpstreamUnavailable,
    UpstreamVideo,
)
from tests.support.clock import CLOCK

pytestmark = pytest.mark.movable_clock

OWNER = "alice"
BODY = json.dumps({"prompt": "A heron in the reeds", "seconds": 4}).encode()


class FakeUpstream:
    """A `/v1/videos` provider whose creates can be held, and whose renders end on demand."""

    name = "openai"

    def __init__(self) -> None:
        self.hold = threading.Event()
        self.hold.set()
        self.entered = threading.Event()
        self.create_error: Exception | None = None
        self.status: dict[str, str] = {}
        self.retrieve_error: Exception | None = None
        self.deleted: list[str] = []
        self.creates = 0
        self._lock = threading.Lock()

    def create(self, request: CreateRequest) -> UpstreamVideo:
        with self._lock:
            self.creates += 1
        self.entered.set()
        assert self.hold.wait(30), "the test never released the create"
        if self.create_error is not None:
            raise self.create_error
        video_id = f"video_{uuid.uuid4().hex}"
        self.status[video_id] = "queued"
        return UpstreamVideo(id=video_id, status="queued")

    def retrieve(self, upstream_id: str) -> UpstreamVideo:
        if self.retrieve_error is not None:
            raise self.retrieve_error
        return UpstreamVideo(id=upstream_id, status=self.status.get(upstream_id, "queued"))

    def remix(self, upstream_id: str, prompt: str) -> UpstreamVideo:
        raise NotImplementedError

    def delete(self, upstream_id: str) -> None:
        with self._lock:
            self.deleted.append(upstream_id)

    def download(self, upstream_id: str, variant: str = "video", byte_range: str | None = None):
        raise NotImplementedError


@pytest.fixture
def upstream(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> FakeUpstream:
    monkeypatch.setenv("USER_MAX_PENDING_JOBS", "5")
    monkeypatch.setenv("GLOBAL_MAX_PENDING_JOBS", "50")
    runtime.init()
    fake = FakeUpstream()
    registry.set_provider("openai", fake)
    return fake


def counter(owner: str = OWNER) -> int:
    try:
        return int(QuotaCounter.get(f"quota#pending#{owner}", consistent_read=True).count or 0)
    except DoesNotExist:
        return 0


def spent_cents(owner: str = OWNER) -> int:
    return int(quotas.usage(owner)["spent_today_usd"] * 100)  # type: ignore[operator]


def run_together(workers: list[Callable[[], Any]]) -> list[Any]:
    """Start every worker at once; their results (or the exception each raised)."""
    barrier = threading.Barrier(len(workers))
    results: list[Any] = [None] * len(workers)

    def wrap(index: int) -> None:
        barrier.wait()
        try:
            results[index] = workers[index]()
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=wrap, args=(i,)) for i in range(len(workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a racing thread hung"
    return results


def the_only_job() -> JobModel:
    jobs = [j for j in JobModel.scan() if j.owner == OWNER]
    assert len(jobs) == 1, jobs
    return jobs[0]


def test_a_delete_while_the_create_waits_upstream_leaks_nothing(upstream):
    upstream.hold.clear()
    created: list[Any] = []
    worker = threading.Thread(
        target=lambda: created.append(jobs_service.create(OWNER, BODY, "key-1"))
    )
    worker.start()
    assert upstream.entered.wait(10)
    job = the_only_job()  # stored before the paid call
    jobs_service.delete_job(OWNER, job.id)  # the user deletes it while upstream works
    assert counter() == 1  # the render may still be made: the slot stays taken
    upstream.hold.set()
    worker.join(10)
    assert created and created[0].job.id == job.id  # the create answers, never a 500
    stored = job_store.load(job.id)
    assert stored is not None and stored.upstream_id  # the paid render is recorded
    # The refresher cleans it up once upstream finishes: deleted there, slot back once.
    upstream.status[stored.upstream_id] = "completed"
    refresher.refresh_pending()
    assert job_store.load(job.id) is None
    assert upstream.deleted == [stored.upstream_id]
    assert counter() == 0 and counter("*") == 0
    # The key is finished, not stuck: a replay is told the video was deleted.
    with pytest.raises(Exception, match="deleted"):
        jobs_service.create(OWNER, BODY, "key-1")
    assert upstream.creates == 1


def test_parallel_deletes_release_the_slot_once_and_the_limit_holds(upstream):
    job = jobs_service.create(OWNER, BODY, None).job
    upstream.status[job.upstream_id] = "completed"  # upstream is done: deletes go through
    assert counter() == 1
    outcomes = run_together([lambda: jobs_service.delete_job(OWNER, job.id)] * 12)
    assert counter() == 0 and counter("*") == 0, outcomes  # never below zero
    assert job_store.load(job.id) is None
    assert all(o is None or "no such video" in str(o).lower() for o in outcomes), outcomes
    # The limit still holds for the next burst: 10 parallel creates, 5 admitted.
    results = run_together([lambda: jobs_service.create(OWNER, BODY, None)] * 10)
    admitted = [r for r in results if isinstance(r, jobs_service.Created)]
    refused = [r for r in results if isinstance(r, LimitReached)]
    assert (len(admitted), len(refused)) == (5, 5), results
    assert counter() == 5


def test_refresher_deletes_and_webhook_refreshes_race_without_drift(upstream):
    jobs = [jobs_service.create(OWNER, BODY, None).job for _ in range(5)]
    for job in jobs:
        upstream.status[job.upstream_id] = "failed"  # ends: every path wants to finish it
    workers: list[Callable[[], Any]] = [refresher.refresh_pending] * 3
    for job in jobs:
        workers.append(lambda job=job: jobs_service.delete_job(OWNER, job.id))
        workers.append(lambda job=job: lifecycle.refresh_job(job_store.load(job.id) or job))
    outcomes = run_together(workers)
    refresher.refresh_pending()  # whatever a race deferred
    assert [job_store.load(j.id) for j in jobs] == [None] * 5, outcomes
    assert counter() == 0 and counter("*") == 0


def test_a_deleted_job_whose_render_never_ends_goes_after_the_pending_limit(upstream, monkeypatch):
    monkeypatch.setenv("PENDING_TIMEOUT_SECONDS", "600")
    runtime.init()
    registry.set_provider("openai", upstream)
    job = jobs_service.create(OWNER, BODY, None).job
    jobs_service.delete_job(OWNER, job.id)
    refresher.refresh_pending()
    assert job_store.load(job.id) is not None and counter() == 1  # still rendering upstream
    upstream.retrieve_error = UpstreamUnavailable("upstream keeps failing", status=503)
    CLOCK.advance(601)
    refresher.refresh_pending()
    assert job_store.load(job.id) is None
    assert counter() == 0 and counter("*") == 0


def test_a_create_that_broke_off_after_it_was_sent_is_uncertain_not_nothing(upstream):
    upstream.create_error = UpstreamOutcomeUncertain("read timed out after sending")
    spent = spent_cents()
    first = jobs_service.create(OWNER, BODY, "key-u")
    assert first.job.status == "queued" and first.job.upstream_id is None
    assert counter() == 1  # a render may exist: its slot and spend stay taken
    assert spent_cents() > spent
    again = jobs_service.create(OWNER, BODY, "key-u")  # a retry pays nothing twice
    assert again.job.id == first.job.id and upstream.creates == 1
    CLOCK.advance(lifecycle.SUBMISSION_GRACE_SECONDS + 1)
    refresher.refresh_pending()
    failed = job_store.load(first.job.id)
    assert (failed.status, failed.error_code) == ("failed", "submission_uncertain")
    assert counter() == 0
    assert spent_cents() > spent  # possibly billed: the estimate stays counted


def test_a_create_refused_upstream_gives_everything_back_once(upstream):
    upstream.create_error = UpstreamUnavailable("upstream answered 500", status=500)
    spent = spent_cents()
    with pytest.raises(UpstreamUnavailable):
        jobs_service.create(OWNER, BODY, "key-r")
    assert counter() == 0 and counter("*") == 0
    assert spent_cents() == spent
    assert [j for j in JobModel.scan() if j.owner == OWNER] == []
    upstream.create_error = None
    assert jobs_service.create(OWNER, BODY, "key-r").job.upstream_id  # the key is free


def test_reconciliation_repairs_drift_seen_twice_and_spares_work_in_flight(upstream):
    jobs_service.create(OWNER, BODY, None)
    QuotaCounter(f"quota#pending#{OWNER}").update(actions=[QuotaCounter.count.add(6)])
    assert counter() == 7  # a leak: one job holds a slot, the counter says seven
    assert reconcile.reconcile(force=True) == {}  # first sighting: noted only
    corrected = reconcile.reconcile(force=True)
    assert corrected == {f"quota#pending#{OWNER}": -6}
    assert counter() == 1
    # A counter written between two runs (a create in flight) is not "corrected".
    QuotaCounter(f"quota#pending#{OWNER}").update(actions=[QuotaCounter.count.add(1)])
    assert reconcile.reconcile(force=True) == {}
    jobs_service.create(OWNER, BODY, None)  # the counter moves: the sighting is stale
    assert reconcile.reconcile(force=True) == {}
    assert counter() == 3


def test_a_render_the_upstream_failed_without_a_charge_gives_its_estimate_back(upstream):
    spent = spent_cents()
    total = quotas.usage(OWNER)["spent_total_usd"]
    job = jobs_service.create(OWNER, BODY, None).job
    assert spent_cents() > spent
    upstream.status[job.upstream_id] = "failed"  # e.g. refused by moderation, nothing billed
    refresher.refresh_pending()
    assert job_store.load(job.id).status == "failed"
    assert spent_cents() == spent
    assert quotas.usage(OWNER)["spent_total_usd"] == total
    refresher.refresh_pending()  # refunded once, whoever refreshes again
    assert spent_cents() == spent and counter() == 0
