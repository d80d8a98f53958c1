"""Webhooks both ways: `signed_webhook` builds a Standard Webhooks delivery as the upstream
sends it to `/api/webhooks/videos`; `Receiver` is an endpoint on loopback that records what
the simulator sends (the `receiver` fixture of tests/simulator serves one)."""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.wait import wait_until


def signed_webhook(
    secret: str,
    upstream_id: str,
    event_type: str = "video.completed",
    *,
    msg_id: str | None = None,
    timestamp: int | None = None,
) -> tuple[dict[str, str], bytes]:
    from chalicelib import clock
    from chalicelib.webhooks.signature import sign

    msg_id = msg_id or "msg_" + uuid.uuid4().hex
    timestamp = int(clock.now()) if timestamp is None else timestamp
    body = json.dumps(
        {
            "id": "evt_" + uuid.uuid4().hex,
            "object": "event",
            "created_at": timestamp,
            "type": event_type,
            "data": {"id": upstream_id},
        }
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }
    return headers, body


class Receiver(ThreadingHTTPServer):
    """Records every POST; answers ``failures`` times with 500 before answering 200."""

    daemon_threads = True

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.calls: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks"

    def wait_for(self, count: int, timeout: float = 10) -> list[tuple[dict[str, str], bytes]]:
        """The calls so far, once there are at least `count`."""

        def enough() -> list[tuple[dict[str, str], bytes]] | None:
            with self.lock:
                return list(self.calls) if len(self.calls) >= count else None

        return wait_until(enough, timeout=timeout, what=f"{count} webhook calls")


class _ReceiverHandler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        with self.server.lock:
            self.server.calls.append(({k.lower(): v for k, v in self.headers.items()}, body))
            failing = self.server.failures > 0
            self.server.failures -= 1
        self.send_response(500 if failing else 200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass
