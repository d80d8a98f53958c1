"""The Gemini API's Veo protocol (``predictLongRunning`` + long-running operations), simulated.

It shares the job store and the renderer with the ``/v1/videos`` endpoints, so the same clock,
speed, prompt markers and real media apply. Routes (under the simulator's root URL)::

    POST /v1beta/models/{model}:predictLongRunning -> {"name": "models/{model}/operations/{id}"}
    GET  /v1beta/models/{model}/operations/{id}    -> the operation (or /v1beta/operations/{id})
    GET  /v1beta/files/{id}:download?alt=media     -> 302 to a signed media URL (no key needed)
    GET  /v1beta/media/{id}?sig=...                -> the MP4 (``Range`` supported)

Auth is ``x-goog-api-key`` (or ``?key=``); every error is Google's envelope
``{"error": {"code": 429, "message": "...", "status": "RESOURCE_EXHAUSTED"}}``. Markers:
``[fail:create]`` answers 500 INTERNAL, ``[fail:ratelimit]`` 429 with ``retry-after: 1`` and a
``RetryInfo`` detail, ``[fail:moderation]`` finishes with ``raiMediaFilteredReasons`` and no
video, ``[fail:render]`` finishes with an operation ``error``.

Every model id takes every input (the model in the path is echoed, not checked). The instance:
``prompt``; ``image`` (the first frame) and ``lastFrame`` (the last frame), each
``{bytesBase64Encoded, mimeType}``; ``referenceImages``, up to 3 of ``{image: {...},
referenceType: "asset" | "style"}``; ``video``, the ``{uri}`` of a video this simulator made
(the ``generatedSamples[].video`` of an earlier operation), to extend it. ``parameters`` also
take ``generateAudio`` (a boolean, default false here) and ``seed`` (0 to 4294967295); those
two are Vertex AI's documented names, assumed the same on the Gemini API. What the video shows:
the first frame in its first half second, the last frame in its last half second, the
reference images as a strip of thumbnails along the bottom edge, an AAC tone with
``generateAudio``; a seed makes the same frames for the same prompt, size, duration and seed.

An extension (``video``), as Google documents Veo's: the source must be a completed 720p video
of at most 141 s; it adds ``EXTENSION_SECONDS`` (7) seconds (``durationSeconds``, if sent,
must be 7) at 720p (``resolution``, if sent, must be ``720p``) and the answer is one video,
the source followed by the new seconds, which open on the source's last frame. ``image`` and
``lastFrame`` cannot be combined with ``video``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .api import MARKER_CREATE, MARKER_RATELIMIT, JsonResponse, Request, Response, VideosApi
from .api import _file_response as file_response
from .errors import ApiError
from .images import ImageError, identify
from .store import Job, State, VideoStore
from .validation import MAX_PROMPT_CHARS, CreateParams, Reference

log = logging.getLogger("simulator.veo")

PREFIX = "/v1beta/"
HTTP_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    415: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
}
SIZES = {
    ("16:9", "720p"): "1280x720",
    ("9:16", "720p"): "720x1280",
    ("16:9", "1080p"): "1920x1080",
    ("9:16", "1080p"): "1080x1920",
    ("16:9", "4k"): "3840x2160",
    ("9:16", "4k"): "2160x3840",
}
DURATIONS = (4, 6, 8)
PARAMETERS = (
    "aspectRatio",
    "durationSeconds",
    "resolution",
    "negativePrompt",
    "personGeneration",
    "sampleCount",
    "generateAudio",
    "seed",
)
INSTANCE_FIELDS = ("prompt", "image", "lastFrame", "referenceImages", "video")
MAX_REFERENCE_IMAGES = 3
REFERENCE_TYPES = ("asset", "style")
MAX_SEED = 4_294_967_295
EXTENSION_SECONDS = 7
MAX_EXTENSION_SOURCE_SECONDS = 141
EXTENSION_SIZES = ("1280x720", "720x1280")
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
RAI_REASON = (
    "Your prompt or the generated video was blocked by our safety filters (support code 58061214)."
)
_MODEL = r"(?P<model>[A-Za-z0-9][A-Za-z0-9._-]{0,127})"
_ID = r"(?P<op>[A-Za-z0-9_-]{1,128})"
_VIDEO_URI = re.compile(rf"(?:^|/)files/{_ID}(?::download)?(?:\?.*)?$")
ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("POST", re.compile(rf"/v1beta/models/{_MODEL}:predictLongRunning"), "create"),
    ("GET", re.compile(rf"/v1beta/models/{_MODEL}/operations/{_ID}"), "operation"),
    ("GET", re.compile(rf"/v1beta/operations/{_ID}"), "operation"),
    ("GET", re.compile(rf"/v1beta/files/{_ID}:download"), "download"),
    ("GET", re.compile(rf"/v1beta/media/{_ID}"), "media"),
)


class VeoError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or []
        self.headers = dict(headers or {})

    def response(self) -> JsonResponse:
        error: dict[str, Any] = {
            "code": self.status,
            "message": self.message,
            "status": HTTP_STATUS.get(self.status, "UNKNOWN"),
        }
        if self.details:
            error["details"] = self.details
        return JsonResponse(self.status, {"error": error}, self.headers)


def _invalid(message: str) -> VeoError:
    return VeoError(400, message)


@dataclass(frozen=True)
class VeoRequest:
    """A validated ``predictLongRunning`` body; ``video_uri`` asks for an extension."""

    prompt: str
    size: str
    seconds: int
    image: Reference | None
    last_frame: Reference | None = None
    references: tuple[Reference, ...] = ()
    audio: bool = False
    seed: int | None = None
    video_uri: str | None = None
    explicit_resolution: bool = False


def check_markers(prompt: str) -> None:
    """``[fail:create]`` and ``[fail:ratelimit]`` on a create, answered as Google does."""
    marker_text = prompt.lower()
    if MARKER_CREATE in marker_text:
        raise VeoError(500, "An internal error has occurred. Please retry.")
    if MARKER_RATELIMIT in marker_text:
        raise VeoError(
            429,
            "Resource has been exhausted (e.g. check quota).",
            details=[{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"}],
            headers={"retry-after": "1"},
        )


class VeoApi:
    """Serves the ``/v1beta`` routes; ``handle`` never raises, errors are Google envelopes."""

    ROUTES = ROUTES
    PUBLIC = frozenset({"media"})  # endpoints that need no credentials

    def __init__(
        self,
        videos: VideosApi,
        store: VideoStore,
        *,
        api_key: str | None,
        clock: Callable[[], float],
    ) -> None:
        self.videos = videos
        self.store = store
        self.api_key = api_key
        self.clock = clock
        self._signing_key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._stats = {"create": 0, "operation": 0, "download": 0, "media": 0}

    @staticmethod
    def owns(path: str) -> bool:
        return path.startswith(PREFIX)

    @property
    def stats(self) -> dict[str, int]:
        with self._lock:
            return dict(self._stats)

    def handle(self, request: Request) -> Response:
        try:
            endpoint, params = self._route(request)
            with self._lock:
                self._stats[endpoint] += 1
            if endpoint not in self.PUBLIC:
                self._authenticate(request)
            return getattr(self, endpoint)(request, params)
        except VeoError as exc:
            return exc.response()
        except ApiError as exc:  # from the shared store or file helpers
            return VeoError(exc.status, exc.message, headers=exc.headers).response()
        except Exception:
            log.exception("unhandled error serving %s %s", request.method, request.path)
            return VeoError(500, "An internal error has occurred.").response()

    # --- endpoints ------------------------------------------------------------------------
    def create(self, request: Request, params: dict[str, str]) -> Response:
        model = params["model"]
        veo = parse_request(request.body)
        check_markers(veo.prompt)
        created = self.videos._start(self._create_params(model, veo), remixed_from=None)
        assert isinstance(created, JsonResponse)
        return JsonResponse(200, {"name": f"models/{model}/operations/{created.body['id']}"})

    def operation(self, request: Request, params: dict[str, str]) -> Response:
        job, state = self._job(params["op"])
        body: dict[str, Any] = {"name": f"models/{job.model}/operations/{job.id}"}
        if not state.terminal:
            return JsonResponse(200, body)
        body["done"] = True
        if state.status == "completed":
            host = request.headers.get("host", "")
            uri = f"http://{host}/v1beta/files/{job.id}:download?alt=media"
            body["response"] = {
                "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta."
                "PredictLongRunningResponse",
                "generateVideoResponse": {"generatedSamples": [{"video": {"uri": uri}}]},
            }
        elif state.error is not None and state.error.code == "moderation_blocked":
            body["response"] = {
                "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta."
                "PredictLongRunningResponse",
                "generateVideoResponse": {
                    "raiMediaFilteredCount": 1,
                    "raiMediaFilteredReasons": [RAI_REASON],
                },
            }
        else:
            message = state.error.message if state.error else "Video generation failed."
            body["error"] = {"code": 13, "message": message}
        return JsonResponse(200, body)

    def download(self, request: Request, params: dict[str, str]) -> Response:
        job, state = self._job(params["op"])
        self._require_content(job.id, state)
        signature = self._sign(job.id)
        return JsonResponse(
            302,
            {},
            {"location": f"/v1beta/media/{job.id}?sig={signature}", "cache-control": "no-store"},
        )

    def media(self, request: Request, params: dict[str, str]) -> Response:
        video_id = params["op"]
        given = (request.query.get("sig") or [""])[0]
        if not hmac.compare_digest(given.encode(), self._sign(video_id).encode()):
            raise VeoError(403, "The signature of this media URL is not valid.")
        job, state = self._job(video_id)
        self._require_content(job.id, state)
        assert job.media is not None
        return file_response(job.media, "video", request.headers.get("range"))

    # --- helpers --------------------------------------------------------------------------
    def _create_params(self, model: str, veo: VeoRequest) -> CreateParams:
        size, seconds, extends = veo.size, veo.seconds, None
        if veo.video_uri is not None:
            source, state = self._extension_source(veo)
            extends = self.videos.continuation(source, state, "extend")
            size, seconds = source.size, extends.seconds + EXTENSION_SECONDS
        return CreateParams(
            veo.prompt,
            model,
            size,
            str(seconds),
            veo.image,
            last_frame=veo.last_frame,
            references=veo.references,
            audio=veo.audio,
            seed=veo.seed,
            extends=extends,
        )

    def _extension_source(self, veo: VeoRequest) -> tuple[Job, State]:
        """The completed video ``instances[0].video.uri`` names, checked for an extension."""
        assert veo.video_uri is not None
        match = _VIDEO_URI.search(veo.video_uri)
        if match is None:
            raise _invalid("instances[0].video.uri is not the uri of a video made by this server.")
        try:
            source, state = self.store.get(match["op"])
        except ApiError as exc:
            raise VeoError(404, f"Video {match['op']} not found.") from exc
        if state.status != "completed" or state.expires_at is None:
            raise _invalid(f"Video {source.id} is not ready to extend (it is {state.status}).")
        if self.clock() >= state.expires_at:
            raise _invalid(f"Video {source.id} has expired and can no longer be extended.")
        if source.size not in EXTENSION_SIZES:
            raise _invalid(f"Only 720p videos can be extended; {source.id} is {source.size}.")
        if int(source.seconds) > MAX_EXTENSION_SOURCE_SECONDS:
            raise _invalid(
                f"Only videos of at most {MAX_EXTENSION_SOURCE_SECONDS} s can be extended; "
                f"{source.id} is {source.seconds} s long."
            )
        if veo.explicit_resolution and veo.size not in EXTENSION_SIZES:
            raise _invalid("Video extension is 720p only.")
        return source, state

    def _route(self, request: Request) -> tuple[str, dict[str, str]]:
        for method, pattern, endpoint in self.ROUTES:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            if request.method != method:
                raise VeoError(405, f"Method {request.method} is not allowed on {request.path}.")
            return endpoint, match.groupdict()
        raise VeoError(404, f"Unknown route: {request.method} {request.path}.")

    def _authenticate(self, request: Request) -> None:
        key = request.headers.get("x-goog-api-key") or (request.query.get("key") or [""])[0]
        if not key:
            raise VeoError(
                403,
                "Method doesn't allow unregistered callers (callers without established "
                "identity). Please use API Key or other form of API consumer identity to call "
                "this API.",
            )
        if self.api_key is not None and not hmac.compare_digest(
            key.encode(), self.api_key.encode()
        ):
            raise VeoError(
                400,
                "API key not valid. Please pass a valid API key.",
                details=[
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                    }
                ],
            )

    def _job(self, video_id: str) -> Any:
        try:
            return self.store.get(video_id)
        except ApiError as exc:
            raise VeoError(404, f"Operation {video_id} not found.") from exc

    def _require_content(self, video_id: str, state: Any) -> None:
        if state.status != "completed" or state.expires_at is None:
            raise VeoError(404, f"File {video_id} has no content yet.")
        if self.clock() >= state.expires_at:
            raise VeoError(404, f"File {video_id} has expired and is no longer available.")

    def _sign(self, video_id: str) -> str:
        return hmac.new(self._signing_key, video_id.encode(), hashlib.sha256).hexdigest()[:32]


def _parse_create(body: bytes) -> tuple[str, str, int, Reference | None]:
    """``(prompt, size, seconds, first-frame image)`` of a body (see :func:`parse_request`)."""
    veo = parse_request(body)
    return veo.prompt, veo.size, veo.seconds, veo.image


def json_object(body: bytes) -> dict[str, Any]:
    """A request body that must be a JSON object, refused as Google refuses one."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _invalid("Invalid JSON payload received.") from exc
    if not isinstance(payload, dict):
        raise _invalid("Invalid JSON payload received: expected an object.")
    return payload


