"""What the job routes do: create, list, get, delete and remix, on behalf of one owner."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib import clock
from chalicelib.catalog.source import get_catalog
from chalicelib.catalog.source import status as catalog_status
from chalicelib.catalog.spec import Catalog
from chalicelib.config import get_settings
from chalicelib.errors import Unavailable, bad_request, conflict, not_found
from chalicelib.jobs import idempotency, lifecycle, quotas
from chalicelib.jobs import store as job_store
from chalicelib.jobs.validation import (
    CreateInput,
    parse_create,
    parse_extend_body,
    parse_extension_seconds,
    parse_json_object,
    parse_remix,
)
from chalicelib.media import store as media_store
from chalicelib.models import STATUSES, JobModel
from chalicelib.upstreams.base import (
    CreateRequest,
    ReferenceImage,
    UpstreamError,
    UpstreamNotFound,
    UpstreamOutcomeUncertain,
    UpstreamVideo,
)
from chalicelib.upstreams.registry import provider_for, provider_named

log = logging.getLogger(__name__)

LIST_DEFAULT_LIMIT = 50
LIST_MAX_LIMIT = 100
QUERY_MAX_CHARS = 200
QUERY_MAX_WORDS = 12  # each word is one more `contains` in the DynamoDB filter
MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}")
# A job id is a UUID as `job_store.new_job` makes it; a cursor holds one and its created key.
JOB_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CREATED_KEY = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}#" + JOB_ID.pattern
)
CURSOR_MAX_CHARS = 1024
LIMIT_MAX_DIGITS = 3


@dataclass(frozen=True)
class Created:
    job: JobModel
    replayed: bool = False


def no_models(catalog: Catalog) -> Unavailable:
    state = catalog_status(get_settings(), catalog)
    if state["error"]:
        message = (
            f"No video model is available: the model list could not be fetched ({state['error']})."
        )
    elif state["loading"]:
        message = "The model list is still being fetched from the video service."
    else:
        message = "No video service is configured on this server."
    return Unavailable(f"{message} Try again in a minute.", code="no_models", retry_after=60)


def _submit(
    owner: str,
    job: JobModel,
    idempotency_key: str | None,
    fingerprint: str,
    call: Callable[[], UpstreamVideo],
    reference: ReferenceImage | None = None,
    inputs: Sequence[tuple[str, ReferenceImage]] = (),
) -> Created:
    """Claim the key, reserve the spend, store the job (its first frame `reference`, and each
    `(media key, image)` of `inputs`, are stored with it), then make the paid call."""
    if idempotency_key:
        earlier = idempotency.claim(owner, idempotency_key, fingerprint, job.id)
        if earlier is not None:
            existing = job_store.load_visible(earlier, owner)
            if existing is None:
                raise conflict(
                    "idempotency_key_used", "This Idempotency-Key made a video that was deleted."
                )
            return Created(existing, replayed=True)
    try:
        reservation = quotas.reserve(owner, float(job.estimated_cost_usd))
    except Exception:
        if idempotency_key:
            idempotency.release(owner, idempotency_key)
        raise
    try:
        if reference is not None:
            job.reference_key = media_store.reference_key(job.id, reference.content_type)
            job.reference_type = reference.content_type
            media_store.put_bytes(job.reference_key, reference.data, reference.content_type)
        for media_key, image in inputs:
            media_store.put_bytes(media_key, image.data, image.content_type)
        job_store.insert(job)
    except Exception:
        if inputs:  # the images stored before the one that failed
            with contextlib.suppress(Exception):
                media_store.delete_job_media(job.id)
        quotas.cancel(reservation)
        if idempotency_key:
            idempotency.release(owner, idempotency_key)
        raise
    try:
        video = call()
    except Exception as exc:
        if isinstance(exc, UpstreamOutcomeUncertain):
            # The paid call may have been accepted: never "nothing was made". The job stays
            # pending without an upstream id, holding its slot, spend and key; the refresher
            # fails it `submission_uncertain` after the grace period unless its id arrives.
            log.warning("create for job %s: outcome uncertain: %s", job.id, exc)
            job_store.update(
                job,
                [JobModel.upstream_status.set(lifecycle.UNCERTAIN)],
                JobModel.id.exists(),
                versioned=False,
            )
            if idempotency_key:
                idempotency.complete(owner, idempotency_key)
            return Created(job)
        # Nothing half-made stays behind: the job (and its slot), its reference, the
        # reserved spend and the key go.
        job_store.remove(job)
        quotas.refund_reservation(reservation)
        if reference is not None or inputs:
            media_store.delete_job_media(job.id)
        if idempotency_key:
            idempotency.release(owner, idempotency_key)
        if isinstance(exc, UpstreamError):
            log.warning("create for job %s refused upstream: %s", job.id, exc)
        if isinstance(exc, UpstreamNotFound):
            raise bad_request(
                "model",
                "The video service no longer offers this model. Pick another one.",
                "model_unavailable",
            ) from exc
        raise
    job_store.accept_upstream(job, video.id, video.status, int(video.progress or 0))
    if idempotency_key:
        idempotency.complete(owner, idempotency_key)
    log.info("job %s created upstream as %s (request %s)", job.id, video.id, video.request_id)
    return Created(job)


def create(owner: str, raw_body: bytes | None, idempotency_key: str | None) -> Created:
    key = idempotency.validate_key(idempotency_key)
    body = parse_json_object(raw_body)
    catalog = get_catalog()
    if not catalog.models:
        raise no_models(catalog)
    spec = parse_create(catalog, body)
    job = job_store.new_job(
        owner=owner,
        prompt=spec.prompt,
        model=spec.model.id,
        provider=spec.model.provider,
        size=spec.size,
        seconds=spec.seconds,
        estimated_cost_usd=spec.estimated_cost_usd,
    )
    job.audio, job.seed = spec.audio, spec.seed
    inputs = _input_images(job, spec)
    urls = {media_key: media_store.input_url(media_key) for media_key, _ in inputs}
    request = CreateRequest(
        prompt=spec.prompt,
        model=spec.model.id,
        size=spec.size,
        seconds=spec.seconds,
        reference=spec.reference,
        # Signed before `_submit` stores the image under this key, ahead of the upstream call.
        reference_url=(
            media_store.input_url(media_store.reference_key(job.id, spec.reference.content_type))
            if spec.reference is not None
            else None
        ),
        wire=spec.model.wire,
        last_frame=spec.last_frame,
        last_frame_url=urls.get(job.last_frame_key or ""),
        reference_images=spec.reference_images,
        reference_image_urls=tuple(urls[k] for k in job.reference_keys or []),
        audio=spec.audio,
        seed=spec.seed,
    )
    return _submit(
        owner,
        job,
        key,
        idempotency.body_fingerprint(body),
        lambda: provider_for(spec.model).create(request),
        spec.reference,
        inputs,
    )


def _input_images(job: JobModel, spec: CreateInput) -> list[tuple[str, ReferenceImage]]:
    """The job's last frame and reference images with the media keys they are stored under
    (set on the job: `last_frame_key`, `reference_keys` in the order given)."""
    inputs: list[tuple[str, ReferenceImage]] = []
    if spec.last_frame is not None:
        job.last_frame_key = media_store.input_key(
            job.id, "last_frame", spec.last_frame.content_type
        )
        inputs.append((job.last_frame_key, spec.last_frame))
    for index, image in enumerate(spec.reference_images):
        inputs.append(
            (media_store.input_key(job.id, f"reference_{index}", image.content_type), image)
        )
    if spec.reference_images:
        job.reference_keys = [media_key for media_key, _ in inputs[-len(spec.reference_images) :]]
    return inputs


def _completed_source(owner: str, source_id: str, done_to_it: str) -> JobModel:
    """The owner's completed job a remix or an extension starts from; 404, or 409 when it is
    not completed."""
    source = job_store.load_visible(source_id, owner)
    if source is None:
        raise not_found()
    if source.status != "completed" or not source.upstream_id:
        raise conflict("source_not_completed", f"Only a completed video can be {done_to_it}.")
    return source


def _job_after(
    source: JobModel, prompt: str, seconds: int, estimated_cost_usd: float, **fields: Any
) -> JobModel:
    """A new job of the source's owner, model, provider and size."""
    return job_store.new_job(
        owner=source.owner,
        prompt=prompt,
        model=source.model,
        provider=source.provider,
        size=source.size,
        seconds=seconds,
        estimated_cost_usd=estimated_cost_usd,
        **fields,
    )


