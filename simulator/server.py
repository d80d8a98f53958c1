"""HTTP transport: routing, auth, request ids, latency and the ``SimulatorServer`` lifecycle."""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import re
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit

from .api import FileResponse, JsonResponse, Request, Response, VideosApi
from .errors import ApiError
from .fal import FalApi
from .openrouter import OpenRouterApi
from .render import Renderer
from .store import Job, State, VideoStore
from .veo import VeoApi
from .vertex import VertexApi
from .webhooks import FalWebhookSender, OpenRouterWebhookSender, WebhookSender, decode_secret

log = logging.getLogger("simulator.server")

MAX_BODY_BYTES = 64 * 1024 * 1024
CHUNK_BYTES = 64 * 1024
WATCH_INTERVAL_SECONDS = 0.2
STAT_KEYS = ("create", "retrieve", "content", "delete", "remix", "list", "extend")
_ID = r"(?P<video_id>[^/]+)"
ROUTES: tuple[tuple[re.Pattern[str], dict[str, str]], ...] = (
    (re.compile(r"/v1/videos"), {"GET": "list", "POST": "create"}),
    (re.compile(r"/v1/videos/extensions"), {"POST": "extend"}),  # before the {id} route
    (re.compile(rf"/v1/videos/{_ID}"), {"GET": "retrieve", "DELETE": "delete"}),
    (re.compile(rf"/v1/videos/{_ID}/remix"), {"POST": "remix"}),
    (re.compile(rf"/v1/videos/{_ID}/content"), {"GET": "content"}),
)


