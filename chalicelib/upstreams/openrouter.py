"""OpenRouter's Video Generation API behind the provider interface (docs/upstreams/openrouter.md).

Create: `POST {base}/videos` with the model slug, `prompt`, `duration` and either `size` or
`resolution` + `aspect_ratio` (whichever the model's listing gave: the catalog entry's `wire`
says), first and last frame as `frame_images` entries, reference images as
`input_references`, `generate_audio`, `seed`, and `callback_url` when one is configured.
Extend: the same `POST /videos` with `previous_job_id` (the vendor skill's continuation).
Poll: `GET {base}/videos/{id}`; the statuses map to ours (`pending` -> queued; `cancelled` and
`expired` end the job failed). Download: `GET {base}/videos/{id}/content?index=0` with the
key, following redirects without it. Models: `GET {base}/videos/models`, turned into catalog
entries by `catalog_entries`.

Differences from `/v1/videos`, handled here so routes, refresher and archive stay unchanged:

* No progress figure: `progress` is None and the lifecycle estimates it from the job's age.
* The actual charge comes as `usage.cost` (USD) on the completed job: `cost_usd`.
* `error` is a plain string; a content-policy refusal is recognised by its text.
* No thumbnail, spritesheet, remix or delete endpoint: `download` raises `UpstreamNotFound`
  for the images (the archive skips them), `remix` refuses, `delete` does nothing.
* A 402 means the account is out of credits: `UpstreamPaymentRequired`.

A create is billed and OpenRouter has no idempotency key, so it is retried only when the
connection was never made (the shared `RetryPolicy`).
"""

from __future__ import annotations

import base64
import logging
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Unpack

import requests