def parse_request(body: bytes) -> VeoRequest:
    """Validate a ``predictLongRunning`` body (every input the module docstring lists)."""
    payload = json_object(body)
    _reject_unknown(payload, ("instances", "parameters"))
    instances = payload.get("instances")
    if not isinstance(instances, list) or len(instances) != 1 or not isinstance(instances[0], dict):
        raise _invalid("instances must be a list holding exactly one instance.")
    instance = instances[0]
    _reject_unknown(instance, INSTANCE_FIELDS)
    prompt = instance.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise _invalid("instances[0].prompt is required and must be a non-empty string.")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise _invalid("instances[0].prompt is too long.")
    parameters = payload.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise _invalid("parameters must be an object.")
    _reject_unknown(parameters, PARAMETERS)
    aspect = parameters.get("aspectRatio", "16:9")
    resolution = parameters.get("resolution", "720p")
    if (aspect, resolution) not in SIZES:
        raise _invalid(
            f"Unsupported aspectRatio/resolution {aspect!r}/{resolution!r}: use 16:9 or 9:16 "
            "at 720p, 1080p or 4k."
        )
    video_uri = _video_uri(instance.get("video"))
    default_seconds = 8 if video_uri is None else EXTENSION_SECONDS
    seconds = _seconds(parameters.get("durationSeconds", default_seconds), video_uri is not None)
    if video_uri is None and resolution != "720p" and seconds != 8:
        raise _invalid(f"{resolution} videos must be 8 seconds long.")
    if parameters.get("sampleCount", 1) != 1:
        raise _invalid("This simulator makes one video per request (sampleCount 1).")
    audio = parameters.get("generateAudio", False)
    if not isinstance(audio, bool):
        raise _invalid("parameters.generateAudio must be a boolean.")
    seed = parameters.get("seed")
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED
    ):
        raise _invalid(f"parameters.seed must be an integer from 0 to {MAX_SEED}.")
    image = _reference(instance.get("image"))
    last_frame = _reference(instance.get("lastFrame"), "instances[0].lastFrame")
    if video_uri is not None and (image or last_frame):
        raise _invalid("instances[0].video cannot be combined with image or lastFrame.")
    return VeoRequest(
        prompt=prompt,
        size=SIZES[(aspect, resolution)],
        seconds=seconds,
        image=image,
        last_frame=last_frame,
        references=_reference_images(instance.get("referenceImages")),
        audio=audio,
        seed=seed,
        video_uri=video_uri,
        explicit_resolution="resolution" in parameters,
    )


