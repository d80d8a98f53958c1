"""fal.ai's queue, simulated (see ``docs/upstreams/fal.md``).

It shares the job store and the renderer with the ``/v1/videos`` endpoints, so the same clock,
``speed``, prompt markers and real H.264 media apply. Routes, under ``{root}/fal`` (the queue
base a client uses is ``SimulatorServer.fal_url``)::

    POST /fal/{model id}                                 -> {"request_id", "status_url",
                                                             "response_url", "cancel_url"}
    GET  /fal/{owner}/{app}/requests/{id}/status?logs=1  -> IN_QUEUE | IN_PROGRESS (202),
                                                             COMPLETED (200)
    GET  /fal/{owner}/{app}/requests/{id}                -> the result (or its error)
    PUT  /fal/{owner}/{app}/requests/{id}/cancel         -> CANCELLATION_REQUESTED (202),
                                                             ALREADY_COMPLETED (400), NOT_FOUND
    GET  /fal/.well-known/jwks.json                      -> the TEST webhook key, as a JWKS
    GET  /fal-cdn/files/{id}/output.mp4                  -> the MP4, no key (``Range`` works)

As at fal, status, result and cancel live under the app's root only (``owner/app``), never
the endpoint path. Auth is ``Authorization: Key <key>`` on the queue routes (any non-empty key
unless ``api_key`` is set; 401 otherwise); the CDN and the JWKS need none. Errors are fal's
``{"detail": "..."}`` or, for input, 422 with a ``detail`` list of ``{loc, msg, type}``.

The simulated models are the endpoints the app's presets use (``chalicelib/catalog/presets.py``),
each validated against the input schema on its fal page: the field names, the duration enum
*and its type* (``"8s"``, ``"5"`` or an integer), the aspect ratios and resolutions, and a
required ``image_url`` on image endpoints. Assumed stricter than fal: an unknown field is a 422
(``extra_forbidden``), and ``4k`` is not simulated. An image URL is fetched at submit time
(``http(s)://``, at most 20 MB, a PNG, JPEG or WebP; else a 422 ``file_download_error``) and the
first frame is drawn into the video's first half second. The output size comes from the
resolution and aspect ratio (Kling: 1080p at its ratio, MiniMax: 1366x768); an image endpoint
without an aspect ratio, or with ``auto``, renders at the image's size. Models that print
progress (Kling, Wan) log ``Generating video: NN%`` while in progress; the others log text
without a figure.

Failures: fal reports a failed request as ``COMPLETED`` (with ``error`` and ``error_type``),
and its result answers the error: ``[fail:moderation]`` a 422 ``content_policy_violation``,
``[fail:render]`` a 500 request error (``error_type`` ``runner_disconnected``). On submit,
``[fail:create]`` answers 500, ``[fail:ratelimit]`` 429 with ``retry-after: 1`` and
``[fail:credits]`` 403 "User is locked. Reason: Exhausted balance." (none of them queues a
request). A cancelled request ends ``COMPLETED`` whose result is a 400.

Webhooks: a submit's ``fal_webhook`` URL receives ``{"request_id", "gateway_request_id",
"status": "OK" | "ERROR", "payload"[, "error"]}`` when the request ends, signed as fal signs
(``X-Fal-Webhook-Request-Id``, ``-User-Id``, ``-Timestamp``, ``-Signature``: hex ED25519 over
``"{request id}\\n{user id}\\n{timestamp}\\n{sha256 hex of the body}"``) with a TEST key pair
(``simulator.webhooks.fal_test_key``) whose public key the JWKS route serves.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from .api import MARKER_CREATE, MARKER_RATELIMIT, JsonResponse, Request, Response, VideosApi
from .api import _file_response as file_response
from .errors import ApiError
from .images import ImageError, identify
from .openrouter import MARKER_CREDITS, size_for
from .openrouter import _iso as iso_time
from .store import Job, State, VideoStore
from .validation import MAX_PROMPT_CHARS, CreateParams, Reference
from .webhooks import FalWebhookSender, fal_jwks

log = logging.getLogger("simulator.fal")

PREFIX = "/fal/"
CDN_PREFIX = "/fal-cdn/files/"
JWKS_PATH = "/fal/.well-known/jwks.json"
NAMESPACES = ("workflows", "comfy")
MAX_IMAGE_BYTES = 20 * 1024 * 1024
IMAGE_TIMEOUT_SECONDS = 10.0
VEO_EXTRA = frozenset({"negative_prompt", "seed", "auto_fix", "safety_tolerance"})
_CDN = re.compile(r"/fal-cdn/files/(?P<request_id>[0-9a-f-]{36})/output\.mp4")


@dataclass(frozen=True)
class FalModel:
    """One endpoint's input schema (what its fal page documents) and how it renders."""

    endpoint: str
    durations: tuple[str | int, ...]  # the wire values, with their type
    aspect_ratios: tuple[str, ...] | None = None  # None: the field is not taken
    resolutions: tuple[str, ...] | None = None
    image_field: str | None = None  # required on an image endpoint
    end_image_field: str | None = None
    audio: bool = False  # takes generate_audio
    extra: frozenset[str] = frozenset()  # accepted, not simulated
    short_side: str = "1080p"  # without a resolution field: the output's resolution
    fixed_size: str | None = None  # a model with neither field renders this size
    progress_logs: bool = False

    def seconds(self, value: str | int) -> int:
        return value if isinstance(value, int) else int(str(value).removesuffix("s"))


