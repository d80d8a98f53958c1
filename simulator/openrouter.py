"""OpenRouter's Video Generation API, simulated (see ``docs/upstreams/openrouter.md``).

It shares the job store and the renderer with the ``/v1/videos`` endpoints, so the same clock,
``speed``, prompt markers and real H.264 media apply. Routes, under ``{root}/api/v1`` (the
base URL a client uses is ``SimulatorServer.openrouter_url``)::

    POST /api/v1/videos                         -> 202 {"id", "polling_url", "status": "pending"}
    GET  /api/v1/videos/{id}                    -> the job: status, generation_id, unsigned_urls,
                                                   usage.cost, expires_at or error (a string)
    GET  /api/v1/videos/{id}/content?index=0    -> the MP4 (``Range`` supported)
    GET  /api/v1/videos/models                  -> {"data": [model, ...]}, no key needed

Auth is ``Authorization: Bearer <key>`` on everything except the model list: any non-empty key
unless ``api_key`` is set; a missing or wrong key answers 401. Every error is OpenRouter's
envelope ``{"error": {"code": <the HTTP status>, "message": "..."}}``. Statuses are ``pending``
(the store's ``queued``), ``in_progress``, ``completed`` and ``failed``; the protocol has no
progress field, so none is sent. ``unsigned_urls`` point at the content route, which needs the
key like every other route: the docs describe no auth-free (signed) URL form.

The simulated models, every capability covered (prices are USD strings, as OpenRouter sends
them):

============================ ====== ================== ============ ============ ====== =====
id                           secs   resolutions        sizes        frames       audio  seed
============================ ====== ================== ============ ============ ====== =====
``sim/veo-3.1-like``         4 6 8  720p 1080p         4 (WxH)      first, last  yes    yes
``sim/seedance-like``        4 5 8  480p 720p          null         first        no     yes
``sim/wan-like``             5 10   480p 720p 1080p    null         first, last  yes    no
``sim/sora-like``            4 8 12 720p               2 (WxH)      first        null   null
``sim/text-only-like``       4      480p               null         null         no     no
============================ ====== ================== ============ ============ ====== =====

``sim/veo-3.1-like`` takes every control at once: first and last frame, reference images,
sound, a seed and ``previous_job_id`` (which every model takes).

Pricing SKUs: ``per-video-second`` (the first resolution), ``per-video-second-<resolution>``,
either with ``-audio`` appended for a job with sound, and ``generate`` (a flat price per
video). ``usage.cost`` is ``price x duration`` with the most specific SKU the job matches.
``generate_audio`` defaults to the model's ``generate_audio`` flag (false when null).

Validation, all 400 unless noted: a body that is not a JSON object, a field the protocol does
not have (assumed: OpenRouter's handling of unknown fields is not documented), a missing or
blank ``prompt``, a missing ``model`` (404 for an unknown one, assumed), a ``duration``,
``resolution``, ``aspect_ratio`` or ``size`` outside the model's lists, a ``size`` that
disagrees with ``resolution``/``aspect_ratio``, a ``frame_type`` the model does not take (or
given twice), an image that is not a ``data:`` URL of a PNG, JPEG or WebP (``https://`` URLs
are accepted and not fetched), more than 4 image references (assumed limit), a non-boolean
``generate_audio``, a ``seed`` that is not an integer from 0 to 4294967295 (assumed range) or
a ``previous_job_id`` that is not a string. Every model takes image ``input_references``
("Image references are supported by all providers"); a ``seed`` or ``generate_audio`` a model
cannot honour is ignored, as documented. Defaults: the first duration, resolution and aspect
ratio of the model. ``callback_url`` may be ``http://`` here (OpenRouter requires HTTPS) so
loopback receivers work.

What the video shows (the renderer's rules, :mod:`simulator.render`): the ``first_frame``
image in its first half second, the ``last_frame`` image in its last half second, the
``data:`` URL reference images as a strip of thumbnails along the bottom edge (only without
``frame_images``: "if both are sent, frame_images wins"), and an AAC tone when the job has
sound (``generate_audio`` on a model whose flag is true). A ``seed`` (on a model whose
``seed`` flag is true) makes the frames a function of prompt, size, duration and seed: the
same seed, the same bytes; another seed, other colours.

``previous_job_id`` (from the vendor skill) continues a ``completed`` job of the same model:
an unknown job is 404, another ``model`` 400, a job not completed (or whose content expired)
409. The new job has the source's size (a ``size``/``resolution``/``aspect_ratio`` that
disagrees is 400) and, assumed like OpenAI's and Veo's extensions, its content is the source
clip followed by ``duration`` new seconds that open on the source's last frame; ``usage.cost``
prices the new seconds only.

Markers: ``[fail:create]`` answers 500, ``[fail:ratelimit]`` 429 with ``retry-after: 1``,
``[fail:credits]`` 402 (none of them creates a job); ``[fail:moderation]`` ends ``failed`` with
``error: "Content policy violation"``; ``[fail:render]`` ends ``failed`` with an internal error.

Webhooks: when a job ends, a ``video.generation.completed`` / ``video.generation.failed``
envelope is POSTed to its ``callback_url``, or to the simulator's default callback URL
(``OPENROUTER_WEBHOOK_URL``, OpenRouter's "workspace default"), with
``X-OpenRouter-Idempotency-Key: <id>-<status>`` and, when a secret is set
(``OPENROUTER_WEBHOOK_SECRET``), ``X-OpenRouter-Signature: t=<ts>,v1=<hex HMAC-SHA256 of
"<ts>,<body>">``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from .api import MARKER_CREATE, MARKER_RATELIMIT, JsonResponse, Request, Response, VideosApi
from .api import _file_response as file_response
from .errors import ApiError
from .images import ImageError, identify
from .store import Job, State, VideoStore
from .validation import MAX_PROMPT_CHARS, Continuation, CreateParams, Reference
from .webhooks import OpenRouterWebhookSender

log = logging.getLogger("simulator.openrouter")

PREFIX = "/api/v1/"
MAX_BODY_BYTES = 50 * 1024 * 1024  # "capped at 50 MiB ... returns 413"
MAX_REFERENCE_IMAGES = 4
MARKER_CREDITS = "[fail:credits]"
MODERATION_MESSAGE = "Content policy violation"
CREATE_FIELDS = frozenset(
    {
        "model",
        "prompt",
        "duration",
        "resolution",
        "aspect_ratio",
        "size",
        "frame_images",
        "input_references",
        "generate_audio",
        "seed",
        "callback_url",
        "provider",
        "previous_job_id",
    }
)
MAX_SEED = 4_294_967_295
STATUS = {"queued": "pending", "in_progress": "in_progress", "completed": "completed"}
SHORT_SIDE = {"480p": 480, "720p": 720, "1080p": 1080}
ASPECTS = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1), "4:3": (4, 3), "3:4": (3, 4)}
ASPECTS |= {"21:9": (21, 9), "9:21": (9, 21)}
_DATA_URL = re.compile(r"data:(image/(?:png|jpeg|webp));base64,(.*)", re.DOTALL)
_ID = r"(?P<job_id>[^/]+)"
ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("POST", re.compile(r"/api/v1/videos"), "create"),
    ("GET", re.compile(r"/api/v1/videos/models"), "list_models"),
    ("GET", re.compile(rf"/api/v1/videos/{_ID}"), "retrieve"),
    ("GET", re.compile(rf"/api/v1/videos/{_ID}/content"), "content"),
)


def size_for(resolution: str, aspect_ratio: str) -> str:
    """``WxH`` of a resolution (the short side) at an aspect ratio, both sides even."""
    short = SHORT_SIDE[resolution]
    a, b = ASPECTS[aspect_ratio]
    long = round(short * max(a, b) / min(a, b) / 2) * 2
    return f"{long}x{short}" if a >= b else f"{short}x{long}"


def resolution_of(size: str) -> tuple[str, str] | None:
    """``(resolution, aspect_ratio)`` whose :func:`size_for` is ``size``, if any."""
    for resolution in SHORT_SIDE:
        for aspect in ASPECTS:
            if size_for(resolution, aspect) == size:
                return resolution, aspect
    return None


@dataclass(frozen=True)
class SimModel:
    id: str
    name: str
    description: str
    durations: tuple[int, ...]
    resolutions: tuple[str, ...]
    aspect_ratios: tuple[str, ...]
    sizes: tuple[str, ...] | None
    frame_images: tuple[str, ...] | None
    generate_audio: bool | None
    seed: bool | None
    pricing: Mapping[str, str]
    passthrough: tuple[str, ...] = ()
    created: int = 1_767_225_600  # 2026-01-01

    def listing(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "canonical_slug": self.id,
            "name": self.name,
            "description": self.description,
            "created": self.created,
            "hugging_face_id": None,
            "supported_durations": list(self.durations),
            "supported_resolutions": list(self.resolutions),
            "supported_aspect_ratios": list(self.aspect_ratios),
            "supported_sizes": _nullable(self.sizes),
            "supported_frame_images": _nullable(self.frame_images),
            "generate_audio": self.generate_audio,
            "seed": self.seed,
            "pricing_skus": dict(self.pricing),
            "allowed_passthrough_parameters": list(self.passthrough),
            "upscale_factor": None,
            "creativity": None,
        }

    def cost(self, duration: int, resolution: str, audio: bool) -> float:
        if "generate" in self.pricing:
            return float(self.pricing["generate"])
        sku = "per-video-second"
        if f"{sku}-{resolution}" in self.pricing:
            sku = f"{sku}-{resolution}"
        if audio and f"{sku}-audio" in self.pricing:
            sku = f"{sku}-audio"
        return round(float(self.pricing[sku]) * duration, 6)


FIRST_LAST = ("first_frame", "last_frame")
MODELS: tuple[SimModel, ...] = (
    SimModel(
        "sim/veo-3.1-like",
        "Simulator: Veo 3.1 (like)",
        "Text, first/last frame and reference images to video, with sound and seeds.",
        durations=(4, 6, 8),
        resolutions=("720p", "1080p"),
        aspect_ratios=("16:9", "9:16"),
        sizes=("1280x720", "720x1280", "1920x1080", "1080x1920"),
        frame_images=FIRST_LAST,
        generate_audio=True,
        seed=True,
        pricing={
            "per-video-second": "0.20",
            "per-video-second-audio": "0.40",
            "per-video-second-1080p": "0.30",
            "per-video-second-1080p-audio": "0.50",
        },
        passthrough=("negativePrompt", "personGeneration"),
    ),
    SimModel(
        "sim/seedance-like",
        "Simulator: Seedance (like)",
        "Resolution x aspect ratio only (no sizes list), first frame, seeds, silent.",
        durations=(4, 5, 8),
        resolutions=("480p", "720p"),
        aspect_ratios=("16:9", "9:16", "1:1", "4:3", "3:4", "21:9"),
        sizes=None,
        frame_images=("first_frame",),
        generate_audio=False,
        seed=True,
        pricing={"per-video-second": "0.05", "per-video-second-720p": "0.10"},
        passthrough=("camera_fixed",),
    ),
    SimModel(
        "sim/wan-like",
        "Simulator: Wan (like)",
        "First and last frame, optional sound, no seed.",
        durations=(5, 10),
        resolutions=("480p", "720p", "1080p"),
        aspect_ratios=("16:9", "9:16", "1:1"),
        sizes=None,
        frame_images=FIRST_LAST,
        generate_audio=True,
        seed=False,
        pricing={
            "per-video-second": "0.04",
            "per-video-second-audio": "0.06",
            "per-video-second-1080p": "0.08",
            "per-video-second-1080p-audio": "0.10",
        },
    ),
    SimModel(
        "sim/sora-like",
        "Simulator: Sora 2 (like)",
        "Two sizes, first frame; audio and seed capabilities unknown (null).",
        durations=(4, 8, 12),
        resolutions=("720p",),
        aspect_ratios=("16:9", "9:16"),
        sizes=("1280x720", "720x1280"),
        frame_images=("first_frame",),
        generate_audio=None,
        seed=None,
        pricing={"per-video-second": "0.10"},
    ),
    SimModel(
        "sim/text-only-like",
        "Simulator: text only",
        "Text to video only, one shape, a flat price per video.",
        durations=(4,),
        resolutions=("480p",),
        aspect_ratios=("16:9",),
        sizes=None,
        frame_images=None,
        generate_audio=False,
        seed=False,
        pricing={"generate": "0.25"},
    ),
)


class OpenRouterError(Exception):
    def __init__(self, status: int, message: str, *, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})

    def response(self) -> JsonResponse:
        return JsonResponse(
            self.status, {"error": {"code": self.status, "message": self.message}}, self.headers
        )


def _invalid(message: str) -> OpenRouterError:
    return OpenRouterError(400, message)


@dataclass(frozen=True)
class Submission:
    """A validated ``POST /videos`` body."""

    model: SimModel
    prompt: str
    duration: int
    resolution: str
    size: str
    audio: bool
    first_frame: Reference | None
    callback_url: str | None
    last_frame: Reference | None = None
    references: tuple[Reference, ...] = ()
    seed: int | None = None
    previous_job_id: str | None = None
    shape_given: bool = False


@dataclass(frozen=True)
class _Record:
    """What the shared store does not keep about an OpenRouter job."""

    model: SimModel
    origin: str
    callback_url: str | None
    cost: float
    generation_id: str


class OpenRouterApi:
    """Serves the ``/api/v1`` routes; ``handle`` never raises, errors are OpenRouter envelopes."""

    def __init__(
        self,
        videos: VideosApi,
        store: VideoStore,
        *,
        api_key: str | None,
        origin: Callable[[], str],
        webhooks: OpenRouterWebhookSender | None = None,
        default_callback_url: str | None = None,
        models: tuple[SimModel, ...] = MODELS,
    ) -> None:
        self.videos = videos
        self.store = store
        self.api_key = api_key
        self.webhooks = webhooks
        self.default_callback_url = default_callback_url or None
        self.models = {model.id: model for model in models}
        self._origin = origin
        self._records: dict[str, _Record] = {}
        self._lock = threading.RLock()  # held from job creation until its record exists
        self._stats = {"create": 0, "retrieve": 0, "content": 0, "list_models": 0}

    @staticmethod
    def owns(path: str) -> bool:
        return path.startswith(PREFIX)

    @property
    def stats(self) -> dict[str, int]:
        with self._lock:
            return dict(self._stats)

    def owns_job(self, job: Job) -> bool:
        """True for a job created through these routes (waits for a create in flight)."""
        with self._lock:
            return job.id in self._records

    def handle(self, request: Request) -> Response:
        try:
            endpoint, params = self._route(request)
            with self._lock:
                self._stats[endpoint] += 1
            if endpoint != "list_models":
                self._authenticate(request)
            return getattr(self, endpoint)(request, params)
        except OpenRouterError as exc:
            return exc.response()
        except ApiError as exc:  # from the shared store or file helpers
            return OpenRouterError(exc.status, exc.message, headers=exc.headers).response()
        except Exception:
            log.exception("unhandled error serving %s %s", request.method, request.path)
            return OpenRouterError(500, "Internal Server Error").response()

    # --- endpoints ------------------------------------------------------------------------
    def create(self, request: Request, params: dict[str, str]) -> Response:
        if len(request.body) > MAX_BODY_BYTES:
            raise OpenRouterError(413, "Request body too large; the limit is 50 MiB.")
        submission = parse_submission(_json(request.body), self.models)
        marker_text = submission.prompt.lower()
        if MARKER_CREATE in marker_text:
            raise OpenRouterError(500, "Internal Server Error")
        if MARKER_RATELIMIT in marker_text:
            raise OpenRouterError(429, "Rate limit exceeded", headers={"retry-after": "1"})
        if MARKER_CREDITS in marker_text:
            raise OpenRouterError(
                402, "Insufficient credits. Add more using https://openrouter.ai/credits"
            )
        origin = self._request_origin(request)
        extends, size, resolution = self._continuation(submission)
        seconds = submission.duration + (extends.seconds if extends else 0)
        create = CreateParams(
            submission.prompt,
            submission.model.id,
            size,
            str(seconds),
            submission.first_frame,
            last_frame=submission.last_frame,
            references=submission.references,
            audio=submission.audio,
            seed=submission.seed,
            extends=extends,
        )
        with self._lock:
            created = self.videos._start(create, remixed_from=None)
            assert isinstance(created, JsonResponse)
            job_id = str(created.body["id"])
            self._records[job_id] = _Record(
                model=submission.model,
                origin=origin,
                callback_url=submission.callback_url,
                cost=submission.model.cost(submission.duration, resolution, submission.audio),
                generation_id="gen-" + hashlib.sha256(job_id.encode()).hexdigest()[:24],
            )
        return JsonResponse(
            202, {"id": job_id, "polling_url": _polling_url(origin, job_id), "status": "pending"}
        )

    def retrieve(self, request: Request, params: dict[str, str]) -> Response:
        job, state, record = self._job(params["job_id"])
        return JsonResponse(200, self._job_body(job, state, record))

    def content(self, request: Request, params: dict[str, str]) -> Response:
        values = request.query.get("index") or ["0"]
        if len(values) > 1 or not values[0].isdigit():
            raise _invalid("index must be a non-negative integer.")
        job, state, _ = self._job(params["job_id"])
        if int(values[0]) != 0:
            raise OpenRouterError(404, f"Job {job.id} has no output at index {int(values[0])}.")
        if state.status != "completed" or state.expires_at is None or job.media is None:
            raise OpenRouterError(404, f"Job {job.id} has no content (status '{_status(state)}').")
        if self.store.clock() >= state.expires_at:
            raise OpenRouterError(404, f"The content of job {job.id} has expired.")
        return file_response(job.media, "video", request.headers.get("range"))

    def list_models(self, request: Request, params: dict[str, str]) -> Response:
        return JsonResponse(200, {"data": [model.listing() for model in self.models.values()]})

    # --- webhooks -------------------------------------------------------------------------
    def on_terminal(self, job: Job, state: State) -> None:
        """Send the ``video.generation.*`` event of a job that has just ended."""
        with self._lock:  # waits for a create still recording this job
            record = self._records.get(job.id)
        if record is None or self.webhooks is None:
            return
        url = record.callback_url or self.default_callback_url
        if url is None:
            return
        body = self._job_body(job, state, record)
        data: dict[str, Any] = {
            "id": job.id,
            "status": body["status"],
            "generation_id": record.generation_id,
            "model": record.model.id,
        }
        for name in ("unsigned_urls", "usage", "error"):
            if name in body:
                data[name] = body[name]
        event = {
            "type": f"video.generation.{body['status']}",
            "created_at": _iso(self.store.clock()),
            "data": data,
        }
        self.webhooks.send(url, event, f"{job.id}-{body['status']}")

    # --- helpers --------------------------------------------------------------------------
    def _continuation(self, submission: Submission) -> tuple[Continuation | None, str, str]:
        """``(the clip previous_job_id names, size, resolution)`` of the new job, checked as
        the vendor skill describes; without one, ``(None, ...)`` of the submission."""
        if submission.previous_job_id is None:
            return None, submission.size, submission.resolution
        source, state, record = self._job(submission.previous_job_id)
        if record.model.id != submission.model.id:
            raise _invalid(
                f"previous_job_id {source.id} was made by {record.model.id}, not "
                f"{submission.model.id}: a job continues on its own model."
            )
        if state.status != "completed" or state.expires_at is None:
            raise OpenRouterError(
                409, f"Job {source.id} is not completed (status '{_status(state)}')."
            )
        if self.store.clock() >= state.expires_at:
            raise OpenRouterError(409, f"The content of job {source.id} has expired.")
        if submission.shape_given and submission.size != source.size:
            raise _invalid(
                f"Job {source.id} is {source.size}: a continuation keeps its size, not "
                f"{submission.size}."
            )
        shape = resolution_of(source.size)
        resolution = shape[0] if shape else submission.resolution
        return self.videos.continuation(source, state, "extend"), source.size, resolution

    def _job_body(self, job: Job, state: State, record: _Record) -> dict[str, Any]:
        status = _status(state)
        body: dict[str, Any] = {
            "id": job.id,
            "polling_url": _polling_url(record.origin, job.id),
            "status": status,
        }
        if status != "pending":
            body["generation_id"] = record.generation_id
        if status == "completed":
            body["unsigned_urls"] = [f"{_polling_url(record.origin, job.id)}/content?index=0"]
            body["usage"] = {"cost": record.cost, "is_byok": False}
            body["expires_at"] = state.expires_at
        elif status == "failed":
            failure = state.error
            moderated = failure is not None and failure.code == "moderation_blocked"
            body["error"] = MODERATION_MESSAGE if moderated else _failure_message(state)
        return body

    def _job(self, job_id: str) -> tuple[Job, State, _Record]:
        with self._lock:
            record = self._records.get(job_id)
        if record is None:
            raise OpenRouterError(404, "Resource not found")
        job, state = self.store.get(job_id)
        return job, state, record

    def _route(self, request: Request) -> tuple[str, dict[str, str]]:
        for method, pattern, endpoint in ROUTES:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            if request.method != method:
                raise OpenRouterError(
                    405,
                    f"Method {request.method} is not allowed on {request.path}.",
                    headers={"allow": method},
                )
            return endpoint, match.groupdict()
        raise OpenRouterError(404, f"Unknown route: {request.method} {request.path}.")

    def _authenticate(self, request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise OpenRouterError(401, "Missing Authentication header")
        if self.api_key is not None and not hmac.compare_digest(
            token.encode(), self.api_key.encode()
        ):
            raise OpenRouterError(401, "User not found.")

    def _request_origin(self, request: Request) -> str:
        host = request.headers.get("host")
        return f"http://{host}" if host else self._origin()


def _status(state: State) -> str:
    return STATUS.get(state.status, state.status)


def _failure_message(state: State) -> str:
    return state.error.message if state.error else "Video generation failed."


def _polling_url(origin: str, job_id: str) -> str:
    return f"{origin}/api/v1/videos/{job_id}"


def _iso(timestamp: float) -> str:
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _invalid("Invalid JSON body.") from exc


# --- request validation ---------------------------------------------------------------------
def parse_submission(payload: object, models: Mapping[str, SimModel]) -> Submission:
    """Validate a ``POST /videos`` body against the model it names."""
    if not isinstance(payload, dict):
        raise _invalid("The request body must be a JSON object.")
    for name in payload:
        if name not in CREATE_FIELDS:
            raise _invalid(f"Unknown parameter: '{str(name)[:64]}'.")
    model_id = payload.get("model")
    if not isinstance(model_id, str) or not model_id:
        raise _invalid("model is required and must be a string.")
    model = models.get(model_id)
    if model is None:
        raise OpenRouterError(404, f"Model '{model_id[:128]}' not found.")
    prompt = payload.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise _invalid("prompt is required and must be a non-empty string.")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise _invalid(f"prompt is too long (at most {MAX_PROMPT_CHARS} characters).")
    duration = payload.get("duration", model.durations[0])
    if isinstance(duration, bool) or not isinstance(duration, int):
        raise _invalid("duration must be an integer number of seconds.")
    if duration not in model.durations:
        raise _invalid(
            f"duration {duration} is not supported by {model.id}: use {_list(model.durations)}."
        )
    resolution, size = _shape(payload, model)
    audio = _boolean(payload, "generate_audio", bool(model.generate_audio))
    seed = payload.get("seed")
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED
    ):
        raise _invalid(f"seed must be an integer from 0 to {MAX_SEED}.")
    frames = _frame_images(payload.get("frame_images"), model)
    references = _input_references(payload.get("input_references"))
    if not isinstance(payload.get("provider", {}), dict):
        raise _invalid("provider must be an object.")
    previous = payload.get("previous_job_id")
    if previous is not None and (not isinstance(previous, str) or not previous):
        raise _invalid("previous_job_id must be a non-empty string.")
    return Submission(
        model=model,
        prompt=prompt,
        duration=duration,
        resolution=resolution,
        size=size,
        audio=audio and model.generate_audio is True,
        first_frame=frames.get("first_frame"),
        callback_url=_callback_url(payload.get("callback_url")),
        last_frame=frames.get("last_frame"),
        references=() if frames else references,  # "frame_images wins"
        seed=seed if model.seed is True else None,
        previous_job_id=previous,
        shape_given=any(name in payload for name in ("size", "resolution", "aspect_ratio")),
    )


def _shape(payload: Mapping[str, Any], model: SimModel) -> tuple[str, str]:
    """Return ``(resolution, WxH)`` from ``size`` or ``resolution`` + ``aspect_ratio``."""
    resolution = payload.get("resolution")
    aspect = payload.get("aspect_ratio")
    for name, value, allowed in (
        ("resolution", resolution, model.resolutions),
        ("aspect_ratio", aspect, model.aspect_ratios),
    ):
        if value is not None and value not in allowed:
            raise _invalid(
                f"{name} {value!r} is not supported by {model.id}: use {_list(allowed)}."
            )
    size = payload.get("size")
    if size is None:
        size = size_for(resolution or model.resolutions[0], aspect or model.aspect_ratios[0])
        if model.sizes is not None and size not in model.sizes:
            raise _invalid(f"{model.id} has no {size} output: use size {_list(model.sizes)}.")
        return resolution or model.resolutions[0], size
    shape = resolution_of(size) if isinstance(size, str) else None
    allowed_sizes = model.sizes or tuple(
        size_for(r, a) for r in model.resolutions for a in model.aspect_ratios
    )
    if shape is None or size not in allowed_sizes:
        raise _invalid(f"size {size!r} is not supported by {model.id}: use {_list(allowed_sizes)}.")
    if (resolution or shape[0], aspect or shape[1]) != shape:
        raise _invalid(f"size {size} disagrees with resolution/aspect_ratio.")
    return shape[0], size


def _frame_images(value: object, model: SimModel) -> dict[str, Reference | None]:
    if value is None:
        return {}
    if not isinstance(value, list):
        raise _invalid("frame_images must be an array.")
    frames: dict[str, Reference | None] = {}
    allowed = model.frame_images or ()
    for index, item in enumerate(value):
        where = f"frame_images[{index}]"
        frame_type = item.get("frame_type") if isinstance(item, dict) else None
        if frame_type not in FIRST_LAST:
            raise _invalid(f"{where}.frame_type must be 'first_frame' or 'last_frame'.")
        if frame_type not in allowed:
            raise _invalid(f"{model.id} does not take a {frame_type} image.")
        if frame_type in frames:
            raise _invalid(f"{where}: only one {frame_type} image is allowed.")
        frames[frame_type] = _image(item, where)
    return frames


def _input_references(value: object) -> tuple[Reference, ...]:
    """The ``data:`` URL images among the references (remote URLs are not fetched)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _invalid("input_references must be an array.")
    images = 0
    found: list[Reference] = []
    for index, item in enumerate(value):
        where = f"input_references[{index}]"
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "image_url":
            images += 1
            image = _image(item, where)
            if image is not None:
                found.append(image)
        elif kind in ("audio_url", "video_url"):
            media = item.get(kind) if isinstance(item, dict) else None
            if not isinstance(media, dict) or not isinstance(media.get("url"), str):
                raise _invalid(f"{where}.{kind}.url must be a string.")
        else:
            raise _invalid(f"{where}.type must be 'image_url', 'audio_url' or 'video_url'.")
    if images > MAX_REFERENCE_IMAGES:
        raise _invalid(f"At most {MAX_REFERENCE_IMAGES} reference images are allowed.")
    return tuple(found)