def _reject_unknown(fields: dict[str, Any], known: tuple[str, ...]) -> None:
    unknown = [name for name in fields if name not in known]
    if unknown:
        raise _invalid(f'Invalid JSON payload received. Unknown name "{str(unknown[0])[:64]}".')


def _video_uri(video: object) -> str | None:
    if video is None:
        return None
    if not isinstance(video, dict) or set(video) - {"uri", "mimeType"}:
        raise _invalid("instances[0].video must be {uri} (a video from an earlier operation).")
    uri = video.get("uri")
    if not isinstance(uri, str) or not uri:
        raise _invalid("instances[0].video.uri must be a non-empty string.")
    return uri


def _reference_images(value: object) -> tuple[Reference, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_REFERENCE_IMAGES:
        raise _invalid(
            f"instances[0].referenceImages must be a list of at most {MAX_REFERENCE_IMAGES}."
        )
    images: list[Reference] = []
    for index, item in enumerate(value):
        where = f"instances[0].referenceImages[{index}]"
        if not isinstance(item, dict) or set(item) - {"image", "referenceType"}:
            raise _invalid(f"{where} must be {{image, referenceType}}.")
        if item.get("referenceType", "asset") not in REFERENCE_TYPES:
            raise _invalid(f"{where}.referenceType must be 'asset' or 'style'.")
        image = _reference(item.get("image"), f"{where}.image")
        if image is None:
            raise _invalid(f"{where}.image is required.")
        images.append(image)
    return tuple(images)


def _seconds(value: object, extension: bool = False) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    allowed = (EXTENSION_SECONDS,) if extension else DURATIONS
    if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
        wanted = f"{EXTENSION_SECONDS} for an extension" if extension else "one of 4, 6 or 8"
        raise _invalid(f"durationSeconds must be {wanted}, got {value!r}.")
    return value


def _reference(image: object, name: str = "instances[0].image") -> Reference | None:
    """An inline image `{bytesBase64Encoded, mimeType}` (``name`` says which, for errors)."""
    if image is None:
        return None
    if not isinstance(image, dict) or set(image) - {"bytesBase64Encoded", "mimeType"}:
        raise _invalid(f"{name} must be {{bytesBase64Encoded, mimeType}}.")
    try:
        data = base64.b64decode(str(image.get("bytesBase64Encoded") or ""), validate=True)
        info = identify(data)
    except (binascii.Error, ImageError) as exc:
        raise _invalid(f"{name} is not a base64 JPEG, PNG or WebP image.") from exc
    mime = image.get("mimeType")
    if mime not in IMAGE_TYPES or mime != info.mime:
        raise _invalid(f"{name}.mimeType must be the image's type ({info.mime}).")
    return Reference(data, info)
