"""One origin: `/api/*` goes to the Chalice app through Chalice's own local gateway, every
other path is a static file from `frontend/`.

Only requests for the devserver's own names are answered (DNS-rebinding guard): a page on
attacker.example whose name was re-pointed at 127.0.0.1 would otherwise be same-origin with
the studio, read its API and start renders. Its own names are localhost, the `--host` value
and IP addresses (a name the attacker controls never is one), each with the devserver's port.
"""

from __future__ import annotations

import ipaddress
import json
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


LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def own_host_names(host: str, port: int) -> frozenset[str]:
    """The `Host` values naming this devserver by name: localhost, loopback and `host`."""
    names = {name.lower() for name in (*LOOPBACK_NAMES, host) if name}
    names = {f"[{n}]" if ":" in n and not n.startswith("[") else n for n in names}
    allowed = {f"{name}:{port}" for name in names}
    if port == 80:
        allowed |= names
    return frozenset(allowed)


def is_own_host(value: str | None, names: frozenset[str], port: int) -> bool:
    """Whether a `Host` header names this devserver: one of `names`, or an IP address with
    its port (rebinding needs a name; an address is what a LAN visitor of `--host 0.0.0.0`
    types)."""
    if not value:
        return False
    value = value.strip().lower()
    if value in names:
        return True
    address, _, given_port = value.rpartition(":")
    if given_port != str(port) and not (port == 80 and not given_port):
        return False
    try:
        ipaddress.ip_address(address.removeprefix("[").removesuffix("]"))
    except ValueError:
        return False
    return address.startswith("[") or ":" not in address


class StudioRequestHandler(ChaliceRequestHandler):
    frontend_dir: Path = Path("frontend")
    host_names: frozenset[str] = own_host_names("127.0.0.1", 8000)
    port: int = 8000

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
        if not is_own_host(self.headers.get("Host"), self.host_names, self.port):
            self._refuse_host()
            return
        path = urlsplit(self.path).path
        if path == "/api" or path.startswith("/api/"):
            self._generic_handle()
        elif self.command in ("GET", "HEAD"):
            self._serve_static(path)
        else:
            self._send_http_response(HTTPStatus.METHOD_NOT_ALLOWED, {}, b"")

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _route

    def _refuse_host(self) -> None:
        given = self.headers.get("Host")
        message = (
            "This server answers only its own names (localhost, its address, --host)."
            if given
            else "A Host header is required."
        )
        code = "misdirected_request" if given else "invalid_request"
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        status = HTTPStatus.MISDIRECTED_REQUEST if given else HTTPStatus.BAD_REQUEST
        self.close_connection = True
        self._send_http_response(status, {"Content-Type": "application/json"}, body)

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
