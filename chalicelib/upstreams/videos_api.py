"""Client for the OpenAI Videos API protocol (`/v1/videos`) over `requests`.

Reads and deletes are retried on connection errors, 408, 429 and 5xx with backoff that
honours `retry-after-ms` / `retry-after`. A create or remix is billed and has no
idempotency key upstream, so it is retried only when the request surely never reached the
server (the TCP connection was never made). The key travels only in `Authorization` and is
never logged.

OpenAI-compatible gateways differ in small ways; tested against LiteLLM's proxy (1.106):

* `GET .../content` may ignore `variant` and answer the MP4 for a thumbnail or spritesheet:
  a `video/*` answer for an image variant is treated as "not available" (404), so the
  archive skips it instead of storing a video as `thumbnail.webp`.
* `DELETE /videos/{id}` may not be routed (405): there is then nothing the app can delete
  upstream, and the clean-up of a deleted job goes on instead of failing forever.
* LiteLLM encodes its routing in the id (`video_` + base64 of
  `litellm:custom_llm_provider:P;model_id:M;video_id:V`) and drops the model from the id a
  remix returns, after which polling that id goes to the wrong backend; the client puts the
  source's model back.
* It ignores `Range` (answers 200 with the whole file); the media proxy already copes.
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import replace
from typing import Any

import requests

from chalicelib.upstreams.base import (
    VARIANTS,
    CreateRequest,
    UpstreamBadRequest,
    UpstreamError,
    UpstreamNotFound,
    UpstreamUnavailable,
    UpstreamVideo,
    error_class,
    refuse_unsent,
)
from chalicelib.upstreams.retry import (
    BearerKeyClient,
    HttpContentStream,
    parse_retry_after,
)

log = logging.getLogger(__name__)


def error_from_response(response: requests.Response) -> UpstreamError:
    request_id = response.headers.get("x-request-id")
    message, code, param = f"upstream answered HTTP {response.status_code}", None, None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        message = str(err.get("message") or message)
        code = err.get("code") or err.get("type")
        param = err.get("param")
    status = response.status_code
    return error_class(status)(
        message,
        status=status,
        code=str(code) if code else None,
        request_id=request_id,
        retry_after=parse_retry_after(response.headers),
        param=str(param) if param else None,
    )


LITELLM_PREFIX = "video_"
_LITELLM_HEAD = "litellm:custom_llm_provider:"


def _litellm_parts(upstream_id: str) -> list[str] | None:
    """`[provider, model_id, video_id]` of a LiteLLM-encoded id, or None for any other id."""
    if not upstream_id.startswith(LITELLM_PREFIX):
        return None
    encoded = upstream_id[len(LITELLM_PREFIX) :]
    try:
        text = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    if not text.startswith(_LITELLM_HEAD):
        return None
    provider, _, rest = text[len(_LITELLM_HEAD) :].partition(";model_id:")
    model_id, _, video_id = rest.partition(";video_id:")
    return [provider, model_id, video_id] if video_id else None


def keep_gateway_route(new_id: str, source_id: str) -> str:
    """A LiteLLM id that lost its model (remix answers) gets the source's model back."""
    new, source = _litellm_parts(new_id), _litellm_parts(source_id)
    if new is None or source is None or new[1] or not source[1]:
        return new_id
    text = f"{_LITELLM_HEAD}{new[0]};model_id:{source[1]};video_id:{new[2]}"
    return LITELLM_PREFIX + base64.b64encode(text.encode()).decode()


def video_from_json(body: dict[str, Any], request_id: str | None = None) -> UpstreamVideo:
    error = body.get("error") or {}
    return UpstreamVideo(
        id=str(body["id"]),
        status=str(body.get("status") or "queued"),
        progress=int(body.get("progress") or 0),
        error_code=error.get("code") if isinstance(error, dict) else None,
        error_message=error.get("message") if isinstance(error, dict) else None,
        expires_at=body.get("expires_at"),
        request_id=request_id,
        raw=body,
    )


class VideosApiClient(BearerKeyClient):
    name = "openai"
    error_from_response = staticmethod(error_from_response)

    # -- the provider interface -------------------------------------------------------------

    def create(self, request: CreateRequest) -> UpstreamVideo:
        refuse_unsent(request, "The /v1/videos protocol", first_frame=True)
        fields = {
            "prompt": request.prompt,
            "model": request.model,
            "size": request.size,
            "seconds": str(request.seconds),
        }
        if request.reference is None:
            response = self._send("POST", "/videos", billed=True, json=fields)
        else:
            ref = request.reference
            files = {"input_reference": (ref.filename, ref.data, ref.content_type)}
            response = self._send("POST", "/videos", billed=True, data=fields, files=files)
        return self._video(response)

    def retrieve(self, upstream_id: str) -> UpstreamVideo:
        return self._video(self._send("GET", f"/videos/{upstream_id}"))

    def remix(self, upstream_id: str, prompt: str) -> UpstreamVideo:
        response = self._send(
            "POST", f"/videos/{upstream_id}/remix", billed=True, json={"prompt": prompt}
        )
        video = self._video(response)
        routed = keep_gateway_route(video.id, upstream_id)
        return video if routed == video.id else replace(video, id=routed)

    def extend(
        self, upstream_id: str, prompt: str, seconds: int, *, model: str = "", size: str = ""
    ) -> UpstreamVideo:
        """`POST /videos/extensions` (the openai SDK's `videos.extend`): the answer is one new
        video, the source and the new seconds stitched, whose `seconds` is the total."""
        body = {"prompt": prompt, "seconds": str(seconds), "video": {"id": upstream_id}}
        try:
            response = self._send("POST", "/videos/extensions", billed=True, json=body)
        except UpstreamNotFound as exc:  # the source is gone there, or extensions are not routed
            raise UpstreamBadRequest(
                f"the upstream cannot extend {upstream_id}: {exc.message}",
                status=exc.status,
                code="extend_unavailable",
                request_id=exc.request_id,
            ) from exc
        video = self._video(response)
        routed = keep_gateway_route(video.id, upstream_id)
        return video if routed == video.id else replace(video, id=routed)

    def delete(self, upstream_id: str) -> None:
        try:
            self._send("DELETE", f"/videos/{upstream_id}")
        except UpstreamError as exc:
            if exc.status != 405:
                raise
            log.warning("upstream cannot delete videos (HTTP 405); nothing deleted there")

    def download(
        self, upstream_id: str, variant: str = "video", byte_range: str | None = None
    ) -> HttpContentStream:
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}")
        headers = {"Range": byte_range} if byte_range else {}
        response = self._send(
            "GET",
            f"/videos/{upstream_id}/content",
            params={"variant": variant},
            headers=headers,
            stream=True,
        )
        content_type = response.headers.get("content-type", "")
        if variant != "video" and content_type.startswith("video/"):
            response.close()  # a gateway that ignores `variant` sends the video instead
            raise UpstreamNotFound(
                f"upstream has no {variant} (answered {content_type or 'no type'})",
                status=404,
                code="variant_unavailable",
            )
        return HttpContentStream(response)

    # -- transport ----------------------------------------------------------------------------

    def _video(self, response: requests.Response) -> UpstreamVideo:
        try:
            body = response.json()
        except ValueError:
            raise UpstreamUnavailable(
                "upstream answered with a body that is not JSON",
                status=response.status_code,
                request_id=response.headers.get("x-request-id"),
            ) from None
        return video_from_json(body, response.headers.get("x-request-id"))
