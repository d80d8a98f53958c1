"""The contract's job object: what the API shows of a job item (never internal fields)."""

from __future__ import annotations

from typing import Any

from chalicelib.catalog.spec import aspect_ratio_of
from chalicelib.clock import iso
from chalicelib.config import get_settings
from chalicelib.media import links as media_links
from chalicelib.models import JobModel


def job_path(job_id: str) -> str:
    return f"/api/videos/{job_id}"


def media_link(job: JobModel, variant: str = "video") -> str:
    """`/api/videos/{id}/media[?variant=...]`, signed for the owner and that one variant when
    sign-in is on (see media/links.py)."""
    params = [] if variant == "video" else [f"variant={variant}"]
    if get_settings().auth_mode != "none":
        params.insert(0, f"sig={media_links.sign(job.id, job.owner, variant)}")
    query = f"?{'&'.join(params)}" if params else ""
    return f"{job_path(job.id)}/media{query}"


def to_public(job: JobModel) -> dict[str, Any]:
    completed = job.status == "completed"
    media_url = media_link(job) if completed else None
    return {
        "id": job.id,
        "prompt": job.prompt,
        "model": job.model,
        "size": job.size,
        "seconds": int(job.seconds),
        "aspect_ratio": aspect_ratio_of(job.size),
        "duration": int(job.seconds),
        "format": "mp4",
        "status": job.status,
        "progress": int(job.progress),
        "sora_job_id": job.upstream_id,
        "remixed_from": job.remixed_from,
        "reference_url": media_link(job, "reference") if job.reference_key else None,
        "last_frame_url": media_link(job, "last_frame") if job.last_frame_key else None,
        "reference_urls": [
            media_link(job, f"reference_{index}") for index in range(len(job.reference_keys or []))
        ],
        "audio": job.audio,
        "seed": int(job.seed) if job.seed is not None else None,
        "extended_from": job.extended_from,
        "content_variant": "video",
        "content_ready_at": iso(job.content_ready_at),
        "error_code": job.error_code,
        "error_message": job.error_message,
        "estimated_cost_usd": float(job.estimated_cost_usd),
        "cost_usd": float(job.cost_usd) if job.cost_usd is not None else None,
        "provider": job.provider,
        "media_url": media_url,
        "thumbnail_url": media_link(job, "thumbnail")
        if completed and "thumbnail" in (job.archived_variants or set())
        else None,
        "created_at": iso(job.created_at),
        "updated_at": iso(job.updated_at),
    }