def remix(
    owner: str, source_id: str, raw_body: bytes | None, idempotency_key: str | None
) -> Created:
    key = idempotency.validate_key(idempotency_key)
    prompt = parse_remix(parse_json_object(raw_body))
    source = _completed_source(owner, source_id, "remixed")
    spec = get_catalog().get(source.model)
    if spec is not None and not spec.supports_remix:
        raise bad_request(None, f"{source.model} does not support remixing.", "remix_unsupported")
    job = _job_after(
        source,
        prompt,
        int(source.seconds),
        float(source.estimated_cost_usd),
        remixed_from=source.id,
    )
    upstream_source = source.upstream_id
    fingerprint = idempotency.body_fingerprint({"remix_of": source.id, "prompt": prompt})
    return _submit(
        owner,
        job,
        key,
        fingerprint,
        lambda: provider_named(source.provider).remix(upstream_source, prompt),
    )


def extend(
    owner: str, source_id: str, raw_body: bytes | None, idempotency_key: str | None
) -> Created:
    """A new job continuing a completed video by `seconds` more: one stitched clip, so its
    `seconds` is the source's plus the new ones (priced for the new ones only)."""
    key = idempotency.validate_key(idempotency_key)
    body = parse_json_object(raw_body)
    prompt = parse_extend_body(body)
    source = _completed_source(owner, source_id, "extended")
    if source.upstream_expires_at is not None and clock.now() >= source.upstream_expires_at:
        raise conflict(
            "source_expired", "The video service no longer keeps this video: it cannot be extended."
        )
    spec = get_catalog().get(source.model)
    if spec is None or not spec.capabilities.extend:
        raise bad_request(None, f"{source.model} cannot extend a video.", "extend_unsupported")
    seconds = parse_extension_seconds(spec, body)
    # The source's sound switch (a job from before it was recorded: the model's default).
    audio = source.audio if source.audio is not None else (spec.capabilities.audio or None)
    cost = spec.estimate_cost(source.size, seconds, bool(audio))
    job = _job_after(source, prompt, int(source.seconds) + seconds, cost)
    job.extended_from, job.audio = source.id, audio
    upstream_source, model, size = source.upstream_id, source.model, source.size
    fingerprint = idempotency.body_fingerprint(
        {"extend_of": source.id, "prompt": prompt, "seconds": seconds}
    )
    return _submit(
        owner,
        job,
        key,
        fingerprint,
        lambda: provider_named(source.provider).extend(
            upstream_source, prompt, seconds, model=model, size=size
        ),
    )


