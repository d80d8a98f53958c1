"""fal.ai's queue behind the provider interface (docs/upstreams/fal.md).

Create: `POST {base}/{endpoint}` with the model's own input JSON, built from the catalog
entry's `wire` (so JSON configuration can add a model without code):

    "wire": {
      "endpoint": "fal-ai/veo3.1",                      # default: the catalog id
      "image_endpoint": "fal-ai/veo3.1/image-to-video", # used when a first frame is given
      "inputs": {"prompt": "prompt", "seconds": "duration", "aspect_ratio": "aspect_ratio",
                 "resolution": "resolution", "first_frame": "image_url",
                 "audio": "generate_audio", "seed": "seed"},
      "image_inputs": {...},         # replaces `inputs` on the image endpoint (optional),
                                     # e.g. with "last_frame": "end_image_url"
      "seconds_format": "5s",        # "5s" -> "8s", "int" -> 8, "str" -> "8" (default)
      "resolution_by_size": {"1280x720": ["720p", "16:9"]},
      "extra": {"enable_safety_checker": true}   # constant inputs (optional)
    }

`inputs` maps our choices to the model's input names; a choice the map leaves out is not
sent (the model's default applies), except a creative control the user gave (first or last
frame, reference images as a list of URLs, `audio`, `seed`): that is refused, naming its field,
before anything is sent. A last frame usually lives on the image endpoint only. The aspect
ratio comes from `resolution_by_size`, else from the size itself; the resolution only from
`resolution_by_size`. An image goes as a URL: the presigned S3 URL of the stored image
(`CreateRequest.reference_url` and the like), or a `data:` URL when there is none or fal could
not reach it (a local bucket while fal is not on this machine).

The upstream id is `{owner}/{app}#{request_id}`: fal answers status, result and cancel under
the app's root only (never the endpoint path), so any process rebuilds those URLs from it.

Poll: `GET .../requests/{id}/status?logs=1`; `IN_QUEUE` and `IN_PROGRESS` are pending (progress
from a `NN%` in the latest logs, else None and the lifecycle estimates it). fal reports a
failed request as `COMPLETED` too, so a completed request's result is read at once: a video
URL completes the job; a 422 (`content_policy_violation` is `moderation_blocked`) or a request
error (`error_type`) fails it; anything else (401, 429, a gateway 5xx) leaves it pending for the
next refresh. Download: the result's video URL on fal's CDN, fetched without the key. fal makes
no thumbnail (`UpstreamNotFound`), cannot remix, and `delete` asks the queue to cancel.

A submit is billed and fal has no idempotency key: it is retried only when the connection was
never made (the shared `RetryPolicy`). Result reads are not retried in-process (a failed
request's answer is final; a passing fault is retried by the next refresh).
"""

from __future__ import annotations

import base64
import contextlib
import logging
import re
from dataclasses import replace
from typing import Any, Unpack
from urllib.parse import urlencode, urlsplit

import requests

from chalicelib import deadline
from chalicelib.catalog.spec import aspect_ratio_of
from chalicelib.upstreams.base import (
    VARIANTS,
    CreateRequest,
    ReferenceImage,
    UpstreamBadRequest,
    UpstreamError,
    UpstreamNotFound,
    UpstreamPaymentRequired,
    UpstreamUnavailable,
    UpstreamVideo,
    error_class,
)
from chalicelib.upstreams.retry import (
    BearerKeyClient,
    HttpContentStream,
    Transport,
    parse_retry_after,
)

log = logging.getLogger(__name__)

DEFAULT_QUEUE_BASE_URL = "https://queue.fal.run"
# fal's official client: these namespaces come before `owner/app` in a model id.
APP_NAMESPACES = ("workflows", "comfy")
DEFAULT_INPUTS = {
    "prompt": "prompt",
    "seconds": "duration",
    "aspect_ratio": "aspect_ratio",
    "resolution": "resolution",
    "first_frame": "image_url",
}
# Our optional choices, each with the API field it came from: one the model's `inputs` map
# leaves out is refused before anything is sent, never dropped.
OPTIONAL_CHOICES = {
    "first_frame": "input_reference",
    "last_frame": "last_frame",
    "reference_images": "reference_images",
    "audio": "audio",
    "seed": "seed",
}
PENDING = {"IN_QUEUE": "queued", "IN_PROGRESS": "in_progress"}
# Not fal's documented statuses (it reports failures as COMPLETED); ended if ever seen.
ENDED = frozenset({"FAILED", "ERROR", "CANCELED", "CANCELLED"})
MODERATION_TYPES = frozenset({"content_policy_violation"})
_PERCENT = re.compile(r"(\d{1,3}(?:\.\d+)?)\s?%")
_NO_CREDIT = re.compile(r"balance|credit|billing|locked", re.I)


