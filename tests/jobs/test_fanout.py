"""The refresher's fan-out (chalicelib/jobs/refresher.py): the tick reads the pending ids
only, splits them evenly into shards (every id in exactly one), hands each to the worker with
the payload it needs, refreshes a shard it could not hand off itself within its budget, and
every worker honours the 429 pause any other one shared through `refresh#pause`."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.jobs import stored_job

THRESHOLD, SHARD_SIZE, WORKERS = 5, 4, 3


class FakeUpstream:
    """Answers every retrieve `in_progress` after `delay` seconds (or 429 for the ids in
    `limited`), recording which ids were asked for, and when the calls started."""

    name = "openai"

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.clock: StepClock | None = None  # set: a call moves it instead of sleeping
        self.limited: set[str] = set()
        self.calls: list[tuple[str, float]] = []
        self._lock = threading.Lock()

    def retrieve(self, upstream_id: str) -> Any:
        from chalicelib.upstreams.base import UpstreamRateLimited, UpstreamVideo

        with self._lock:
            self.calls.append((upstream_id, time.monotonic()))
        if self.clock is not None:
            self.clock.sleep(self.delay)
        else:
            time.sleep(self.delay)
        if upstream_id in self.limited:
            raise UpstreamRateLimited("slow down", status=429, retry_after=30)
        return UpstreamVideo(id=upstream_id, status="in_progress", progress=10)

    def asked(self) -> set[str]:
        with self._lock:
            return {upstream_id for upstream_id, _ in self.calls}


@pytest.fixture
def upstream(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeUpstream]:
    """A stage with a small fan-out threshold and the fake upstream installed."""
    from chalicelib import runtime
    from chalicelib.upstreams import registry

    monkeypatch.setenv("REFRESH_FANOUT_THRESHOLD", str(THRESHOLD))
    monkeypatch.setenv("REFRESH_SHARD_SIZE", str(SHARD_SIZE))
    monkeypatch.setenv("REFRESH_WORKERS", str(WORKERS))
    runtime.init()
    fake = FakeUpstream()
    registry.set_provider("openai", fake)
    yield fake
    runtime.init()  # the next test's settings come from its own environment


def pending(count: int) -> list[Any]:
    return [
        stored_job(upstream_id=f"video_{n:04d}_{time.monotonic_ns()}", upstream_status="queued")
        for n in range(count)
    ]


class StepClock:
    """The refresher's `time` in one test: it moves only when the fake upstream "sleeps", so
    its time budget is spent by upstream calls alone, whatever else the machine is doing."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._base = time.monotonic()
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self._base + self._offset

    def time(self) -> float:
        with self._lock:
            return time.time() + self._offset

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self._offset += max(0.0, seconds)


class Dispatcher:
    """Stands in for the asynchronous invoke: keeps the payloads, fails the shards asked."""

    def __init__(self, failing: tuple[int, ...] = ()) -> None:
        self.failing = failing
        self.payloads: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def __call__(self, shard: Any) -> None:
        if shard.index in self.failing:
            raise RuntimeError("Lambda said no")
        with self._lock:
            self.payloads.append(json.loads(json.dumps(shard.payload())))  # as an invoke sends


