"""Pure functions: image headers, byte ranges, multipart parsing, filter escaping, layout."""

from __future__ import annotations

import struct

import pytest
import requests

from simulator.images import ImageError, identify
from simulator.multipart import MultipartError, parse
from simulator.ranges import RangeNotSatisfiable, byte_range
from simulator.render import escape_filter_value, fit, layout_text
from tests.support.images import convert_image, solid_png


class TestImages:
    def test_png(self) -> None:
        info = identify(solid_png(1280, 720, (1, 2, 3)))
        assert (info.mime, info.width, info.height, info.extension) == (
            "image/png",
            1280,
            720,
            "png",
        )

    def test_jpeg_from_ffmpeg(self) -> None:
        info = identify(convert_image(solid_png(720, 1280, (9, 9, 9)), "jpg"))
        assert (info.mime, info.width, info.height) == ("image/jpeg", 720, 1280)

    @pytest.mark.parametrize("lossless", [False, True])
    def test_webp_from_ffmpeg(self, lossless: bool) -> None:
        extra = ("-lossless", "1") if lossless else ()
        data = convert_image(solid_png(896, 512, (0, 0, 0)), "webp", *extra)
        assert data[12:16] == (b"VP8L" if lossless else b"VP8 ")
        info = identify(data)
        assert (info.mime, info.width, info.height) == ("image/webp", 896, 512)

    def test_extended_webp_header(self) -> None:
        vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x10\0\0\0" + (1279).to_bytes(3, "little")
        data = b"RIFF" + struct.pack("<I", 30) + b"WEBP" + vp8x + (719).to_bytes(3, "little")
        info = identify(data)
        assert (info.width, info.height) == (1280, 720)

    def test_jpeg_skips_segments_before_the_frame_header(self) -> None:
        app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\0" + b"\0" * 9
        dht = b"\xff\xc4" + struct.pack(">H", 4) + b"\0\0"  # C4 is not a frame header
        sof2 = b"\xff\xc2" + struct.pack(">HBHH", 11, 8, 480, 640) + b"\x03\x01\x22\x00"
        info = identify(b"\xff\xd8" + app0 + dht + sof2)
        assert (info.mime, info.width, info.height) == ("image/jpeg", 640, 480)

    @pytest.mark.parametrize(
        "data",
        [
            b"",
            b"GIF89a....",
            b"\x89PNG\r\n\x1a\n\0\0",
            b"\xff\xd8\xff\xd9",
            b"RIFF\0\0\0\0WEBPVP8 ",
            b"\x89PNG\r\n\x1a\n" + b"\0\0\0\x0dIHDR" + b"\0" * 8,  # zero pixels
        ],
    )
    def test_rejects_what_it_cannot_read(self, data: bytes) -> None:
        with pytest.raises(ImageError):
            identify(data)


class TestRanges:
    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            (None, None),
            ("", None),
            ("bytes=0-99", (0, 99)),
            ("bytes=100-", (100, 999)),
            ("bytes=-100", (900, 999)),
            ("bytes=-5000", (0, 999)),
            ("bytes=990-5000", (990, 999)),
            ("bytes=5-4", None),
            ("bytes=0-1,4-5", None),
            ("items=0-1", None),
            ("bytes=-", None),
        ],
    )
    def test_satisfiable_or_ignored(self, header: str | None, expected) -> None:
        assert byte_range(header, 1000) == expected

    @pytest.mark.parametrize("header", ["bytes=1000-", "bytes=1000-2000", "bytes=-0"])
    def test_unsatisfiable(self, header: str) -> None:
        with pytest.raises(RangeNotSatisfiable):
            byte_range(header, 1000)


class TestMultipart:
    def test_parses_what_requests_sends(self) -> None:
        payload = b"\x89PNG\r\n\r\n--not-a-boundary\r\n"
        prepared = requests.Request(
            "POST",
            "http://x/",
            data={"prompt": "hi: there", "seconds": "8"},
            files={"input_reference": ("r.png", payload, "image/png")},
        ).prepare()
        parts = parse(prepared.body, prepared.headers["content-type"])
        assert [(p.name, p.data, p.filename, p.content_type) for p in parts] == [
            ("prompt", b"hi: there", None, None),
            ("seconds", b"8", None, None),
            ("input_reference", payload, "r.png", "image/png"),
        ]

    def test_empty_value(self) -> None:
        body = b'--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\n\r\n--b--\r\n'
        assert parse(body, "multipart/form-data; boundary=b")[0].data == b""

    @pytest.mark.parametrize(
        ("body", "content_type"),
        [
            (b"--b\r\n\r\nx\r\n--b--", "multipart/form-data"),  # no boundary
            (
                b'--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nx',
                "multipart/form-data; boundary=b",
            ),
            (
                b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--",
                "multipart/form-data; boundary=b",
            ),
        ],
        ids=["no-boundary", "unterminated", "no-name"],
    )
    def test_malformed(self, body: bytes, content_type: str) -> None:
        with pytest.raises(MultipartError):
            parse(body, content_type)


class TestRenderHelpers:
    def test_escape_filter_value(self) -> None:
        # Option level escapes \ ' : with a backslash; graph level then escapes \ ' [ ] , ;
        assert escape_filter_value("/tmp/a b") == "/tmp/a b"
        assert escape_filter_value("C:/x") == r"C\\:/x"
        assert escape_filter_value("it's") == r"it\\\'s"
        assert escape_filter_value("[a],b;c") == r"\[a\]\,b\;c"

    def test_layout_wraps_and_truncates(self) -> None:
        text, font_size = layout_text("word " * 2000, 1280, 720)
        lines = text.split("\n")
        assert font_size == 40
        assert 1 < len(lines) <= 8
        assert lines[-1].endswith("\u2026")
        assert all(len(line) <= 1280 * 0.84 / (40 * 0.6) for line in lines)

    def test_layout_strips_control_characters(self) -> None:
        text, _ = layout_text("a\tb\nc\x00d\u200be", 1280, 720)
        assert text == "a b c d e"

    def test_fit_keeps_even_sides(self) -> None:
        assert fit(1280, 720, 512) == (512, 288)
        assert fit(720, 1280, 192) == (108, 192)
        assert fit(64, 64, 512) == (64, 64)
