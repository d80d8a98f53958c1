"""What the API refuses and why, in the contract's words and without HTTP.

Domain and storage code raise these; `http.py` is the one place that turns them (and
upstream errors) into responses of the contract's shape `{"error": {"code", "message",
"field"?}}`, choosing the status from the class.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """A refusal the caller sees: `code` and `message` as the contract words them, `field`
    when one input is at fault, `retry_after` (seconds) when trying again later helps."""

    code = "error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.field = field
        self.retry_after = retry_after


class InvalidRequest(AppError):
    code = "invalid_request"


class Unauthorized(AppError):
    code = "unauthorized"


class NotFound(AppError):
    code = "not_found"


class Conflict(AppError):
    """The request is fine, but not in the resource's current state."""

    code = "conflict"


class Gone(AppError):
    code = "expired"


class PayloadTooLarge(AppError):
    code = "payload_too_large"


class UnsupportedMediaType(AppError):
    """A body this route does not read (a JSON route takes `application/json` only)."""

    code = "unsupported_media_type"


class RangeNotSatisfiable(AppError):
    code = "range_not_satisfiable"

    def __init__(self, message: str, *, total: int | None = None) -> None:
        super().__init__(message)
        self.total = total  # the file's size, when known


class LimitReached(AppError):
    """A spend guard refuses: too many videos in progress, or the day's budget."""

    code = "limit_reached"


class Unavailable(AppError):
    """The server cannot serve this now (no model offered yet, say)."""

    code = "unavailable"


def bad_request(field: str | None, message: str, code: str = "invalid_request") -> InvalidRequest:
    return InvalidRequest(message, code=code, field=field)


def not_found(what: str = "video") -> NotFound:
    return NotFound(f"No such {what}.")


def conflict(code: str, message: str) -> Conflict:
    return Conflict(message, code=code)


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["field"] = field
    return {"error": error}
