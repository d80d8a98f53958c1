"""`POST /api/webhooks/{videos,openrouter,fal}`: the only unauthenticated writes; they verify
signatures before anything else."""

from __future__ import annotations

from chalicelib.http import Blueprint
from chalicelib.webhooks import service as webhook_service

webhooks = Blueprint(__name__)
BODY_TYPES = ["application/json", "application/octet-stream", "text/plain"]


@webhooks.route("/webhooks/videos", methods=["POST"], content_types=BODY_TYPES)
def video_webhook() -> dict[str, str]:
    request = webhooks.current_request
    return webhook_service.handle(dict(request.headers), request.raw_body or b"", "videos")


@webhooks.route("/webhooks/openrouter", methods=["POST"], content_types=BODY_TYPES)
def openrouter_webhook() -> dict[str, str]:
    request = webhooks.current_request
    return webhook_service.handle(dict(request.headers), request.raw_body or b"", "openrouter")


@webhooks.route("/webhooks/fal", methods=["POST"], content_types=BODY_TYPES)
def fal_webhook() -> dict[str, str]:
    request = webhooks.current_request
    query = dict(request.query_params or {})
    return webhook_service.handle(dict(request.headers), request.raw_body or b"", "fal", query)