from chalicelib.upstreams.base import (
    VARIANTS,
    CreateRequest,
    ReferenceImage,
    UpstreamBadRequest,
    UpstreamError,
    UpstreamNotFound,
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

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
STATUS_MAP = {
    "pending": "queued",
    "queued": "queued",
    "in_progress": "in_progress",
    "completed": "completed",
    "failed": "failed",
    "cancelled": "failed",
    "expired": "failed",
}
_MODERATION = re.compile(r"content[ -]polic|moderat|safety|flagged|prohibited", re.I)


def error_from_response(response: requests.Response) -> UpstreamError:
    """`{"error": {"code": <http status>, "message", "metadata"}}` to our error types."""
    status = response.status_code
    message, metadata = f"OpenRouter answered HTTP {status}", {}
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        message = str(body["error"].get("message") or message)
        metadata = body["error"].get("metadata") or {}
    retry_after = parse_retry_after(response.headers)
    if retry_after is None and isinstance(metadata, dict):
        hinted = metadata.get("retry_after_seconds")
        retry_after = float(hinted) if isinstance(hinted, int | float) else None
    kind: type[UpstreamError]
    code: str | None = None
    if status == 403:  # OpenRouter's answer to a prompt its moderation refuses
        kind, code = UpstreamBadRequest, "moderation_blocked"
    elif status == 413:
        kind = UpstreamBadRequest
    else:
        kind = error_class(status)
    return kind(
        message,
        status=status,
        code=code,
        request_id=response.headers.get("x-request-id"),
        retry_after=retry_after,
        param="prompt" if code == "moderation_blocked" else None,
    )


def video_from_json(body: dict[str, Any]) -> UpstreamVideo:
    raw_status = str(body.get("status") or "pending")
    status = STATUS_MAP.get(raw_status, "queued")
    code = message = None
    if status == "failed":
        message = str(body.get("error") or f"The video was {raw_status} at OpenRouter.")
        if raw_status == "failed":
            code = "moderation_blocked" if _MODERATION.search(message) else "upstream_failed"
        else:
            code = f"upstream_{raw_status}"
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    cost = usage.get("cost")
    expires = body.get("expires_at")
    return UpstreamVideo(
        id=str(body["id"]),
        status=status,
        progress=100 if status == "completed" else None,
        error_code=code,
        error_message=message,
        expires_at=int(expires) if isinstance(expires, int | float) else None,
        cost_usd=float(cost) if isinstance(cost, int | float) and cost >= 0 else None,
        raw=body,
    )


def _data_url(data: bytes, content_type: str) -> str:
    return f"data:{content_type};base64,{base64.b64encode(data).decode()}"


def _image_part(image: ReferenceImage) -> dict[str, Any]:
    """An image as OpenRouter's `ContentPartImage` (a `data:` URL: OpenRouter need not reach
    our bucket)."""
    return {"type": "image_url", "image_url": {"url": _data_url(image.data, image.content_type)}}


class OpenRouterClient(BearerKeyClient):
    name = "openrouter"
    label = "openrouter"
    unreachable = "could not reach OpenRouter"
    error_from_response = staticmethod(error_from_response)

    def __init__(
        self, base_url: str, api_key: str, *, callback_url: str = "", **transport: Unpack[Transport]
    ) -> None:
        super().__init__(base_url, api_key, **transport)
        self.callback_url = callback_url

    # -- the provider interface -------------------------------------------------------------

    def create(self, request: CreateRequest) -> UpstreamVideo:
        body: dict[str, Any] = {
            "model": request.model,
            "prompt": request.prompt,
            "duration": request.seconds,
        }
        by_size = request.wire.get("resolution_by_size") or {}
        if request.size in by_size:
            body["resolution"], body["aspect_ratio"] = by_size[request.size]
        else:
            body["size"] = request.size
        frames = [
            {**_image_part(image), "frame_type": frame_type}
            for frame_type, image in (
                ("first_frame", request.reference),
                ("last_frame", request.last_frame),
            )
            if image is not None
        ]
        if frames:
            body["frame_images"] = frames
        if request.reference_images:
            body["input_references"] = [_image_part(ref) for ref in request.reference_images]
        if request.audio is not None:
            body["generate_audio"] = request.audio
        if request.seed is not None:
            body["seed"] = request.seed
        if self.callback_url:
            body["callback_url"] = self.callback_url
        return self._video(self._send("POST", "/videos", billed=True, json=body))

    def retrieve(self, upstream_id: str) -> UpstreamVideo:
        return self._video(self._send("GET", f"/videos/{upstream_id}"))

    def remix(self, upstream_id: str, prompt: str) -> UpstreamVideo:
        raise UpstreamBadRequest("OpenRouter's video models cannot remix.", status=400)

    def extend(
        self, upstream_id: str, prompt: str, seconds: int, *, model: str = "", size: str = ""
    ) -> UpstreamVideo:
        """A `POST /videos` continuing the completed job `previous_job_id` on its own model
        (the vendor skill's parameter): the source's size is kept, so none is sent."""
        if not model:
            raise UpstreamBadRequest("OpenRouter continues a job on its own model: none given.")
        body: dict[str, Any] = {
            "model": model,
            "prompt": prompt,
            "duration": seconds,
            "previous_job_id": upstream_id,
        }
        if self.callback_url:
            body["callback_url"] = self.callback_url
        return self._video(self._send("POST", "/videos", billed=True, json=body))

    def delete(self, upstream_id: str) -> None:
        """OpenRouter has no delete endpoint; its copy expires by itself."""

    def download(
        self, upstream_id: str, variant: str = "video", byte_range: str | None = None
    ) -> HttpContentStream:
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}")
        if variant != "video":
            raise UpstreamNotFound(
                f"OpenRouter makes no {variant}", status=404, code="variant_unavailable"
            )
        headers = {"Range": byte_range} if byte_range else {}
        response = self._send(
            "GET",
            f"/videos/{upstream_id}/content",
            params={"index": 0},
            headers=headers,
            stream=True,
        )
        return HttpContentStream(response)

    def list_models(self) -> list[dict[str, Any]]:
        """The account's video models as catalog entries (models it cannot describe are left
        out and logged)."""
        response = self._send("GET", "/videos/models")
        try:
            listing = response.json()
        except ValueError:
            raise UpstreamUnavailable("OpenRouter's model list is not JSON") from None
        data = listing.get("data") if isinstance(listing, dict) else None
        if not isinstance(data, list):
            raise UpstreamUnavailable("OpenRouter's model list has no 'data' list")
        return catalog_entries(data)

    # -- transport ----------------------------------------------------------------------------

    def _video(self, response: requests.Response) -> UpstreamVideo:
        try:
            body = response.json()
            video = video_from_json(body)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise UpstreamUnavailable(
                "OpenRouter answered with a body that is not a video job",
                status=response.status_code,
            ) from None
        return video


# -- the model listing as catalog entries ---------------------------------------------------

# Pixel height (the short side) of each resolution name OpenRouter uses.
RESOLUTION_SHORT_SIDE = {
    "480p": 480,
    "720p": 720,
    "768p": 768,
    "1080p": 1080,
    "1k": 1080,
    "2k": 1440,
    "4k": 2160,
}
_RATIO = re.compile(r"^(\d{1,2}):(\d{1,2})$")
_SIZE = re.compile(r"^(\d{2,4})x(\d{2,4})$")


def size_of(resolution: str, aspect_ratio: str) -> str | None:
    """`1280x720` for `720p` + `16:9`: the short side from the resolution, even widths."""
    short = RESOLUTION_SHORT_SIDE.get(resolution.lower())
    match = _RATIO.match(aspect_ratio)
    if short is None or match is None:
        return None
    a, b = int(match.group(1)), int(match.group(2))
    if a == 0 or b == 0:
        return None
    long_side = round(short * max(a, b) / min(a, b) / 2) * 2
    width, height = (long_side, short) if a >= b else (short, long_side)
    return f"{width}x{height}" if max(width, height) <= 4096 else None


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _sizes(entry: dict[str, Any]) -> tuple[list[str], dict[str, list[str]]]:
    """Sizes, and for those built from resolution x aspect ratio the wire values to send."""
    listed = [s for s in _strings(entry.get("supported_sizes")) if _SIZE.match(s)]
    if listed:
        return listed, {}
    ratios = _strings(entry.get("supported_aspect_ratios")) or ["16:9"]
    sizes: list[str] = []
    wire: dict[str, list[str]] = {}
    for resolution in _strings(entry.get("supported_resolutions")):
        for ratio in ratios:
            size = size_of(resolution, ratio)
            if size and size not in wire:
                sizes.append(size)
                wire[size] = [resolution, ratio]
    return sizes, wire


