"""Helpers for the lifecycle tests: a movable clock shared by the backend and the simulator,
an HTTP-level fault injector for the real upstream client, upload counting and webhooks."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import requests

OWNER = "local"
PROMPT = "A cozy campfire at night in the forest"
SECONDS = 4
API_KEY = "sk-test-simulator-key-0123456789abcdef"
# The lifecycle simulator runs at speed 0.1: a 4-second video renders in (2 + 2*4) / 0.1 s
# of *clock* time, so nothing finishes until a test moves the clock.
SIM_SPEED = 0.1
RENDER_CLOCK_SECONDS = (2 + 2 * SECONDS) / SIM_SPEED
SIM_EXPIRY_SECONDS = 900


class MovableClock:
    """Wall time plus an offset that only grows; `advance` jumps forward without sleeping."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time never goes backwards here")
        with self._lock:
            self._offset += seconds


CLOCK = MovableClock()


# -- jobs ------------------------------------------------------------------------------------


def create_job(prompt: str = PROMPT, seconds: int = SECONDS, **fields: Any) -> Any:
    """Create a job through the service (a real upstream create against the simulator)."""
    from chalicelib.jobs import service as jobs_service

    body = json.dumps({"prompt": prompt, "seconds": seconds, **fields}).encode()
    return jobs_service.create(OWNER, body, None).job


def seed_jobs(count: int, prompt: str = PROMPT, seconds: int = SECONDS) -> list[Any]:
    """`count` jobs as `POST /api/videos` leaves them (real upstream videos in the simulator,
    job items and upstream links stored), written in a few batch calls instead of ~4 calls
    per job, so big races set up fast."""
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib import clock
    from chalicelib.jobs import store as job_store
    from chalicelib.models import JobModel, UpstreamLink
    from chalicelib.upstreams.base import CreateRequest
    from chalicelib.upstreams.registry import provider_named

    provider = provider_named("openai")
    request = CreateRequest(prompt=prompt, model="sora-2", size="1280x720", seconds=seconds)
    with ThreadPoolExecutor(max_workers=8) as pool:
        videos = list(pool.map(lambda _: provider.create(request), range(count)))
    jobs = []
    for video in videos:
        job = job_store.new_job(
            owner=OWNER,
            prompt=prompt,
            model="sora-2",
            provider="openai",
            size="1280x720",
            seconds=seconds,
            estimated_cost_usd=0.4,
        )
        job.upstream_id = video.id
        job.upstream_status = video.status
        job.checked_at = clock.now()
        job.version = 1  # as `Model.save` would have set it
        jobs.append(job)
    with JobModel.batch_write() as batch:
        for job in jobs:
            batch.save(job)
    with UpstreamLink.batch_write() as links:
        for job in jobs:
            links.save(UpstreamLink(UpstreamLink.key(job.upstream_id), job_id=job.id))
    return jobs


def load(job_id: str) -> Any:
    from chalicelib.jobs import store as job_store

    job = job_store.load(job_id)
    assert job is not None, f"job {job_id} vanished"
    return job


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    """Wait on something that happens in real time elsewhere (ffmpeg rendering, a thread)."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(0.02)


def upstream_state(sim: Any, upstream_id: str) -> Any:
    _, state = sim.store.get(upstream_id)
    return state


def finish_upstream(sim: Any, jobs: list[Any]) -> None:
    """Move the clock past the render time and wait until every upstream job completed."""
    CLOCK.advance(RENDER_CLOCK_SECONDS + 1)
    for job in jobs:
        wait_for(
            lambda job=job: upstream_state(sim, job.upstream_id).status == "completed",
            what=f"upstream completion of {job.upstream_id}",
        )


def sim_bytes(sim: Any, upstream_id: str, variant: str = "video") -> bytes:
    job, _ = sim.store.get(upstream_id)
    return job.media.path(variant).read_bytes()


def s3_bytes(aws: dict[str, Any], key: str) -> bytes:
    bucket = aws["settings"].media_bucket
    return aws["s3"].get_object(Bucket=bucket, Key=key)["Body"].read()


def s3_keys(aws: dict[str, Any], job_id: str) -> list[str]:
    bucket = aws["settings"].media_bucket
    listed = aws["s3"].list_objects_v2(Bucket=bucket, Prefix=f"videos/{job_id}/")
    return sorted(item["Key"] for item in listed.get("Contents", []))


def assert_settled(aws: dict[str, Any], simulator: Any, jobs: list[Any]) -> None:
    """Completed and playable (exact bytes, right type in S3) or failed with a reason."""
    from chalicelib.jobs import store as job_store
    from chalicelib.media.store import VARIANT_FILES, media_key

    for job in jobs:
        final = load(job.id)
        assert final.status in ("completed", "failed"), (job.id, final.status)
        assert final.pending is None
        if final.status == "failed":
            assert final.error_code and final.error_message, job.id
            continue
        assert final.archive_state == "archived"
        for variant in ("video", "thumbnail", "spritesheet"):
            key = media_key(job.id, variant)
            assert s3_bytes(aws, key) == sim_bytes(simulator, job.upstream_id, variant)
            head = aws["s3"].head_object(Bucket=aws["settings"].media_bucket, Key=key)
            assert head["ContentType"] == VARIANT_FILES[variant][1]
    assert job_store.pending_jobs() == []


def assert_untouched(before: Any) -> None:
    after = load(before.id)
    assert after.version == before.version, "a failed refresh must not write"
    assert after.status == before.status


# -- uploads ----------------------------------------------------------------------------------


class UploadCounter:
    """Counts finished `media_store.upload_stream` calls per (job id, file name)."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self.fail_next: dict[str, int] = {}  # file name -> uploads still to fail

    def wrap(self, original: Callable[..., int]) -> Callable[..., int]:
        def upload_stream(key: str, chunks: Any, content_type: str) -> int:
            _, job_id, name = key.split("/")
            with self._lock:
                failing = self.fail_next.get(name, 0) > 0
                if failing:
                    self.fail_next[name] -= 1
            if failing:
                raise OSError(f"injected S3 failure writing {name}")
            written = original(key, chunks, content_type)
            with self._lock:
                self.counts[(job_id, name)] += 1
            return written

        return upload_stream

    def videos(self, job_id: str) -> int:
        with self._lock:
            return self.counts[(job_id, "video.mp4")]