def app_root(endpoint: str) -> str:
    """`owner/app` of a model id (with its namespace): where its requests live."""
    parts = [part for part in endpoint.strip("/").split("/") if part]
    size = 3 if parts and parts[0] in APP_NAMESPACES else 2
    if len(parts) < size:
        raise ValueError(f"{endpoint!r} is not a fal model id (owner/app[/path])")
    return "/".join(parts[:size])


def upstream_id_of(endpoint: str, request_id: str) -> str:
    return f"{app_root(endpoint)}#{request_id}"


def split_upstream_id(upstream_id: str) -> tuple[str, str]:
    root, _, request_id = upstream_id.partition("#")
    if not root or not request_id or "/" in request_id:
        raise UpstreamNotFound(f"{upstream_id!r} is not a fal request", status=404)
    return root, request_id


def _details(body: Any) -> list[dict[str, Any]]:
    detail = body.get("detail") if isinstance(body, dict) else None
    return [d for d in detail if isinstance(d, dict)] if isinstance(detail, list) else []


def _message(body: Any, fallback: str) -> str:
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, str) and detail:
        return detail
    items = _details(body)
    if items:
        return "; ".join(str(d.get("msg") or d.get("type") or "invalid input") for d in items)
    if isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"]:
        return str(body["error"])
    return fallback


def _param(items: list[dict[str, Any]]) -> str | None:
    for item in items:
        loc = item.get("loc")
        if isinstance(loc, list) and loc:
            name = str(loc[-1])
            return "input_reference" if "image" in name else name
    return None


