"""Google Veo through the Gemini API (`predictLongRunning`), behind the provider interface.

Create: `POST {base}/v1beta/models/{model}:predictLongRunning` with `x-goog-api-key`, body
`{"instances": [{"prompt", "image"?, "lastFrame"?, "referenceImages"?}], "parameters":
{"aspectRatio", "durationSeconds", "resolution", "generateAudio"?, "seed"?}}`. Extend: the same
call with `instances[0].video` = the finished sample's `{uri}` (720p, 7 s more). Poll:
`GET {base}/v1beta/{operation name}` until `done`. A finished operation carries
`response.generateVideoResponse.generatedSamples[0].video.uri` (downloaded with the key,
following redirects) or `error`, or safety filtering (`raiMediaFilteredCount` /
`raiMediaFilteredReasons`, mapped to `moderation_blocked`).

Differences from `/v1/videos`, handled here so routes, refresher and archive stay unchanged:

* No progress figure: `progress` is estimated from the time since the create against the
  model's typical render time, capped at 95. The create time travels in the upstream id
  (`{operation name}#t={unix seconds}`), so any process (a Lambda, the refresher, an inline
  GET) can estimate it without shared state.
* No thumbnail or spritesheet: `download` raises `UpstreamNotFound` for them, which the
  archive treats as "this provider has none".
* No remix (`UpstreamBadRequest`) and no delete (generated files expire upstream after two
  days), so `delete` does nothing.
* The key is sent only to the API's own origin: a redirect to another host (the file store)
  is followed without it.

Retries match `videos_api`: reads are retried on connection errors, 408, 429 and 5xx with
backoff honouring `retry-after` (or Google's `RetryInfo.retryDelay`); a create is billed,
so it is retried only when the connection was never made.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable
from typing import Any, Unpack
from urllib.parse import urljoin, urlsplit

import requests

from chalicelib import clock, deadline
from chalicelib.upstreams.base import (
    CreateRequest,
    ReferenceImage,
    UpstreamAuthError,
    UpstreamBadRequest,
    UpstreamError,
    UpstreamNotFound,
    UpstreamUnavailable,
    UpstreamVideo,
    error_class,
)
from chalicelib.upstreams.retry import (
    HttpContentStream,
    Transport,
    UpstreamClient,
    parse_retry_after,
)

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
API_VERSION = "v1beta"
MAX_REDIRECTS = 5
PROGRESS_CAP = 95
# Generated videos are kept on Google's servers for two days; keep an hour of margin.
RETENTION_SECONDS = 2 * 86400 - 3600
# Typical wall time of one render, for the progress estimate (Google gives a range of
# 11 s to 6 min); a model not listed here uses DEFAULT_TYPICAL_SECONDS.
TYPICAL_SECONDS = {
    "veo-3.1-generate-preview": 90.0,
    "veo-3.1-fast-generate-preview": 50.0,
}
DEFAULT_TYPICAL_SECONDS = 90.0
# WxH -> (aspectRatio, resolution) as the Gemini API names them.
SIZES = {
    "1280x720": ("16:9", "720p"),
    "720x1280": ("9:16", "720p"),
    "1920x1080": ("16:9", "1080p"),
    "1080x1920": ("9:16", "1080p"),
    "3840x2160": ("16:9", "4k"),
    "2160x3840": ("9:16", "4k"),
}
EIGHT_SECONDS_ONLY = frozenset({"1080p", "4k"})
MAX_REFERENCE_IMAGES = 3  # "up to three asset images"
GRPC_CODES = {
    1: "cancelled",
    2: "unknown",
    3: "invalid_argument",
    4: "deadline_exceeded",
    5: "not_found",
    7: "permission_denied",
    8: "resource_exhausted",
    9: "failed_precondition",
    10: "aborted",
    13: "internal",
    14: "unavailable",
}
SAFETY_WORDS = ("safety", "usage guidelines", "responsible ai", "blocked")
_TIME_TAG = "#t="
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)s$")


def split_id(upstream_id: str) -> tuple[str, float | None]:
    """`models/m/operations/x#t=1700000000` -> (`models/m/operations/x`, 1700000000.0)."""
    name, tag, stamp = upstream_id.partition(_TIME_TAG)
    try:
        return name, float(stamp) if tag else None
    except ValueError:
        return name, None


def model_of(operation_name: str) -> str | None:
    parts = operation_name.split("/")
    return parts[1] if len(parts) >= 4 and parts[0] == "models" else None


def estimate_progress(started_at: float | None, now: float, typical_seconds: float) -> int:
    """Progress 0..PROGRESS_CAP from the time elapsed since the create (0 when unknown)."""
    if started_at is None:
        return 0
    elapsed = max(0.0, now - started_at)
    return min(PROGRESS_CAP, int(100 * elapsed / typical_seconds))


def _retry_delay(body: Any) -> float | None:
    """Seconds from a `google.rpc.RetryInfo` detail (`"retryDelay": "30s"`), if any."""
    details = body.get("error", {}).get("details") if isinstance(body, dict) else None
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and isinstance(detail.get("retryDelay"), str):
            match = _DURATION.match(detail["retryDelay"])
            if match:
                return float(match.group(1))
    return None


def error_from_response(response: requests.Response, service: str = "Gemini API") -> UpstreamError:
    """Map Google's `{"error": {"code", "message", "status", "details"}}` to our errors."""
    status = response.status_code
    message, code, body = f"{service} answered HTTP {status}", None, None
    try:
        body = response.json()
    except ValueError:
        body = None
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        message = str(err.get("message") or message)
        code = err.get("status") or None
    reasons = {
        detail.get("reason")
        for detail in (err or {}).get("details") or []
        if isinstance(detail, dict)
    }
    # Google answers 400 for a wrong key, and says so in the details.
    kind = UpstreamAuthError if "API_KEY_INVALID" in reasons else error_class(status)
    retry_after = parse_retry_after(response.headers)
    if retry_after is None:
        retry_after = _retry_delay(body)
    return kind(
        message,
        status=status,
        code=str(code) if code else None,
        request_id=response.headers.get("x-request-id"),
        retry_after=retry_after,
    )


