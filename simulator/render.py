"""Render real media with ffmpeg: an H.264 MP4, a WebP thumbnail and a JPEG spritesheet.

The video shows slowly moving colour gradients, the prompt text and a progress bar. What a
:class:`RenderSpec` adds to that:

* ``reference`` (a first-frame image): shown, full frame, for the first half second;
* ``last_frame``: shown, full frame, for the last half second (``LAST_FRAME_SECONDS``);
* ``references`` (reference images): small square thumbnails (each image scaled to cover
  its square, centre kept) in a strip along the bottom edge, just above the progress bar, for
  the whole clip (:func:`strip_layout` gives their boxes; as many as fit are drawn);
* ``audio``: an AAC track, a ``TONE_HZ`` sine tone (no ``audio``: no audio stream at all);
* ``seed``: it picks the gradients and their colours (:func:`palette`: the background hue),
  so the same prompt, size, seconds and seed give the same frames and another seed visibly
  different ones (without a seed, one derived from the whole spec);
* ``extend`` (a source MP4 and its length): the output is the source clip followed by a new
  segment of ``seconds`` whose first half second shows the source's last frame, stitched into
  one file (how OpenAI's and Veo's extensions answer), so its length is the sum of both.

The encode is deterministic: one x264 thread, ``bitexact`` flags and no metadata, so the same
spec gives a byte-identical MP4 on any machine with the same ffmpeg. Results are cached on
disk, keyed by a hash of everything that affects the output, so identical requests render
once.
"""

from __future__ import annotations

import colorsys
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
from functools import cached_property
from pathlib import Path

log = logging.getLogger("simulator.render")

RENDER_VERSION = "2"  # bump whenever the output of the pipeline below changes
FPS = 12
REFERENCE_SECONDS = 0.5
LAST_FRAME_SECONDS = 0.5
AUDIO_RATE = 48_000
TONE_HZ = 440
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
    """What to render. ``seconds`` is the new footage; with ``extend`` (the source MP4, whose
    length is ``extend_seconds``) the output is ``extend_seconds + seconds`` long."""

    prompt: str
    width: int
    height: int
    seconds: int
    reference: bytes | None = None
    reference_ext: str = "png"
    last_frame: bytes | None = None
    last_frame_ext: str = "png"
    references: tuple[tuple[bytes, str], ...] = ()  # (image bytes, file extension)
    audio: bool = False
    seed: int | None = None
    extend: Path | None = None
    extend_seconds: int = 0

    @property
    def total_seconds(self) -> int:
        return self.seconds + (self.extend_seconds if self.extend is not None else 0)

    def key(self) -> str:
        digest = hashlib.sha256()
        parts = [
            RENDER_VERSION,
            self.prompt,
            f"{self.width}x{self.height}",
            str(self.seconds),
            _digest(self.reference),
        ]
        # Each option adds to the key only when it is used.
        if self.last_frame is not None:
            parts += ["last", _digest(self.last_frame)]
        parts += [f"ref:{_digest(data)}" for data, _ in self.references]
        if self.audio:
            parts.append("audio")
        if self.seed is not None:
            parts.append(f"seed:{self.seed}")
        if self.extend is not None:
            parts += ["extend", self._source_digest, str(self.extend_seconds)]
        for part in parts:
            digest.update(part.encode())
            digest.update(b"\0")
        return digest.hexdigest()

    @cached_property
    def _source_digest(self) -> str:
        assert self.extend is not None
        try:
            return hashlib.sha256(Path(self.extend).read_bytes()).hexdigest()
        except OSError as exc:
            raise RenderError(f"the source video {self.extend} cannot be read: {exc}") from exc


def _digest(data: bytes | None) -> str:
    return hashlib.sha256(data).hexdigest() if data else "-"


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


