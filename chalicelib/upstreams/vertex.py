"""Veo on Vertex AI behind the provider interface (docs/upstreams/vertex.md).

Create: `POST {base}/v1/projects/{project}/locations/{location}/publishers/google/models/
{model}:predictLongRunning` with `{"instances": [{"prompt", "image"?, "lastFrame"?,
"referenceImages"?}], "parameters": {"durationSeconds", "aspectRatio", "resolution",
"generateAudio", "sampleCount": 1, "seed"?, "storageUri"?}}`. Poll: `POST {model
resource}:fetchPredictOperation` with `{"operationName"}`; the upstream id is the operation
name. A done operation carries `response.videos[0]` as inline base64 (`bytesBase64Encoded`)
or a Cloud Storage object (`gcsUri`, when `VERTEX_STORAGE_URI` asks for one), or an `error`,
or Google's safety filtering (`raiMediaFilteredCount`, mapped to `moderation_blocked`).

Auth: a service-account key exchanged for OAuth access tokens (JWT-bearer grant, RS256 with
PyJWT), cached per process until shortly before they expire, one refresh at a time; or a
Vertex API key (`x-goog-api-key`; Google documents keys for Gemini on Vertex, not for Veo).
Credentials go only to Vertex's and Cloud Storage's origins, never to a redirect's host,
and are never logged.

Memory: an inline video can be tens of megabytes of base64. Operations are read as a
stream (`InlineVideos`): a poll keeps the JSON with the video emptied out, and the archive's
`download` fetches the operation again and decodes the base64 as it arrives, so no process
holds a whole video. A Cloud Storage result is streamed from the JSON API (`Range` honoured).

Differences from `/v1/videos`, handled here so routes, refresher and archive stay unchanged:
no progress figure (None: the lifecycle estimates it), no thumbnail or spritesheet
(`UpstreamNotFound`), no remix, nothing to delete. A create is billed and has no idempotency
key: it is retried only when the connection was never made, or once after a 401 (Google
refused it unseen) with a fresh token.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Unpack
from urllib.parse import quote, urlsplit

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from chalicelib import clock, deadline
from chalicelib.config import Settings
from chalicelib.upstreams.base import (
    CreateRequest,
    UpstreamAuthError,
    UpstreamBadRequest,
    UpstreamError,
    UpstreamNotConfigured,
    UpstreamNotFound,
    UpstreamUnavailable,
    UpstreamVideo,
    error_class,
)
from chalicelib.upstreams.retry import HttpContentStream, RetryPolicy, Transport, UpstreamClient
from chalicelib.upstreams.veo import (
    SAFETY_WORDS,
    _origin,
    error_from_response,
    finished_video,
    inline_image,
    send_following,
)

log = logging.getLogger(__name__)

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_SECONDS = 3600  # Google accepts an assertion valid for at most one hour
REFRESH_MARGIN_SECONDS = 300  # a cached token is replaced this long before it expires
# How long an inline result stays fetchable is not documented (docs/upstreams/vertex.md):
# assume a day, less an hour of margin, so the archive copies it at once.
INLINE_RETENTION_SECONDS = 86400 - 3600
CHUNK_BYTES = 256 * 1024
# WxH -> (aspectRatio, resolution): Veo 3.1 on Vertex makes 16:9 and 9:16 at 720p or 1080p.
SIZES = {
    "1280x720": ("16:9", "720p"),
    "720x1280": ("9:16", "720p"),
    "1920x1080": ("16:9", "1080p"),
    "1080x1920": ("9:16", "1080p"),
}
MAX_REFERENCE_IMAGES = 3
_OPERATION = re.compile(
    r"(projects/[\w.-]+/locations/[\w-]+/publishers/google/models/[\w.-]+)/operations/[\w-]+"
)
_GCS_URI = re.compile(r"gs://([a-z0-9][a-z0-9._-]{1,221}[a-z0-9])/(.+)")
_INLINE_KEY = re.compile(rb'"bytesBase64Encoded"\s*:\s*"')
_KEY_TAIL = 64  # bytes held back so a key split between two chunks is still found
_ESCAPES = re.compile(rb"\\[nrt]|\s")


# -- inline videos, read as a stream ---------------------------------------------------------


class InlineVideos:
    """One streamed operation body. `first_video()` yields the decoded bytes of the first
    `bytesBase64Encoded` value as they arrive and reads the body to its end; `operation()` is
    then the JSON with every such value emptied, and `sizes` the base64 length of each."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self._json = bytearray()
        self.sizes: list[int] = []
        self._read = False

    def operation(self) -> dict[str, Any]:
        if not self._read:
            for _ in self.first_video(decode=False):
                pass
        body = json.loads(bytes(self._json))
        if not isinstance(body, dict):
            raise ValueError("not a JSON object")
        return body

    def first_video(self, *, decode: bool = True) -> Iterator[bytes]:
        buf = b""
        in_value = False
        carry = b""  # base64 characters short of a group of four
        for chunk in self._chunks:
            buf += chunk
            while buf:
                if not in_value:
                    match = _INLINE_KEY.search(buf)
                    if match is None:
                        cut = max(0, len(buf) - _KEY_TAIL)
                        self._json += buf[:cut]
                        buf = buf[cut:]
                        break
                    self._json += buf[: match.end()]
                    buf = buf[match.end() :]
                    in_value = True
                    self.sizes.append(0)
                    continue
                end = buf.find(b'"')
                text = buf if end < 0 else buf[:end]
                if end < 0:
                    escape = text.rfind(b"\\")
                    if escape >= 0 and escape > len(text) - 6:
                        text = text[:escape]  # an escape split between chunks: wait for it
                buf = buf[len(text) :]
                data = carry + _unescape(text)
                usable = len(data) - len(data) % 4
                carry = data[usable:]
                self.sizes[-1] += usable
                if usable and decode and len(self.sizes) == 1:
                    yield base64.b64decode(data[:usable], validate=True)
                if end < 0:
                    break
                if carry:
                    raise ValueError("the inline video is not valid base64")
                in_value = False  # the closing quote stays in `buf`, copied with the JSON
        if in_value:
            raise ValueError("the operation ended inside an inline video")
        self._json += buf
        self._read = True


