"""The minute refresher: every pending job, in parallel, each isolated from the others'
failures, backing off together on upstream 429, and stopping before its time budget ends
so the Lambda never dies mid-write; what it could not reach waits for the next tick.

Fan-out. One process with `REFRESH_CONCURRENCY` threads refreshes about
concurrency / upstream latency jobs a second (16 threads at 300 ms: ~53/s, ~2,400 in a 45 s
budget), so past a few thousand pending jobs one tick cannot reach them all. When the stage
names a worker function (`REFRESH_WORKER_FUNCTION`, the Chalice function `refresh_shard`):

- the tick reads the pending ids only (`id` and `created_key`, a projection of the sparse
  pending-index; never whole items). Up to `REFRESH_FANOUT_THRESHOLD` (500) it refreshes
  them itself, as one shard;
- above it, it splits them, in index order, into `min(ceil(n / REFRESH_SHARD_SIZE),
  REFRESH_WORKERS)` shards whose sizes differ by at most one (more only when a shard would
  pass MAX_SHARD_IDS, the size that keeps an event under Lambda's 256 KB) and hands each one to
  the worker by an asynchronous invoke (`InvocationType="Event"`). The payload holds the
  shard's ids, the `created_key` range that contains them, and the tick's start and
  deadline in Unix seconds;
- a worker queries its range of the pending-index (one paged Query reads its jobs whole),
  keeps its own ids, and refreshes them with this module's thread pool until the tick's
  deadline or its own Lambda's remaining time less WORKER_STOP_SECONDS, whichever is first.
  An event that arrives after the deadline (a late or retried invoke) does nothing: the next
  tick reads the pending jobs afresh;
- a hand-off that fails is refreshed here, by the tick's own pool within its budget.

Why asynchronous invokes rather than SQS: the tick needs no retries or buffering (the pending
index is the queue; every tick re-reads it and refreshing twice is harmless), so a queue would
add a resource, its own retries and visibility timeouts to reason about and a poller's
latency, for nothing. An invoke needs only `lambda:InvokeFunction` on the one worker
function (infra/policy.py grants it to the tick's role alone) and starts the workers within
the second. `REFRESH_WORKERS` is the worker's reserved concurrency (.chalice/config.json), so
10,000 pending jobs become at most that many workers, never one per job, and a shard never
waits in Lambda's queue for a free worker.

The 429 pause is shared by every refresher through one small item, `refresh#pause` with
`until` (models.RefreshPause): an upstream 429 pauses this process at once and raises
`until`; each process re-reads it once per batch of PAUSE_READ_EVERY_JOBS jobs (a read per
two jobs a thread; ~0.03 reads per job), so another worker's 429 stops this one's calls
within a batch.

Without a worker function (`make run`'s loop, the tests, a stage that names none) the tick
is every shard's worker: it reads the full items once, as it always did, and its pool
refreshes them all, with the same shared pause. `routes/schedule.tick()` stays the one
entry point in both cases.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from pynamodb.exceptions import DoesNotExist, PynamoDBException, UpdateError

from chalicelib import aws
from chalicelib.config import get_settings
from chalicelib.jobs import lifecycle
from chalicelib.jobs import store as job_store
from chalicelib.models import PENDING_MARK, JobModel, RefreshPause, is_conditional_failure
from chalicelib.upstreams.base import UpstreamError, UpstreamRateLimited

log = logging.getLogger(__name__)

RATE_LIMIT_PAUSE_SECONDS = 2.0
PAUSE_ID = "refresh#pause"
PAUSE_READ_EVERY_JOBS = 32
WORKER_STOP_SECONDS = 5.0  # a worker stops this long before its Lambda's timeout
MAX_SHARD_IDS = 4_000  # ~40 bytes an id: an event stays well under Lambda's 256 KB
DISPATCH_THREADS = 8

Key = tuple[str, str]  # (id, created_key) of a pending job
Dispatch = Callable[["Shard"], None]  # hands a shard to a worker; raises when it could not


@dataclass
class RefreshReport:
    pending: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    shards: int = 0  # shards handed to workers (0: this process refreshed every job)

    def as_dict(self) -> dict[str, object]:
        handed = {"shards": self.shards} if self.shards else {}
        return {
            "pending": self.pending,
            **self.outcomes,
            **handed,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class Shard:
    """One worker's part of a tick: pending ids in pending-index order, the `created_key`
    range holding them, and the tick's start and deadline (Unix seconds)."""

    ids: tuple[str, ...]
    first: str
    last: str
    started_at: float
    deadline: float
    index: int = 0
    count: int = 1

    @classmethod
    def of(
        cls, keys: Sequence[Key], started_at: float, deadline: float, index: int = 0, count: int = 1
    ) -> Shard:
        return cls(
            ids=tuple(job_id for job_id, _ in keys),
            first=keys[0][1],
            last=keys[-1][1],
            started_at=started_at,
            deadline=deadline,
            index=index,
            count=count,
        )

    def payload(self) -> dict[str, Any]:
        return {
            "shard": self.index,
            "of": self.count,
            "ids": list(self.ids),
            "first": self.first,
            "last": self.last,
            "started_at": self.started_at,
            "deadline": self.deadline,
        }

    @classmethod
    def from_payload(cls, event: Any) -> Shard:
        """The shard an invoke carries; ValueError when the event is not one."""
        try:
            ids = event["ids"]
            if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
                raise TypeError("ids")
            first, last = str(event["first"]), str(event["last"])
            return cls(
                ids=tuple(ids),
                first=first,
                last=last,
                started_at=float(event["started_at"]),
                deadline=float(event["deadline"]),
                index=int(event.get("shard", 0)),
                count=int(event.get("of", 1)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a refresher shard: {exc}") from None


def shard_count(pending: int, shard_size: int, workers: int) -> int:
    """How many shards `pending` ids make: one per `shard_size`, at most `workers`, more
    only when a shard would pass MAX_SHARD_IDS."""
    if pending <= 0:
        return 0
    return max(min(math.ceil(pending / shard_size), workers), math.ceil(pending / MAX_SHARD_IDS))


def split(keys: Sequence[Key], count: int) -> list[list[Key]]:
    """`keys` in `count` contiguous runs (their ranges never overlap) whose sizes differ by
    at most one; every key in exactly one."""
    base, extra = divmod(len(keys), count)
    runs, start = [], 0
    for index in range(count):
        size = base + (1 if index < extra else 0)
        runs.append(list(keys[start : start + size]))
        start += size
    return [run for run in runs if run]


# -- the shared 429 pause ---------------------------------------------------------------------


class SharedPause:
    """The pause after an upstream 429, shared by this process's threads (at once) and by
    every other refresher through the `refresh#pause` item (re-read once per batch)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._resume_at = 0.0  # time.monotonic()
        self._read_every = PAUSE_READ_EVERY_JOBS
        self._since_read = self._read_every  # the first job reads it

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._resume_at = max(self._resume_at, time.monotonic() + seconds)
        _store_pause(time.time() + seconds)

    def wait(self, deadline: float) -> bool:
        """Wait out a pause; False when the pause would run past the deadline (monotonic)."""
        self._sync()
        while True:
            with self._lock:
                resume_at = self._resume_at
            if resume_at > deadline:
                return False
            delay = resume_at - time.monotonic()
            if delay <= 0:
                return True
            time.sleep(delay)

    def _sync(self) -> None:
        with self._lock:
            self._since_read += 1
            if self._since_read < self._read_every:
                return
            self._since_read = 0  # this thread reads it; the others go on meanwhile
        until = _load_pause()
        if until is not None:
            with self._lock:
                self._resume_at = max(self._resume_at, time.monotonic() + until - time.time())


def _load_pause() -> float | None:
    """The shared pause's end (Unix seconds), 0 when none was ever set, None when unreadable
    (the local pause then stands alone)."""
    try:
        return float(RefreshPause.get(PAUSE_ID).until)
    except DoesNotExist:
        return 0.0
    except PynamoDBException as exc:
        log.warning("refresh pause unreadable: %s", exc)
        return None


def _store_pause(until: float) -> None:
    """Move the shared pause's end to `until`, never backwards."""
    try:
        RefreshPause(PAUSE_ID).update(
            actions=[RefreshPause.until.set(until)],
            condition=RefreshPause.until.does_not_exist() | (RefreshPause.until < until),
        )
    except UpdateError as exc:
        if not is_conditional_failure(exc):  # a later pause is already there otherwise
            log.warning("refresh pause not shared: %s", exc)


# -- the tick ---------------------------------------------------------------------------------


def refresh_pending(
    *,
    time_budget: float | None = None,
    concurrency: int | None = None,
    dispatch: Dispatch | None = None,
) -> RefreshReport:
    """One tick's refresh. With a worker (`dispatch`, else REFRESH_WORKER_FUNCTION) the pending
    ids above the threshold go out in shards; otherwise this process refreshes every job."""
    settings = get_settings()
    budget = settings.refresh_time_budget_seconds if time_budget is None else time_budget
    workers = concurrency or settings.refresh_concurrency
    started, started_at = time.monotonic(), time.time()
    deadline = started + budget
    if dispatch is None and settings.refresh_worker_function:
        dispatch = invoke_worker(settings.refresh_worker_function)
    pause = SharedPause()
    if dispatch is None:
        jobs = job_store.pending_jobs()
        report = RefreshReport(pending=len(jobs))
        _refresh_all(jobs, pause, deadline, workers, report)
    else:
        keys = pending_keys()
        report = RefreshReport(pending=len(keys))
        fan_out = len(keys) > settings.refresh_fanout_threshold
        count = shard_count(len(keys), settings.refresh_shard_size, settings.refresh_workers)
        runs = split(keys, count if fan_out else 1) if keys else []
        shards = [
            Shard.of(run, started_at, started_at + budget, index, len(runs))
            for index, run in enumerate(runs)
        ]
        left = shards  # below the threshold this process is the one shard's worker
        if fan_out:
            left = _hand_out(shards, dispatch)
            report.shards = len(shards) - len(left)
            if report.shards:
                report.outcomes["dispatched"] = len(keys) - sum(len(s.ids) for s in left)
        jobs = [job for shard in left for job in load_shard(shard)]
        _refresh_all(jobs, pause, deadline, workers, report)
    report.seconds = time.monotonic() - started
    log.debug("refresh finished: %s", report.as_dict())
    return report


def pending_keys() -> list[Key]:
    """(id, created_key) of every pending job in index order, read as a projection of those
    two attributes: the tick never parses or holds whole items."""
    query = JobModel.pending_index.query(PENDING_MARK, attributes_to_get=["id", "created_key"])
    return [(job.id, job.created_key) for job in query]


def load_shard(shard: Shard) -> list[JobModel]:
    """The shard's jobs still pending, whole, from its range of the pending-index."""
    wanted = set(shard.ids)
    in_range = JobModel.created_key.between(shard.first, shard.last)
    return [j for j in JobModel.pending_index.query(PENDING_MARK, in_range) if j.id in wanted]


def invoke_worker(function_name: str) -> Dispatch:
    """Hand-offs by asynchronous invoke of the worker function (202: queued by Lambda)."""

    def dispatch(shard: Shard) -> None:
        answer = aws.lambda_client().invoke(
            FunctionName=function_name,
            InvocationType="Event",
            Payload=json.dumps(shard.payload()).encode(),
        )
        if answer.get("StatusCode") != 202:
            raise RuntimeError(f"invoke of {function_name} answered {answer.get('StatusCode')}")

    return dispatch


def _hand_out(shards: Sequence[Shard], dispatch: Dispatch) -> list[Shard]:
    """Dispatch every shard (a few at a time); the shards that could not be handed off."""

    def attempt(shard: Shard) -> Shard | None:
        try:
            dispatch(shard)
        except Exception as exc:
            log.warning(
                "shard %d/%d not handed off (%s): refreshing it here",
                shard.index + 1,
                shard.count,
                exc,
            )
            return shard
        return None

    with ThreadPoolExecutor(max_workers=min(DISPATCH_THREADS, len(shards))) as pool:
        return [shard for shard in pool.map(attempt, shards) if shard is not None]


# -- the worker -------------------------------------------------------------------------------


def refresh_shard(
    event: Any,
    *,
    remaining_seconds: Callable[[], float] | None = None,
    concurrency: int | None = None,
) -> RefreshReport:
    """A worker's run over the shard an invoke carries, until the tick's deadline (or this
    Lambda's remaining time less WORKER_STOP_SECONDS). ValueError for a malformed event."""
    shard = Shard.from_payload(event)
    started = time.monotonic()
    left = shard.deadline - time.time()
    if remaining_seconds is not None:
        left = min(left, remaining_seconds() - WORKER_STOP_SECONDS)
    report = RefreshReport(pending=len(shard.ids))
    if left <= 0:  # a late or retried event: the next tick has read these jobs again
        report.outcomes["expired"] = len(shard.ids)
    else:
        jobs = load_shard(shard)
        report.pending = len(jobs)
        if len(jobs) < len(shard.ids):
            report.outcomes["gone"] = len(shard.ids) - len(jobs)  # finished since the tick
        workers = concurrency or get_settings().refresh_concurrency
        _refresh_all(jobs, SharedPause(), started + left, workers, report)
    report.seconds = time.monotonic() - started
    log.debug("shard %d/%d finished: %s", shard.index + 1, shard.count, report.as_dict())
    return report


# -- one job ----------------------------------------------------------------------------------


def _refresh_all(
    jobs: Iterable[JobModel],
    pause: SharedPause,
    deadline: float,
    workers: int,
    report: RefreshReport,
) -> None:
    jobs = list(jobs)
    lock = threading.Lock()

    def run(job: JobModel) -> None:
        outcome = _refresh_one(job, pause, deadline)
        with lock:
            report.outcomes[outcome] += 1

    if jobs:
        with ThreadPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
            list(pool.map(run, jobs))


def _refresh_one(job: JobModel, pause: SharedPause, deadline: float) -> str:
    if time.monotonic() >= deadline or not pause.wait(deadline):
        return "deferred"
    try:
        fresh = lifecycle.refresh_job(job)
    except UpstreamRateLimited as exc:
        pause.pause(exc.retry_after or RATE_LIMIT_PAUSE_SECONDS)
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
