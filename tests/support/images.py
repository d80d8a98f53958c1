"""Images for tests: `solid_png` (a valid PNG of one colour, no imaging library),
`data_url` (as the frontend sends an `input_reference`), `convert_image` (JPEG or WebP via
ffmpeg) and `first_frame_rgb` (frame 0 of a video as raw RGB)."""

from __future__ import annotations

import base64
import struct
import subprocess
import zlib

from simulator.render import ffmpeg_exe


def data_url(data: bytes, kind: str = "image/png") -> str:
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def solid_png(width: int, height: int, rgb: tuple[int, int, int] = (128, 32, 32)) -> bytes:
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
