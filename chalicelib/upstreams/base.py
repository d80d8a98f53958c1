"""The provider interface every upstream protocol implements, and its shared types.

Routes, the refresher and the archiver talk to this interface only; each protocol is one
module beside this one (`videos_api`, `veo`, `openrouter`), chosen per model by `registry`,
so a new upstream plugs in without touching them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

VARIANTS = ("video", "thumbnail", "spritesheet")


@dataclass(frozen=True)
class ReferenceImage:
    data: bytes
    content_type: str
    filename: str


@dataclass(frozen=True)
class CreateRequest:
    prompt: str
    model: str
    size: str
    seconds: int
    reference: ReferenceImage | None = None
    # The stored first frame as a presigned GET URL, for upstreams that fetch images by URL.
    reference_url: str | None = None
    # The catalog entry's `wire` hints: the upstream's own names for our choices.
    wire: dict[str, Any] = field(default_factory=dict)
    # The creative controls (issue 14), each given only when the model's capabilities take it;
    # each stored image also as a presigned GET URL, as `reference_url`.
    last_frame: ReferenceImage | None = None
    last_frame_url: str | None = None
    reference_images: tuple[ReferenceImage, ...] = ()
    reference_image_urls: tuple[str, ...] = ()
    audio: bool | None = None  # None: the model has no sound switch; send nothing
    seed: int | None = None


@dataclass(frozen=True)
class UpstreamVideo:
    id: str
    status: str  # queued | in_progress | completed | failed
    progress: int | None = 0  # None: the upstream gives no figure; the lifecycle estimates it
    error_code: str | None = None
    error_message: str | None = None
    expires_at: int | None = None
    request_id: str | None = None
    cost_usd: float | None = None  # what the upstream charged, when it says
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


class ContentStream(Protocol):
    status_code: int  # 200 or 206
    content_type: str
    content_length: int | None
    content_range: str | None

    def iter_chunks(self, chunk_size: int = ...) -> Iterator[bytes]: ...

    def close(self) -> None: ...


class UpstreamError(Exception):
    """An upstream call failed; keeps what the upstream said for logs and API errors."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.retry_after = retry_after
        self.param = param

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.code:
            parts.append(f"code={self.code}")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        return " ".join(parts)


class UpstreamBadRequest(UpstreamError):
    """400/422: the upstream refused the input."""


class UpstreamAuthError(UpstreamError):
    """401/403: the key is missing, wrong or not allowed."""


class UpstreamPaymentRequired(UpstreamError):
    """402: the upstream account has no credit left for this render."""


class UpstreamNotFound(UpstreamError):
    """404: unknown id, or content that expired."""


class UpstreamRateLimited(UpstreamError):
    """429: slow down; `retry_after` says for how long when the upstream told us."""


class UpstreamUnavailable(UpstreamError):
    """5xx, timeouts and connection failures."""


class UpstreamOutcomeUncertain(UpstreamUnavailable):
    """A billed call (a create) broke off after it was sent: it may have been accepted."""


class UpstreamNotConfigured(UpstreamError):
    """This server cannot call the upstream at all: its key is not set, or its SSM parameter
    is missing or unreadable (the message names which and the fix), or the catalog names an
    unknown provider."""


def refuse_unsent(
    request: CreateRequest,
    protocol: str,
    *,
    first_frame: bool = False,
    last_frame: bool = False,
    reference_images: int = 0,
    audio: bool = False,
    seed: bool = False,
) -> None:
    """Refuse (`UpstreamBadRequest` naming the API field, before anything is sent or paid) an
    input the protocol has no way to send: a catalog entry that promises more than its
    protocol takes never has an input dropped silently."""
    unsent = [
        ("input_reference", request.reference is not None and not first_frame),
        ("last_frame", request.last_frame is not None and not last_frame),
        ("reference_images", len(request.reference_images) > reference_images),
        ("audio", request.audio is not None and not audio),
        ("seed", request.seed is not None and not seed),
    ]
    for name, refused in unsent:
        if refused:
            raise UpstreamBadRequest(f"{protocol} takes no {name} for {request.model}.", param=name)


def error_class(status: int) -> type[UpstreamError]:
    """The error type an upstream HTTP status means; a protocol refines it where its service
    says more (a Gemini `API_KEY_INVALID`, OpenRouter's 403 for moderation)."""
    if status in (400, 422):
        return UpstreamBadRequest
    if status in (401, 403):
        return UpstreamAuthError
    if status == 402:
        return UpstreamPaymentRequired
    if status == 404:
        return UpstreamNotFound
    if status == 429:
        return UpstreamRateLimited
    if status >= 500 or status == 408:
        return UpstreamUnavailable
    return UpstreamError


class VideoProvider(Protocol):
    name: str

    def create(self, request: CreateRequest) -> UpstreamVideo: ...

    def retrieve(self, upstream_id: str) -> UpstreamVideo: ...

    def remix(self, upstream_id: str, prompt: str) -> UpstreamVideo: ...

    def extend(
        self, upstream_id: str, prompt: str, seconds: int, *, model: str = "", size: str = ""
    ) -> UpstreamVideo:
        """A new render continuing the completed `upstream_id` by `seconds` (one stitched clip;
        `model` and `size` are the source's). A provider that cannot raises
        `UpstreamBadRequest`."""
        ...

    def delete(self, upstream_id: str) -> None: ...

    def download(
        self, upstream_id: str, variant: str = "video", byte_range: str | None = None
    ) -> ContentStream: ...