def test_split_is_even_and_keeps_every_id_once() -> None:
    from chalicelib.jobs.refresher import MAX_SHARD_IDS, shard_count, split

    assert shard_count(0, 500, 20) == 0
    assert shard_count(501, 500, 20) == 2
    assert shard_count(10_000, 500, 20) == 20
    assert shard_count(30_000, 500, 20) == 20  # never more workers than reserved...
    # ...unless an event would not fit
    assert shard_count(100_000, 500, 20) == 100_000 // MAX_SHARD_IDS
    keys = [(f"id{n}", f"k{n:05d}") for n in range(10_007)]
    for count in (1, 2, 3, 20, 7):
        runs = split(keys, count)
        assert len(runs) == count
        assert {len(r) for r in runs} <= {len(keys) // count, len(keys) // count + 1}
        assert [k for run in runs for k in run] == keys  # in order, each exactly once
        for before, after in itertools.pairwise(runs):
            assert before[-1][1] < after[0][1]  # ranges never overlap
    assert split(keys[:2], 3) == [[keys[0]], [keys[1]]]


def test_the_tick_reads_ids_only_and_hands_out_even_shards(upstream: FakeUpstream) -> None:
    from chalicelib.jobs import refresher
    from infra.iam import CallRecorder

    jobs = pending(11)
    dispatch = Dispatcher()
    recorder = CallRecorder()
    before = time.time()
    with recorder.recording() as calls:
        report = refresher.refresh_pending(time_budget=40, dispatch=dispatch)

    figures = report.as_dict()
    del figures["seconds"]
    assert figures == {"pending": 11, "dispatched": 11, "shards": 3}
    assert upstream.calls == []  # the workers call the upstream, not the tick
    (query,) = [(c.operation, c.params) for c in calls]  # one read, of the index, ids only
    assert query[0] == "Query" and query[1]["IndexName"] == "pending-index"
    names = query[1]["ExpressionAttributeNames"]
    projected = {names[n.strip()] for n in query[1]["ProjectionExpression"].split(",")}
    assert projected == {"id", "created_key"}

    payloads = sorted(dispatch.payloads, key=lambda p: p["shard"])
    assert [len(p["ids"]) for p in payloads] == [4, 4, 3]
    ids = [i for p in payloads for i in p["ids"]]
    assert sorted(ids) == sorted(j.id for j in jobs) and len(set(ids)) == len(ids)
    keys = {j.id: j.created_key for j in jobs}
    for p in payloads:
        assert p["of"] == 3
        assert p["first"] == keys[p["ids"][0]] and p["last"] == keys[p["ids"][-1]]
        assert all(p["first"] <= keys[i] <= p["last"] for i in p["ids"])
        assert before <= p["started_at"] <= time.time()
        assert p["deadline"] == pytest.approx(p["started_at"] + 40)


def test_a_worker_refreshes_its_shard_and_nothing_else(upstream: FakeUpstream) -> None:
    from chalicelib.jobs import refresher
    from chalicelib.jobs import store as job_store
    from chalicelib.routes.schedule import refresh_shard

    jobs = pending(11)
    dispatch = Dispatcher()
    refresher.refresh_pending(time_budget=40, dispatch=dispatch)
    shard = sorted(dispatch.payloads, key=lambda p: p["shard"])[1]
    by_id = {j.id: j for j in jobs}

    answer = refresh_shard(shard, LambdaContext(remaining_ms=60_000))  # as Lambda calls it
    assert (answer["pending"], answer.get("in_progress")) == (4, 4), answer
    assert upstream.asked() == {by_id[i].upstream_id for i in shard["ids"]}
    for job_id in by_id:
        expected = "in_progress" if job_id in shard["ids"] else "queued"
        assert job_store.load(job_id).status == expected

    # A job that finished since the tick read the ids is not refreshed again.
    job_store.fail(job_store.load(shard["ids"][0]), "upstream_failed", "gone")
    report = refresher.refresh_shard(shard)
    assert report.outcomes == {"in_progress": 3, "gone": 1}
    # A Lambda about to time out starts nothing: it keeps WORKER_STOP_SECONDS in hand.
    answer = refresh_shard(shard, LambdaContext(remaining_ms=4_000))
    assert answer["expired"] == 4


class LambdaContext:
    def __init__(self, remaining_ms: int) -> None:
        self.deadline = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return int((self.deadline - time.monotonic()) * 1000)


def test_a_failed_hand_off_is_refreshed_here_within_the_budget(
    upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.jobs import refresher

    pending(11)
    dispatch = Dispatcher(failing=(1,))
    clock = StepClock()
    monkeypatch.setattr(refresher, "time", clock)
    upstream.clock, upstream.delay = clock, 0.3
    report = refresher.refresh_pending(time_budget=0.5, concurrency=1, dispatch=dispatch)

    assert sorted(p["shard"] for p in dispatch.payloads) == [0, 2]
    assert report.shards == 2
    assert report.outcomes["dispatched"] == 7  # shards 0 and 2: 4 + 3 jobs
    # Shard 1's four jobs were the tick's own, one at a time at 0.3 s: two start within the
    # 0.5 s (at 0 and 0.3 s), the others wait for the next tick.
    assert report.outcomes["in_progress"] == 2 and report.outcomes["deferred"] == 2
    assert len(upstream.calls) == 2
    assert report.seconds == pytest.approx(0.6)  # the budget and one call in flight, not four

    monkeypatch.setattr(refresher, "time", time)
    upstream.clock, upstream.delay = None, 0.0
    report = refresher.refresh_pending(time_budget=40, dispatch=Dispatcher(failing=(0, 1, 2)))
    assert report.shards == 0 and report.outcomes == {"in_progress": 11}
    assert "shards" not in report.as_dict()


def test_below_the_threshold_the_tick_refreshes_itself(upstream: FakeUpstream) -> None:
    from chalicelib.jobs import refresher

    jobs = pending(THRESHOLD)
    dispatch = Dispatcher()
    report = refresher.refresh_pending(dispatch=dispatch)
    assert dispatch.payloads == []
    assert report.as_dict()["in_progress"] == THRESHOLD and "shards" not in report.as_dict()
    assert upstream.asked() == {j.upstream_id for j in jobs}


def test_the_worker_function_is_invoked_asynchronously(
    upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib import aws, runtime
    from chalicelib.jobs import refresher
    from chalicelib.routes.schedule import tick

    class LambdaStub:
        def __init__(self) -> None:
            self.invokes: list[dict[str, Any]] = []

        def invoke(self, **kwargs: Any) -> dict[str, Any]:
            self.invokes.append(kwargs)
            return {"StatusCode": 202 if len(self.invokes) != 2 else 500}

    monkeypatch.setenv("REFRESH_WORKER_FUNCTION", "sora-studio-test-refresh_shard")
    runtime.init()
    from chalicelib.upstreams import registry

    registry.set_provider("openai", upstream)
    stub = LambdaStub()
    monkeypatch.setattr(aws, "lambda_client", lambda: stub)
    monkeypatch.setattr(refresher, "DISPATCH_THREADS", 1)  # the second invoke is shard 1
    pending(11)

    result = tick()  # the scheduled function's entry point, unchanged
    assert result["dispatched"] == 7 and result["shards"] == 2
    assert result["in_progress"] == 4  # the shard Lambda answered 500 for: refreshed here
    assert [i["FunctionName"] for i in stub.invokes] == ["sora-studio-test-refresh_shard"] * 3
    assert {i["InvocationType"] for i in stub.invokes} == {"Event"}
    shards = [json.loads(i["Payload"]) for i in stub.invokes]
    assert [s["shard"] for s in shards] == [0, 1, 2]
    assert sum(len(s["ids"]) for s in shards) == 11


def test_a_late_or_malformed_event_does_nothing(upstream: FakeUpstream) -> None:
    from chalice.test import Client

    from app import app
    from chalicelib.jobs import refresher

    pending(11)
    dispatch = Dispatcher()
    refresher.refresh_pending(time_budget=40, dispatch=dispatch)
    late = {**dispatch.payloads[0], "deadline": time.time() - 1}  # a retry after the tick
    assert refresher.refresh_shard(late).outcomes == {"expired": len(late["ids"])}
    with Client(app, stage_name="test") as client:
        answer = client.lambda_.invoke("refresh_shard", {"ids": "not a list"}).payload
    assert "not a refresher shard" in answer["error"]
    assert upstream.calls == []


# -- the shared 429 pause -----------------------------------------------------------------------


def pause_until() -> float:
    from chalicelib.models import RefreshPause

    return float(RefreshPause.get("refresh#pause").until)


def test_a_429_in_one_worker_stops_the_other_workers_calls(
    upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers at once: when A's upstream answers 429 (retry after 30 s), B stops calling
    within its next batch (here every job reads the pause) and defers the rest."""
    from chalicelib.jobs import refresher

    monkeypatch.setattr(refresher, "PAUSE_READ_EVERY_JOBS", 1)
    jobs = pending(40)
    dispatch = Dispatcher()
    monkeypatch.setenv("REFRESH_SHARD_SIZE", "20")
    monkeypatch.setenv("REFRESH_WORKERS", "2")
    from chalicelib import runtime
    from chalicelib.upstreams import registry

    runtime.init()
    registry.set_provider("openai", upstream)
    refresher.refresh_pending(time_budget=20, dispatch=dispatch)
    shard_a, shard_b = sorted(dispatch.payloads, key=lambda p: p["shard"])
    by_id = {j.id: j.upstream_id for j in jobs}
    upstream.limited = {by_id[i] for i in shard_a["ids"]}
    upstream.delay = 0.1  # B alone would take 2 s
    limited_at: list[float] = []
    real_pause = refresher.SharedPause.pause

    def pause(self: Any, seconds: float) -> None:
        real_pause(self, seconds)
        limited_at.append(time.monotonic())

    monkeypatch.setattr(refresher.SharedPause, "pause", pause)
    reports: dict[str, Any] = {}

    def worker_a() -> None:
        time.sleep(0.3)  # B is under way when A's first answer is a 429
        reports["a"] = refresher.refresh_shard(shard_a, concurrency=1)

    def worker_b() -> None:
        reports["b"] = refresher.refresh_shard(shard_b, concurrency=1)

    threads = [threading.Thread(target=worker_a), threading.Thread(target=worker_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert reports["a"].outcomes == {"rate_limited": 1, "deferred": 19}
    assert pause_until() == pytest.approx(time.time() + 30, abs=5)
    b_calls = [at for upstream_id, at in upstream.calls if upstream_id not in upstream.limited]
    assert 0 < len(b_calls) < 20, "B was under way, then stopped"
    assert reports["b"].outcomes["deferred"] == 20 - len(b_calls)
    assert max(b_calls) < limited_at[0] + 0.2  # no call of B's began after the pause was seen

    # A worker that starts later (another process: nothing in memory) holds off too.
    upstream.calls.clear()
    late = refresher.refresh_shard(shard_b)
    assert upstream.calls == [] and set(late.outcomes) == {"deferred"}


def test_the_pause_is_read_once_per_batch_and_never_moves_back(upstream: FakeUpstream) -> None:
    from chalicelib.jobs import refresher
    from chalicelib.models import RefreshPause
    from infra.iam import CallRecorder

    pending(40)
    recorder = CallRecorder()
    with recorder.recording() as calls:
        report = refresher.refresh_pending(concurrency=4)  # no worker: every job here
    assert report.outcomes == {"in_progress": 40}
    reads = [c for c in calls if c.params.get("Key", {}).get("id") == {"S": "refresh#pause"}]
    assert len(reads) == 2  # once per batch of PAUSE_READ_EVERY_JOBS (32): jobs 1 and 33

    refresher._store_pause(time.time() + 30)
    refresher._store_pause(time.time() + 5)  # a shorter pause never shortens a longer one
    assert pause_until() == pytest.approx(time.time() + 30, abs=2)
    RefreshPause("refresh#pause", until=time.time() - 1).save()  # a pause that is over
    upstream.calls.clear()
    assert refresher.refresh_pending(concurrency=4).outcomes == {"in_progress": 40}
    assert len(upstream.calls) == 40
