"""Cross-cutting HTTP behaviour: the one mapping of refusals (`errors.AppError`) and upstream
failures (`upstreams.base.UpstreamError`) to contract-shaped responses, Chalice's own errors in
that shape too, security headers, the body size limit.

Chalice turns any exception a view raises into a bare 500 before middleware sees it, so the
routes use this module's `Blueprint`, whose views answer those errors themselves.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from collections.abc import Callable
from typing import Any

import chalice
from chalice import Chalice, Response

from chalicelib import deadline
from chalicelib.config import get_settings
from chalicelib.errors import (
    AppError,
    Conflict,
    Gone,
    InvalidRequest,
    LimitReached,
    NotFound,
    PayloadTooLarge,
    RangeNotSatisfiable,
    Unauthorized,
    Unavailable,
    UnsupportedMediaType,
    error_body,
)
from chalicelib.upstreams.base import (
    UpstreamAuthError,
    UpstreamBadRequest,
    UpstreamError,
    UpstreamNotConfigured,
    UpstreamPaymentRequired,
    UpstreamRateLimited,
)

log = logging.getLogger(__name__)

JSON_TYPE = "application/json"
BINARY_TYPES = ("video/mp4", "image/webp", "image/jpeg", "image/png", "application/octet-stream")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}
STATUS_BY_ERROR: tuple[tuple[type[AppError], int], ...] = (
    (InvalidRequest, 400),
    (Unauthorized, 401),
    (NotFound, 404),
    (Conflict, 409),
    (Gone, 410),
    (PayloadTooLarge, 413),
    (UnsupportedMediaType, 415),
    (RangeNotSatisfiable, 416),
    (LimitReached, 429),
    (Unavailable, 503),
)
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


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    headers = {"Content-Type": "application/json", **(headers or {})}
    return Response(body=body, status_code=status, headers=headers)


def refusal(exc: AppError) -> Response:
    """The response for a refusal: its status comes from its class."""
    status = next((s for kind, s in STATUS_BY_ERROR if isinstance(exc, kind)), 400)
    headers: dict[str, str] = {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="sora-studio"'
    if isinstance(exc, RangeNotSatisfiable) and exc.total is not None:
        headers["Content-Range"] = f"bytes */{exc.total}"
    return _json(status, error_body(exc.code, exc.message, exc.field), headers)


# An upstream's field name is echoed (as `field`) only when it looks like one.
FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


def upstream_failure(exc: UpstreamError) -> Response:
    """The response for an upstream failure, the same wherever it happened (create, remix,
    the media proxy): a 429 stays a 429 with `Retry-After`, a refusal of the input a 400.
    What the upstream said is logged here, never answered: each kind of failure has our own
    message (an upstream's text may hold internals, or markup for a page that shows it)."""
    if isinstance(exc, UpstreamNotConfigured):  # raised by this server, in its own words
        return _json(503, error_body("upstream_not_configured", exc.message))
    log.warning("upstream failure answered (%s): %s", type(exc).__name__, exc)
    if isinstance(exc, UpstreamRateLimited):
        wait = max(1, math.ceil(exc.retry_after or 5))
        message = f"The video service is busy. Try again in {wait} s."
        return _json(429, error_body("rate_limited", message), {"Retry-After": str(wait)})
    if isinstance(exc, UpstreamBadRequest):
        if exc.code == "moderation_blocked":
            message = "The video service refused this prompt or image under its content policy."
            return _json(400, error_body("moderation_blocked", message, exc.param or "prompt"))
        if exc.code == "remix_unsupported":
            message = "This model cannot remix a video."
            return _json(400, error_body("remix_unsupported", message))
        field = exc.param if exc.param and FIELD_NAME.fullmatch(exc.param) else None
        message = (
            f"The video service refused the value of '{field}'. Change it and try again."
            if field
            else "The video service refused this request's input. Change it and try again."
        )
        return _json(400, error_body("upstream_rejected", message, field))
    if isinstance(exc, UpstreamAuthError):
        message = "The video service rejected this server's API key: check the key in the settings."
        return _json(502, error_body("upstream_auth_failed", message))
    if isinstance(exc, UpstreamPaymentRequired):
        message = (
            "The video service account has no credit left for this video. Add credit there "
            "(for OpenRouter: openrouter.ai/credits), then try again."
        )
        return _json(402, error_body("upstream_out_of_credits", message))
    status = f" (HTTP {exc.status})" if exc.status else ""
    message = f"The video service failed to answer this request{status}. Try again in a minute."
    return _json(502, error_body("upstream_error", message))


def error_response(exc: AppError | UpstreamError) -> Response:
    return upstream_failure(exc) if isinstance(exc, UpstreamError) else refusal(exc)


def require_json(request: Any) -> None:
    """A JSON route reads `application/json` only (parameters such as charset aside); any
    other type, or none with a body, is a 415. Chalice's own check is looser (it takes
    `text/plain;application/json` and `*/*`), and a page on any origin may POST those, or a
    body without a type, with no CORS preflight: on `make run` with a real key, that would
    start paid renders."""
    declared = (request.headers or {}).get("content-type")
    if declared is None and not request.raw_body:
        return  # nothing to read (a cancel)
    if declared is None or declared.split(";", 1)[0].strip().lower() != JSON_TYPE:
        raise UnsupportedMediaType("This route takes a JSON body: Content-Type: application/json.")


def _answering_errors(
    view: Callable[..., Any], request_check: Callable[[], None] | None = None
) -> Callable[..., Any]:
    @functools.wraps(view)
    def answered(*args: Any, **kwargs: Any) -> Any:
        try:
            if request_check is not None:
                request_check()
            with deadline.request():
                return view(*args, **kwargs)
        except (AppError, UpstreamError) as exc:
            return error_response(exc)

    return answered


class Blueprint(chalice.Blueprint):
    """A Chalice Blueprint whose routes answer refusals and upstream failures in the
    contract's shape (see the module docstring). `json_body=True` makes a route take
    `application/json` only (`require_json`)."""

    def route(self, path: str, *, json_body: bool = False, **kwargs: Any) -> Callable[..., Any]:
        if json_body:
            kwargs["content_types"] = [JSON_TYPE]
        register = super().route(path, **kwargs)
        check = (lambda: require_json(self.current_request)) if json_body else None

        def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
            register(_answering_errors(view, check))
            return view

        return decorator


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
    # ASCII digits only: `str.isdigit` also takes '²', which `int` refuses.
    digits = declared.isascii() and declared.isdigit() and len(declared) <= 18
    size = int(declared) if digits else len(request.raw_body or b"")
    if size > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit // 1024} KiB.")


def install(app: Chalice) -> None:
    for media_type in BINARY_TYPES:
        if media_type not in app.api.binary_types:
            app.api.binary_types.append(media_type)

    @app.middleware("http")
    def contract_errors_and_headers(event: Any, get_response: Any) -> Response:
        try:
            _check_body_size(event)
        except AppError as exc:
            response = refusal(exc)
        else:
            response = get_response(event)
        response = _contract_shape(response)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response
