"""`GET /api/videos/{id}/media`: a 302 to the archived bytes (exact, typed, no-store,
attachment on request), variant aliases and errors, and the ranged proxy of the upstream bytes
in the window between upstream completion and the archive landing."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.support.api import body, get
from tests.support.clock import CLOCK, RENDER_CLOCK_SECONDS
from tests.support.jobs import PROMPT, finish_upstream, load, seed_jobs, sim_bytes

pytestmark = pytest.mark.movable_clock

SLUG = "a-cozy-campfire-at-night-in-the-forest"
TYPES = {"video": "video/mp4", "thumbnail": "image/webp", "spritesheet": "image/jpeg"}
EXTENSIONS = {"video": "mp4", "thumbnail": "webp", "spritesheet": "jpg"}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def completed(client: Any, aws: dict[str, Any], simulator: Any) -> Any:
    from chalicelib.jobs import refresher

    jobs = seed_jobs(1)
    finish_upstream(simulator, jobs)
    assert refresher.refresh_pending().outcomes == {"completed": 1}
    return load(jobs[0].id)


@pytest.fixture
def unarchived(client: Any, aws: dict[str, Any], simulator: Any, uploads: Any) -> Any:
    """Upstream completed, but the first archive failed (S3 down): the proxy window."""
    from chalicelib.jobs import refresher

    jobs = seed_jobs(1)
    finish_upstream(simulator, jobs)
    uploads.fail_next["video.mp4"] = 1
    refresher.refresh_pending()
    job = load(jobs[0].id)
    assert (job.status, job.upstream_status, job.archive_state) == (
        "in_progress",
        "completed",
        "none",
    )
    return job


ALIASES = {
    "": "video",
    "video": "video",
    "source": "video",
    "thumbnail": "thumbnail",
    "preview": "thumbnail",
    "spritesheet": "spritesheet",
}


def test_redirect_serves_the_exact_archived_bytes(client, simulator, completed):
    for raw, variant in ALIASES.items():
        query = f"?variant={raw}" if raw else ""
        answer = get(client, f"/api/videos/{completed.id}/media{query}")
        assert answer.status_code == 302, raw
        assert answer.headers["Cache-Control"] == "no-store"
        location = answer.headers["Location"]
        expires = int(parse_qs(urlsplit(location).query)["X-Amz-Expires"][0])
        assert 0 < expires <= 3600  # short-lived
        fetched = requests.get(location, timeout=10)
        assert fetched.status_code == 200
        assert fetched.headers["Content-Type"] == TYPES[variant], raw
        expected = sim_bytes(simulator, completed.upstream_id, variant)
        assert sha(fetched.content) == sha(expected), raw
        assert "Content-Disposition" not in fetched.headers


def test_download_asks_for_an_attachment_named_after_the_prompt(client, completed):
    for variant in ("video", "thumbnail", "spritesheet"):
        answer = get(client, f"/api/videos/{completed.id}/media?variant={variant}&download=1")
        assert answer.status_code == 302
        disposition = f'attachment; filename="{SLUG}.{EXTENSIONS[variant]}"'
        query = parse_qs(urlsplit(answer.headers["Location"]).query)
        assert query["response-content-disposition"] == [disposition]
        fetched = requests.get(answer.headers["Location"], timeout=10)
        assert fetched.headers["Content-Disposition"] == disposition


def test_media_errors(client, aws, simulator):
    from chalicelib.jobs import refresher

    jobs = seed_jobs(1)
    job = jobs[0]

    bad = get(client, f"/api/videos/{job.id}/media?variant=poster")
    assert bad.status_code == 400
    assert body(bad)["error"]["field"] == "variant"
    assert get(client, f"/api/videos/{uuid.uuid4()}/media").status_code == 404
    assert get(client, f"/api/videos/{job.id}/media?variant=reference").status_code == 404

    for _ in range(2):  # queued, then in progress: not ready either way
        answer = get(client, f"/api/videos/{job.id}/media")
        assert answer.status_code == 409
        assert body(answer)["error"]["code"] == "not_ready"
        assert answer.headers["Retry-After"]
        CLOCK.advance(RENDER_CLOCK_SECONDS * 0.3)
        refresher.refresh_pending()
    assert load(job.id).status == "in_progress"

    failed = seed_jobs(1, prompt=f"{PROMPT} [fail:moderation]")[0]
    CLOCK.advance(RENDER_CLOCK_SECONDS + 1)
    refresher.refresh_pending()
    assert load(failed.id).status == "failed"
    answer = get(client, f"/api/videos/{failed.id}/media")
    assert answer.status_code == 404  # failed, but not expired: 410 is only for expiry


def test_proxy_serves_ranges_before_the_archive_lands(client, simulator, unarchived):
    data = sim_bytes(simulator, unarchived.upstream_id)
    size = len(data)
    path = f"/api/videos/{unarchived.id}/media"

    whole = get(client, path)
    assert whole.status_code == 200
    assert whole.body == data
    assert whole.headers["Content-Type"] == "video/mp4"
    assert whole.headers["Cache-Control"] == "no-store"
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert "Location" not in whole.headers

    cases = {
        "bytes=0-99": (0, 99),
        "bytes=100-": (100, size - 1),
        "bytes=-100": (size - 100, size - 1),
        f"bytes=0-{size + 1000}": (0, size - 1),
        f"bytes={size - 1}-": (size - 1, size - 1),
    }
    for header, (first, last) in cases.items():
        answer = get(client, path, {"Range": header})
        assert answer.status_code == 206, header
        assert answer.body == data[first : last + 1], header
        assert answer.headers["Content-Range"] == f"bytes {first}-{last}/{size}", header
        assert answer.headers["Content-Length"] == str(last - first + 1)
        assert answer.headers["Content-Type"] == "video/mp4"

    for header in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}"):
        answer = get(client, path, {"Range": header})
        assert answer.status_code == 416, header
        assert body(answer)["error"]["code"] == "range_not_satisfiable"
    assert get(client, path, {"Range": f"bytes={size}-"}).headers["Content-Range"] == (
        f"bytes */{size}"
    )
    # Serving the proxy wrote nothing.
    assert load(unarchived.id).version == unarchived.version


def test_proxy_serves_images_with_their_types(client, simulator, unarchived):
    for variant in ("thumbnail", "preview", "spritesheet"):
        canonical = ALIASES[variant]
        answer = get(client, f"/api/videos/{unarchived.id}/media?variant={variant}&download=1")
        assert answer.status_code == 200
        assert answer.headers["Content-Type"] == TYPES[canonical]
        assert answer.body == sim_bytes(simulator, unarchived.upstream_id, canonical)
        assert answer.headers["Content-Disposition"] == (
            f'attachment; filename="{SLUG}.{EXTENSIONS[canonical]}"'
        )


def test_proxy_window_ends_with_the_archive(client, simulator, unarchived):
    from chalicelib.jobs import refresher

    assert refresher.refresh_pending().outcomes == {"completed": 1}
    answer = get(client, f"/api/videos/{unarchived.id}/media", {"Range": "bytes=0-99"})
    assert answer.status_code == 302
    fetched = requests.get(answer.headers["Location"], timeout=10)
    assert fetched.content == sim_bytes(simulator, unarchived.upstream_id)


def test_proxy_after_upstream_expiry_answers_410(client, simulator, unarchived):
    """Between upstream expiry and the next refresh the job is still pending: the route
    must say `expired` (410), not pass on the upstream's 404 as a 502."""
    CLOCK.advance(unarchived.upstream_expires_at - CLOCK.now() + 1)
    answer = get(client, f"/api/videos/{unarchived.id}/media", {"Range": "bytes=0-99"})
    assert answer.status_code == 410
    assert body(answer)["error"]["code"] == "expired"