def _usd(value: Any) -> float | None:
    try:
        price = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return float(price) if price.is_finite() and price >= 0 else None


def _pricing(
    entry: dict[str, Any], sizes: list[str], wire: dict[str, list[str]], seconds: list[int]
) -> dict[str, Any]:
    """Catalog prices from `pricing_skus`: `per-video-second[-<resolution>][-with-audio]` are
    USD per output second; a flat `generate`/`per-video` SKU is spread over the shortest
    duration (the estimate errs high). Unknown SKU names are ignored."""
    skus = entry.get("pricing_skus") if isinstance(entry.get("pricing_skus"), dict) else {}
    base: float | None = None
    audio_base: float | None = None
    by_resolution: dict[str, float] = {}
    audio_by_resolution: dict[str, float] = {}
    flat: float | None = None
    for name, raw in skus.items():
        price = _usd(raw)
        key = str(name).lower()
        if price is None:
            continue
        if key in ("generate", "per-video", "per-generation"):
            flat = price
            continue
        if not key.startswith("per-video-second"):
            continue
        rest = key.removeprefix("per-video-second").strip("-")
        audio = "audio" in rest
        rest = re.sub(r"-?(with-)?audio", "", rest).strip("-")
        if not rest:
            if audio:
                audio_base = price
            else:
                base = price
        elif audio:
            audio_by_resolution[rest] = price
        else:
            by_resolution[rest] = price

    def resolution_of(size: str) -> str:
        if size in wire:
            return wire[size][0].lower()
        short = min(int(p) for p in size.split("x"))
        return next((r for r, s in RESOLUTION_SHORT_SIDE.items() if s == short), "")

    if base is None and flat is not None:
        base = flat / min(seconds) if seconds else flat
    base = base if base is not None else (min(by_resolution.values(), default=0.0))
    prices = {s: by_resolution.get(resolution_of(s), base) for s in sizes}
    pricing: dict[str, Any] = {"price_per_second_usd": base, "price_per_second_by_size": prices}
    if audio_base is not None or audio_by_resolution:
        # Where no audio SKU names a size's resolution, sound costs at least the base audio
        # rate and at least that size's silent rate: the estimate errs high, never low.
        pricing["price_per_second_with_audio_by_size"] = {
            s: audio_by_resolution.get(resolution_of(s), max(audio_base or 0.0, prices[s]))
            for s in sizes
        }
    return pricing


def catalog_entry(entry: dict[str, Any]) -> dict[str, Any] | None:
    """One `/videos/models` item as a catalog dict, or None when it cannot be offered."""
    slug = entry.get("id")
    if not isinstance(slug, str) or not slug:
        return None
    sizes, wire = _sizes(entry)
    sizes = _default_first(sizes)
    durations = entry.get("supported_durations")
    seconds = sorted(
        {int(s) for s in (durations if isinstance(durations, list) else []) if isinstance(s, int)}
        & set(range(1, 121))
    )
    if not sizes or not seconds:
        log.info("OpenRouter model %s lists no usable sizes or durations; not offered", slug)
        return None
    frames = _strings(entry.get("supported_frame_images"))
    model: dict[str, Any] = {
        "id": slug,
        "label": str(entry.get("name") or slug),
        "provider": "openrouter",
        "sizes": sizes,
        "seconds": seconds,
        **_pricing(entry, sizes, wire, seconds),
        "capabilities": {
            "first_frame": "first_frame" in frames,
            "last_frame": "last_frame" in frames,
            # The listing has no field for reference images and the docs give no count, nor
            # say which models take `previous_job_id` (only the vendor skill names it): none
            # by default; OPENROUTER_CAPABILITIES_JSON offers them (catalog/source.py).
            "reference_images": 0,
            "audio": entry.get("generate_audio") is True,
            "seed": entry.get("seed") is True,
            "remix": False,
            "extend": False,
        },
    }
    if wire:
        model["wire"] = {"resolution_by_size": wire}
    return model


def _default_first(sizes: list[str]) -> list[str]:
    """The catalog's first size is the model's default: landscape 720p where offered."""
    for preferred in ("1280x720", "1920x1080"):
        if preferred in sizes:
            return [preferred, *(s for s in sizes if s != preferred)]
    return sizes


def catalog_entries(data: list[Any]) -> list[dict[str, Any]]:
    entries = [catalog_entry(e) for e in data if isinstance(e, dict)]
    return [e for e in entries if e is not None]
