"""The JSON API under `/api` (mounted with that prefix by app.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice import Response

from chalicelib.auth.access import current_owner
from chalicelib.catalog.source import get_catalog
from chalicelib.catalog.source import status as catalog_status
from chalicelib.config import get_settings
from chalicelib.http import Blueprint
from chalicelib.jobs import quotas
from chalicelib.jobs import service as jobs_service
from chalicelib.jobs.service import job_id_or_404
from chalicelib.jobs.validation import MAX_SEED, MAX_SIDE, PROMPT_MAX_CHARS, REFERENCE_MAX_BYTES
from chalicelib.jobs.view import job_path, to_public
from chalicelib.media import links as media_links
from chalicelib.media import service as media_service

api = Blueprint(__name__)


def _owner() -> str:
    return current_owner(api.current_request)


def _created(created: jobs_service.Created) -> Response:
    headers = {"Location": job_path(created.job.id)}
    if created.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(body={"job": to_public(created.job)}, status_code=201, headers=headers)


def _header(name: str) -> str | None:
    headers = api.current_request.headers
    return headers.get(name) if headers else None


@api.route("/health", methods=["GET"])
def health() -> dict[str, str]:
    return {"status": "ok"}


@api.route("/config", methods=["GET"])
def config() -> dict[str, Any]:
    settings = get_settings()
    auth: dict[str, Any] = {"mode": settings.auth_mode}
    if settings.auth_mode == "cognito":
        auth.update(domain=settings.cognito_domain, client_id=settings.cognito_client_id)
    catalog = get_catalog()
    return {
        **catalog.to_public(),
        "catalog": catalog_status(settings, catalog),
        "auth": auth,
        "upstream": settings.upstream_label,
        "limits": {
            "prompt_max_chars": PROMPT_MAX_CHARS,
            "reference_max_bytes": REFERENCE_MAX_BYTES,
            "reference_image_max_side": MAX_SIDE,
            "seed_max": MAX_SEED,
        },
    }


@api.route("/usage", methods=["GET"])
def usage() -> dict[str, Any]:
    return quotas.usage(_owner())


@api.route("/videos", methods=["POST"], json_body=True)
def create_video() -> Response:
    request = api.current_request
    created = jobs_service.create(_owner(), request.raw_body, _header("Idempotency-Key"))
    return _created(created)


@api.route("/videos", methods=["GET"])
def list_videos() -> dict[str, Any]:
    params = dict(api.current_request.query_params or {})
    page = jobs_service.list_jobs(_owner(), params)
    return {"jobs": [to_public(job) for job in page["jobs"]], "next_cursor": page["next_cursor"]}


@api.route("/videos/{job_id}", methods=["GET"])
def get_video(job_id: str) -> dict[str, Any]:
    owner = _owner()
    return {"job": to_public(jobs_service.get_job(owner, job_id_or_404(job_id)))}


@api.route("/videos/{job_id}", methods=["DELETE"])
def delete_video(job_id: str) -> Response:
    owner = _owner()
    jobs_service.delete_job(owner, job_id_or_404(job_id))
    return Response(body="", status_code=204)


@api.route("/videos/{job_id}/cancel", methods=["POST"], json_body=True)
def cancel_video(job_id: str) -> dict[str, Any]:
    owner = _owner()
    return {"job": to_public(jobs_service.cancel_job(owner, job_id_or_404(job_id)))}


def _from_source(make: Callable[..., jobs_service.Created], job_id: str) -> Response:
    """A new job made from a completed one (`remix`, `extend`): 201 like a create."""
    request = api.current_request
    owner = _owner()
    key = _header("Idempotency-Key")
    return _created(make(owner, job_id_or_404(job_id), request.raw_body, key))


@api.route("/videos/{job_id}/remix", methods=["POST"], json_body=True)
def remix_video(job_id: str) -> Response:
    return _from_source(jobs_service.remix, job_id)


@api.route("/videos/{job_id}/extend", methods=["POST"], json_body=True)
def extend_video(job_id: str) -> Response:
    return _from_source(jobs_service.extend, job_id)


@api.route("/videos/{job_id}/media", methods=["GET"])
def video_media(job_id: str) -> Response:
    params = api.current_request.query_params or {}
    job_id_or_404(job_id)
    variant = media_service.parse_variant(params.get("variant"))
    sig = params.get("sig")
    signed_owner = media_links.verify(job_id, sig, variant) if sig else None
    answer = media_service.media(
        signed_owner or _owner(),
        job_id,
        variant,
        params.get("download") in ("1", "true"),
        _header("Range"),
    )
    return Response(body=answer.body, status_code=answer.status, headers=answer.headers)