def job_id_or_404(job_id: str) -> str:
    """`job_id` when it is a job id: anything else is no job, answered before it reaches
    DynamoDB (where an empty or oversized key is a ValidationException, a 500)."""
    if not JOB_ID.fullmatch(job_id):
        raise not_found()
    return job_id


def _parse_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return LIST_DEFAULT_LIMIT
    # ASCII digits only: `str.isdigit` also takes '²' and other scripts' digits, `int` not.
    digits = raw.isascii() and raw.isdigit() and len(raw) <= LIMIT_MAX_DIGITS
    if not digits or not 1 <= int(raw) <= LIST_MAX_LIMIT:
        raise bad_request("limit", f"limit must be a whole number from 1 to {LIST_MAX_LIMIT}.")
    return int(raw)


def _parse_cursor(raw: str | None, owner: str) -> str | None:
    """A cursor as `list_page` hands them out (bounded size, a job id and its created key),
    checked before it becomes a DynamoDB start key; else a 400 naming `cursor`."""
    if not raw:
        return None
    refused = bad_request("cursor", "The cursor is not one this API handed out.")
    if len(raw) > CURSOR_MAX_CHARS:
        raise refused
    key = job_store.decode_cursor(raw, owner)
    if not (JOB_ID.fullmatch(key["id"]["S"]) and CREATED_KEY.fullmatch(key["created_key"]["S"])):
        raise refused
    return raw


