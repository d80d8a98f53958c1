"""`GET /api/videos/{id}/media`: a short-lived S3 redirect for archived content; before the
archive lands, a ranged proxy of the upstream bytes. A proxied response never carries more
than PROXY_MAX_BYTES, so memory stays bounded whatever the video's size (players ask for
ranges and continue where a partial answer stopped)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from chalicelib import clock
from chalicelib.catalog.spec import MAX_REFERENCE_IMAGES
from chalicelib.errors import Conflict, Gone, RangeNotSatisfiable, bad_request, not_found
from chalicelib.jobs import store as job_store
from chalicelib.media import store as media_store
from chalicelib.models import JobModel
from chalicelib.upstreams.base import UpstreamError
from chalicelib.upstreams.registry import provider_named

VARIANT_ALIASES = {"source": "video", "preview": "thumbnail"}
VARIANTS = ("video", "thumbnail", "spritesheet", "reference", "last_frame")
# The input images a job was made from: its first frame, last frame and reference images.
REFERENCE_VARIANT = re.compile(r"reference_(0|[1-9][0-9]?)")
PROXY_MAX_BYTES = 4 * 1024 * 1024
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass
class MediaAnswer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    # A str when empty: Chalice leaves a bytes body of a non-binary response as bytes, which
    # the Lambda runtime cannot serialise (and the Chalice test client cannot decode).
    body: bytes | str = ""


def parse_variant(raw: str | None) -> str:
    variant = VARIANT_ALIASES.get(raw or "video", raw or "video")
    indexed = REFERENCE_VARIANT.fullmatch(variant)
    if variant not in VARIANTS and not (indexed and int(indexed[1]) < MAX_REFERENCE_IMAGES):
        known = ", ".join(VARIANTS)
        last = MAX_REFERENCE_IMAGES - 1
        raise bad_request("variant", f"variant must be one of {known}, or reference_0 to _{last}.")
    return variant


def input_key(job: JobModel, variant: str) -> str | None:
    """The stored input image a variant names (`reference`, `last_frame`, `reference_<i>`),
    None when the job has none; "" when the variant is not an input at all."""
    if variant == "reference":
        return job.reference_key
    if variant == "last_frame":
        return job.last_frame_key
    indexed = REFERENCE_VARIANT.fullmatch(variant)
    if indexed is None:
        return ""
    keys = list(job.reference_keys or [])
    index = int(indexed[1])
    return keys[index] if index < len(keys) else None


def _redirect(key: str, download_name: str | None) -> MediaAnswer:
    url = media_store.presigned_url(key, download_name=download_name)
    return MediaAnswer(302, {"Location": url, "Cache-Control": "no-store"})


def media(
    owner: str, job_id: str, variant_raw: str | None, download: bool, byte_range: str | None
) -> MediaAnswer:
    variant = parse_variant(variant_raw)
    job = job_store.load_visible(job_id, owner)
    if job is None:
        raise not_found()
    stored_input = input_key(job, variant)
    if stored_input != "":
        if not stored_input:
            raise not_found(f"{variant.replace('_', ' ')} image for this video")
        extension = stored_input.rsplit(".", 1)[-1]
        name = media_store.download_filename(job.prompt, extension) if download else None
        return _redirect(stored_input, name)
    if job.status == "completed":
        if variant not in (job.archived_variants or set()):
            raise not_found(f"{variant} for this video")
        extension = media_store.VARIANT_FILES[variant][0].rsplit(".", 1)[-1]
        name = media_store.download_filename(job.prompt, extension) if download else None
        return _redirect(media_store.media_key(job.id, variant), name)
    expired = Gone("This video expired before it could be saved.")
    if job.status == "failed":
        if job.error_code == "expired":
            raise expired
        raise not_found("video: this job failed")
    if job.upstream_status == "completed" and job.upstream_id:
        if job.upstream_expires_at is not None and clock.now() >= job.upstream_expires_at:
            raise expired  # the refresher has not marked it yet; upstream would answer 404
        return _proxy(job, variant, byte_range, download)
    raise Conflict("The video is not ready yet.", code="not_ready", retry_after=5)


def _parse_range(header: str | None) -> tuple[int | None, int | None] | None:
    if not header:
        return None
    match = RANGE.match(header.strip())
    if not match or (match.group(1) == "" and match.group(2) == ""):
        raise RangeNotSatisfiable("The Range header is not understood.")
    start = int(match.group(1)) if match.group(1) else None
    end = int(match.group(2)) if match.group(2) else None
    if start is not None and end is not None and end < start:
        raise RangeNotSatisfiable("The Range header is not satisfiable.")
    return start, end


def _upstream_range(parsed: tuple[int | None, int | None] | None) -> str:
    if parsed is None:
        return f"bytes=0-{PROXY_MAX_BYTES - 1}"
    start, end = parsed
    if start is None:
        return f"bytes=-{end}"
    last = start + PROXY_MAX_BYTES - 1
    return f"bytes={start}-{min(end, last) if end is not None else last}"


def _total_from(content_range: str | None) -> int | None:
    if content_range and "/" in content_range:
        total = content_range.rsplit("/", 1)[1]
        return int(total) if total.isdigit() else None
    return None


def _proxy(job: JobModel, variant: str, header: str | None, download: bool) -> MediaAnswer:
    parsed = _parse_range(header)
    provider = provider_named(job.provider)
    try:
        stream = provider.download(job.upstream_id, variant, _upstream_range(parsed))
    except UpstreamError as exc:
        if exc.status == 416:
            raise _unsatisfiable(job, variant) from exc
        raise  # answered by http.py like any upstream failure (a 429 stays a 429)
    try:
        if stream.status_code == 206:
            total = _total_from(stream.content_range)
            first, skip = _first_byte(stream.content_range), 0
        else:  # the upstream ignored Range and sends the whole file: cut our slice from it
            total = stream.content_length
            first = _resolve_start(parsed, total)
            skip = first
            if total is not None and first >= total and total > 0:
                raise _unsatisfiable(job, variant)
        wanted = PROXY_MAX_BYTES
        if parsed is not None and parsed[0] is not None and parsed[1] is not None:
            wanted = min(wanted, parsed[1] - first + 1)
        body = _read_slice(stream.iter_chunks(256 * 1024), skip, wanted)
        content_type = stream.content_type
    finally:
        stream.close()
    if download and parsed is None and total is not None and len(body) < total:
        # A download must be the whole file; a proxied answer is capped, the archive is not.
        raise Conflict(
            "The video is still being saved; download it again in a few seconds.",
            code="not_ready",
            retry_after=5,
        )
    headers = {
        "Content-Type": content_type,
        "Accept-Ranges": "bytes",
        "Cache-Control": "no-store",
        "Content-Length": str(len(body)),
    }
    if download:
        extension = media_store.VARIANT_FILES[variant][0].rsplit(".", 1)[-1]
        name = media_store.download_filename(job.prompt, extension)
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    if parsed is None and total is not None and first == 0 and len(body) == total:
        return MediaAnswer(200, headers, body)
    end = first + len(body) - 1
    headers["Content-Range"] = f"bytes {first}-{end}/{total if total is not None else '*'}"
    return MediaAnswer(206, headers, body)


def _unsatisfiable(job: JobModel, variant: str) -> RangeNotSatisfiable:
    total = None
    try:
        probe = provider_named(job.provider).download(job.upstream_id, variant, "bytes=0-0")
        total = _total_from(probe.content_range) or probe.content_length
        probe.close()
    except UpstreamError:
        pass
    return RangeNotSatisfiable("The requested range is outside the file.", total=total)


def _resolve_start(parsed: tuple[int | None, int | None] | None, total: int | None) -> int:
    if parsed is None:
        return 0
    start, suffix = parsed
    if start is not None:
        return start
    return max(0, (total or 0) - (suffix or 0))


def _first_byte(content_range: str | None) -> int:
    match = re.match(r"bytes (\d+)-", content_range or "")
    return int(match.group(1)) if match else 0


def _read_slice(chunks: Iterator[bytes], skip: int, limit: int) -> bytes:
    parts: list[bytes] = []
    taken = 0
    for chunk in chunks:
        if skip:
            dropped = min(skip, len(chunk))
            chunk = chunk[dropped:]
            skip -= dropped
        if not chunk:
            continue
        parts.append(chunk[: limit - taken])
        taken += len(parts[-1])
        if taken >= limit:
            break
    return b"".join(parts)
