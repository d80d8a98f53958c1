"""Cross-cutting HTTP behaviour: contract-shaped errors, security headers, body size limit."""

from __future__ import annotations

import logging
from typing import Any

from chalice import Chalice, Response

from chalicelib.config import get_settings
from chalicelib.errors import ApiError, error_body

log = logging.getLogger(__name__)

BINARY_TYPES = ("video/mp4", "image/webp", "image/jpeg", "image/png", "application/octet-stream")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}
CHALICE_CODES = {
    400: "invalid_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal_error",
}


def _contract_shape(response: Response) -> Response:
    """Rewrite Chalice's own `{"Code", "Message"}` errors into the contract's shape."""
    body: Any = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        code = CHALICE_CODES.get(response.status_code, "error")
        message = str(body.get("Message") or "The request failed.")
        if response.status_code >= 500:
            message = "An internal error occurred."
        response.body = error_body(code, message)
        response.headers["Content-Type"] = "application/json"
    return response


def _check_body_size(request: Any) -> None:
    limit = get_settings().max_body_bytes
    declared = (request.headers or {}).get("content-length", "")
    size = int(declared) if declared.isdigit() else len(request.raw_body or b"")
    if size > limit:
        raise ApiError(
            413, "payload_too_large", f"The request body is larger than {limit // 1024} KiB."
        )


def install(app: Chalice) -> None:
    for media_type in BINARY_TYPES:
        if media_type not in app.api.binary_types:
            app.api.binary_types.append(media_type)

    @app.middleware("http")
    def contract_errors_and_headers(event: Any, get_response: Any) -> Response:
        try:
            _check_body_size(event)
            response = get_response(event)
        except ApiError as exc:
            response = Response(
                body=exc.body(),
                status_code=exc.status,
                headers={"Content-Type": "application/json", **exc.headers},
            )
        response = _contract_shape(response)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response
