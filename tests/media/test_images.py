"""`pixel_size` reads a bounded prefix of a JPEG: a crafted 8 MB file (fill bytes, thousands of
tiny segments) is refused after a bounded scan instead of costing seconds of CPU."""

from __future__ import annotations

import struct
import time

import pytest

from chalicelib.media.images import ImageFormatError, pixel_size
from tests.support.images import convert_image, solid_png

EIGHT_MB = 8 * 1024 * 1024
SOI = b"\xff\xd8"


def sof(width: int, height: int) -> bytes:
    return b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"


def segment(marker: int, payload: bytes = b"") -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def padded(prefix: bytes, filler: bytes, tail: bytes = b"") -> bytes:
    count = (EIGHT_MB - len(prefix) - len(tail)) // len(filler)
    return prefix + filler * count + tail


CRAFTED = {
    "fill bytes": padded(SOI + b"\xff", b"\xff", sof(1280, 720)),
    "tiny APPn segments": padded(SOI, segment(0xE1), sof(1280, 720)),
    "tiny COM segments": padded(SOI, segment(0xFE, b"x"), sof(1280, 720)),
    "standalone markers": padded(SOI, b"\xff\x01", sof(1280, 720)),
    "restart markers": padded(SOI, b"\xff\xd0", sof(1280, 720)),
}


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_a_crafted_jpeg_is_refused_after_a_bounded_scan(name):
    data = CRAFTED[name]
    assert len(data) > 8_000_000
    started = time.process_time()
    with pytest.raises(ImageFormatError, match="frame header"):
        pixel_size(data)
    assert time.process_time() - started < 0.05, "the scan is not bounded"


def test_real_jpegs_still_read():
    jpeg = convert_image(solid_png(1280, 720), "jpg")
    assert pixel_size(jpeg) == ("image/jpeg", 1280, 720)


def test_a_jpeg_with_metadata_before_its_frame_header_still_reads():
    exif = segment(0xE1, b"Exif\x00\x00" + b"\x00" * 60_000)
    icc = b"".join(segment(0xE2, b"ICC_PROFILE\x00" + b"\x00" * 65_000) for _ in range(8))
    data = SOI + segment(0xE0, b"JFIF\x00\x01\x01") + exif + icc + b"\xff\xff" + sof(720, 1280)
    assert pixel_size(data) == ("image/jpeg", 720, 1280)
