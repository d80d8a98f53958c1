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


def media_base(job: JobModel) -> str:
    """`/api/videos/{id}/media`, signed for the owner when sign-in is on (see media/links.py)."""
    base = f"{job_path(job.id)}/media"
    if get_settings().auth_mode == "none":
        return base
    return f"{base}?sig={media_links.sign(job.id, job.owner)}"


def _with_param(url: str, param: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{param}"


def to_public(job: JobModel) -> dict[str, Any]:
    completed = job.status == "completed"
    base = media_base(job) if completed or job.reference_key else None
    media_url = base if completed else None
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
        "reference_url": _with_param(base, "variant=reference")
        if base and job.reference_key
        else None,
        "content_variant": "video",
        "content_ready_at": iso(job.content_ready_at),
        "error_code": job.error_code,
        "error_message": job.error_message,
        "estimated_cost_usd": float(job.estimated_cost_usd),
        "cost_usd": float(job.cost_usd) if job.cost_usd is not None else None,
        "provider": job.provider,
        "media_url": media_url,
        "thumbnail_url": _with_param(media_url, "variant=thumbnail")
        if media_url and "thumbnail" in (job.archived_variants or set())
        else None,
        "created_at": iso(job.created_at),
        "updated_at": iso(job.updated_at),
    }