def error_from_response(response: requests.Response) -> UpstreamError:
    """fal's `{"detail": ...}` bodies (model errors, request errors) to our error types."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    fallback = f"fal answered HTTP {status}"
    if body is None and response.text:
        fallback = f"{fallback}: {response.text[:300]}"
    message = _message(body, fallback)
    items = _details(body)
    error_type = response.headers.get("x-fal-error-type") or (
        str(body["error_type"]) if isinstance(body, dict) and body.get("error_type") else None
    )
    moderated = any(item.get("type") in MODERATION_TYPES for item in items)
    kind: type[UpstreamError] = error_class(status)
    if status == 403 and _NO_CREDIT.search(message):  # "User is locked ... balance" (assumed)
        kind = UpstreamPaymentRequired
    if moderated:
        code: str | None = "moderation_blocked"
    else:
        code = error_type or (str(items[0].get("type")) if items and items[0].get("type") else None)
    return kind(
        message,
        status=status,
        code=code,
        request_id=response.headers.get("x-fal-request-id"),
        retry_after=parse_retry_after(response.headers),
        param=_param(items) if items else None,
    )


# -- our choices as the model's inputs --------------------------------------------------------


def _seconds(value: int, style: str) -> Any:
    if style == "int":
        return value
    if style == "5s":
        return f"{value}s"
    return str(value)


def _loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host == "localhost" or host.startswith("127.") or host == "::1"


def _image_url(image: ReferenceImage | None, url: str | None, local_queue: bool) -> str | None:
    """A stored input as fal fetches it: its presigned URL, or a `data:` URL when there is
    none or fal could not reach it (a bucket on this machine, fal not)."""
    if image is None:
        return None
    if url is not None and (local_queue or not _loopback(url)):
        return url
    return f"data:{image.content_type};base64,{base64.b64encode(image.data).decode()}"


def request_body(request: CreateRequest, queue_url: str = "") -> tuple[str, dict[str, Any]]:
    """The endpoint to submit to and the model's input JSON for one create (`queue_url`: the
    queue it goes to, which tells whether fal can fetch a URL on this machine)."""
    wire = request.wire
    endpoint = str(wire.get("endpoint") or request.model)
    inputs: dict[str, Any] = dict(wire.get("inputs") or DEFAULT_INPUTS)
    local_queue = _loopback(queue_url)
    image = _image_url(request.reference, request.reference_url, local_queue)
    if image is not None:
        endpoint = str(wire.get("image_endpoint") or endpoint)
        inputs = dict(wire.get("image_inputs") or inputs)
    shape = (wire.get("resolution_by_size") or {}).get(request.size)
    resolution, ratio = (shape[0], shape[1]) if shape else (None, aspect_ratio_of(request.size))
    references = [
        _image_url(ref, url, local_queue)
        for ref, url in zip(
            request.reference_images,
            request.reference_image_urls or [None] * len(request.reference_images),
            strict=True,
        )
    ]
    choices = {
        "prompt": request.prompt,
        "seconds": _seconds(request.seconds, str(wire.get("seconds_format") or "str")),
        "aspect_ratio": ratio,
        "resolution": resolution,
        "first_frame": image,
        "last_frame": _image_url(request.last_frame, request.last_frame_url, local_queue),
        "reference_images": references or None,
        "audio": request.audio,
        "seed": request.seed,
    }
    for ours, field_name in OPTIONAL_CHOICES.items():
        if choices[ours] is not None and not inputs.get(ours):
            # A last frame goes to the image endpoint only (alongside a first frame).
            raise UpstreamBadRequest(
                f"{request.model} takes no {field_name} here.", status=400, param=field_name
            )
    body: dict[str, Any] = dict(wire.get("extra") or {})
    for ours, theirs in inputs.items():
        if theirs and choices.get(ours) is not None:
            body[str(theirs)] = choices[ours]
    return endpoint, body


def progress_from_logs(logs: Any) -> int | None:
    """The latest `NN%` a model printed, if it prints one (fal has no progress field)."""
    if not isinstance(logs, list):
        return None
    for entry in reversed(logs):
        message = entry.get("message") if isinstance(entry, dict) else None
        found = _PERCENT.findall(message) if isinstance(message, str) else []
        if found:
            return max(0, min(99, int(float(found[-1]))))
    return None


def video_url_of(result: Any) -> str | None:
    """The output file of a video model's result: `video.url` (or the first of `videos`)."""
    if not isinstance(result, dict):
        return None
    video = result.get("video")
    if not isinstance(video, dict) and isinstance(result.get("videos"), list) and result["videos"]:
        video = result["videos"][0]
    url = video.get("url") if isinstance(video, dict) else None
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None


