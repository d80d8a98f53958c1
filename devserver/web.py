"""One origin: `/api/*` goes to the Chalice app through Chalice's own local gateway, every
other path is a static file from `frontend/`."""

from __future__ import annotations

import mimetypes
from http import HTTPStatus
from pathlib import Path
from urllib.parse import unquote, urlsplit

from chalice.local import ChaliceRequestHandler

STATIC_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".webmanifest": "application/manifest+json",
}


class StudioRequestHandler(ChaliceRequestHandler):
    frontend_dir: Path = Path("frontend")

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep `make run` output readable; the app logs what matters

    def handle(self) -> None:
        """A browser that closed the connection (a tab closed, a video seeked away) is no
        error: nothing is left to answer, so no traceback."""
        try:
            super().handle()
        except ConnectionError:  # BrokenPipeError, ConnectionResetError, ...
            self.close_connection = True

    def _route(self) -> None:
        path = urlsplit(self.path).path
        if path == "/api" or path.startswith("/api/"):
            self._generic_handle()
        elif self.command in ("GET", "HEAD"):
            self._serve_static(path)
        else:
            self._send_http_response(HTTPStatus.METHOD_NOT_ALLOWED, {}, b"")

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _route

    def _serve_static(self, url_path: str) -> None:
        relative = unquote(url_path).lstrip("/") or "index.html"
        root = self.frontend_dir.resolve()
        target = (root / relative).resolve()
        if (root not in target.parents and target != root) or not target.is_file():
            body = b"Not found"
            self._send_http_response(404, {"Content-Type": "text/plain"}, body)
            return
        content_type = STATIC_TYPES.get(target.suffix) or (
            mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        )
        headers = {
            "Content-Type": content_type,
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
        }
        body = target.read_bytes()
        if self.command == "HEAD":
            headers["Content-Length"] = str(len(body))
            self._send_http_response_no_body(200, headers)
        else:
            self._send_http_response(200, headers, body)
