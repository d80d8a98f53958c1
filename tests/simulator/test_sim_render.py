"""The ffmpeg pipeline: real files, awkward paths and prompts, caching and de-duplication."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from simulator.render import Renderer, RenderSpec, probe

AWKWARD_PROMPT = 'It\'s 100% "fine": a\\b [x] {y}; c,d %{pts} \u00e9\u00e8 \U0001f525 ' * 4


def test_awkward_prompt_and_cache_path_render_with_text(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = tmp_path / "it's a [weird], dir; 100%: yes"
    renderer = Renderer(cache)
    try:
        with caplog.at_level(logging.WARNING, logger="simulator.render"):
            media = renderer.submit(RenderSpec(AWKWARD_PROMPT, 320, 180, 2)).result(timeout=60)
        assert not caplog.records  # drawtext worked: no fallback to a text-less render
        assert probe(media.path("video"))[:2] == (320, 180)
        assert probe(media.path("thumbnail"))[:2] == (320, 180)
        assert probe(media.path("spritesheet"))[:2] == (5 * 192, 2 * 108)
    finally:
        renderer.close()


def test_identical_specs_render_once(tmp_path: Path) -> None:
    renderer = Renderer(tmp_path)
    try:
        spec = RenderSpec("cached", 160, 90, 1)
        first, second = renderer.submit(spec), renderer.submit(spec)
        assert first is second  # in flight: shared
        media = first.result(timeout=60)
        assert renderer.submit(spec).result() == media  # cached: no new work
        assert renderer.renders == 1
    finally:
        renderer.close()


def test_cache_survives_a_new_renderer(tmp_path: Path) -> None:
    spec = RenderSpec("persisted", 160, 90, 1)
    first = Renderer(tmp_path)
    media = first.submit(spec).result(timeout=60)
    first.close()
    second = Renderer(tmp_path)
    try:
        assert second.submit(spec).result() == media
        assert second.renders == 0
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".render-")]
    finally:
        second.close()


def test_cache_key_covers_everything_visible() -> None:
    base = RenderSpec("p", 1280, 720, 4)
    variants = [
        RenderSpec("q", 1280, 720, 4),
        RenderSpec("p", 720, 1280, 4),
        RenderSpec("p", 1280, 720, 8),
        RenderSpec("p", 1280, 720, 4, reference=b"img"),
    ]
    keys = {base.key(), *(v.key() for v in variants)}
    assert len(keys) == 5
    assert RenderSpec("p", 1280, 720, 4).key() == base.key()


def test_broken_ffmpeg_fails_the_future(tmp_path: Path) -> None:
    renderer = Renderer(tmp_path, ffmpeg="/bin/false")
    try:
        with pytest.raises(Exception, match="ffmpeg exited"):
            renderer.submit(RenderSpec("x", 64, 64, 1)).result(timeout=30)
    finally:
        renderer.close()
