"""Upstream content expires `expires_at` after completion: what was not archived by then
fails with `expired` (the media route answers 410); what was archived stays playable."""

from __future__ import annotations

import hashlib

import pytest
import requests

from tests.support.api import body, get
from tests.support.clock import CLOCK, SIM_EXPIRY_SECONDS
from tests.support.jobs import (
    assert_settled,
    finish_upstream,
    load,
    s3_keys,
    seed_jobs,
    sim_bytes,
    upstream_state,
)

pytestmark = pytest.mark.movable_clock


def _expire(simulator, job) -> None:
    expires_at = upstream_state(simulator, job.upstream_id).expires_at
    CLOCK.advance(max(0.0, expires_at - CLOCK.now()) + 1)


def _upstream_content_gone(job) -> None:
    from chalicelib.upstreams.base import UpstreamNotFound
    from chalicelib.upstreams.registry import provider_named

    with pytest.raises(UpstreamNotFound):
        provider_named("openai").download(job.upstream_id, "video")


def test_not_archived_before_expiry_fails_expired(client, aws, simulator, uploads):
    from chalicelib.jobs import refresher

    jobs = seed_jobs(1)
    job = jobs[0]
    finish_upstream(simulator, jobs)
    uploads.fail_next["video.mp4"] = 1  # S3 is down for the first attempt
    refresher.refresh_pending()
    window = load(job.id)
    assert (window.status, window.upstream_status) == ("in_progress", "completed")
    assert window.upstream_expires_at == upstream_state(simulator, job.upstream_id).expires_at

    _expire(simulator, job)
    _upstream_content_gone(job)
    assert refresher.refresh_pending().outcomes == {"failed": 1}
    failed = load(job.id)
    assert failed.error_code == "expired"
    assert "expired" in failed.error_message
    assert s3_keys(aws, job.id) == []
    assert_settled(aws, simulator, jobs)

    answer = get(client, f"/api/videos/{job.id}/media")
    assert answer.status_code == 410
    assert body(answer)["error"]["code"] == "expired"
    public = body(get(client, f"/api/videos/{job.id}"))["job"]
    assert (public["status"], public["error_code"], public["media_url"]) == (
        "failed",
        "expired",
        None,
    )


def test_completion_first_seen_after_expiry_fails_expired(client, aws, simulator):
    """Nobody refreshed the job while its content was downloadable."""
    from chalicelib.jobs import refresher

    jobs = seed_jobs(1)
    finish_upstream(simulator, jobs)
    CLOCK.advance(SIM_EXPIRY_SECONDS + 1)
    downloads = simulator.stats["content"]
    assert refresher.refresh_pending().outcomes == {"failed": 1}
    assert load(jobs[0].id).error_code == "expired"
    assert simulator.stats["content"] == downloads  # no doomed download was attempted
    assert get(client, f"/api/videos/{jobs[0].id}/media").status_code == 410


def test_archived_content_outlives_upstream_expiry(client, aws, simulator):
    from chalicelib.jobs import refresher

    jobs = seed_jobs(1)
    job = jobs[0]
    finish_upstream(simulator, jobs)
    assert refresher.refresh_pending().outcomes == {"completed": 1}

    _expire(simulator, job)
    _upstream_content_gone(job)
    for variant in ("video", "thumbnail", "spritesheet"):
        answer = get(client, f"/api/videos/{job.id}/media?variant={variant}")
        assert answer.status_code == 302
        fetched = requests.get(answer.headers["Location"], timeout=10)
        assert fetched.status_code == 200
        expected = sim_bytes(simulator, job.upstream_id, variant)
        assert hashlib.sha256(fetched.content).digest() == hashlib.sha256(expected).digest()
    assert body(get(client, f"/api/videos/{job.id}"))["job"]["status"] == "completed"
    assert refresher.refresh_pending().pending == 0