def _image(item: Mapping[str, Any], where: str) -> Reference | None:
    """The image of a ``{"type": "image_url", "image_url": {"url"}}`` part (None: a URL)."""
    image_url = item.get("image_url")
    if item.get("type") != "image_url" or not isinstance(image_url, dict):
        raise _invalid(f"{where} must be {{'type': 'image_url', 'image_url': {{'url': ...}}}}.")
    url = image_url.get("url")
    if not isinstance(url, str) or not url:
        raise _invalid(f"{where}.image_url.url must be a non-empty string.")
    if url.startswith(("https://", "http://")):
        return None  # a remote image: accepted, not fetched by the simulator
    match = _DATA_URL.fullmatch(url)
    if match is None:
        raise _invalid(f"{where}.image_url.url must be an https:// URL or a base64 data: URL.")
    try:
        data = base64.b64decode(match[2], validate=True)
        info = identify(data)
    except (binascii.Error, ImageError) as exc:
        raise _invalid(f"{where} is not a valid PNG, JPEG or WebP image.") from exc
    if info.mime != match[1]:
        raise _invalid(f"{where} is a {info.mime} image labelled {match[1]}.")
    return Reference(data, info)


def _boolean(payload: Mapping[str, Any], name: str, default: bool) -> bool:
    value = payload.get(name, default)
    if not isinstance(value, bool):
        raise _invalid(f"{name} must be a boolean.")
    return value


def _callback_url(value: object) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("https", "http") or not parts.netloc:
        raise _invalid("callback_url must be an https:// URL.")
    return str(value)


def _nullable(values: tuple[str, ...] | None) -> list[str] | None:
    return None if values is None else list(values)


def _list(values: tuple[Any, ...]) -> str:
    return ", ".join(str(v) for v in values)