def _failure_code(error: dict[str, Any]) -> str:
    message = str(error.get("message") or "").lower()
    if any(word in message for word in SAFETY_WORDS):
        return "moderation_blocked"
    code = error.get("code")
    return GRPC_CODES.get(code, "upstream_failed") if isinstance(code, int) else "upstream_failed"


def video_from_operation(
    operation: dict[str, Any],
    upstream_id: str,
    *,
    now: float,
    typical_seconds: float,
    started_at: float | None = None,
) -> UpstreamVideo:
    """Read one long-running operation as an `UpstreamVideo`."""
    if not operation.get("done"):
        progress = estimate_progress(started_at, now, typical_seconds)
        return UpstreamVideo(
            id=upstream_id, status="in_progress", progress=progress, raw=dict(operation)
        )
    generated = (operation.get("response") or {}).get("generateVideoResponse") or {}
    return finished_video(
        operation,
        upstream_id,
        generated,
        found=bool(_sample_uri(generated)),
        expires_at=int(now) + RETENTION_SECONDS,
    )


def finished_video(
    operation: dict[str, Any],
    upstream_id: str,
    result: dict[str, Any],
    *,
    found: bool,
    expires_at: int | None,
) -> UpstreamVideo:
    """A done operation as a video: its `error`, the video (`found` in `result`), Google's
    safety filtering (`raiMediaFilteredCount` / `raiMediaFilteredReasons` in `result`, mapped
    to `moderation_blocked`), or nothing at all. Shared by the Gemini API and Vertex AI."""
    raw = dict(operation)
    error = operation.get("error")
    if isinstance(error, dict):
        message = str(error.get("message") or "Veo could not make this video.")
        return UpstreamVideo(
            id=upstream_id,
            status="failed",
            error_code=_failure_code(error),
            error_message=message,
            raw=raw,
        )
    if found:
        return UpstreamVideo(
            id=upstream_id, status="completed", progress=100, expires_at=expires_at, raw=raw
        )
    reasons = [str(r) for r in result.get("raiMediaFilteredReasons") or []]
    if reasons or result.get("raiMediaFilteredCount"):
        detail = "; ".join(reasons) or "no reason given"
        return UpstreamVideo(
            id=upstream_id,
            status="failed",
            error_code="moderation_blocked",
            error_message=f"Google's safety filters blocked this video: {detail}",
            raw=raw,
        )
    return UpstreamVideo(
        id=upstream_id,
        status="failed",
        error_code="upstream_failed",
        error_message="Veo finished without a video.",
        raw=raw,
    )


