"""Job factories and checks for backend tests.

- `new_job` / `stored_job`: a job item as the service makes it (sora-2, 1280x720), not
  stored / stored, with no upstream video behind it;
- `create_job` (through the service, a real upstream create) and `seed_jobs` (many at once,
  stored in a few batch writes) as `POST /api/videos` leaves them;
- `settle` / `completed_job`: through the Chalice test client, run the refresher until a job
  is terminal (for tests on the real-time simulator);
- `finish_upstream`: move the shared clock past the render (tests marked `movable_clock`);
- `load`, `upstream_state`, `sim_bytes`, `s3_bytes`, `s3_keys`, `assert_settled`,
  `assert_untouched`: what a test checks afterwards.
"""

from __future__ import annotations

import json
from typing import Any

from tests.support.api import body as json_body
from tests.support.api import get, post_json
from tests.support.clock import CLOCK, RENDER_CLOCK_SECONDS, VIDEO_SECONDS
from tests.support.wait import wait_until

OWNER = "local"
PROMPT = "A cozy campfire at night in the forest"
SECONDS = VIDEO_SECONDS
TERMINAL = ("completed", "failed")


def settle(
    client: Any, job_id: str, headers: dict[str, str] | None = None, timeout: float = 30.0
) -> dict[str, Any]:
    """Run the refresher and `GET /api/videos/{id}` until the job is completed or failed;
    the job as the API shows it then."""
    from chalicelib.jobs import refresher

    def terminal() -> dict[str, Any] | None:
        refresher.refresh_pending()
        job = json_body(get(client, f"/api/videos/{job_id}", headers))["job"]
        return job if job["status"] in TERMINAL else None

    return wait_until(terminal, timeout=timeout, step=0.05, what=f"job {job_id} terminal")


def completed_job(
    client: Any, payload: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """`POST /api/videos` (default: a 4-second video of PROMPT), settled and completed."""
    created = post_json(client, "/api/videos", payload or {"prompt": PROMPT}, headers)
    assert created.status_code == 201, created.body
    job = settle(client, json_body(created)["job"]["id"], headers)
    assert job["status"] == "completed", job
    return job


def create_job(prompt: str = PROMPT, seconds: int = SECONDS, **fields: Any) -> Any:
    """Create a job through the service (a real upstream create against the simulator)."""
    from chalicelib.jobs import service as jobs_service

    body = json.dumps({"prompt": prompt, "seconds": seconds, **fields}).encode()
    return jobs_service.create(OWNER, body, None).job


def new_job(prompt: str = PROMPT, owner: str = OWNER, seconds: int = SECONDS, **fields: Any) -> Any:
    """A job as the service makes it before the upstream create (sora-2, 1280x720), with
    `fields` set on it; not stored."""
    from chalicelib.jobs import store as job_store

    job = job_store.new_job(
        owner=owner,
        prompt=prompt,
        model="sora-2",
        provider="openai",
        size="1280x720",
        seconds=seconds,
        estimated_cost_usd=0.1 * seconds,
    )
    for name, value in fields.items():
        setattr(job, name, value)
    return job


def stored_job(prompt: str = PROMPT, owner: str = OWNER, **fields: Any) -> Any:
    """`new_job`, inserted in the jobs table (no upstream video behind it)."""
    from chalicelib.jobs import store as job_store

    job = new_job(prompt, owner, **fields)
    job_store.insert(job)
    return job


def seed_jobs(count: int, prompt: str = PROMPT, seconds: int = SECONDS) -> list[Any]:
    """`count` jobs as `POST /api/videos` leaves them (real upstream videos in the simulator,
    job items and upstream links stored), written in a few batch calls instead of ~4 calls
    per job, so big races set up fast."""
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib import clock
    from chalicelib.models import JobModel, UpstreamLink
    from chalicelib.upstreams.base import CreateRequest
    from chalicelib.upstreams.registry import provider_named

    provider = provider_named("openai")
    request = CreateRequest(prompt=prompt, model="sora-2", size="1280x720", seconds=seconds)
    with ThreadPoolExecutor(max_workers=8) as pool:
        videos = list(pool.map(lambda _: provider.create(request), range(count)))
    jobs = [
        new_job(
            prompt,
            seconds=seconds,
            upstream_id=video.id,
            upstream_status=video.status,
            checked_at=clock.now(),
            version=1,  # as `Model.save` would have set it
        )
        for video in videos
    ]
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


def upstream_state(sim: Any, upstream_id: str) -> Any:
    _, state = sim.store.get(upstream_id)
    return state


def finish_upstream(sim: Any, jobs: list[Any]) -> None:
    """Move the clock past the render time and wait until every upstream job completed."""
    CLOCK.advance(RENDER_CLOCK_SECONDS + 1)
    for job in jobs:
        wait_until(
            lambda job=job: upstream_state(sim, job.upstream_id).status == "completed",
            timeout=15,
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
