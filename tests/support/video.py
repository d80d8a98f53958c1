"""Looking inside rendered MP4s with ffmpeg, for the simulator's output checks: one frame as
raw RGB (`frame_at`, `last_frame`; scaled down to `size`, or a `box` of it at full size), the
frame count, the streams `ffmpeg -i` reports, and pixel comparisons (`share_near`,
`mean_difference`)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

from simulator.render import ffmpeg_exe

RGB = tuple[int, int, int]
Size = tuple[int, int]
SMALL: Size = (64, 36)  # what a frame is compared at when only its colours matter


def _ffmpeg(path: Path, before: Sequence[str], after: Sequence[str]) -> bytes:
    result = subprocess.run(
        [ffmpeg_exe(), "-loglevel", "error", *before, "-i", str(path), *after],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return result.stdout


RAW_RGB = ("-f", "rawvideo", "-pix_fmt", "rgb24", "-")


def _scale(size: Size) -> str:
    return f"scale={size[0]}:{size[1]}:flags=area"


def frame_at(
    path: Path,
    index: int,
    size: Size = SMALL,
    box: tuple[int, int, int, int] | None = None,
) -> bytes:
    """Frame number `index` (from 0) as rgb24: scaled to `size`, or the `(x, y, w, h)` `box`
    of it at full size."""
    if box is not None:
        x, y, w, h = box
        shape = f"crop={w}:{h}:{x}:{y}"
    else:
        w, h = size
        shape = _scale(size)
    chain = f"select=eq(n\\,{index}),{shape}"
    frame = _ffmpeg(path, (), ["-vf", chain, "-frames:v", "1", *RAW_RGB])
    assert len(frame) == w * h * 3, f"no frame {index} in {path}"
    return frame


def last_frame(path: Path, size: Size = SMALL) -> bytes:
    """The video's final frame as rgb24 scaled to `size` (decoding only its last second)."""
    frames = _ffmpeg(path, ("-sseof", "-1"), ["-vf", _scale(size), *RAW_RGB])
    length = size[0] * size[1] * 3
    assert frames and len(frames) % length == 0, f"no whole frames decoded from {path}"
    return frames[-length:]


def frame_count(path: Path) -> int:
    """How many frames the video has (decoded at 8x8 grey, so cheaply)."""
    frames = _ffmpeg(path, (), ["-vf", "scale=8:8", "-f", "rawvideo", "-pix_fmt", "gray", "-"])
    return len(frames) // 64


def streams(path: Path) -> list[str]:
    """The `Stream #...` lines `ffmpeg -i` prints for the file (its video and audio tracks)."""
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(path)],
        capture_output=True,
        check=False,
        timeout=60,
    )
    output = result.stderr.decode("utf-8", "replace")
    return re.findall(r"^\s*Stream #\S+.*$", output, flags=re.MULTILINE)


def audio_codecs(path: Path) -> list[str]:
    """The codec of each audio stream, e.g. `["aac"]`; empty for a silent file."""
    found = (re.search(r"Audio: (\w+)", line) for line in streams(path))
    return [match[1] for match in found if match]


def share_near(frame: bytes, rgb: RGB, tolerance: int = 40) -> float:
    """The share of an rgb24 frame's pixels within `tolerance` of `rgb` on every channel."""
    count = len(frame) // 3
    near = sum(
        1
        for i in range(0, len(frame), 3)
        if all(abs(frame[i + c] - rgb[c]) <= tolerance for c in range(3))
    )
    return near / count


def mean_difference(first: bytes, second: bytes) -> float:
    """Mean absolute difference per channel of two frames of one size (0 to 255)."""
    assert len(first) == len(second) and first
    return sum(abs(a - b) for a, b in zip(first, second, strict=True)) / len(first)
