"""Helpers for the simulator tests: a movable clock, a bound HTTP client, image builders."""

from __future__ import annotations

import struct
import subprocess
import threading
import time
import zlib
from typing import Any

import requests

from simulator.render import ffmpeg_exe

API_KEY = "sk-sim-test"
PROMPT = "A cozy campfire at night in the forest"


class FakeClock:
    """A thread-safe clock that only moves when told to."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


class Client(requests.Session):
    """A session bound to one simulator: ``api.get("/videos")`` hits ``{sim.url}/videos``."""

    def __init__(self, base_url: str, key: str | None = API_KEY) -> None:
        super().__init__()
        self.base_url = base_url
        if key is not None:
            self.headers["Authorization"] = f"Bearer {key}"

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", 10)
        return super().request(method, self.base_url + url, *args, **kwargs)

    def create(self, **body: Any) -> dict[str, Any]:
        body.setdefault("prompt", PROMPT)
        response = self.post("/videos", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def wait_for(self, video_id: str, *statuses: str, timeout: float = 15) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            video = self.get(f"/videos/{video_id}").json()
            if video["status"] in statuses:
                return video
            assert time.monotonic() < deadline, f"still {video['status']}: {video}"
            time.sleep(0.02)

    def completed(self, **body: Any) -> dict[str, Any]:
        return self.wait_for(self.create(**body)["id"], "completed", "failed")


def solid_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid RGB PNG of one colour, written without any imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def convert_image(png: bytes, extension: str, *extra: str) -> bytes:
    """Re-encode a PNG as JPEG or WebP with ffmpeg (stdin to stdout)."""
    codec = {"jpg": ["-c:v", "mjpeg", "-f", "mjpeg"], "webp": ["-c:v", "libwebp", "-f", "webp"]}
    result = subprocess.run(
        [
            ffmpeg_exe(),
            "-loglevel",
            "error",
            "-f",
            "png_pipe",
            "-i",
            "-",
            *codec[extension],
            *extra,
            "-",
        ],
        input=png,
        capture_output=True,
        check=True,
        timeout=30,
    )
    return result.stdout


def first_frame_rgb(path: str, width: int, height: int) -> bytes:
    """Decode frame 0 of a video as raw rgb24 bytes."""
    result = subprocess.run(
        [
            ffmpeg_exe(),
            "-loglevel",
            "error",
            "-i",
            path,
            "-frames:v",
            "1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ],
        capture_output=True,
        check=True,
        timeout=30,
    )
    assert len(result.stdout) == width * height * 3
    return result.stdout
