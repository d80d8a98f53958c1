"""`POST /api/webhooks/videos`: the only unauthenticated write; it verifies signatures."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.webhooks import service as webhook_service

webhooks = Blueprint(__name__)


@webhooks.route(
    "/webhooks/videos",
    methods=["POST"],
    content_types=["application/json", "application/octet-stream", "text/plain"],
)
def video_webhook() -> dict[str, str]:
    request = webhooks.current_request
    return webhook_service.handle(dict(request.headers), request.raw_body or b"")
