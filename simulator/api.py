"""The Videos API endpoints: turn parsed requests into responses using the store and renderer.

``POST /v1/videos/extensions`` continues a completed video (``video.id``) by ``seconds`` more
with a new ``prompt``; like OpenAI's, the answer is a new video object whose content is the
source clip and the new segment stitched together, so its ``seconds`` is the sum of both, and
whose new segment opens on the source's last frame. A poll (``GET /v1/videos/{id}``) of a
video still ``queued`` or ``in_progress`` carries ``openai-poll-after-ms``, the delay the
official SDK's ``poll`` helper waits before asking again (a tenth of the job's render time
here, 10 ms to 10 s).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ApiError, bad_request
from .multipart import MultipartError, Part, parse, parse_header
from .ranges import RangeNotSatisfiable, byte_range
from .render import VARIANTS, Media, Renderer, RenderError, RenderSpec
from .store import Failure, Job, State, VideoStore, require_completed
from .validation import (
    MAX_EXTENDED_SECONDS,
    Continuation,
    CreateParams,
    create_from_form,
    create_from_json,
    extend_from_form,
    extend_from_json,
    list_from_query,
    parse_size,
    remix_from_form,
    remix_from_json,
)

log = logging.getLogger("simulator.api")

MARKER_CREATE = "[fail:create]"
MARKER_RATELIMIT = "[fail:ratelimit]"
MARKER_MODERATION = "[fail:moderation]"
MARKER_RENDER = "[fail:render]"
MODERATION_FAILURE = Failure(
    "moderation_blocked",
    "Your request was blocked by our moderation system.",
)
RENDER_FAILURE = Failure("internal_error", "Video generation failed due to an internal error.")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # keys lower-cased
    body: bytes
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class JsonResponse:
    status: int
    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FileResponse:
    """``length`` bytes of ``path`` starting at ``offset`` (the whole file or one range)."""

    status: int
    path: Path
    offset: int
    length: int
    headers: Mapping[str, str]


Response = JsonResponse | FileResponse


def video_object(job: Job, state: State) -> dict[str, Any]:
    return {
        "id": job.id,
        "object": "video",
        "model": job.model,
        "status": state.status,
        "progress": state.progress,
        "created_at": int(job.created),
        "completed_at": state.completed_at,
        "expires_at": state.expires_at,
        "size": job.size,
        "seconds": job.seconds,
        "quality": "standard",
        "prompt": job.prompt,
        "remixed_from_video_id": job.remixed_from,
        "error": (
            {"code": state.error.code, "message": state.error.message} if state.error else None
        ),
    }


class VideosApi:
    def __init__(self, store: VideoStore, renderer: Renderer) -> None:
        self.store = store
        self.renderer = renderer

    def create(self, request: Request) -> Response:
        parts = _form(request)
        params = (
            create_from_json(_json_body(request.body)) if parts is None else create_from_form(parts)
        )
        return self._start(params, remixed_from=None)

    def remix(self, request: Request) -> Response:
        parts = _form(request)
        prompt = (
            remix_from_json(_json_body(request.body)) if parts is None else remix_from_form(parts)
        )
        source, state = self.store.get(request.params["video_id"])
        require_completed(source, state, "remix")
        params = CreateParams(prompt, source.model, source.size, source.seconds)
        return self._start(params, remixed_from=source.id)

    def extend(self, request: Request) -> Response:
        parts = _form(request)
        wanted = (
            extend_from_json(_json_body(request.body)) if parts is None else extend_from_form(parts)
        )
        source, state = self.store.get(wanted.video_id)
        continuation = self.continuation(source, state, "extend")
        total = continuation.seconds + int(wanted.seconds)
        if total > MAX_EXTENDED_SECONDS:
            raise bad_request(
                f"Video '{source.id}' is {continuation.seconds} s long; an extension may bring it "
                f"to at most {MAX_EXTENDED_SECONDS} s.",
                param="seconds",
            )
        params = CreateParams(
            wanted.prompt, source.model, source.size, str(total), extends=continuation
        )
        return self._start(params, remixed_from=None)

    def continuation(self, source: Job, state: State, action: str) -> Continuation:
        """The clip a new job continues: ``source``, which must be completed and unexpired."""
        require_completed(source, state, action)
        assert source.media is not None and state.expires_at is not None
        if self.store.clock() >= state.expires_at:
            raise bad_request(
                f"The content of video '{source.id}' has expired; it cannot be extended.",
                code="video_expired",
            )
        return Continuation(source.media.path("video"), int(source.seconds))

    def retrieve(self, request: Request) -> Response:
        job, state = self.store.get(request.params["video_id"])
        headers = {}
        if not state.terminal:
            headers["openai-poll-after-ms"] = str(self.store.poll_after_ms(job))
        return JsonResponse(200, video_object(job, state), headers)

    def list(self, request: Request) -> Response:
        params = list_from_query(request.query)
        page, has_more = self.store.page(limit=params.limit, after=params.after, order=params.order)
        data = [video_object(job, state) for job, state in page]
        return JsonResponse(
            200,
            {
                "object": "list",
                "data": data,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
                "has_more": has_more,
            },
        )

    def delete(self, request: Request) -> Response:
        job = self.store.delete(request.params["video_id"])
        return JsonResponse(200, {"id": job.id, "object": "video.deleted", "deleted": True})

    def content(self, request: Request) -> Response:
        variants = request.query.get("variant") or ["video"]
        variant = variants[0]
        if len(variants) > 1 or variant not in VARIANTS:
            raise bad_request(
                f"Invalid value: '{variant[:32]}'. Supported values are: 'video', 'thumbnail' "
                "and 'spritesheet'.",
                param="variant",
            )
        job, state = self.store.get(request.params["video_id"])
        require_completed(job, state, "download")
        assert state.expires_at is not None and job.media is not None
        if self.store.clock() >= state.expires_at:
            raise ApiError(
                404,
                f"The content of video '{job.id}' has expired and is no longer available.",
                code="video_expired",
            )
        return _file_response(job.media, variant, request.headers.get("range"))

    def _start(self, params: CreateParams, *, remixed_from: str | None) -> Response:
        marker_text = params.prompt.lower()
        if MARKER_CREATE in marker_text:
            raise ApiError(
                500,
                "The server had an error while processing your request. Sorry about that!",
                code="internal_error",
                error_type="server_error",
            )
        if MARKER_RATELIMIT in marker_text:
            raise ApiError(
                429,
                "Rate limit reached for video generation requests. Please try again in 1s.",
                code="rate_limit_exceeded",
                error_type="requests",
                headers={"retry-after": "1", "retry-after-ms": "1000"},
            )
        planned = None
        if MARKER_MODERATION in marker_text:
            planned = MODERATION_FAILURE
        elif MARKER_RENDER in marker_text:
            planned = RENDER_FAILURE
        job, state = self.store.create(
            model=params.model,
            size=params.size,
            seconds=params.seconds,
            prompt=params.prompt,
            remixed_from=remixed_from,
            planned_failure=planned,
        )
        if planned is None:
            self._render(job, params)
        return JsonResponse(200, video_object(job, state))

    def _render(self, job: Job, params: CreateParams) -> None:
        width, height = parse_size(params.size)
        reference, last, extends = params.reference, params.last_frame, params.extends
        spec = RenderSpec(
            prompt=params.prompt,
            width=width,
            height=height,
            seconds=int(params.seconds) - (extends.seconds if extends else 0),
            reference=reference.data if reference else None,
            reference_ext=reference.info.extension if reference else "png",
            last_frame=last.data if last else None,
            last_frame_ext=last.info.extension if last else "png",
            references=tuple((image.data, image.info.extension) for image in params.references),
            audio=params.audio,
            seed=params.seed,
            extend=extends.video if extends else None,
            extend_seconds=extends.seconds if extends else 0,
        )

        def done(future: Any) -> None:
            try:
                media = future.result()
            except Exception as exc:  # any render problem fails the job
                log.warning("render of %s failed: %s", job.id, exc)
                self.store.finish_render(job.id, None, RENDER_FAILURE)
            else:
                self.store.finish_render(job.id, media, None)

        try:
            self.renderer.submit(spec).add_done_callback(done)
        except RenderError as exc:
            log.warning("render of %s not started: %s", job.id, exc)
            self.store.finish_render(job.id, None, RENDER_FAILURE)


def _form(request: Request) -> list[Part] | None:
    """The parts of a ``multipart/form-data`` body; None for a JSON one (or no type)."""
    content_type, _ = parse_header(request.headers.get("content-type", ""))
    if content_type == "multipart/form-data":
        try:
            return parse(request.body, request.headers["content-type"])
        except MultipartError as exc:
            raise bad_request(f"Invalid multipart/form-data body: {exc}.") from exc
    if content_type in ("application/json", ""):
        return None
    raise ApiError(
        415,
        f"Unsupported content type '{content_type}'; send application/json or multipart/form-data.",
        code="unsupported_media_type",
    )


def _json_body(body: bytes) -> object:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise bad_request(
            "We could not parse the JSON body of your request. The OpenAI API expects a JSON "
            "payload.",
            code="invalid_json",
        ) from exc


def _file_response(media: Media, variant: str, range_header: str | None) -> FileResponse:
    path = media.path(variant)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ApiError(
            500,
            "The video content could not be read.",
            code="internal_error",
            error_type="server_error",
        ) from exc
    headers = {"content-type": Media.content_type(variant), "accept-ranges": "bytes"}
    try:
        chosen = byte_range(range_header, size)
    except RangeNotSatisfiable as exc:
        raise ApiError(
            416,
            f"Requested range not satisfiable: '{range_header}' (content is {size} bytes).",
            code="range_not_satisfiable",
            headers={"content-range": f"bytes */{size}"},
        ) from exc
    if chosen is None:
        return FileResponse(200, path, 0, size, headers)
    first, last = chosen
    headers["content-range"] = f"bytes {first}-{last}/{size}"
    return FileResponse(206, path, first, last - first + 1, headers)
