"""Creative controls in the simulator's output, through the renderer and through each protocol
(OpenRouter, Veo, /v1/videos): the last frame at the end of the clip, reference images as a
strip along the bottom edge, an AAC track only with audio, a seed that fixes the bytes, and an
extension that continues the source clip from its last frame."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from simulator import SimulatorServer, probe
from simulator.render import FPS, LAST_FRAME_SECONDS, Renderer, RenderSpec, strip_layout
from tests.simulator.test_sim_openrouter import OpenRouterClient, frame, png_data_url
from tests.support.images import solid_png
from tests.support.simulator import API_KEY, PROMPT, Client
from tests.support.video import (
    audio_codecs,
    frame_at,
    frame_count,
    last_frame,
    mean_difference,
    share_near,
)
from tests.support.wait import wait_until

RED, MAGENTA, BLUE, YELLOW = (255, 0, 0), (255, 0, 255), (0, 0, 255), (255, 255, 0)
CAPABLE = "sim/veo-3.1-like"  # the OpenRouter model that takes every control
TAIL_FRAMES = round(LAST_FRAME_SECONDS * FPS)


def render(tmp_path: Path, spec: RenderSpec) -> Path:
    renderer = Renderer(tmp_path)
    try:
        return renderer.submit(spec).result(timeout=120).path("video")
    finally:
        renderer.close()


def strip_box(width: int, height: int, count: int, index: int) -> tuple[int, int, int, int]:
    """The inside of thumbnail `index` (2 px in from its edges, clear of chroma blur)."""
    x, y, side, _ = strip_layout(width, height, count)[index]
    return x + 2, y + 2, side - 4, side - 4


def colour_of(path: Path, index: int, rgb: tuple[int, int, int]) -> float:
    return share_near(frame_at(path, index), rgb)


# --- the renderer ---------------------------------------------------------------------------
def test_the_last_frame_image_fills_the_last_half_second(tmp_path: Path) -> None:
    spec = RenderSpec("ends on magenta", 320, 180, 2, last_frame=solid_png(320, 180, MAGENTA))
    video = render(tmp_path, spec)
    frames = frame_count(video)
    assert frames == 2 * FPS
    assert share_near(last_frame(video), MAGENTA) > 0.95
    assert colour_of(video, frames - TAIL_FRAMES, MAGENTA) > 0.95  # first frame of the tail
    assert colour_of(video, frames - TAIL_FRAMES - 1, MAGENTA) < 0.5  # the clip before it


def test_reference_images_are_a_strip_along_the_bottom_edge(tmp_path: Path) -> None:
    blue, yellow = solid_png(40, 40, BLUE), solid_png(80, 40, YELLOW)  # any pixel size
    with_strip = render(
        tmp_path / "strip",
        RenderSpec("a strip", 320, 180, 2, references=((blue, "png"), (yellow, "png"))),
    )
    without = render(tmp_path / "plain", RenderSpec("a strip", 320, 180, 2))
    middle = FPS  # one second in
    for index, rgb in ((0, BLUE), (1, YELLOW)):
        box = strip_box(320, 180, 2, index)
        assert share_near(frame_at(with_strip, middle, box=box), rgb) > 0.9, index
        assert share_near(frame_at(without, middle, box=box), rgb) < 0.5, index
    x, y, side, _ = strip_layout(320, 180, 2)[0]
    assert y + side > 180 * 3 // 4 and x < 320 // 4  # small, bottom left


def test_audio_is_an_aac_track_and_only_when_asked(tmp_path: Path) -> None:
    loud = render(tmp_path / "loud", RenderSpec("sound on", 160, 90, 1, audio=True))
    quiet = render(tmp_path / "quiet", RenderSpec("sound on", 160, 90, 1))
    assert audio_codecs(loud) == ["aac"]
    assert audio_codecs(quiet) == []


def test_a_seed_fixes_the_bytes_and_another_seed_changes_the_frames(tmp_path: Path) -> None:
    def seeded(directory: str, seed: int) -> Path:
        return render(tmp_path / directory, RenderSpec("seeded", 320, 180, 2, seed=seed))

    first, again, other = seeded("a", 7), seeded("b", 7), seeded("c", 8)
    assert first.read_bytes() == again.read_bytes()  # two renderers, two caches, same bytes
    assert first.read_bytes() != other.read_bytes()
    assert mean_difference(frame_at(first, FPS), frame_at(other, FPS)) > 20  # visibly other


def test_an_extension_is_the_source_then_new_footage_from_its_last_frame(tmp_path: Path) -> None:
    source = render(
        tmp_path / "source",
        RenderSpec("the start", 320, 180, 2, last_frame=solid_png(32, 18, MAGENTA), audio=True),
    )
    extended = render(
        tmp_path / "extension",
        RenderSpec("the rest", 320, 180, 3, extend=source, extend_seconds=2),
    )
    assert probe(extended)[2] == pytest.approx(5, abs=0.1)
    assert frame_count(extended) == 5 * FPS
    seam = 2 * FPS  # the first frame of the new footage
    assert mean_difference(frame_at(extended, 0), frame_at(source, 0)) < 4
    assert mean_difference(frame_at(extended, seam), last_frame(source)) < 4
    assert colour_of(extended, seam + TAIL_FRAMES - 1, MAGENTA) > 0.95  # half a second of it
    assert colour_of(extended, seam + TAIL_FRAMES + 1, MAGENTA) < 0.5  # then new footage
    assert audio_codecs(extended) == ["aac"]  # the source's sound is kept


# --- OpenRouter -----------------------------------------------------------------------------
@pytest.fixture
def orapi(sim: SimulatorServer) -> Iterator[OpenRouterClient]:
    with OpenRouterClient(sim.openrouter_url) as session:
        yield session


def openrouter_video(orapi: OpenRouterClient, tmp_path: Path, **body: Any) -> tuple[dict, Path]:
    job = orapi.finished(**body)
    assert job["status"] == "completed", job
    path = tmp_path / f"{job['id']}.mp4"
    path.write_bytes(orapi.get(f"/videos/{job['id']}/content").content)
    return job, path


def image_part(rgb: tuple[int, int, int]) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": png_data_url(32, 32, rgb)}}


def test_openrouter_lists_a_model_with_every_control(sim: SimulatorServer) -> None:
    models = requests.get(sim.openrouter_url + "/videos/models", timeout=10).json()["data"]
    capable = next(model for model in models if model["id"] == CAPABLE)
    assert capable["supported_frame_images"] == ["first_frame", "last_frame"]
    assert capable["generate_audio"] is True and capable["seed"] is True


def test_openrouter_first_and_last_frame_sound_and_seed(
    orapi: OpenRouterClient, tmp_path: Path
) -> None:
    frames = [
        frame("first_frame", png_data_url(64, 36, RED)),
        frame("last_frame", png_data_url(64, 36, MAGENTA)),
    ]
    _, video = openrouter_video(
        orapi, tmp_path, model=CAPABLE, duration=4, frame_images=frames, seed=11
    )
    assert probe(video)[:2] == (1280, 720)
    assert colour_of(video, 0, RED) > 0.95
    assert share_near(last_frame(video), MAGENTA) > 0.95
    assert audio_codecs(video) == ["aac"]  # generate_audio defaults to the model's flag (true)


def test_openrouter_reference_images_without_sound(orapi: OpenRouterClient, tmp_path: Path) -> None:
    references = [image_part(BLUE), image_part(YELLOW)]
    _, video = openrouter_video(
        orapi,
        tmp_path,
        model=CAPABLE,
        duration=4,
        input_references=references,
        generate_audio=False,
    )
    for index, rgb in ((0, BLUE), (1, YELLOW)):
        box = strip_box(1280, 720, 2, index)
        assert share_near(frame_at(video, 2 * FPS, box=box), rgb) > 0.9, index
    assert audio_codecs(video) == []


def test_openrouter_the_same_seed_gives_the_same_bytes(
    make_sim: Callable[..., SimulatorServer], tmp_path: Path
) -> None:
    def bytes_of(cache: str, seed: int) -> bytes:
        sim = make_sim(cache_dir=tmp_path / cache)  # no shared cache: a real second render
        with OpenRouterClient(sim.openrouter_url) as session:
            body = {"model": CAPABLE, "duration": 4, "seed": seed, "generate_audio": False}
            _, video = openrouter_video(session, tmp_path, **body)
        return video.read_bytes()

    first = bytes_of("a", 123)
    assert bytes_of("b", 123) == first
    assert bytes_of("c", 124) != first


def test_openrouter_previous_job_id_continues_the_source(
    orapi: OpenRouterClient, tmp_path: Path
) -> None:
    last = [frame("last_frame", png_data_url(64, 36, MAGENTA))]
    source, source_video = openrouter_video(
        orapi,
        tmp_path,
        model=CAPABLE,
        size="720x1280",
        duration=4,
        frame_images=last,
        generate_audio=False,
    )
    job, video = openrouter_video(
        orapi, tmp_path, model=CAPABLE, duration=4, previous_job_id=source["id"]
    )
    assert job["usage"]["cost"] == pytest.approx(0.40 * 4)  # the new seconds, with sound
    assert probe(video)[:2] == (720, 1280)  # the source's size, not the model's default
    assert frame_count(video) == 8 * FPS
    assert colour_of(video, 4 * FPS, MAGENTA) > 0.95  # opens on the source's last frame
    assert mean_difference(frame_at(video, 0), frame_at(source_video, 0)) < 4
    assert audio_codecs(video) == ["aac"]


def test_openrouter_previous_job_id_refusals(
    orapi: OpenRouterClient, clock_sim: SimulatorServer
) -> None:
    source = orapi.finished(model=CAPABLE, duration=4)
    other_model = orapi.post(
        "/videos",
        json={"model": "sim/wan-like", "prompt": PROMPT, "previous_job_id": source["id"]},
    )
    assert other_model.status_code == 400, other_model.text
    resized = orapi.post(
        "/videos",
        json={
            "model": CAPABLE,
            "prompt": PROMPT,
            "size": "720x1280",
            "previous_job_id": source["id"],
        },
    )
    assert resized.status_code == 400, resized.text
    unknown = orapi.post(
        "/videos", json={"model": CAPABLE, "prompt": PROMPT, "previous_job_id": "job-nope"}
    )
    assert unknown.status_code == 404, unknown.text
    with OpenRouterClient(clock_sim.openrouter_url) as clocked:  # time stands still here
        pending = clocked.submit(model=CAPABLE, duration=4)
        early = clocked.post(
            "/videos", json={"model": CAPABLE, "prompt": PROMPT, "previous_job_id": pending["id"]}
        )
        assert early.status_code == 409, early.text


# --- Veo (the Gemini API) -------------------------------------------------------------------
class VeoClient(requests.Session):
    """`predictLongRunning`, operation polls and the download, against one simulator."""

    def __init__(self, root: str) -> None:
        super().__init__()
        self.root = root + "/v1beta"
        self.headers["x-goog-api-key"] = API_KEY

    def start(self, instance: dict[str, Any], **parameters: Any) -> requests.Response:
        return self.post(
            f"{self.root}/models/veo-3.1-generate-001:predictLongRunning",
            json={"instances": [{"prompt": PROMPT, **instance}], "parameters": parameters},
            timeout=10,
        )

    def finished(self, instance: dict[str, Any], **parameters: Any) -> dict[str, Any]:
        response = self.start(instance, **parameters)
        assert response.status_code == 200, response.text
        op_id = response.json()["name"].rsplit("/", 1)[1]

        def done() -> dict[str, Any] | None:
            operation = self.get(f"{self.root}/operations/{op_id}", timeout=10).json()
            return operation if operation.get("done") else None

        return wait_until(done, timeout=30, what=f"operation {op_id}")

    def video(
        self, tmp_path: Path, instance: dict[str, Any], **parameters: Any
    ) -> tuple[str, Path]:
        """The uri of the finished video and its bytes, downloaded into `tmp_path`."""
        operation = self.finished(instance, **parameters)
        [sample] = operation["response"]["generateVideoResponse"]["generatedSamples"]
        uri = sample["video"]["uri"]
        response = self.get(uri, timeout=10)
        assert response.status_code == 200 and response.content[4:8] == b"ftyp"
        path = tmp_path / f"{len(list(tmp_path.iterdir()))}.mp4"
        path.write_bytes(response.content)
        return uri, path


@pytest.fixture
def veo(sim: SimulatorServer) -> Iterator[VeoClient]:
    with VeoClient(sim.url.removesuffix("/v1")) as session:
        yield session


def inline(rgb: tuple[int, int, int], width: int = 64, height: int = 36) -> dict[str, str]:
    data = base64.b64encode(solid_png(width, height, rgb)).decode()
    return {"bytesBase64Encoded": data, "mimeType": "image/png"}


def test_veo_last_frame_reference_images_sound_and_seed(veo: VeoClient, tmp_path: Path) -> None:
    instance = {
        "image": inline(RED),
        "lastFrame": inline(MAGENTA),
        "referenceImages": [{"image": inline(BLUE, 32, 32), "referenceType": "asset"}],
    }
    _, video = veo.video(tmp_path, instance, durationSeconds=4, generateAudio=True, seed=5)
    assert colour_of(video, 0, RED) > 0.95
    assert share_near(last_frame(video), MAGENTA) > 0.95
    box = strip_box(1280, 720, 1, 0)
    assert share_near(frame_at(video, 2 * FPS, box=box), BLUE) > 0.9
    assert audio_codecs(video) == ["aac"]
    _, silent = veo.video(tmp_path, {}, durationSeconds=4, generateAudio=False)
    assert audio_codecs(silent) == []


def test_veo_extends_a_video_by_seven_seconds(veo: VeoClient, tmp_path: Path) -> None:
    uri, source = veo.video(tmp_path, {"lastFrame": inline(MAGENTA)}, durationSeconds=4)
    _, extended = veo.video(tmp_path, {"video": {"uri": uri}}, generateAudio=True)
    assert probe(extended)[:2] == (1280, 720)
    assert frame_count(extended) == (4 + 7) * FPS
    assert colour_of(extended, 4 * FPS, MAGENTA) > 0.95  # opens on the source's last frame
    assert mean_difference(frame_at(extended, 0), frame_at(source, 0)) < 4
    assert audio_codecs(extended) == ["aac"]


@pytest.mark.parametrize(
    ("instance", "parameters"),
    [
        pytest.param({}, {"durationSeconds": 8}, id="extension-is-7-seconds"),
        pytest.param({"image": inline(RED)}, {}, id="no-first-frame-with-a-video"),
        pytest.param({}, {"resolution": "1080p"}, id="720p-only"),
    ],
)
def test_veo_extension_refusals(
    veo: VeoClient, tmp_path: Path, instance: dict[str, Any], parameters: dict[str, Any]
) -> None:
    uri, _ = veo.video(tmp_path, {}, durationSeconds=4)
    response = veo.start({"video": {"uri": uri}, **instance}, **parameters)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_veo_extension_of_an_unknown_or_1080p_video_is_refused(
    veo: VeoClient, tmp_path: Path
) -> None:
    unknown = veo.start({"video": {"uri": "https://example.com/v1beta/files/nope:download"}})
    assert unknown.status_code == 404, unknown.text
    uri, _ = veo.video(tmp_path, {}, resolution="1080p", durationSeconds=8)
    assert veo.start({"video": {"uri": uri}}).status_code == 400


# --- /v1/videos -------------------------------------------------------------------------------
def test_openai_videos_have_no_audio_track(api: Client, tmp_path: Path) -> None:
    video = api.completed(model="veo-3", size="320x180", seconds="2")
    path = tmp_path / "silent.mp4"
    path.write_bytes(api.get(f"/videos/{video['id']}/content").content)
    assert audio_codecs(path) == []  # the protocol has no audio field