def list_jobs(owner: str, params: dict[str, str]) -> dict[str, Any]:
    for name in params:
        if name not in ("limit", "cursor", "status", "q", "model"):
            raise bad_request(name, f"Unknown query parameter '{name}'.")
    limit = _parse_limit(params.get("limit"))
    status = params.get("status") or None
    if status is not None and status not in STATUSES:
        raise bad_request("status", f"status must be one of {', '.join(STATUSES)}.")
    query = (params.get("q") or "").strip() or None
    if query is not None and len(query) > QUERY_MAX_CHARS:
        raise bad_request("q", f"q must be at most {QUERY_MAX_CHARS} characters.")
    if query is not None and len(job_store.search_words(query)) > QUERY_MAX_WORDS:
        raise bad_request("q", f"q may hold at most {QUERY_MAX_WORDS} words.")
    # Any model id, offered now or not (old jobs keep theirs): only its shape is checked.
    model = params.get("model") or None
    if model is not None and not MODEL_ID.fullmatch(model):
        raise bad_request("model", "model must be a model id, as GET /api/config lists them.")
    page = job_store.list_page(
        owner,
        limit=limit,
        cursor=_parse_cursor(params.get("cursor"), owner),
        status=status,
        query=query,
        model=model,
    )
    return {"jobs": page.jobs, "next_cursor": page.next_cursor}


def get_job(owner: str, job_id: str) -> JobModel:
    job = job_store.load_visible(job_id, owner)
    if job is None:
        raise not_found()
    stale = clock.now() - float(job.checked_at or 0) > get_settings().poll_interval_seconds
    if job.is_pending and stale:
        try:
            job = lifecycle.refresh_job(job)
        except UpstreamError as exc:
            log.warning("inline refresh of job %s failed: %s", job.id, exc)
    return job


CANCEL_ATTEMPTS = 3


def cancel_job(owner: str, job_id: str) -> JobModel:
    """Stop a pending job: it fails with `cancelled` (giving its pending slot back once),
    its reserved spend is returned (nothing was billed: no cost is known for a pending job),
    and the upstream is asked to drop the render, best effort. 409 once it is not pending."""
    for _ in range(CANCEL_ATTEMPTS):
        job = job_store.load_visible(job_id, owner)
        if job is None:
            raise not_found()
        if not job.is_pending:
            raise conflict("not_pending", "Only a queued or rendering video can be cancelled.")
        try:
            job_store.fail(job, "cancelled", "You cancelled this video.")
        except job_store.TransitionRefused:
            continue  # another writer moved it meanwhile: look again
        break
    else:
        raise conflict("not_pending", "The video changed while cancelling; try again.")
    quotas.refund(owner, job.created_at, float(job.estimated_cost_usd))
    if job.upstream_id:
        try:
            provider_named(job.provider).delete(job.upstream_id)
        except Exception as exc:  # the render may go on upstream; its copy simply expires
            log.info("job %s: upstream did not drop the cancelled render: %s", job.id, exc)
    log.info("job %s cancelled", job.id)
    return job


def delete_job(owner: str, job_id: str) -> None:
    """Hide the job at once; storage and upstream copies go now or, for a job upstream is
    still rendering (it refuses to delete those), as soon as the refresher sees it finish."""
    job = job_store.load_visible(job_id, owner)
    if job is None:
        raise not_found()
    job_store.update(
        job,
        [JobModel.deleted_at.set(clock.now()), JobModel.pending.set("P")],
        versioned=False,
    )
    try:
        lifecycle.refresh_job(job)
    except Exception as exc:
        log.warning("job %s: clean-up deferred to the refresher: %s", job.id, exc)
