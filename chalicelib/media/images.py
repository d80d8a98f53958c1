"""Image sniffing from header bytes: type by magic number and pixel size, no Pillow needed."""

from __future__ import annotations

import struct


class ImageFormatError(ValueError):
    pass


def sniff_type(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _png_size(data: bytes) -> tuple[int, int]:
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise ImageFormatError("PNG header is truncated")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# A JPEG's frame header (SOF) follows a few metadata segments (JFIF, Exif, ICC, XMP): one
# that is not among its first JPEG_MAX_MARKERS markers (fill bytes count) nor within its first
# JPEG_SOF_WITHIN_BYTES is refused, so a crafted file costs a bounded scan, not seconds of CPU.
JPEG_MAX_MARKERS = 1000
JPEG_SOF_WITHIN_BYTES = 4 * 1024 * 1024


def _jpeg_size(data: bytes) -> tuple[int, int]:
    pos = 2
    end = min(len(data), JPEG_SOF_WITHIN_BYTES)
    for _ in range(JPEG_MAX_MARKERS):
        if pos + 4 > end:
            break
        if data[pos] != 0xFF:
            raise ImageFormatError("JPEG marker expected")
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        is_frame_header = 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC)
        if is_frame_header:
            if pos + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        pos += 2 + length
    raise ImageFormatError("JPEG has no frame header near its start")


def _webp_size(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    raise ImageFormatError("WebP header is not recognised")


def pixel_size(data: bytes) -> tuple[str, int, int]:
    """Return (content type, width, height) or raise ImageFormatError."""
    kind = sniff_type(data)
    if kind == "image/png":
        return (kind, *_png_size(data))
    if kind == "image/jpeg":
        return (kind, *_jpeg_size(data))
    if kind == "image/webp":
        return (kind, *_webp_size(data))
    raise ImageFormatError("not a JPEG, PNG or WebP image")