def _veo(endpoint: str) -> tuple[FalModel, FalModel]:
    text = FalModel(
        endpoint,
        ("4s", "6s", "8s"),
        ("16:9", "9:16"),
        ("720p", "1080p"),
        audio=True,
        extra=VEO_EXTRA,
    )
    image = FalModel(
        f"{endpoint}/image-to-video",
        ("4s", "6s", "8s"),
        ("auto", "16:9", "9:16"),
        ("720p", "1080p"),
        image_field="image_url",
        audio=True,
        extra=VEO_EXTRA,
    )
    return text, image


_SEEDANCE = "fal-ai/bytedance/seedance/v1.5/pro"
_SEEDANCE_RATIOS = ("21:9", "16:9", "4:3", "1:1", "3:4", "9:16")
_SEEDANCE_EXTRA = frozenset({"camera_fixed", "seed", "enable_safety_checker"})
_WAN_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4")
_WAN_EXTRA = frozenset({"negative_prompt", "enable_prompt_expansion", "seed", "audio_url"})
_KLING = "fal-ai/kling-video/v2.5-turbo/pro"
_HAILUO = "fal-ai/minimax/hailuo-2.3/standard"
MODELS: tuple[FalModel, ...] = (
    *_veo("fal-ai/veo3.1"),
    *_veo("fal-ai/veo3.1/fast"),
    FalModel(
        f"{_KLING}/text-to-video",
        ("5", "10"),
        ("16:9", "9:16", "1:1"),
        extra=frozenset({"negative_prompt", "cfg_scale"}),
        progress_logs=True,
    ),
    FalModel(
        f"{_KLING}/image-to-video",
        ("5", "10"),
        image_field="image_url",
        end_image_field="tail_image_url",
        extra=frozenset({"negative_prompt", "cfg_scale"}),
        progress_logs=True,
    ),
    FalModel(
        f"{_SEEDANCE}/text-to-video",
        tuple(str(s) for s in range(4, 13)),
        _SEEDANCE_RATIOS,
        ("480p", "720p", "1080p"),
        audio=True,
        extra=_SEEDANCE_EXTRA,
    ),
    FalModel(
        f"{_SEEDANCE}/image-to-video",
        tuple(str(s) for s in range(4, 13)),
        ("auto", *_SEEDANCE_RATIOS),
        ("480p", "720p", "1080p"),
        image_field="image_url",
        end_image_field="end_image_url",
        audio=True,
        extra=_SEEDANCE_EXTRA,
    ),
    FalModel(
        "fal-ai/wan/v2.7/text-to-video",
        tuple(range(2, 16)),
        _WAN_RATIOS,
        ("720p", "1080p"),
        extra=_WAN_EXTRA,
        progress_logs=True,
    ),
    FalModel(
        "fal-ai/wan/v2.7/image-to-video",
        tuple(range(2, 16)),
        None,
        ("720p", "1080p"),
        image_field="image_url",
        end_image_field="end_image_url",
        extra=_WAN_EXTRA,
        progress_logs=True,
    ),
    FalModel(
        f"{_HAILUO}/text-to-video",
        ("6", "10"),
        extra=frozenset({"prompt_optimizer"}),
        fixed_size="1366x768",
    ),
    FalModel(
        f"{_HAILUO}/image-to-video",
        ("6", "10"),
        image_field="image_url",
        extra=frozenset({"prompt_optimizer"}),
        fixed_size="1366x768",
    ),
)


