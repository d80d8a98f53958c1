"""What `make run` prints (issue 16): a clear line for a port in use instead of a traceback,
the banner naming the upstream and the sign-in mode, no traceback for a browser that closed
its connection, the refresher's summary only at DEBUG, and the embedded store's failed (and
retried) requests as one line each."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys

import pytest
import requests

from devserver.__main__ import OneLineStoreErrors
from devserver.stack import REPO_ROOT
from tests.support.devserver import DevServer
from tests.support.wait import wait_until

pytestmark = pytest.mark.e2e


def test_a_port_in_use_is_one_clear_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = DevServer(tmp_path).env
        done = subprocess.run(
            [sys.executable, "-m", "devserver", "--port", str(port), "--data-dir", str(tmp_path)],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1, done
    assert f"port {port} is taken; try PORT=" in done.stderr
    assert "make run" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_banner_says_sign_in_mode_and_closed_connections_leave_no_traceback(tmp_path):
    stack = DevServer(tmp_path, {"LOG_LEVEL": "INFO"}).start()
    try:
        job = requests.post(
            f"{stack.url}/api/videos", json={"prompt": "A closed tab", "seconds": 4}, timeout=30
        ).json()["job"]

        def completed() -> dict | None:
            fresh = requests.get(f"{stack.url}/api/videos/{job['id']}", timeout=10).json()["job"]
            return fresh if fresh["status"] == "completed" else None

        done = wait_until(completed, timeout=60, step=0.2, what="job completed")
        # A browser that goes away mid-answer: a video request and a page script, each
        # closed with a reset right after it was sent.
        for path in (done["media_url"], "/js/list.js", "/api/videos"):
            with socket.create_connection(("127.0.0.1", stack.port)) as sock:
                sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
        assert requests.get(f"{stack.url}/api/health", timeout=5).ok
        for _ in range(3):  # a few refresher ticks (POLL_INTERVAL_SECONDS=1)
            requests.get(f"{stack.url}/api/health", timeout=5)
            wait_until(lambda: True, timeout=1)
    finally:
        output = stack.stop()
    assert f"running at {stack.url}/" in output
    assert "sign-in: none, every caller is the local user (loopback only)" in output
    assert "upstream: built-in simulator" in output
    assert "Traceback" not in output and "BrokenPipe" not in output, output
    assert "refresh finished" not in output  # the every-tick summary is DEBUG only


def test_the_stores_failed_request_is_one_line():
    record = logging.LogRecord(
        "werkzeug",
        logging.ERROR,
        __file__,
        1,
        "Error on request:\nTraceback (most recent call last):\n  File ...\nKeyError: 'x'",
        (),
        None,
    )
    assert OneLineStoreErrors().filter(record)
    assert record.levelname == "WARNING"
    assert record.getMessage() == "embedded store: a request failed (KeyError: 'x'); retried"
    other = logging.LogRecord("werkzeug", logging.ERROR, __file__, 1, "something else", (), None)
    assert OneLineStoreErrors().filter(other) and other.levelname == "ERROR"
