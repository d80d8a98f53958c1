"""Identify PNG, JPEG and WebP images and read their pixel size from the header bytes."""

from __future__ import annotations

import struct
from dataclasses import dataclass

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# JPEG start-of-frame markers carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) do not.
_JPEG_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers that stand alone, without a length field.
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD9)})


class ImageError(ValueError):
    """The bytes are not a PNG, JPEG or WebP image whose size can be read."""


@dataclass(frozen=True)
class ImageInfo:
    mime: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        return {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}[self.mime]


def identify(data: bytes) -> ImageInfo:
    """Return the MIME type and pixel size of ``data`` or raise :class:`ImageError`."""
    if data.startswith(PNG_SIGNATURE):
        return _png(data)
    if data.startswith(b"\xff\xd8"):
        return _jpeg(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp(data)
    raise ImageError("not a PNG, JPEG or WebP image")


def _png(data: bytes) -> ImageInfo:
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise ImageError("truncated PNG header")
    width, height = struct.unpack(">II", data[16:24])
    return _checked("image/png", width, height)


def _jpeg(data: bytes) -> ImageInfo:
    pos = 2
    size = len(data)
    while pos < size:
        if data[pos] != 0xFF:
            raise ImageError("corrupt JPEG marker stream")
        while pos < size and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= size:
            break
        marker = data[pos]
        pos += 1
        if marker in _JPEG_STANDALONE:
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan before any frame header
            break
        if pos + 2 > size:
            break
        (length,) = struct.unpack(">H", data[pos : pos + 2])
        if length < 2:
            raise ImageError("corrupt JPEG segment length")
        if marker in _JPEG_SOF_MARKERS:
            if pos + 7 > size:
                break
            height, width = struct.unpack(">HH", data[pos + 3 : pos + 7])
            return _checked("image/jpeg", width, height)
        pos += length
    raise ImageError("JPEG has no frame header")


def _webp(data: bytes) -> ImageInfo:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30:
        if data[23:26] != b"\x9d\x01\x2a":
            raise ImageError("corrupt lossy WebP frame")
        width, height = struct.unpack("<HH", data[26:30])
        return _checked("image/webp", width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L" and len(data) >= 25:
        if data[20] != 0x2F:
            raise ImageError("corrupt lossless WebP signature")
        (bits,) = struct.unpack("<I", data[21:25])
        return _checked("image/webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return _checked("image/webp", width, height)
    raise ImageError("unsupported or truncated WebP")


def _checked(mime: str, width: int, height: int) -> ImageInfo:
    if width <= 0 or height <= 0:
        raise ImageError("image has no pixels")
    return ImageInfo(mime, width, height)