def test_proxy_cuts_the_range_when_upstream_ignores_it(client, simulator, faults, unarchived):
    """An upstream may answer a ranged request with the whole file (200): the proxy still
    answers 206 with exactly the bytes asked for."""
    data = sim_bytes(simulator, unarchived.upstream_id)
    size = len(data)
    path = f"/api/videos/{unarchived.id}/media"
    cases = {
        "bytes=100-199": (100, 199),
        "bytes=1000-": (1000, size - 1),
        "bytes=-100": (size - 100, size - 1),
    }
    for header, (first, last) in cases.items():
        faults.inject("GET", r"/content\?variant=video$", "norange")
        answer = get(client, path, {"Range": header})
        assert answer.status_code == 206, header
        assert answer.body == data[first : last + 1], header
        assert answer.headers["Content-Range"] == f"bytes {first}-{last}/{size}", header
    faults.inject("GET", r"/content\?variant=video$", "norange")
    assert get(client, path, {"Range": f"bytes={size}-"}).status_code == 416
    assert faults.injected["norange"] == 4


def test_an_upstream_rate_limit_on_the_proxy_is_a_429_as_on_create(client, unarchived):
    """Upstream failures are answered in one place (chalicelib/http.py): the media proxy says
    what a create says, a 429 with the upstream's wait, not a 502."""
    from chalicelib.upstreams import registry
    from chalicelib.upstreams.base import UpstreamRateLimited

    class RateLimited:
        name = "openai"

        def download(self, *args: Any, **kwargs: Any) -> Any:
            raise UpstreamRateLimited("slow down", status=429, retry_after=7)

    registry.set_provider("openai", RateLimited())  # forgotten by the next runtime.init()
    answer = get(client, f"/api/videos/{unarchived.id}/media")
    assert (answer.status_code, answer.headers["Retry-After"]) == (429, "7")
    assert body(answer)["error"]["code"] == "rate_limited"
