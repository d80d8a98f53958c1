"""Render real media with ffmpeg: an H.264 MP4, a WebP thumbnail and a JPEG spritesheet.

The video shows slowly moving colour gradients, the prompt text and a progress bar; an
optional reference image is shown for the first half second. Results are cached on disk,
keyed by a hash of everything that affects the pixels, so identical requests render once.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
import tempfile
import textwrap
import threading
import unicodedata
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("simulator.render")

RENDER_VERSION = "1"  # bump whenever the output of the pipeline below changes
FPS = 12
REFERENCE_SECONDS = 0.5
SPRITE_COLUMNS, SPRITE_ROWS = 5, 2
THUMBNAIL_BOX = 512
SPRITE_CELL_BOX = 192
GRADIENT_BOX = 160
FFMPEG_TIMEOUT_SECONDS = 300
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    "/Library/Fonts/Arial.ttf",
    "C:/Windows/Fonts/arial.ttf",
)
VARIANTS = {
    "video": ("video.mp4", "video/mp4"),
    "thumbnail": ("thumbnail.webp", "image/webp"),
    "spritesheet": ("spritesheet.jpg", "image/jpeg"),
}


class RenderError(RuntimeError):
    """ffmpeg could not produce the media."""


@dataclass(frozen=True)
class RenderSpec:
    prompt: str
    width: int
    height: int
    seconds: int
    reference: bytes | None = None
    reference_ext: str = "png"

    def key(self) -> str:
        digest = hashlib.sha256()
        reference = hashlib.sha256(self.reference).hexdigest() if self.reference else "-"
        for part in (
            RENDER_VERSION,
            self.prompt,
            f"{self.width}x{self.height}",
            str(self.seconds),
            reference,
        ):
            digest.update(part.encode())
            digest.update(b"\0")
        return digest.hexdigest()


@dataclass(frozen=True)
class Media:
    directory: Path

    def path(self, variant: str) -> Path:
        return self.directory / VARIANTS[variant][0]

    @staticmethod
    def content_type(variant: str) -> str:
        return VARIANTS[variant][1]

    def complete(self) -> bool:
        return all(self.path(v).is_file() for v in VARIANTS)


def ffmpeg_exe() -> str:
    import imageio_ffmpeg  # imported lazily: only rendering and probing need it

    return imageio_ffmpeg.get_ffmpeg_exe()


def font_file() -> str | None:
    return next((f for f in FONT_CANDIDATES if os.path.isfile(f)), None)


def escape_filter_value(value: str) -> str:
    """Escape ``value`` for use as one option value inside an ffmpeg filtergraph.

    Two levels, as the ffmpeg-filters manual describes: the option parser treats
    ``\\ ' :`` specially, then the graph parser treats ``\\ ' [ ] , ;``.
    """
    level1 = re.sub(r"([\\':])", r"\\\1", value)
    return re.sub(r"([\\'\[\],;])", r"\\\1", level1)


def layout_text(prompt: str, width: int, height: int) -> tuple[str, int]:
    """Wrap ``prompt`` to fit a ``width`` x ``height`` frame; return (text, font size)."""
    font_size = max(8, round(min(width, height) / 18))
    chars_per_line = max(6, int(width * 0.84 / (font_size * 0.6)))
    max_lines = max(1, min(8, int(height * 0.6 / (font_size * 1.35))))
    cleaned = "".join(
        " " if unicodedata.category(ch).startswith(("C", "Z")) else ch for ch in prompt
    )
    lines = textwrap.wrap(
        " ".join(cleaned.split()),
        width=chars_per_line,
        break_long_words=True,
        break_on_hyphens=False,
    ) or [" "]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: chars_per_line - 1].rstrip() + "\u2026"
    return "\n".join(lines), font_size


def fit(width: int, height: int, box: int) -> tuple[int, int]:
    """Scale ``width`` x ``height`` down to fit in a ``box`` square, keeping sides even."""
    scale = min(1.0, box / max(width, height))
    return (max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2))


class Renderer:
    """Renders :class:`RenderSpec` s on a small thread pool, with an on-disk cache."""

    def __init__(self, cache_dir: Path, *, workers: int = 2, ffmpeg: str | None = None) -> None:
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self._ffmpeg = ffmpeg
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="simulator-render")
        self._lock = threading.RLock()  # re-entrant: done callbacks may run inline
        self._inflight: dict[str, Future[Media]] = {}
        self._processes: set[subprocess.Popen[bytes]] = set()
        self._closed = False
        self.renders = 0  # ffmpeg runs that produced media (cache misses)

    def media_for(self, spec: RenderSpec) -> Media:
        return Media(self.cache_dir / spec.key())

    def submit(self, spec: RenderSpec) -> Future[Media]:
        """Return a future for the media of ``spec``; cached or in-flight work is shared."""
        media = self.media_for(spec)
        key = spec.key()
        with self._lock:
            if self._closed:
                raise RenderError("renderer is closed")
            if media.complete():
                done: Future[Media] = Future()
                done.set_result(media)
                return done
            future = self._inflight.get(key)
            if future is None:
                future = self._pool.submit(self.render, spec)
                self._inflight[key] = future
                future.add_done_callback(lambda _f: self._forget(key))
            return future

    def render(self, spec: RenderSpec) -> Media:
        """Render ``spec`` now (blocking) unless it is cached; return its media."""
        media = self.media_for(spec)
        if media.complete():
            return media
        work = Path(tempfile.mkdtemp(prefix=".render-", dir=self.cache_dir))
        try:
            try:
                self._run(self._command(spec, work, with_text=True))
            except RenderError as exc:
                log.warning("render with text failed, retrying without: %s", exc)
                self._run(self._command(spec, work, with_text=False))
            media.directory.mkdir(parents=True, exist_ok=True)
            for variant in ("thumbnail", "spritesheet", "video"):  # video last: marks complete
                os.replace(work / VARIANTS[variant][0], media.path(variant))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        with self._lock:
            self.renders += 1
        return media

    def close(self) -> None:
        with self._lock:
            self._closed = True
            processes = list(self._processes)
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.kill()

    def _forget(self, key: str) -> None:
        with self._lock:
            self._inflight.pop(key, None)

    def _command(self, spec: RenderSpec, work: Path, *, with_text: bool) -> list[str]:
        w, h, seconds = spec.width, spec.height, spec.seconds
        # Gradients are costly per pixel: draw them small and scale up (they are smooth).
        grad_w, grad_h = fit(w, h, GRADIENT_BOX)
        seed = int(spec.key()[:8], 16)
        bar_h = max(2, h // 90 * 2)
        inputs = [
            *("-f", "lavfi", "-i"),
            f"gradients=s={grad_w}x{grad_h}:r={FPS}:d={seconds}:speed=0.03:nb_colors=3:seed={seed}",
            *("-f", "lavfi", "-i"),
            f"color=c=white@0.85:s={w}x{bar_h}:r={FPS}:d={seconds}",
        ]
        stages = [f"[0:v]scale={w}:{h}:flags=bilinear,setsar=1[bg]"]
        if spec.reference is not None:
            reference = work / f"reference.{spec.reference_ext}"
            reference.write_bytes(spec.reference)
            inputs += ["-loop", "1", "-framerate", str(FPS), "-i", str(reference)]
        stages.append(self._text_stage(spec, work) if with_text else "[bg]null[text]")
        # A progress bar sliding in from the left makes the motion obvious.
        stages.append(f"[text][1:v]overlay=x='-w+W*t/{seconds}':y=H-h:eval=frame:shortest=1[base]")
        if spec.reference is not None:
            stages.append(f"[2:v]scale={w}:{h},setsar=1[ref]")
            stages.append(f"[base][ref]overlay=enable='lt(t,{REFERENCE_SECONDS})':shortest=1[mix]")
        else:
            stages.append("[base]null[mix]")
        thumb_w, thumb_h = fit(w, h, THUMBNAIL_BOX)
        cell_w, cell_h = fit(w, h, SPRITE_CELL_BOX)
        frames = SPRITE_COLUMNS * SPRITE_ROWS
        stages += [
            "[mix]format=yuv420p,split=3[video][thumb_in][sprite_in]",
            f"[thumb_in]trim=end_frame=1,scale={thumb_w}:{thumb_h}[thumb]",
            f"[sprite_in]fps=fps={frames}/{seconds},scale={cell_w}:{cell_h},"
            f"tile={SPRITE_COLUMNS}x{SPRITE_ROWS}[sprite]",
        ]
        video_args = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
        video_args += ["-r", str(FPS), "-t", str(seconds), "-movflags", "+faststart"]
        return [
            *(self._ffmpeg or ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error"),
            "-y",
            *inputs,
            *("-filter_complex", ";".join(stages)),
            *("-map", "[video]", *video_args, str(work / VARIANTS["video"][0])),
            *("-map", "[thumb]", "-frames:v", "1", "-c:v", "libwebp", "-quality", "80"),
            str(work / VARIANTS["thumbnail"][0]),
            *("-map", "[sprite]", "-frames:v", "1", "-c:v", "mjpeg", "-q:v", "4"),
            str(work / VARIANTS["spritesheet"][0]),
        ]

    @staticmethod
    def _text_stage(spec: RenderSpec, work: Path) -> str:
        """drawtext reading the prompt from a file: no prompt text in the filtergraph."""
        text, font_size = layout_text(spec.prompt, spec.width, spec.height)
        text_file = work / "prompt.txt"
        text_file.write_text(text, encoding="utf-8")
        options = [f"textfile={escape_filter_value(str(text_file))}", "expansion=none"]
        font = font_file()
        if font:
            options.insert(0, f"fontfile={escape_filter_value(font)}")
        options += [
            f"fontsize={font_size}",
            "fontcolor=white",
            f"line_spacing={max(2, font_size // 4)}",
            "box=1",
            "boxcolor=black@0.55",
            f"boxborderw={max(2, font_size // 3)}",
            "x=(w-text_w)/2",
            "y=(h-text_h)/2",
        ]
        if spec.reference is not None:  # keep the reference frames clean
            options.append(f"enable='gte(t,{REFERENCE_SECONDS})'")
        return f"[bg]drawtext={':'.join(options)}[text]"

    def _run(self, command: Sequence[str]) -> None:
        with self._lock:
            if self._closed:
                raise RenderError("renderer is closed")
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            self._processes.add(process)
        try:
            _, stderr = process.communicate(timeout=FFMPEG_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired as exc:
            process.kill()
            process.communicate()
            raise RenderError("ffmpeg timed out") from exc
        finally:
            with self._lock:
                self._processes.discard(process)
        if process.returncode != 0:
            tail = stderr.decode("utf-8", "replace").strip()[-800:]
            raise RenderError(f"ffmpeg exited with {process.returncode}: {tail}")


_DURATION_RE = re.compile(r"Duration:\s*(\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_VIDEO_SIZE_RE = re.compile(r"Stream #.*?Video:.*?\b(\d{1,5})x(\d{1,5})\b")


def probe(path: str | os.PathLike[str], *, ffmpeg: str | None = None) -> tuple[int, int, float]:
    """Return ``(width, height, duration_seconds)`` of a media file by parsing ``ffmpeg -i``.

    Images report a duration of 0.0 or one frame's worth, whatever ffmpeg says.
    """
    result = subprocess.run(
        [ffmpeg or ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", os.fspath(path)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        check=False,
    )
    output = result.stderr.decode("utf-8", "replace")
    size = _VIDEO_SIZE_RE.search(output)
    if not size:
        raise RenderError(f"no video stream found in {path}: {output.strip()[-300:]}")
    duration = _DURATION_RE.search(output)
    seconds = 0.0
    if duration:
        hours, minutes, secs = duration.groups()
        seconds = int(hours) * 3600 + int(minutes) * 60 + float(secs)
    return int(size[1]), int(size[2]), seconds
