"""Delete (completed: storage and upstream copies go at once; pending: hidden at once, removed
upstream once it is terminal) and remix (of completed videos only)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support.api import body, get, post_json
from tests.support.clock import CLOCK, RENDER_CLOCK_SECONDS
from tests.support.jobs import finish_upstream, load, s3_keys, seed_jobs

pytestmark = pytest.mark.movable_clock


def upstream_exists(simulator: Any, upstream_id: str) -> bool:
    from simulator.errors import ApiError

    try:
        simulator.store.get(upstream_id)
    except ApiError as exc:
        assert exc.status == 404
        return False
    return True


def upstream_deletes(simulator: Any, upstream_id: str) -> int:
    return simulator.requests.count(("DELETE", f"/v1/videos/{upstream_id}"))


def listed_ids(client: Any) -> list[str]:
    return [job["id"] for job in body(get(client, "/api/videos"))["jobs"]]


def delete(client: Any, job_id: str) -> Any:
    return client.http.delete(f"/api/videos/{job_id}", headers={"Accept": "*/*"})


def test_delete_completed_removes_storage_and_upstream(client, aws, simulator):
    from chalicelib.jobs import refresher
    from chalicelib.jobs import store as job_store

    jobs = seed_jobs(2)
    finish_upstream(simulator, jobs)
    assert refresher.refresh_pending().outcomes == {"completed": 2}
    gone, kept = jobs
    assert len(s3_keys(aws, gone.id)) == 3

    answer = delete(client, gone.id)
    assert answer.status_code == 204
    assert s3_keys(aws, gone.id) == []
    assert not upstream_exists(simulator, gone.upstream_id)
    assert upstream_deletes(simulator, gone.upstream_id) == 1
    assert job_store.load(gone.id) is None
    assert get(client, f"/api/videos/{gone.id}").status_code == 404
    assert get(client, f"/api/videos/{gone.id}/media").status_code == 404
    assert listed_ids(client) == [kept.id]
    assert delete(client, gone.id).status_code == 404

    # The other job is untouched.
    assert len(s3_keys(aws, kept.id)) == 3
    assert upstream_exists(simulator, kept.upstream_id)
    assert refresher.refresh_pending().pending == 0


def test_delete_pending_hides_at_once_and_cleans_up_once_terminal(client, aws, simulator, uploads):
    from chalicelib.jobs import refresher
    from chalicelib.jobs import store as job_store

    created = post_json(client, "/api/videos", {"prompt": "A cozy campfire", "seconds": 4})
    assert created.status_code == 201, created.body
    job = load(body(created)["job"]["id"])
    CLOCK.advance(RENDER_CLOCK_SECONDS / 2)

    assert delete(client, job.id).status_code == 204
    assert get(client, f"/api/videos/{job.id}").status_code == 404
    assert get(client, f"/api/videos/{job.id}/media").status_code == 404
    assert listed_ids(client) == []
    assert delete(client, job.id).status_code == 404
    # Upstream refuses to delete a running job, so nothing was asked of it yet.
    assert upstream_exists(simulator, job.upstream_id)
    assert upstream_deletes(simulator, job.upstream_id) == 0
    hidden = job_store.load(job.id)
    assert hidden is not None and hidden.deleted_at is not None

    assert refresher.refresh_pending().outcomes == {"cleanup": 1}  # still rendering
    assert upstream_deletes(simulator, job.upstream_id) == 0
    assert job_store.load(job.id) is not None

    finish_upstream(simulator, [job])
    assert refresher.refresh_pending().outcomes == {"cleanup": 1}
    assert upstream_deletes(simulator, job.upstream_id) == 1
    assert not upstream_exists(simulator, job.upstream_id)
    assert job_store.load(job.id) is None
    assert s3_keys(aws, job.id) == []
    assert uploads.counts == {}  # a deleted job is never archived

    assert refresher.refresh_pending().pending == 0
    assert upstream_deletes(simulator, job.upstream_id) == 1
    assert get(client, f"/api/videos/{job.id}").status_code == 404


def test_remix_of_a_completed_video(client, aws, simulator):
    from chalicelib.jobs import refresher

    source = seed_jobs(1)[0]
    finish_upstream(simulator, [source])
    refresher.refresh_pending()

    answer = post_json(client, f"/api/videos/{source.id}/remix", {"prompt": "The same, at dawn"})
    assert answer.status_code == 201, answer.body
    remix = body(answer)["job"]
    assert remix["remixed_from"] == source.id
    assert remix["prompt"] == "The same, at dawn"
    assert remix["status"] in ("queued", "in_progress")
    assert answer.headers["Location"] == f"/api/videos/{remix['id']}"
    assert ("POST", f"/v1/videos/{source.upstream_id}/remix") in simulator.requests
    upstream_remix, _ = simulator.store.get(remix["sora_job_id"])
    assert upstream_remix.remixed_from == source.upstream_id

    finish_upstream(simulator, [load(remix["id"])])
    assert refresher.refresh_pending().outcomes == {"completed": 1}
    final = body(get(client, f"/api/videos/{remix['id']}"))["job"]
    assert (final["status"], final["remixed_from"]) == ("completed", source.id)
    assert get(client, final["media_url"]).status_code == 302


def test_remix_refusals(client, aws, simulator):
    from chalicelib.jobs import refresher

    pending = seed_jobs(1)[0]
    remixes_before = sum(1 for r in simulator.requests if r[1].endswith("/remix"))

    answer = post_json(client, f"/api/videos/{pending.id}/remix", {"prompt": "again"})
    assert answer.status_code == 409
    assert body(answer)["error"]["code"] == "source_not_completed"

    failed = seed_jobs(1, prompt="x [fail:moderation]")[0]
    CLOCK.advance(RENDER_CLOCK_SECONDS + 1)
    refresher.refresh_pending()
    assert load(failed.id).status == "failed"
    assert post_json(client, f"/api/videos/{failed.id}/remix", {"prompt": "a"}).status_code == 409

    unknown = post_json(client, f"/api/videos/{uuid.uuid4()}/remix", {"prompt": "again"})
    assert unknown.status_code == 404

    completed = load(pending.id)
    assert completed.status == "completed"
    assert post_json(client, f"/api/videos/{pending.id}/remix", {"prompt": " "}).status_code == 400
    assert post_json(client, f"/api/videos/{pending.id}/remix", {}).status_code == 400

    assert delete(client, pending.id).status_code == 204
    gone = post_json(client, f"/api/videos/{pending.id}/remix", {"prompt": "again"})
    assert gone.status_code == 404

    assert sum(1 for r in simulator.requests if r[1].endswith("/remix")) == remixes_before
    assert listed_ids(client) == [failed.id]  # no remix job was stored


def _archive_paused_before_upload(monkeypatch: Any, job_id: str) -> tuple[Any, Any, Any]:
    """Start an archive of `job_id` in a thread, paused just before its first upload (it
    holds the archive lease and has the upstream video open). Returns (thread, paused,
    resume)."""
    import threading

    from chalicelib.jobs import lifecycle
    from chalicelib.media import store as media_store

    paused, resume = threading.Event(), threading.Event()
    original = media_store.upload_stream

    def upload_stream(key: str, chunks: Any, content_type: str) -> int:
        if not paused.is_set():
            paused.set()
            assert resume.wait(20), "the test never resumed the archive"
        return original(key, chunks, content_type)

    monkeypatch.setattr(media_store, "upload_stream", upload_stream)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            lifecycle.refresh_job(load(job_id))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    assert paused.wait(20), "the archive never reached its first upload"
    thread.errors = errors  # type: ignore[attr-defined]
    return thread, paused, resume


def test_delete_while_an_archive_is_copying_leaves_nothing_behind(
    client, aws, simulator, monkeypatch
):
    """The delete cleans up at once (upstream copy, media, item) while an archiver is still
    copying: what the archiver uploads afterwards must not outlive the job."""
    from chalicelib.jobs import refresher
    from chalicelib.jobs import service as jobs_service
    from chalicelib.jobs import store as job_store

    job = seed_jobs(1)[0]
    finish_upstream(simulator, [job])
    thread, _, resume = _archive_paused_before_upload(monkeypatch, job.id)

    jobs_service.delete_job("local", job.id)
    assert job_store.load(job.id) is None
    assert not upstream_exists(simulator, job.upstream_id)

    resume.set()
    thread.join(20)
    assert not thread.errors
    assert s3_keys(aws, job.id) == []
    assert refresher.refresh_pending().pending == 0


def test_delete_with_deferred_cleanup_during_an_archive_is_still_cleaned_up(
    client, aws, simulator, monkeypatch, faults
):
    """The delete's own clean-up fails (upstream 500) while an archiver is copying; the
    archiver must not then complete the deleted job and drop it from the pending index,
    or the refresher would never clean it up."""
    from chalicelib.jobs import refresher
    from chalicelib.jobs import service as jobs_service
    from chalicelib.jobs import store as job_store

    job = seed_jobs(1)[0]
    finish_upstream(simulator, [job])
    thread, _, resume = _archive_paused_before_upload(monkeypatch, job.id)

    faults.inject("GET", r"^/v1/videos/video_[0-9a-f]+$", "500", times=2)
    jobs_service.delete_job("local", job.id)  # hidden now, clean-up deferred
    assert get(client, f"/api/videos/{job.id}").status_code == 404

    resume.set()
    thread.join(20)
    assert not thread.errors
    hidden = job_store.load(job.id)
    assert hidden is not None and hidden.pending is not None  # still on the refresher's list

    assert refresher.refresh_pending().outcomes == {"cleanup": 1}
    assert job_store.load(job.id) is None
    assert s3_keys(aws, job.id) == []
    assert not upstream_exists(simulator, job.upstream_id)
    assert refresher.refresh_pending().pending == 0
