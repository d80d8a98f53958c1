"""Job objects shaped like the API's, for tests that script the backend with page.route."""

from __future__ import annotations


def fake_job(i: int, **fields) -> dict:
    job_id = f"00000000-0000-4000-8000-{i:012d}"
    job = {
        "id": job_id,
        "prompt": f"Fake job {i}",
        "model": "sora-2",
        "size": "1280x720",
        "seconds": 4,
        "aspect_ratio": "16:9",
        "duration": 4,
        "format": "mp4",
        "status": "in_progress",
        "progress": 10,
        "sora_job_id": f"video_{i}",
        "remixed_from": None,
        "reference_url": None,
        "content_variant": "video",
        "content_ready_at": None,
        "error_code": None,
        "error_message": None,
        "estimated_cost_usd": 0.4,
        "media_url": None,
        "thumbnail_url": None,
        "created_at": f"2026-11-24T12:{i // 60 % 60:02d}:{i % 60:02d}Z",
        "updated_at": "2026-11-24T12:00:00Z",
    }
    job.update(fields)
    if job["status"] == "completed":
        job["progress"] = 100
        job["media_url"] = job["media_url"] or f"/api/videos/{job_id}/media"
        job["thumbnail_url"] = (
            job["thumbnail_url"] or f"/api/videos/{job_id}/media?variant=thumbnail"
        )
    return job


def fake_history(n: int) -> list[dict]:
    """n jobs of every status and both orientations, newest first, with markup in prompts."""
    statuses = ["completed", "in_progress", "queued", "failed"]
    jobs = []
    for i in range(n):
        status = statuses[i % 4]
        failed = status == "failed"
        jobs.append(
            fake_job(
                i,
                prompt=f"Job {i} <b>not bold</b> a long prompt " * 3,
                size="1280x720" if i % 2 else "720x1280",
                status=status,
                progress=40,
                error_code="moderation_blocked" if failed else None,
                error_message="blocked" if failed else None,
            )
        )
    return jobs[::-1]