def _unescape(text: bytes) -> bytes:
    """Base64 text as JSON may carry it: `\\/` for `/`, `\\uXXXX`, wrapped lines."""
    text = _ESCAPES.sub(b"", text).replace(b"\\/", b"/")
    if b"\\u" in text:
        text = re.sub(rb"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m[1], 16)).encode(), text)
    return text


class InlineVideoStream:
    """An inline video as a `ContentStream`: decoded from the operation as it streams in.
    Range is not honoured (the whole file, 200); the media proxy cuts its slice itself."""

    status_code = 200
    content_range = None
    content_length = None

    def __init__(
        self, response: requests.Response, first: bytes, rest: Iterator[bytes], content_type: str
    ) -> None:
        self._response = response
        self._first = first
        self._rest = rest
        self.content_type = content_type

    def iter_chunks(self, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        try:
            yield self._first
            yield from self._rest
        except requests.RequestException as exc:
            raise UpstreamUnavailable(f"content download broke off: {type(exc).__name__}") from exc
        except ValueError as exc:
            raise UpstreamUnavailable(f"Vertex AI sent a broken inline video: {exc}") from exc

    def close(self) -> None:
        self._response.close()


# -- credentials ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceAccount:
    """The parts of a service-account key file the JWT-bearer grant needs."""

    client_email: str
    private_key: RSAPrivateKey = field(repr=False)
    private_key_id: str = ""
    project_id: str = ""

    @classmethod
    def from_json(cls, text: str) -> ServiceAccount:
        """Parse a key file; the message of a refusal says what is wrong, never a value."""
        try:
            info = json.loads(text)
        except ValueError:
            raise ValueError("the service-account key is not JSON") from None
        if not isinstance(info, dict) or info.get("type") != "service_account":
            raise ValueError('the key is not a service-account key ("type": "service_account")')
        email, pem = info.get("client_email"), info.get("private_key")
        if not isinstance(email, str) or "@" not in email:
            raise ValueError("the service-account key has no client_email")
        try:
            key = load_pem_private_key(str(pem).encode(), password=None)
        except (ValueError, TypeError):
            raise ValueError("the service-account key's private_key is not a PEM key") from None
        if not isinstance(key, RSAPrivateKey):
            raise ValueError("the service-account key's private_key is not an RSA key")
        return cls(
            client_email=email,
            private_key=key,
            private_key_id=str(info.get("private_key_id") or ""),
            project_id=str(info.get("project_id") or ""),
        )


def token_error(response: requests.Response) -> UpstreamError:
    """OAuth's `{"error", "error_description"}`: a refused key is an auth error."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    code = str(body.get("error") or "") or None
    detail = str(body.get("error_description") or code or f"HTTP {status}")
    kind = UpstreamAuthError if status in (400, 401, 403) else error_class(status)
    return kind(f"Google refused the service-account key: {detail}", status=status, code=code)


class ServiceAccountTokens:
    """OAuth access tokens for a service account, cached per process until
    REFRESH_MARGIN_SECONDS before they expire; one refresh at a time (the others wait)."""

    refreshable = True

    def __init__(
        self,
        account: ServiceAccount,
        token_url: str,
        *,
        session: requests.Session,
        timeout: float,
        retry: RetryPolicy,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.account = account
        self.token_url = token_url
        self._session = session
        self._timeout = timeout
        self._retry = retry
        self._now = now
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0

    def __repr__(self) -> str:
        return f"ServiceAccountTokens({self.account.client_email!r})"

    def headers(self) -> dict[str, str]:
        with self._lock:
            if self._token is None or self._now() >= self._expires_at - REFRESH_MARGIN_SECONDS:
                self._token, self._expires_at = self._fetch()
            return {"Authorization": f"Bearer {self._token}"}

    def invalidate(self, used: dict[str, str]) -> None:
        """Forget the token `used` (Google refused it), unless another thread renewed it."""
        with self._lock:
            if used.get("Authorization") == f"Bearer {self._token}":
                self._token = None

    def _fetch(self) -> tuple[str, float]:
        issued = self._now()
        claims = {
            "iss": self.account.client_email,
            "scope": SCOPE,
            "aud": self.token_url,
            "iat": int(issued),
            "exp": int(issued) + ASSERTION_SECONDS,
        }
        kid = {"kid": self.account.private_key_id} if self.account.private_key_id else None
        assertion = jwt.encode(claims, self.account.private_key, algorithm="RS256", headers=kid)
        response = self._retry.send(
            lambda: self._session.post(
                self.token_url,
                data={"grant_type": JWT_BEARER, "assertion": assertion},
                timeout=deadline.timeout(self._timeout),
                allow_redirects=False,
            ),
            billed=False,
            label="vertex token",
            to_error=token_error,
            unreachable="could not reach Google's token endpoint",
        )
        try:
            body = response.json()
            token = body["access_token"]
            lifetime = float(body.get("expires_in") or ASSERTION_SECONDS)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise UpstreamUnavailable("Google's token endpoint gave no access token") from None
        if not isinstance(token, str) or not token:
            raise UpstreamUnavailable("Google's token endpoint gave no access token")
        log.info(
            "vertex: access token for %s renewed (valid %d s)",
            self.account.client_email,
            lifetime,
        )
        return token, issued + lifetime


class ApiKey:
    """A Vertex API key (`x-goog-api-key`): nothing to refresh."""

    refreshable = False

    def __init__(self, key: str) -> None:
        self._key = key

    def __repr__(self) -> str:
        return "ApiKey(***)"

    def headers(self) -> dict[str, str]:
        return {"x-goog-api-key": self._key}

    def invalidate(self, used: dict[str, str]) -> None:
        """A key cannot be renewed: the refusal stands."""


# -- the client --------------------------------------------------------------------------------


def vertex_error(response: requests.Response) -> UpstreamError:
    """Google's `google.rpc.Status` envelope; a prompt refused by the safety filters at
    create (400 naming Google's usage guidelines) is `moderation_blocked`."""
    error = error_from_response(response, service="Vertex AI")
    lowered = error.message.lower()
    if isinstance(error, UpstreamBadRequest) and any(w in lowered for w in SAFETY_WORDS):
        error.code, error.param = "moderation_blocked", "prompt"
    return error


class VertexVeoClient(UpstreamClient):
    name = "vertex"

    def __init__(
        self,
        *,
        project: str,
        location: str,
        base_url: str,
        auth: ServiceAccountTokens | ApiKey,
        gcs_base_url: str = "https://storage.googleapis.com",
        storage_uri: str = "",
        now: Callable[[], float] = clock.now,
        **transport: Unpack[Transport],
    ) -> None:
        super().__init__(base_url, **transport)
        self.project = project
        self.location = location
        self.gcs_base_url = gcs_base_url.rstrip("/")
        self.storage_uri = storage_uri
        self._auth = auth
        self._trusted = {_origin(self.base_url), _origin(self.gcs_base_url)}
        self._now = now

    def __repr__(self) -> str:
        return f"VertexVeoClient(project={self.project!r}, location={self.location!r})"

    # -- the provider interface -------------------------------------------------------------

    def create(self, request: CreateRequest) -> UpstreamVideo:
        if request.size not in SIZES:
            raise UpstreamBadRequest(
                f"Veo on Vertex AI makes {', '.join(SIZES)} videos, not {request.size}.",
                param="size",
            )
        aspect_ratio, resolution = SIZES[request.size]
        last_frame, references = request.last_frame, request.reference_images
        audio, seed = request.audio, request.seed
        if len(references) > MAX_REFERENCE_IMAGES:
            raise UpstreamBadRequest(
                f"Veo takes at most {MAX_REFERENCE_IMAGES} reference images.",
                param="reference_images",
            )
        if references and (request.seconds != 8 or aspect_ratio != "16:9"):
            raise UpstreamBadRequest(
                "Veo makes videos from reference images at 16:9 and 8 seconds only.",
                param="reference_images",
            )
        instance: dict[str, Any] = {"prompt": request.prompt}
        if request.reference is not None:
            instance["image"] = inline_image(request.reference)
        if last_frame is not None:
            instance["lastFrame"] = inline_image(last_frame)
        if references:
            instance["referenceImages"] = [
                {"image": inline_image(ref), "referenceType": "asset"} for ref in references
            ]
        parameters: dict[str, Any] = {
            "durationSeconds": request.seconds,
            "aspectRatio": aspect_ratio,
            "resolution": resolution,
            "generateAudio": True if audio is None else bool(audio),
            "sampleCount": 1,
        }
        if seed is not None:
            parameters["seed"] = int(seed)
        if self.storage_uri:
            parameters["storageUri"] = self.storage_uri
        url = (
            f"{self.base_url}/v1/projects/{self.project}/locations/{self.location}"
            f"/publishers/google/models/{quote(request.model, safe='')}:predictLongRunning"
        )
        response = self._send(
            "POST", url, billed=True, json={"instances": [instance], "parameters": parameters}
        )
        operation, sizes = self._read(response)
        name = operation.get("name")
        if not isinstance(name, str) or not _OPERATION.fullmatch(name):
            raise UpstreamUnavailable("Vertex AI answered a create without an operation name")
        return self._video(operation, name, sizes)

    def retrieve(self, upstream_id: str) -> UpstreamVideo:
        operation, sizes = self._read(self._fetch_operation(upstream_id))
        return self._video(operation, upstream_id, sizes)

    def remix(self, upstream_id: str, prompt: str) -> UpstreamVideo:
        raise UpstreamBadRequest(
            "Veo on Vertex AI does not support remixing a video.", code="remix_unsupported"
        )

    def extend(
        self, upstream_id: str, prompt: str, seconds: int, *, model: str = "", size: str = ""
    ) -> UpstreamVideo:
        # Vertex's `video` input wants the source as bytes or a gcsUri (docs/upstreams/
        # vertex.md: "not used here"): the catalog offers no extension on Vertex.
        raise UpstreamBadRequest(
            "Veo on Vertex AI: extending a video is not offered here.", code="extend_unavailable"
        )

    def delete(self, upstream_id: str) -> None:
        """Nothing to delete: an inline result expires with its operation, and files in
        VERTEX_STORAGE_URI are the owner's own (a bucket lifecycle rule can expire them)."""

    def download(
        self, upstream_id: str, variant: str = "video", byte_range: str | None = None
    ) -> HttpContentStream | InlineVideoStream:
        if variant != "video":
            raise UpstreamNotFound(f"Veo makes no {variant}", status=404, code="no_variant")
        response = self._fetch_operation(upstream_id)
        scanner = InlineVideos(response.iter_content(CHUNK_BYTES))
        video = scanner.first_video()
        try:
            first = next(video, None)
            if first is not None:
                return InlineVideoStream(response, first, video, "video/mp4")
            operation = scanner.operation()
        except (ValueError, requests.RequestException) as exc:
            response.close()
            raise UpstreamUnavailable(f"Vertex AI sent an unreadable operation: {exc}") from exc
        response.close()
        videos = (operation.get("response") or {}).get("videos") or []
        uri = videos[0].get("gcsUri") if videos and isinstance(videos[0], dict) else None
        if not operation.get("done") or not isinstance(uri, str):
            raise UpstreamNotFound("Vertex AI has no finished video for this job", status=404)
        headers = {"Range": byte_range} if byte_range else {}
        return HttpContentStream(
            self._send("GET", self._gcs_url(uri), headers=headers, stream=True)
        )

    # -- reading operations -----------------------------------------------------------------

    def _fetch_operation(self, upstream_id: str) -> requests.Response:
        match = _OPERATION.fullmatch(upstream_id)
        if match is None:
            raise UpstreamNotFound(f"not a Vertex AI operation: {upstream_id[:200]}", status=404)
        return self._send(
            "POST",
            f"{self.base_url}/v1/{match.group(1)}:fetchPredictOperation",
            json={"operationName": upstream_id},
            stream=True,
        )

    @staticmethod
    def _read(response: requests.Response) -> tuple[dict[str, Any], list[int]]:
        """The operation without its inline bytes, and the size of each inline video."""
        scanner = InlineVideos(response.iter_content(CHUNK_BYTES))
        try:
            return scanner.operation(), scanner.sizes
        except (ValueError, requests.RequestException) as exc:
            raise UpstreamUnavailable(
                f"Vertex AI answered with a body that is not an operation: {exc}",
                status=response.status_code,
            ) from exc
        finally:
            response.close()

    def _video(
        self, operation: dict[str, Any], upstream_id: str, sizes: list[int]
    ) -> UpstreamVideo:
        if not operation.get("done"):
            return UpstreamVideo(
                id=upstream_id, status="in_progress", progress=None, raw=dict(operation)
            )
        result = operation.get("response") or {}
        videos = result.get("videos") if isinstance(result, dict) else None
        first = videos[0] if isinstance(videos, list) and videos else {}
        first = first if isinstance(first, dict) else {}
        inline = "bytesBase64Encoded" in first and bool(sizes) and sizes[0] > 0
        stored = isinstance(first.get("gcsUri"), str) and bool(_GCS_URI.fullmatch(first["gcsUri"]))
        expires_at = int(self._now()) + INLINE_RETENTION_SECONDS if inline else None
        return finished_video(
            operation,
            upstream_id,
            result if isinstance(result, dict) else {},
            found=inline or stored,
            expires_at=expires_at,
        )

    def _gcs_url(self, uri: str) -> str:
        match = _GCS_URI.fullmatch(uri)
        if match is None:
            raise UpstreamUnavailable("Vertex AI gave a video location that is not a gs:// URI")
        bucket, name = match.groups()
        return f"{self.gcs_base_url}/storage/v1/b/{bucket}/o/{quote(name, safe='')}?alt=media"

    # -- transport ----------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        url: str,
        *,
        billed: bool = False,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Through the retry policy, credentials for Google's origins only; a 401 renews a
        service account's token and tries once more (Google refused the call unseen)."""
        path = urlsplit(url).path
        label = f"vertex {method} {path.rpartition(':')[2] if ':' in path else 'storage'}"
        for attempt in (0, 1):
            used = self._auth.headers()
            try:
                return self.retry.send(
                    partial(self._request, method, url, headers or {}, used, kwargs),
                    billed=billed,
                    label=label,
                    to_error=vertex_error,
                    unreachable="could not reach Vertex AI",
                )
            except UpstreamAuthError as exc:
                if exc.status != 401 or attempt or not self._auth.refreshable:
                    raise
                self._auth.invalidate(used)
        raise AssertionError("unreachable")

    def _request(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        credentials: dict[str, str],
        kwargs: dict[str, Any],
    ) -> requests.Response:
        return send_following(
            self._session,
            method,
            url,
            headers,
            credentials=lambda target: credentials if _origin(target) in self._trusted else {},
            timeout=deadline.timeout(self.timeout),
            **kwargs,
        )


def build_client(settings: Settings, account_json: str, api_key: str) -> VertexVeoClient:
    """The client the settings describe: a service-account key when given, else an API key."""
    session = requests.Session()
    auth: ServiceAccountTokens | ApiKey
    if account_json:
        try:
            account = ServiceAccount.from_json(account_json)
        except ValueError as exc:
            raise UpstreamNotConfigured(f"VERTEX_SERVICE_ACCOUNT_JSON: {exc}.") from None
        retry = RetryPolicy(3, 0.5, 8.0)
        auth = ServiceAccountTokens(
            account,
            settings.vertex_token_url,
            session=session,
            timeout=settings.http_timeout_seconds,
            retry=retry,
        )
        project = settings.vertex_project or account.project_id
    else:
        auth, project = ApiKey(api_key), settings.vertex_project
    if not project:
        raise UpstreamNotConfigured(
            "No Google Cloud project for Veo on Vertex AI: set VERTEX_PROJECT."
        )
    if settings.vertex_storage_uri and not auth.refreshable:
        raise UpstreamNotConfigured(
            "VERTEX_STORAGE_URI needs a service account: an API key cannot read Cloud Storage."
        )
    return VertexVeoClient(
        project=project,
        location=settings.vertex_location,
        base_url=settings.vertex_base_url,
        auth=auth,
        gcs_base_url=settings.vertex_gcs_base_url,
        storage_uri=settings.vertex_storage_uri,
        timeout=settings.http_timeout_seconds,
        session=session,
    )
