"""The minute refresher: every pending job, in parallel, each isolated from the others'
failures, backing off together on upstream 429, and stopping before its time budget ends
so the Lambda never dies mid-write; what it could not reach waits for the next tick."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from chalicelib.config import get_settings
from chalicelib.jobs import lifecycle
from chalicelib.jobs import store as job_store
from chalicelib.models import JobModel
from chalicelib.upstreams.base import UpstreamError, UpstreamRateLimited

log = logging.getLogger(__name__)

RATE_LIMIT_PAUSE_SECONDS = 2.0


@dataclass
class RefreshReport:
    pending: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {"pending": self.pending, **self.outcomes, "seconds": round(self.seconds, 3)}


class _Pacer:
    """Shared pause after an upstream 429, so all workers slow down together."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._resume_at = 0.0

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._resume_at = max(self._resume_at, time.monotonic() + seconds)

    def wait(self, deadline: float) -> bool:
        """Wait out a pause; False when the pause would run past the deadline."""
        with self._lock:
            resume_at = self._resume_at
        if resume_at > deadline:
            return False
        delay = resume_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        return True


def refresh_pending(
    *, time_budget: float | None = None, concurrency: int | None = None
) -> RefreshReport:
    settings = get_settings()
    budget = settings.refresh_time_budget_seconds if time_budget is None else time_budget
    workers = concurrency or settings.refresh_concurrency
    started = time.monotonic()
    deadline = started + budget
    jobs = job_store.pending_jobs()
    report = RefreshReport(pending=len(jobs))
    pacer = _Pacer()
    lock = threading.Lock()

    def run(job: JobModel) -> None:
        outcome = _refresh_one(job, pacer, deadline)
        with lock:
            report.outcomes[outcome] += 1

    if jobs:
        with ThreadPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
            list(pool.map(run, jobs))
    report.seconds = time.monotonic() - started
    log.debug("refresh finished: %s", report.as_dict())
    return report


def _refresh_one(job: JobModel, pacer: _Pacer, deadline: float) -> str:
    if time.monotonic() >= deadline or not pacer.wait(deadline):
        return "deferred"
    try:
        fresh = lifecycle.refresh_job(job)
    except UpstreamRateLimited as exc:
        pacer.pause(exc.retry_after or RATE_LIMIT_PAUSE_SECONDS)
        log.warning("job %s: upstream rate limit (request %s)", job.id, exc.request_id)
        return "rate_limited"
    except UpstreamError as exc:
        log.warning("job %s: upstream error %s (request %s)", job.id, exc, exc.request_id)
        return "error"
    except Exception:
        log.exception("job %s: refresh failed", job.id)
        return "error"
    if fresh.deleted_at is not None:
        return "cleanup"
    return fresh.status