class _BodyError(Exception):
    def __init__(self, error: ApiError) -> None:
        super().__init__(error.message)
        self.error = error


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], simulator: SimulatorServer) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.simulator = simulator
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Cut idle keep-alive connections so a stopped simulator really stops answering."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer
    protocol_version = "HTTP/1.1"
    server_version = "sora-studio-simulator/1"
    timeout = 120  # seconds an idle keep-alive connection may stay open

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self.send_response(405)
        self.send_header("allow", "GET, POST, DELETE")
        self.send_header("x-request-id", _request_id())
        self.send_header("content-length", "0")
        self.end_headers()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors raised by the stdlib itself (bad request line, unknown method) as envelopes."""
        self.close_connection = True
        error = ApiError(
            code,
            message or HTTPStatus(code).phrase,
            code="bad_request" if code < 500 else "server_error",
            error_type="invalid_request_error" if code < 500 else "server_error",
        )
        self._send_json(_request_id(), _error_response(error))

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)

    def _dispatch(self) -> None:
        request_id = _request_id()
        simulator = self.server.simulator
        try:
            body = self._read_body()
        except _BodyError as exc:
            self.close_connection = True
            self._send_json(request_id, _error_response(exc.error))
            return
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        simulator.record(self.command, path)
        if simulator.latency_ms:
            time.sleep(simulator.latency_ms / 1000)
        request = Request(
            method=self.command,
            path=path,
            query=parse_qs(url.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        try:
            for protocol in (simulator.veo, simulator.openrouter, simulator.vertex, simulator.fal):
                if protocol is not None and protocol.owns(path):
                    # Another vendor's routes: their own auth and error envelope.
                    self._respond(request_id, protocol.handle(request))
                    return
            endpoint, params = _route(self.command, path)
            simulator.count(endpoint)
            simulator.authenticate(self.headers.get("authorization"))
            response: Response = getattr(simulator.api, endpoint)(replace(request, params=params))
        except ApiError as exc:
            response = _error_response(exc)
        except Exception:
            log.exception("unhandled error serving %s %s", self.command, self.path)
            response = _error_response(
                ApiError(
                    500,
                    "The server had an error while processing your request.",
                    code="internal_error",
                    error_type="server_error",
                )
            )
        self._respond(request_id, response)

    def _respond(self, request_id: str, response: Response) -> None:
        if isinstance(response, FileResponse):
            self._send_file(request_id, response)
        else:
            self._send_json(request_id, response)

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            return self._read_chunked()
        length_text = self.headers.get("content-length") or "0"
        if not length_text.isdigit():
            raise _BodyError(ApiError(400, "Invalid Content-Length header.", code="invalid_body"))
        length = int(length_text)
        if length > MAX_BODY_BYTES:
            raise _BodyError(_too_large())
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError as exc:
                raise _BodyError(
                    ApiError(400, "Malformed chunked request body.", code="invalid_body")
                ) from exc
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # skip trailers
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                raise _BodyError(_too_large())
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)  # CRLF after each chunk

    def _start(self, request_id: str, status: int, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        self.send_header("x-request-id", request_id)
        for name, value in headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("connection", "close")
        self.end_headers()

    def _send_json(self, request_id: str, response: JsonResponse) -> None:
        payload = json.dumps(response.body, separators=(",", ":")).encode()
        headers = {
            "content-type": "application/json",
            "content-length": str(len(payload)),
            **response.headers,
        }
        try:
            self._start(request_id, response.status, headers)
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send_file(self, request_id: str, response: FileResponse) -> None:
        headers = {**response.headers, "content-length": str(response.length)}
        try:
            with response.path.open("rb") as stream:
                stream.seek(response.offset)
                self._start(request_id, response.status, headers)
                remaining = response.length
                while remaining > 0:
                    chunk = stream.read(min(CHUNK_BYTES, remaining))
                    if not chunk:  # file shrank underneath us: the framing is now broken
                        self.close_connection = True
                        return
                    self.wfile.write(chunk)
                    remaining -= len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def _route(method: str, path: str) -> tuple[str, dict[str, str]]:
    for pattern, methods in ROUTES:
        match = pattern.fullmatch(path)
        if match is None:
            continue
        if method not in methods:
            raise ApiError(
                405,
                f"Method {method} is not allowed on {path}.",
                code="method_not_allowed",
                headers={"allow": ", ".join(methods)},
            )
        return methods[method], {k: unquote(v) for k, v in match.groupdict().items()}
    raise ApiError(404, f"Unknown route: {method} {path}.", code="unknown_url")


def _error_response(error: ApiError) -> JsonResponse:
    return JsonResponse(error.status, error.envelope(), error.headers)


def _too_large() -> ApiError:
    return ApiError(
        413,
        f"Request body too large; the limit is {MAX_BODY_BYTES} bytes.",
        code="request_too_large",
    )


def _request_id() -> str:
    return "req_" + secrets.token_hex(16)


def _mask(key: str) -> str:
    return f"{key[:3]}***{key[-4:]}" if len(key) > 10 else "***"


class SimulatorServer:
    """An OpenAI Videos API (``/v1/videos``) served on a real socket, in a daemon thread,
    with the Gemini API's Veo routes (``/v1beta``), OpenRouter's video routes (``/api/v1``,
    see :mod:`simulator.openrouter`), Veo on Vertex AI (``/v1/projects/...``, its token
    endpoint and Cloud Storage route, see :mod:`simulator.vertex`) and fal.ai's queue
    (``/fal``, see :mod:`simulator.fal`) beside it.

    ``clock`` drives job state (inject a fake one in tests); media is rendered with ffmpeg
    into ``cache_dir`` (a fresh temporary directory, removed on :meth:`stop`, when None).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        speed: float = 1.0,
        api_key: str | None = None,
        expiry_seconds: int = 3600,
        latency_ms: int = 0,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        openrouter_webhook_url: str | None = None,
        openrouter_webhook_secret: str | None = None,
        cache_dir: str | Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        if expiry_seconds < 0 or latency_ms < 0:
            raise ValueError("expiry_seconds and latency_ms must not be negative")
        if webhook_url and not webhook_secret:
            raise ValueError("webhook_url needs a webhook_secret (whsec_...)")
        if webhook_url and webhook_secret:
            decode_secret(webhook_secret)
        self.host = host
        self.port = port
        self.speed = speed
        self.api_key = api_key
        self.expiry_seconds = expiry_seconds
        self.latency_ms = latency_ms
        self.webhook_url = webhook_url or None
        self.webhook_secret = webhook_secret
        self.openrouter_webhook_url = openrouter_webhook_url or None
        self.openrouter_webhook_secret = openrouter_webhook_secret or None
        self.clock = clock
        self._cache_dir_arg = Path(cache_dir) if cache_dir else None
        self._lock = threading.Lock()
        self._stats = dict.fromkeys(STAT_KEYS, 0)
        self._requests: list[tuple[str, str]] = []
        self._httpd: _HttpServer | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self.webhooks: WebhookSender | None = None
        self.cache_dir: Path | None = None
        self.renderer: Renderer | None = None
        self.store: VideoStore | None = None
        self.api: VideosApi | None = None
        self.veo: VeoApi | None = None
        self.vertex: VertexApi | None = None
        self.openrouter: OpenRouterApi | None = None
        self.openrouter_webhooks: OpenRouterWebhookSender | None = None
        self.fal: FalApi | None = None
        self.fal_webhooks: FalWebhookSender | None = None

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> Self:
        if self._httpd is not None or self._stopping.is_set():
            raise RuntimeError("a SimulatorServer can be started once")
        self.cache_dir = self._cache_dir_arg or Path(tempfile.mkdtemp(prefix="sora-simulator-"))
        self.renderer = Renderer(self.cache_dir)
        if self.webhook_url and self.webhook_secret:
            self.webhooks = WebhookSender(self.webhook_url, self.webhook_secret, clock=self.clock)
        # OpenRouter jobs may name their own callback_url, so its sender always runs.
        self.openrouter_webhooks = OpenRouterWebhookSender(
            self.openrouter_webhook_secret, clock=self.clock
        )
        self.fal_webhooks = FalWebhookSender(clock=self.clock)  # fal_webhook is per request
        self.store = VideoStore(
            clock=self.clock,
            speed=self.speed,
            expiry_seconds=self.expiry_seconds,
            on_terminal=self._on_terminal,
        )
        self.api = VideosApi(self.store, self.renderer)
        self.veo = VeoApi(self.api, self.store, api_key=self.api_key, clock=self.clock)
        self.vertex = VertexApi(self.api, self.store, api_key=self.api_key, clock=self.clock)
        self.openrouter = OpenRouterApi(
            self.api,
            self.store,
            api_key=self.api_key,
            origin=lambda: self.url.removesuffix("/v1"),
            webhooks=self.openrouter_webhooks,
            default_callback_url=self.openrouter_webhook_url,
        )
        self.fal = FalApi(
            self.api,
            self.store,
            api_key=self.api_key,
            origin=lambda: self.url.removesuffix("/v1"),
            webhooks=self.fal_webhooks,
        )
        self._httpd = httpd = _HttpServer((self.host, self.port), self)
        self.port = httpd.server_address[1]
        self._spawn(lambda: httpd.serve_forever(poll_interval=0.05), "simulator-http")
        self._spawn(self._watch, "simulator-watcher")
        log.info("simulator serving %s", self.url)
        return self

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd.close_connections()
        for thread in self._threads:
            thread.join(timeout=5)
        for sender in (self.webhooks, self.openrouter_webhooks, self.fal_webhooks):
            if sender is not None:
                sender.close()
        if self.renderer is not None:
            self.renderer.close()
        if self._cache_dir_arg is None and self.cache_dir is not None:
            shutil.rmtree(self.cache_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- introspection --------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Base URL a client uses, e.g. ``http://127.0.0.1:8100/v1``."""
        if self._httpd is None:
            raise RuntimeError("the simulator is not started")
        host = self.host
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/v1"

    @property
    def vertex_url(self) -> str:
        """Vertex AI's (and Cloud Storage's) base URL on this simulator: its root."""
        return self.url.removesuffix("/v1")

    @property
    def vertex_token_url(self) -> str:
        """The OAuth token endpoint a service-account assertion is posted to."""
        return self.vertex_url + "/oauth2/token"

    @property
    def openrouter_url(self) -> str:
        """OpenRouter's base URL on this simulator, e.g. ``http://127.0.0.1:8100/api/v1``."""
        return self.url.removesuffix("/v1") + "/api/v1"

    @property
    def fal_url(self) -> str:
        """fal.ai's queue base on this simulator, e.g. ``http://127.0.0.1:8100/fal``."""
        return self.url.removesuffix("/v1") + "/fal"

    @property
    def fal_jwks_url(self) -> str:
        """The JWKS of the simulator's TEST fal webhook key."""
        return self.fal_url + "/.well-known/jwks.json"

    @property
    def stats(self) -> dict[str, int]:
        """Requests per endpoint (counted once routed, whatever the outcome)."""
        with self._lock:
            return dict(self._stats)

    @property
    def requests(self) -> list[tuple[str, str]]:
        """Every ``(method, path)`` received, query string excluded, oldest first."""
        with self._lock:
            return list(self._requests)

    # --- used by the request handler ------------------------------------------------------
    def record(self, method: str, path: str) -> None:
        with self._lock:
            self._requests.append((method, path))

    def count(self, endpoint: str) -> None:
        with self._lock:
            self._stats[endpoint] += 1

    def authenticate(self, header: str | None) -> None:
        scheme, _, token = (header or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                code="invalid_api_key",
            )
        if self.api_key is not None and not hmac.compare_digest(
            token.encode(), self.api_key.encode()
        ):
            raise ApiError(
                401, f"Incorrect API key provided: {_mask(token)}.", code="invalid_api_key"
            )

    # --- internals ------------------------------------------------------------------------
    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _watch(self) -> None:
        assert self.store is not None
        while not self._stopping.wait(WATCH_INTERVAL_SECONDS):
            try:
                self.store.poll()
            except Exception:
                log.exception("webhook watcher failed")

    def _on_terminal(self, job: Job, state: State) -> None:
        if self.openrouter is not None and self.openrouter.owns_job(job):
            self.openrouter.on_terminal(job, state)
        elif self.fal is not None and self.fal.owns_job(job):
            self.fal.on_terminal(job, state)
        elif self.webhooks is not None:
            self.webhooks.send(f"video.{state.status}", job.id)