# -- upstream faults at the HTTP layer ---------------------------------------------------------


class FaultSession(requests.Session):
    """A requests session for a real `VideosApiClient`: planned faults are answered here
    (HTTP 500, read timeout, a body that breaks off mid-stream, a Range header the upstream
    ignores); everything else goes to the simulator."""

    def __init__(self) -> None:
        super().__init__()
        self._plan: list[tuple[str, re.Pattern[str], str]] = []
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()

    def inject(self, method: str, path_pattern: str, fault: str, times: int = 1) -> None:
        """Fail the next `times` requests whose path (plus `?query`) matches the pattern."""
        assert fault in ("500", "timeout", "break", "norange")
        with self._lock:
            for _ in range(times):
                self._plan.append((method, re.compile(path_pattern), fault))

    def clear(self) -> None:
        with self._lock:
            self._plan.clear()

    def pending_faults(self) -> int:
        with self._lock:
            return len(self._plan)

    def _take(self, method: str, url: str, params: Any) -> str | None:
        target = requests.utils.urlparse(url).path
        if params:
            target += "?" + urlencode(params)
        with self._lock:
            for index, (want_method, pattern, fault) in enumerate(self._plan):
                if want_method == method and pattern.search(target):
                    del self._plan[index]
                    self.injected[fault] += 1
                    return fault
        return None

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        fault = self._take(method, url, kwargs.get("params"))
        if fault == "timeout":
            raise requests.exceptions.ReadTimeout(f"injected read timeout on {method} {url}")
        if fault == "500":
            response = requests.Response()
            response.status_code = 500
            response.url = url
            response.headers["content-type"] = "application/json"
            response.headers["x-request-id"] = "req_injected_" + uuid.uuid4().hex[:8]
            response._content = json.dumps(
                {"error": {"message": "injected failure", "type": "server_error", "code": None}}
            ).encode()
            return response
        if fault == "norange":
            headers = kwargs.get("headers") or {}
            kwargs["headers"] = {k: v for k, v in headers.items() if k.lower() != "range"}
        response = super().request(method, url, *args, **kwargs)
        if fault == "break":
            original = response.iter_content

            def broken(chunk_size: int = 1, decode_unicode: bool = False) -> Iterator[bytes]:
                chunks = original(chunk_size=min(chunk_size, 4096))
                yield next(chunks)
                raise requests.exceptions.ChunkedEncodingError("injected: connection broke off")

            response.iter_content = broken  # type: ignore[method-assign]
        return response


def faulty_client(sim_url: str, session: FaultSession, *, max_retries: int = 1) -> Any:
    from chalicelib.upstreams.videos_api import VideosApiClient

    return VideosApiClient(
        sim_url, API_KEY, timeout=5.0, max_retries=max_retries, session=session, sleep=_no_sleep
    )


def _no_sleep(_seconds: float) -> None:
    return None


# -- webhooks ---------------------------------------------------------------------------------


def signed_webhook(
    secret: str,
    upstream_id: str,
    event_type: str = "video.completed",
    *,
    msg_id: str | None = None,
    timestamp: int | None = None,
) -> tuple[dict[str, str], bytes]:
    from chalicelib import clock
    from chalicelib.webhooks.signature import sign

    msg_id = msg_id or "msg_" + uuid.uuid4().hex
    timestamp = int(clock.now()) if timestamp is None else timestamp
    body = json.dumps(
        {
            "id": "evt_" + uuid.uuid4().hex,
            "object": "event",
            "created_at": timestamp,
            "type": event_type,
            "data": {"id": upstream_id},
        }
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }
    return headers, body