def _sample_uri(generated: dict[str, Any]) -> str | None:
    samples = generated.get("generatedSamples") or []
    uri = (samples[0].get("video") or {}).get("uri") if samples else None
    return uri if isinstance(uri, str) and uri else None


def inline_image(image: ReferenceImage) -> dict[str, str]:
    """An image as Google's `{bytesBase64Encoded, mimeType}` (the Gemini API and Vertex AI)."""
    return {
        "bytesBase64Encoded": base64.b64encode(image.data).decode(),
        "mimeType": image.content_type,
    }


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


class VeoClient(UpstreamClient):
    name = "veo"

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        typical_seconds: dict[str, float] | None = None,
        now: Callable[[], float] = clock.now,
        **transport: Unpack[Transport],
    ) -> None:
        super().__init__(base_url, **transport)
        self._api_key = api_key  # sent as x-goog-api-key, to Google's own host only
        self.typical_seconds = {**TYPICAL_SECONDS, **(typical_seconds or {})}
        self._now = now

    # -- the provider interface -------------------------------------------------------------

    def create(self, request: CreateRequest) -> UpstreamVideo:
        if request.size not in SIZES:
            raise UpstreamBadRequest(
                f"Veo makes {', '.join(SIZES)} videos, not {request.size}.", param="size"
            )
        aspect_ratio, resolution = SIZES[request.size]
        if resolution in EIGHT_SECONDS_ONLY and request.seconds != 8:
            raise UpstreamBadRequest(
                f"Veo makes {resolution} videos of 8 seconds only.", param="seconds"
            )
        if len(request.reference_images) > MAX_REFERENCE_IMAGES:
            raise UpstreamBadRequest(
                f"Veo takes at most {MAX_REFERENCE_IMAGES} reference images.",
                param="reference_images",
            )
        instance: dict[str, Any] = {"prompt": request.prompt}
        if request.reference is not None:
            instance["image"] = inline_image(request.reference)
        if request.last_frame is not None:
            instance["lastFrame"] = inline_image(request.last_frame)
        if request.reference_images:
            instance["referenceImages"] = [
                {"image": inline_image(ref), "referenceType": "asset"}
                for ref in request.reference_images
            ]
        parameters: dict[str, Any] = {
            "aspectRatio": aspect_ratio,
            "durationSeconds": request.seconds,
            "resolution": resolution,
        }
        # Vertex AI's names; a Gemini model takes them only where its catalog entry says so.
        if request.audio is not None:
            parameters["generateAudio"] = request.audio
        if request.seed is not None:
            parameters["seed"] = request.seed
        return self._start(request.model, {"instances": [instance], "parameters": parameters})

    def extend(
        self, upstream_id: str, prompt: str, seconds: int, *, model: str = "", size: str = ""
    ) -> UpstreamVideo:
        """Veo's video extension: the finished video's `uri` as `instances[0].video`; Google
        extends 720p videos by 7 s and answers one video, the source and the new seconds."""
        if size and SIZES.get(size, ("", ""))[1] != "720p":
            raise UpstreamBadRequest(
                f"Veo extends 720p videos only, not {size}.", code="extend_unavailable"
            )
        name, _ = split_id(upstream_id)
        try:
            operation = self._operation(upstream_id)
        except UpstreamNotFound as exc:
            raise UpstreamBadRequest(
                "Veo no longer has the video to extend.", status=404, code="extend_unavailable"
            ) from exc
        uri = _sample_uri((operation.get("response") or {}).get("generateVideoResponse") or {})
        if not operation.get("done") or not uri:
            raise UpstreamBadRequest(
                "Veo has no finished video to extend.", code="extend_unavailable"
            )
        body = {
            "instances": [{"prompt": prompt, "video": {"uri": uri}}],
            "parameters": {"durationSeconds": seconds, "resolution": "720p"},
        }
        return self._start(model or model_of(name) or "", body)

    def _start(self, model: str, body: dict[str, Any]) -> UpstreamVideo:
        """`predictLongRunning` (billed): the operation, its create time in the upstream id."""
        started_at = self._now()
        response = self._send(
            "POST",
            f"{self.base_url}/{API_VERSION}/models/{model}:predictLongRunning",
            billed=True,
            json=body,
        )
        operation = self._json(response)
        name = operation.get("name")
        if not isinstance(name, str) or not name:
            raise UpstreamUnavailable("Veo answered a create without an operation name")
        upstream_id = f"{name}{_TIME_TAG}{int(started_at)}"
        return self._video(operation, upstream_id)

    def retrieve(self, upstream_id: str) -> UpstreamVideo:
        return self._video(self._operation(upstream_id), upstream_id)

    def remix(self, upstream_id: str, prompt: str) -> UpstreamVideo:
        raise UpstreamBadRequest("Veo does not support remixing a video.", code="remix_unsupported")

    def delete(self, upstream_id: str) -> None:
        # The Gemini API has no delete for generated videos: they expire after two days.
        log.debug("veo: nothing to delete upstream for %s", split_id(upstream_id)[0])

    def download(
        self, upstream_id: str, variant: str = "video", byte_range: str | None = None
    ) -> HttpContentStream:
        if variant != "video":
            raise UpstreamNotFound(f"Veo makes no {variant}", status=404, code="no_variant")
        operation = self._operation(upstream_id)
        uri = _sample_uri((operation.get("response") or {}).get("generateVideoResponse") or {})
        if not operation.get("done") or not uri:
            raise UpstreamNotFound("Veo has no finished video for this job", status=404)
        headers = {"Range": byte_range} if byte_range else {}
        return HttpContentStream(self._send("GET", uri, headers=headers, stream=True))

    # -- transport ----------------------------------------------------------------------------

    def _operation(self, upstream_id: str) -> dict[str, Any]:
        name, _ = split_id(upstream_id)
        return self._json(self._send("GET", f"{self.base_url}/{API_VERSION}/{name}"))

    def _video(self, operation: dict[str, Any], upstream_id: str) -> UpstreamVideo:
        name, started_at = split_id(upstream_id)
        model = model_of(name) or ""
        return video_from_operation(
            operation,
            upstream_id,
            now=self._now(),
            typical_seconds=self.typical_seconds.get(model, DEFAULT_TYPICAL_SECONDS),
            started_at=started_at,
        )

    @staticmethod
    def _json(response: requests.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise UpstreamUnavailable(
                "Veo answered with a body that is not a JSON object", status=response.status_code
            )
        return body

    def _send(
        self,
        method: str,
        url: str,
        *,
        billed: bool = False,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        return self.retry.send(
            lambda: self._follow(method, url, headers or {}, **kwargs),
            billed=billed,
            label=f"veo {method} {urlsplit(url).path}",
            to_error=error_from_response,
            unreachable="could not reach Veo",
        )

    def _follow(
        self, method: str, url: str, headers: dict[str, str], **kwargs: Any
    ) -> requests.Response:
        home = _origin(self.base_url)
        key = {"x-goog-api-key": self._api_key}
        return send_following(
            self._session,
            method,
            url,
            headers,
            credentials=lambda target: key if _origin(target) == home else {},
            timeout=deadline.timeout(self.timeout),
            **kwargs,
        )


def send_following(
    session: requests.Session,
    method: str,
    url: str,
    headers: dict[str, str],
    *,
    credentials: Callable[[str], dict[str, str]],
    timeout: float,
    **kwargs: Any,
) -> requests.Response:
    """One request, following redirects by hand so that credentials go only where
    `credentials(url)` gives them (Google's own origins), never to a host a redirect names."""
    for _ in range(MAX_REDIRECTS + 1):
        response = session.request(
            method,
            url,
            headers={**headers, **credentials(url)},
            timeout=timeout,
            allow_redirects=False,
            **kwargs,
        )
        location = response.headers.get("location")
        if response.status_code not in (301, 302, 303, 307, 308) or not location:
            return response
        response.close()
        url = urljoin(url, location)
        if response.status_code == 303:
            method = "GET"
            kwargs.pop("json", None)
    raise requests.TooManyRedirects(f"more than {MAX_REDIRECTS} redirects")
