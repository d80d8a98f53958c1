"""Content downloads: real media, content types, Range requests."""

from __future__ import annotations

import pytest

from simulator.render import probe
from tests.support.images import first_frame_rgb, solid_png
from tests.support.simulator import Client


@pytest.fixture
def video(api: Client) -> dict:
    return api.completed(size="1280x720", seconds="4")


def download(api: Client, video_id: str, variant: str | None = None, **headers: str):
    params = {"variant": variant} if variant else None
    return api.get(f"/videos/{video_id}/content", params=params, headers=headers)


def test_video_is_a_real_h264_mp4_of_the_requested_size(api: Client, video, tmp_path) -> None:
    response = download(api, video["id"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["accept-ranges"] == "bytes"
    assert int(response.headers["content-length"]) == len(response.content)
    assert response.content[4:8] == b"ftyp"
    path = tmp_path / "video.mp4"
    path.write_bytes(response.content)
    width, height, duration = probe(path)
    assert (width, height) == (1280, 720)
    assert duration == pytest.approx(4, abs=0.5)


def test_other_model_sizes_and_durations_render_exactly(api: Client, tmp_path) -> None:
    video = api.completed(model="veo-3", size="320x240", seconds="2", prompt="tiny")
    path = tmp_path / "small.mp4"
    path.write_bytes(download(api, video["id"]).content)
    width, height, duration = probe(path)
    assert (width, height) == (320, 240)
    assert duration == pytest.approx(2, abs=0.5)


def test_thumbnail_is_webp_and_spritesheet_is_jpeg(api: Client, video) -> None:
    thumbnail = download(api, video["id"], "thumbnail")
    assert thumbnail.status_code == 200
    assert thumbnail.headers["content-type"] == "image/webp"
    assert thumbnail.content[:4] == b"RIFF" and thumbnail.content[8:12] == b"WEBP"
    sprites = download(api, video["id"], "spritesheet")
    assert sprites.status_code == 200
    assert sprites.headers["content-type"] == "image/jpeg"
    assert sprites.content[:2] == b"\xff\xd8"


def test_explicit_video_variant(api: Client, video) -> None:
    assert download(api, video["id"], "video").content == download(api, video["id"]).content


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [("bytes=0-99", 0, 99), ("bytes=100-", 100, None), ("bytes=-100", -100, None)],
)
def test_range_requests(api: Client, video, header: str, first: int, last: int | None) -> None:
    full = download(api, video["id"]).content
    size = len(full)
    response = download(api, video["id"], Range=header)
    assert response.status_code == 206
    expected = full[first : None if last is None else last + 1]
    assert response.content == expected
    start = first % size
    end = start + len(expected) - 1
    assert response.headers["content-range"] == f"bytes {start}-{end}/{size}"
    assert int(response.headers["content-length"]) == len(expected)


def test_unsatisfiable_range_is_416(api: Client, video) -> None:
    size = len(download(api, video["id"]).content)
    response = download(api, video["id"], Range=f"bytes={size}-")
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{size}"
    assert response.json()["error"]["code"] == "range_not_satisfiable"


def test_malformed_range_serves_everything(api: Client, video) -> None:
    response = download(api, video["id"], Range="bytes=0-1,5-6")
    assert response.status_code == 200 and "content-range" not in response.headers


def test_reference_image_is_the_first_frame(api: Client, tmp_path) -> None:
    red = solid_png(640, 360, (255, 0, 0))
    response = api.post(
        "/videos",
        files={
            "prompt": (None, "Starts on a red card"),
            "model": (None, "veo-3"),
            "size": (None, "640x360"),
            "seconds": (None, "2"),
            "input_reference": ("red.png", red, "image/png"),
        },
    )
    assert response.status_code == 200, response.text
    video = api.wait_for(response.json()["id"], "completed")
    path = tmp_path / "ref.mp4"
    path.write_bytes(download(api, video["id"]).content)
    rgb = first_frame_rgb(str(path), 640, 360)
    pixels = [rgb[i : i + 3] for i in range(0, len(rgb), 3)]
    red_pixels = sum(1 for r, g, b in pixels if r > 200 and g < 60 and b < 60)
    assert red_pixels / len(pixels) > 0.95
    assert probe(path)[:2] == (640, 360)