class FalError(Exception):
    def __init__(
        self, status: int, detail: Any, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(str(detail))
        self.status = status
        self.body: dict[str, Any] = detail if isinstance(detail, dict) else {"detail": detail}
        self.headers = dict(headers or {})

    def response(self) -> JsonResponse:
        return JsonResponse(self.status, self.body, self.headers)


def invalid(loc: str, msg: str, kind: str, value: Any = None) -> FalError:
    """A 422 in fal's model-error shape, naming one input."""
    item: dict[str, Any] = {"loc": ["body", loc], "msg": msg, "type": kind}
    if value is not None:
        item["input"] = value
    return FalError(422, {"detail": [item]})


def app_root(endpoint: str) -> str | None:
    parts = [p for p in endpoint.split("/") if p]
    size = 3 if parts and parts[0] in NAMESPACES else 2
    return "/".join(parts[:size]) if len(parts) >= size else None


@dataclass(frozen=True)
class Submission:
    model: FalModel
    prompt: str
    seconds: int
    size: str
    first_frame: Reference | None


@dataclass
class _Record:
    """What the shared store does not keep about a fal request."""

    request_id: str
    job_id: str
    root: str
    origin: str
    webhook_url: str | None
    cancelled: bool = False
    fetched: list[str] = field(default_factory=list)  # image URLs fetched for it


class FalApi:
    """Serves the ``/fal`` and ``/fal-cdn`` routes; ``handle`` never raises."""

    def __init__(
        self,
        videos: VideosApi,
        store: VideoStore,
        *,
        api_key: str | None,
        origin: Callable[[], str],
        webhooks: FalWebhookSender | None = None,
        models: tuple[FalModel, ...] = MODELS,
    ) -> None:
        self.videos = videos
        self.store = store
        self.api_key = api_key
        self.webhooks = webhooks
        self.models = {model.endpoint: model for model in models}
        self._origin = origin
        self._records: dict[str, _Record] = {}
        self._by_job: dict[str, str] = {}
        self._lock = threading.RLock()  # held from job creation until its record exists
        self._stats = dict.fromkeys(("submit", "status", "result", "cancel", "file", "jwks"), 0)

    @staticmethod
    def owns(path: str) -> bool:
        return path.startswith((PREFIX, CDN_PREFIX))

    @property
    def stats(self) -> dict[str, int]:
        with self._lock:
            return dict(self._stats)

    def fetched_images(self, request_id: str) -> list[str]:
        """The image URLs fetched for a request (what a test checks a presigned URL with)."""
        with self._lock:
            record = self._records.get(request_id)
            return list(record.fetched) if record else []

    def owns_job(self, job: Job) -> bool:
        with self._lock:
            return job.id in self._by_job

    def handle(self, request: Request) -> Response:
        try:
            return self._dispatch(request)
        except FalError as exc:
            return exc.response()
        except ApiError as exc:  # from the shared store or file helpers
            return FalError(exc.status, exc.message, headers=exc.headers).response()
        except Exception:
            log.exception("unhandled error serving %s %s", request.method, request.path)
            return FalError(500, "Internal Server Error").response()

    # --- routing ----------------------------------------------------------------------------
    def _dispatch(self, request: Request) -> Response:
        path = request.path
        if path == JWKS_PATH:
            self._count("jwks")
            return JsonResponse(200, fal_jwks())
        if path.startswith(CDN_PREFIX):
            match = _CDN.fullmatch(path)
            if match is None or request.method != "GET":
                raise FalError(404, "File not found")
            self._count("file")
            return self._file(match["request_id"], request)
        self._authenticate(request)
        rest = path.removeprefix("/fal/")
        root, marker, tail = rest.partition("/requests/")
        if not marker:
            if request.method != "POST":
                raise FalError(405, f"Method {request.method} is not allowed on {path}.")
            self._count("submit")
            return self._submit(rest, request)
        request_id, _, action = tail.partition("/")
        actions = {("GET", "status"): "status", ("GET", ""): "result", ("PUT", "cancel"): "cancel"}
        name = actions.get((request.method, action))
        if name is None:
            raise FalError(404, f"Unknown route: {request.method} {path}.")
        self._count(name)
        record = self._record(root, request_id)
        return getattr(self, f"_{name}")(record, request)

    # --- endpoints --------------------------------------------------------------------------
    def _submit(self, endpoint: str, request: Request) -> Response:
        model = self.models.get(endpoint)
        root = app_root(endpoint)
        if model is None or root is None:
            raise FalError(404, f"Application '{endpoint[:128]}' not found")
        payload = _json(request.body)
        fetched: list[str] = []
        submission = parse_submission(payload, model, fetched)
        text = submission.prompt.lower()
        if MARKER_CREATE in text:
            raise FalError(500, "Internal Server Error")
        if MARKER_RATELIMIT in text:
            raise FalError(429, "Rate limit exceeded", headers={"retry-after": "1"})
        if MARKER_CREDITS in text:
            raise FalError(
                403,
                "User is locked. Reason: Exhausted balance. Top up your balance at "
                "fal.ai/dashboard/billing.",
            )
        webhook = (request.query.get("fal_webhook") or [None])[0]
        params = CreateParams(
            submission.prompt,
            model.endpoint,
            submission.size,
            str(submission.seconds),
            submission.first_frame,
        )
        origin = self._request_origin(request)
        request_id = str(uuid.uuid4())
        with self._lock:
            created = self.videos._start(params, remixed_from=None)
            assert isinstance(created, JsonResponse)
            job_id = str(created.body["id"])
            self._records[request_id] = _Record(
                request_id, job_id, root, origin, webhook or None, fetched=fetched
            )
            self._by_job[job_id] = request_id
        return JsonResponse(200, {**self._urls(self._records[request_id]), "status": "IN_QUEUE"})

    def _status(self, record: _Record, request: Request) -> Response:
        job, state = self.store.get(record.job_id)
        logs = (request.query.get("logs") or ["0"])[0] in ("1", "true", "True")
        body: dict[str, Any] = dict(self._urls(record))
        if record.cancelled or state.terminal:
            body |= {"status": "COMPLETED", "metrics": {"inference_time": 1.0}}
            failure = self._failure(record, state)
            if failure is not None:
                body |= {"error": failure[1], "error_type": failure[2]}
            body["logs"] = [self._log("Done")] if logs else None
            return JsonResponse(200, body)
        if state.status == "queued":
            return JsonResponse(202, {**body, "status": "IN_QUEUE", "queue_position": 0})
        model = self.models[job.model]
        line = f"Generating video: {state.progress}%" if model.progress_logs else "Rendering frames"
        body |= {"status": "IN_PROGRESS", "logs": [self._log(line)] if logs else None}
        return JsonResponse(202, body)

    def _result(self, record: _Record, request: Request) -> Response:
        job, state = self.store.get(record.job_id)
        if record.cancelled:
            raise FalError(400, "Request was cancelled")
        if not state.terminal:
            raise FalError(400, "Request is still in progress")
        error = self._error(record, job, state)
        if error is not None:
            raise error
        return JsonResponse(200, self._output(record, job))

    def _cancel(self, record: _Record, request: Request) -> Response:
        _, state = self.store.get(record.job_id)
        if record.cancelled or state.terminal:
            return JsonResponse(400, {"status": "ALREADY_COMPLETED"})
        with self._lock:
            record.cancelled = True
        return JsonResponse(202, {"status": "CANCELLATION_REQUESTED"})

    def _file(self, request_id: str, request: Request) -> Response:
        with self._lock:
            record = self._records.get(request_id)
        if record is None or record.cancelled:
            raise FalError(404, "File not found")
        job, state = self.store.get(record.job_id)
        if state.status != "completed" or job.media is None or state.expires_at is None:
            raise FalError(404, "File not found")
        if self.store.clock() >= state.expires_at:
            raise FalError(404, "File has expired")
        return file_response(job.media, "video", request.headers.get("range"))

    # --- webhooks ---------------------------------------------------------------------------
    def on_terminal(self, job: Job, state: State) -> None:
        """POST the signed result of a request that has just ended to its ``fal_webhook``."""
        with self._lock:  # waits for a submit still recording this job
            request_id = self._by_job.get(job.id)
            record = self._records.get(request_id) if request_id else None
        if record is None or record.cancelled or record.webhook_url is None:
            return
        if self.webhooks is None:
            return
        body: dict[str, Any] = {"request_id": record.request_id}
        body["gateway_request_id"] = record.request_id
        error = self._error(record, job, state)
        if error is None:
            body |= {"status": "OK", "payload": self._output(record, job)}
        else:
            body |= {
                "status": "ERROR",
                "error": f"Invalid status code: {error.status}",
                "payload": error.body,
            }
        self.webhooks.send(record.webhook_url, record.request_id, body)

    # --- helpers ----------------------------------------------------------------------------
    def _failure(self, record: _Record, state: State) -> tuple[int, str, str] | None:
        """(status, message, error type) of a request that ended without a video."""
        if record.cancelled:
            return 400, "Request was cancelled", "request_cancelled"
        if state.status != "failed" or state.error is None:
            return None
        if state.error.code == "moderation_blocked":
            return 422, "The content was flagged by a content checker.", "content_policy_violation"
        return 500, "Video generation failed on the runner.", "runner_disconnected"

    def _error(self, record: _Record, job: Job, state: State) -> FalError | None:
        failure = self._failure(record, state)
        if failure is None:
            return None
        status, message, kind = failure
        if status == 422:
            return invalid("prompt", message, kind, job.prompt)
        return FalError(
            status, {"detail": message, "error_type": kind}, headers={"x-fal-error-type": kind}
        )

    def _output(self, record: _Record, job: Job) -> dict[str, Any]:
        size = job.media.path("video").stat().st_size if job.media is not None else None
        url = f"{record.origin}{CDN_PREFIX}{record.request_id}/output.mp4"
        video = {"url": url, "content_type": "video/mp4", "file_name": "output.mp4"}
        video["file_size"] = size
        return {"video": video, "seed": int(hashlib.sha256(job.id.encode()).hexdigest()[:8], 16)}

    def _urls(self, record: _Record) -> dict[str, str]:
        base = f"{record.origin}/fal/{record.root}/requests/{record.request_id}"
        return {
            "request_id": record.request_id,
            "response_url": base,
            "status_url": f"{base}/status",
            "cancel_url": f"{base}/cancel",
        }

    def _log(self, message: str) -> dict[str, str]:
        return {
            "message": message,
            "level": "INFO",
            "source": "user",
            "timestamp": iso_time(self.store.clock()),
        }

    def _record(self, root: str, request_id: str) -> _Record:
        with self._lock:
            record = self._records.get(request_id)
        if record is None or record.root != root:
            raise FalError(404, f"Request {request_id[:64]} not found")
        return record

    def _count(self, name: str) -> None:
        with self._lock:
            self._stats[name] += 1

    def _authenticate(self, request: Request) -> None:
        scheme, _, key = request.headers.get("authorization", "").strip().partition(" ")
        key = key.strip()
        if scheme.lower() != "key" or not key:
            raise FalError(401, "Authentication is required to access this application.")
        if self.api_key is not None and key != self.api_key:
            raise FalError(401, "No user found for Key ID and Secret")

    def _request_origin(self, request: Request) -> str:
        host = request.headers.get("host")
        return f"http://{host}" if host else self._origin()


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise invalid("body", "Input should be a valid JSON object", "json_invalid") from None


# --- input validation ------------------------------------------------------------------------
def parse_submission(payload: object, model: FalModel, fetched: list[str]) -> Submission:
    """Validate a submit body against the model's schema (422 in fal's shape otherwise)."""
    if not isinstance(payload, dict):
        raise invalid("body", "Input should be a valid dictionary", "dict_type")
    allowed = {"prompt", "duration", *model.extra}
    allowed |= {"aspect_ratio"} if model.aspect_ratios else set()
    allowed |= {"resolution"} if model.resolutions else set()
    allowed |= {"generate_audio"} if model.audio else set()
    allowed |= {f for f in (model.image_field, model.end_image_field) if f}
    for name in payload:
        if name not in allowed:
            raise invalid(str(name)[:64], "Extra inputs are not permitted", "extra_forbidden")
    prompt = payload.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise invalid("prompt", "Field required", "missing")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise invalid("prompt", "String should have at most 32000 characters", "string_too_long")
    duration = payload.get("duration", model.durations[0])
    if not any(duration == d and type(duration) is type(d) for d in model.durations):
        options = ", ".join(repr(d) for d in model.durations)
        raise invalid("duration", f"Input should be {options}", "literal_error", duration)
    for name, options in (("aspect_ratio", model.aspect_ratios), ("resolution", model.resolutions)):
        if options and name in payload and payload[name] not in options:
            allowed_text = ", ".join(repr(o) for o in options)
            raise invalid(name, f"Input should be {allowed_text}", "literal_error", payload[name])
    if "generate_audio" in payload and not isinstance(payload["generate_audio"], bool):
        raise invalid("generate_audio", "Input should be a valid boolean", "bool_type")
    if "seed" in payload and (
        isinstance(payload["seed"], bool) or not isinstance(payload["seed"], int)
    ):
        raise invalid("seed", "Input should be a valid integer", "int_type")
    first = None
    if model.image_field:
        if model.image_field not in payload:
            raise invalid(model.image_field, "Field required", "missing")
        first = fetch_image(payload[model.image_field], model.image_field, fetched)
    if model.end_image_field and model.end_image_field in payload:
        fetch_image(payload[model.end_image_field], model.end_image_field, fetched)
    ratio = payload.get("aspect_ratio") or (model.aspect_ratios or ("auto",))[0]
    return Submission(
        model,
        prompt,
        model.seconds(duration),
        _size(model, ratio, payload.get("resolution"), first),
        first,
    )


def _size(model: FalModel, ratio: str, resolution: Any, image: Reference | None) -> str:
    if image is not None and (ratio == "auto" or not model.aspect_ratios):
        width, height = image.info.width, image.info.height
        if width % 2 == 0 and height % 2 == 0 and max(width, height) <= 1920:
            return f"{width}x{height}"
    if model.fixed_size:
        return model.fixed_size
    ratio = ratio if ratio != "auto" else "16:9"
    short = resolution or (model.resolutions[0] if model.resolutions else model.short_side)
    return size_for(str(short), ratio)


def fetch_image(value: Any, name: str, fetched: list[str]) -> Reference:
    """The image at an ``http(s)://`` or ``data:`` URL, as fal's runner would download it."""
    if not isinstance(value, str) or not value.startswith(("https://", "http://", "data:")):
        raise invalid(name, "Input should be a valid URL", "url_parsing", value)
    data = b""
    if value.startswith("data:"):
        try:
            data = base64.b64decode(value.partition(",")[2], validate=True)
        except (binascii.Error, ValueError):
            data = b""
    else:
        try:
            with requests.get(value, timeout=IMAGE_TIMEOUT_SECONDS, stream=True) as response:
                if response.status_code == 200:
                    data = response.raw.read(MAX_IMAGE_BYTES + 1, decode_content=True)
                    fetched.append(value)
        except requests.RequestException as exc:
            log.info("fal image %s not fetched: %s", name, type(exc).__name__)
    try:
        if not data or len(data) > MAX_IMAGE_BYTES:
            raise ImageError("no image")
        return Reference(data, identify(data))
    except ImageError:
        raise invalid(
            name, "Failed to download the file from the given URL", "file_download_error"
        ) from None