class FalClient(BearerKeyClient):
    name = "fal"
    scheme = "Key"
    label = "fal"
    unreachable = "could not reach fal"
    error_from_response = staticmethod(error_from_response)

    def __init__(
        self, base_url: str, api_key: str, *, webhook_url: str = "", **transport: Unpack[Transport]
    ) -> None:
        super().__init__(base_url, api_key, **transport)
        self.webhook_url = webhook_url
        self._once = replace(self.retry, max_retries=0)

    # -- the provider interface -------------------------------------------------------------

    def create(self, request: CreateRequest) -> UpstreamVideo:
        endpoint, body = request_body(request, self.base_url)
        try:
            root = app_root(endpoint)
        except ValueError as exc:
            raise UpstreamBadRequest(str(exc), status=400, param="model") from None
        params = {"fal_webhook": self._webhook(root)} if self.webhook_url else None
        response = self._send("POST", f"/{endpoint}", billed=True, json=body, params=params)
        data = self._json(response, "submit")
        request_id = data.get("request_id")
        if not isinstance(request_id, str) or not request_id or "/" in request_id:
            raise UpstreamUnavailable("fal's submit answer has no request_id", status=200)
        return UpstreamVideo(
            id=f"{root}#{request_id}", status="queued", progress=0, request_id=request_id, raw=data
        )

    def retrieve(self, upstream_id: str) -> UpstreamVideo:
        root, request_id = split_upstream_id(upstream_id)
        response = self._send("GET", f"/{root}/requests/{request_id}/status", params={"logs": 1})
        state = self._json(response, "status")
        status = str(state.get("status") or "")
        if status in PENDING:
            progress = progress_from_logs(state.get("logs")) if status == "IN_PROGRESS" else None
            return UpstreamVideo(
                id=upstream_id, status=PENDING[status], progress=progress, raw=state
            )
        if status in ENDED:
            message = _message(state, f"The request ended {status.lower()} at fal.")
            return self._failed(upstream_id, f"upstream_{status.lower()}", message, state)
        if status != "COMPLETED":
            log.warning("fal request %s has an unknown status %r", upstream_id, status[:40])
            return UpstreamVideo(id=upstream_id, status="in_progress", progress=None, raw=state)
        return self._completed(upstream_id, root, request_id, state)

    def remix(self, upstream_id: str, prompt: str) -> UpstreamVideo:
        raise UpstreamBadRequest("fal's video models cannot remix.", status=400)

    def extend(
        self, upstream_id: str, prompt: str, seconds: int, *, model: str = "", size: str = ""
    ) -> UpstreamVideo:
        raise UpstreamBadRequest("fal's preset models cannot extend a video.", status=400)

    def delete(self, upstream_id: str) -> None:
        """Ask the queue to cancel (it drops a queued request and signals a running one);
        a request that already ended, or that fal no longer knows, has nothing to cancel."""
        root, request_id = split_upstream_id(upstream_id)
        with contextlib.suppress(UpstreamBadRequest, UpstreamNotFound):
            self._send("PUT", f"/{root}/requests/{request_id}/cancel").close()

    def download(
        self, upstream_id: str, variant: str = "video", byte_range: str | None = None
    ) -> HttpContentStream:
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}")
        if variant != "video":
            raise UpstreamNotFound(
                f"fal makes no {variant}", status=404, code="variant_unavailable"
            )
        root, request_id = split_upstream_id(upstream_id)
        url = video_url_of(self._result(root, request_id))
        if url is None:
            raise UpstreamNotFound("fal's result names no video file", status=404)
        headers = {"Range": byte_range} if byte_range else {}
        # The file is on fal's CDN: a public URL, fetched without the key.
        response = self.retry.send(
            lambda: self._session.get(
                url, headers=headers, timeout=deadline.timeout(self.timeout), stream=True
            ),
            billed=False,
            label="fal GET output file",
            to_error=error_from_response,
            unreachable="could not reach fal's file store",
        )
        return HttpContentStream(response)

    # -- helpers ------------------------------------------------------------------------------

    def _webhook(self, root: str) -> str:
        """Our receiver's URL, naming the app so the receiver can name the upstream id."""
        joiner = "&" if "?" in self.webhook_url else "?"
        return f"{self.webhook_url}{joiner}{urlencode({'app': root})}"

    def _result(self, root: str, request_id: str) -> dict[str, Any]:
        response = self._send("GET", f"/{root}/requests/{request_id}", retry=self._once)
        return self._json(response, "result")

    def _completed(
        self, upstream_id: str, root: str, request_id: str, state: dict[str, Any]
    ) -> UpstreamVideo:
        try:
            result = self._result(root, request_id)
        except UpstreamBadRequest as exc:  # the model refused the input (422, mostly)
            return self._failed(upstream_id, exc.code or "upstream_failed", exc.message, state)
        except UpstreamUnavailable as exc:
            if exc.code is None:  # a gateway fault, not the request's own failure
                raise
            return self._failed(upstream_id, "upstream_failed", exc.message, state)
        if video_url_of(result) is None:
            message = _message(state, "fal completed the request without a video.")
            return self._failed(upstream_id, "upstream_failed", message, result)
        return UpstreamVideo(id=upstream_id, status="completed", progress=100, raw=result)

    @staticmethod
    def _failed(upstream_id: str, code: str, message: str, raw: Any) -> UpstreamVideo:
        if code != "moderation_blocked" and not code.startswith("upstream_"):
            code = "upstream_failed"
        return UpstreamVideo(
            id=upstream_id,
            status="failed",
            progress=None,
            error_code=code,
            error_message=message,
            raw=raw if isinstance(raw, dict) else {},
        )

    @staticmethod
    def _json(response: requests.Response, what: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        finally:
            response.close()
        if not isinstance(body, dict):
            raise UpstreamUnavailable(f"fal's {what} answer is not a JSON object", status=200)
        return body