def palette(seed: int) -> tuple[str, str, str]:
    """The three gradient colours (``0xRRGGBB``) of a seed: a base hue picked by the seed
    (137 degrees apart for consecutive seeds) and two neighbours of it. ffmpeg's own default
    colours are random on every run, so they are always given."""
    base = seed * 137 % 360
    colours = []
    for offset, value in ((0, 0.85), (35, 0.6), (70, 0.95)):
        r, g, b = colorsys.hsv_to_rgb(((base + offset) % 360) / 360, 0.75, value)
        colours.append(f"0x{round(r * 255):02X}{round(g * 255):02X}{round(b * 255):02X}")
    return colours[0], colours[1], colours[2]


def bar_height(height: int) -> int:
    """Height of the progress bar along the bottom edge of a ``height``-pixel frame."""
    return max(2, height // 90 * 2)


def strip_layout(width: int, height: int, count: int) -> list[tuple[int, int, int, int]]:
    """Boxes ``(x, y, side, side)`` of up to ``count`` reference thumbnails: squares in a row
    from the left, just above the progress bar; only as many as fit across the frame."""
    side = max(8, round(height / 14) * 2)
    gap = max(2, round(height / 180) * 2)
    y = height - bar_height(height) - gap - side
    boxes: list[tuple[int, int, int, int]] = []
    for index in range(count):
        x = gap + index * (side + gap)
        if x + side > width - gap:
            break
        boxes.append((x, y, side, side))
    return boxes


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
            first = self._first_image(spec, work)
            try:
                self._run(self._command(spec, work, first, with_text=True))
            except RenderError as exc:
                log.warning("render with text failed, retrying without: %s", exc)
                self._run(self._command(spec, work, first, with_text=False))
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

    def _first_image(self, spec: RenderSpec, work: Path) -> Path | None:
        """The image the new footage opens on: the source's last frame for an extension,
        else the first-frame image, if any."""
        if spec.extend is not None:
            last = work / "source-last-frame.png"
            ffmpeg = self._ffmpeg or ffmpeg_exe()
            self._run(
                [
                    *(ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"),
                    *("-sseof", "-1", "-i", str(spec.extend), "-map", "0:v:0"),
                    *("-update", "1", "-pix_fmt", "rgb24", str(last)),
                ]
            )
            if not last.is_file():
                raise RenderError(f"no frame could be read from {spec.extend}")
            return last
        if spec.reference is not None:
            reference = work / f"reference.{spec.reference_ext}"
            reference.write_bytes(spec.reference)
            return reference
        return None

    def _command(
        self, spec: RenderSpec, work: Path, first: Path | None, *, with_text: bool
    ) -> list[str]:
        w, h, seconds = spec.width, spec.height, spec.seconds
        graph = _Graph()
        # Gradients are costly per pixel: draw them small and scale up (they are smooth).
        grad_w, grad_h = fit(w, h, GRADIENT_BOX)
        seed = spec.seed if spec.seed is not None else int(spec.key()[:8], 16)
        colours = ":".join(f"c{i}={colour}" for i, colour in enumerate(palette(seed)))
        bg = graph.lavfi(
            f"gradients=s={grad_w}x{grad_h}:r={FPS}:d={seconds}:speed=0.03:nb_colors=3:"
            f"{colours}:seed={seed}"
        )
        bar = graph.lavfi(f"color=c=white@0.85:s={w}x{bar_height(h)}:r={FPS}:d={seconds}")
        graph.stages.append(f"[{bg}:v]scale={w}:{h}:flags=bilinear,setsar=1[bg]")
        graph.stages.append(
            self._text_stage(spec, work, first is not None) if with_text else "[bg]null[text]"
        )
        # A progress bar sliding in from the left makes the motion obvious.
        graph.stages.append(
            f"[text][{bar}:v]overlay=x='-w+W*t/{seconds}':y=H-h:eval=frame:shortest=1[base]"
        )
        current = "base"
        boxes = strip_layout(w, h, len(spec.references))
        for index, ((data, ext), (x, y, side, _)) in enumerate(
            zip(spec.references, boxes, strict=False)
        ):
            thumb = graph.image(work / f"strip-{index}.{ext}", data)
            graph.stages.append(
                f"[{thumb}:v]scale={side}:{side}:force_original_aspect_ratio=increase,"
                f"crop={side}:{side},setsar=1[thumb{index}]"
            )
            current = graph.overlay(current, f"thumb{index}", f"x={x}:y={y}", f"strip{index}")
        if first is not None:
            graph.stages.append(f"[{graph.image(first)}:v]scale={w}:{h},setsar=1[first]")
            current = graph.overlay(
                current, "first", f"enable='lt(t,{REFERENCE_SECONDS})'", "opening"
            )
        if spec.last_frame is not None:
            last = graph.image(work / f"last-frame.{spec.last_frame_ext}", spec.last_frame)
            graph.stages.append(f"[{last}:v]scale={w}:{h},setsar=1[last]")
            ending = seconds - LAST_FRAME_SECONDS
            current = graph.overlay(current, "last", f"enable='gte(t,{ending})'", "ending")
        with_audio = self._sound_and_stitch(graph, spec, current)
        return self._outputs(graph, spec, work, with_audio)

    def _sound_and_stitch(self, graph: _Graph, spec: RenderSpec, new_footage: str) -> bool:
        """Add the tone (or silence) and, for an extension, put the source clip before the new
        footage; end in ``[mix]`` (and ``[audio]``). Return whether there is an audio track."""
        seconds = spec.seconds
        source_audio = spec.extend is not None and has_audio(spec.extend, ffmpeg=self._ffmpeg)
        with_audio = spec.audio or source_audio
        if with_audio:
            tone = f"sine=frequency={TONE_HZ}:sample_rate={AUDIO_RATE}:duration={seconds}"
            sound = graph.lavfi(tone if spec.audio else _silence(seconds))
            graph.stages.append(f"[{sound}:a]{_AUDIO_FORMAT}[new_a]")
        if spec.extend is None:
            graph.stages.append(f"[{new_footage}]null[mix]")
            if with_audio:
                graph.stages.append("[new_a]anull[audio]")
            return with_audio
        length = spec.extend_seconds
        source = graph.add("-i", str(spec.extend))
        graph.stages.append(
            f"[{source}:v]scale={spec.width}:{spec.height},setsar=1,fps={FPS},"
            f"trim=duration={length},format=yuv420p,setpts=PTS-STARTPTS[source_v]"
        )
        graph.stages.append(f"[{new_footage}]format=yuv420p,setpts=PTS-STARTPTS[new_v]")
        if not with_audio:
            graph.stages.append("[source_v][new_v]concat=n=2:v=1:a=0[mix]")
            return False
        if source_audio:
            graph.stages.append(
                f"[{source}:a]{_AUDIO_FORMAT},atrim=duration={length},"
                f"apad=whole_dur={length},asetpts=PTS-STARTPTS[source_a]"
            )
        else:
            graph.stages.append(f"[{graph.lavfi(_silence(length))}:a]{_AUDIO_FORMAT}[source_a]")
        graph.stages.append("[source_v][source_a][new_v][new_a]concat=n=2:v=1:a=1[mix][audio]")
        return True

    def _outputs(self, graph: _Graph, spec: RenderSpec, work: Path, with_audio: bool) -> list[str]:
        """The whole command: ``[mix]`` (and ``[audio]``) into the MP4, thumbnail and sprites."""
        w, h, total = spec.width, spec.height, spec.total_seconds
        thumb_w, thumb_h = fit(w, h, THUMBNAIL_BOX)
        cell_w, cell_h = fit(w, h, SPRITE_CELL_BOX)
        frames = SPRITE_COLUMNS * SPRITE_ROWS
        graph.stages += [
            "[mix]format=yuv420p,split=3[video][thumb_in][sprite_in]",
            f"[thumb_in]trim=end_frame=1,scale={thumb_w}:{thumb_h}[thumb]",
            f"[sprite_in]fps=fps={frames}/{total},scale={cell_w}:{cell_h},"
            f"tile={SPRITE_COLUMNS}x{SPRITE_ROWS}[sprite]",
        ]
        # Deterministic output: one encoder thread, no version strings, no metadata.
        video_args = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
        video_args += ["-threads", "1", "-flags:v", "+bitexact", "-r", str(FPS), "-t", str(total)]
        video_args += ["-map_metadata", "-1", "-fflags", "+bitexact", "-movflags", "+faststart"]
        if with_audio:
            video_args += ["-map", "[audio]", "-c:a", "aac", "-b:a", "96k", "-flags:a", "+bitexact"]
        return [
            *(self._ffmpeg or ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error"),
            "-y",
            *graph.inputs,
            *("-filter_complex", ";".join(graph.stages)),
            *("-map", "[video]", *video_args, str(work / VARIANTS["video"][0])),
            *("-map", "[thumb]", "-frames:v", "1", "-c:v", "libwebp", "-quality", "80"),
            str(work / VARIANTS["thumbnail"][0]),
            *("-map", "[sprite]", "-frames:v", "1", "-c:v", "mjpeg", "-q:v", "4"),
            str(work / VARIANTS["spritesheet"][0]),
        ]

    @staticmethod
    def _text_stage(spec: RenderSpec, work: Path, clean_start: bool) -> str:
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
        if clean_start:  # keep the opening image's frames clean
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


class _Graph:
    """The inputs and filtergraph stages of one ffmpeg command, built up in order."""

    def __init__(self) -> None:
        self.inputs: list[str] = []
        self.stages: list[str] = []
        self._count = 0

    def add(self, *args: str) -> str:
        """Append one input (its options and ``-i``); return its index for stage labels."""
        self.inputs.extend(args)
        self._count += 1
        return str(self._count - 1)

    def lavfi(self, source: str) -> str:
        return self.add("-f", "lavfi", "-i", source)

    def image(self, path: Path, data: bytes | None = None) -> str:
        """A still image as an endless video (written to ``path`` first when ``data``)."""
        if data is not None:
            path.write_bytes(data)
        return self.add("-loop", "1", "-framerate", str(FPS), "-i", str(path))

    def overlay(self, under: str, over: str, options: str, out: str) -> str:
        self.stages.append(f"[{under}][{over}]overlay={options}:shortest=1[{out}]")
        return out


_AUDIO_FORMAT = f"aformat=sample_fmts=fltp:sample_rates={AUDIO_RATE}:channel_layouts=mono"


def _silence(seconds: int) -> str:
    return f"anullsrc=r={AUDIO_RATE}:cl=mono:d={seconds}"


_DURATION_RE = re.compile(r"Duration:\s*(\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_AUDIO_STREAM_RE = re.compile(r"Stream #.*?Audio:")
_VIDEO_SIZE_RE = re.compile(r"Stream #.*?Video:.*?\b(\d{1,5})x(\d{1,5})\b")


def probe(path: str | os.PathLike[str], *, ffmpeg: str | None = None) -> tuple[int, int, float]:
    """Return ``(width, height, duration_seconds)`` of a media file by parsing ``ffmpeg -i``.

    Images report a duration of 0.0 or one frame's worth, whatever ffmpeg says.
    """
    output = _describe(path, ffmpeg)
    size = _VIDEO_SIZE_RE.search(output)
    if not size:
        raise RenderError(f"no video stream found in {path}: {output.strip()[-300:]}")
    duration = _DURATION_RE.search(output)
    seconds = 0.0
    if duration:
        hours, minutes, secs = duration.groups()
        seconds = int(hours) * 3600 + int(minutes) * 60 + float(secs)
    return int(size[1]), int(size[2]), seconds


def has_audio(path: str | os.PathLike[str], *, ffmpeg: str | None = None) -> bool:
    """True when the media file at ``path`` has an audio stream (read from ``ffmpeg -i``)."""
    return _AUDIO_STREAM_RE.search(_describe(path, ffmpeg)) is not None


def _describe(path: str | os.PathLike[str], ffmpeg: str | None) -> str:
    """What ``ffmpeg -i`` says about a media file (its streams, its duration)."""
    result = subprocess.run(
        [ffmpeg or ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", os.fspath(path)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        check=False,
    )
    return result.stderr.decode("utf-8", "replace")
