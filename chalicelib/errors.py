"""Errors in the contract's shape: `{"error": {"code", "message", "field"?}}`.

`ApiError` derives from Chalice's `ChaliceUnhandledError`, the one exception Chalice lets
through to middleware, where `http_middleware` turns it into the response.
"""

from __future__ import annotations

from typing import Any

from chalice import ChaliceUnhandledError


class ApiError(ChaliceUnhandledError):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            error["field"] = self.field
        return {"error": error}


def bad_request(field: str | None, message: str, code: str = "invalid_request") -> ApiError:
    return ApiError(400, code, message, field=field)


def not_found(what: str = "video") -> ApiError:
    return ApiError(404, "not_found", f"No such {what}.")


def conflict(code: str, message: str) -> ApiError:
    return ApiError(409, code, message)


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}
