"""How each provider sends the creative controls (issue 14), against `responses` fixtures in
each protocol's documented shape: first and last frame, reference images, sound, seed and
extension. An input a protocol cannot send is refused before any request (never dropped)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import responses

from chalicelib.catalog.presets import FAL_PRESETS
from chalicelib.upstreams.base import CreateRequest, ReferenceImage, UpstreamBadRequest
from chalicelib.upstreams.fal import FalClient, request_body
from chalicelib.upstreams.openrouter import OpenRouterClient
from chalicelib.upstreams.veo import VeoClient
from chalicelib.upstreams.vertex import ApiKey, VertexVeoClient
from chalicelib.upstreams.videos_api import VideosApiClient
from tests.support.images import solid_png

FIRST = ReferenceImage(solid_png(1280, 720, (200, 0, 0)), "image/png", "reference.png")
LAST = ReferenceImage(solid_png(1280, 720, (0, 200, 0)), "image/png", "last_frame.png")
REFS = (
    ReferenceImage(solid_png(64, 64, (0, 0, 200)), "image/png", "reference_0.png"),
    ReferenceImage(solid_png(32, 48, (9, 9, 9)), "image/png", "reference_1.png"),
)
SEED = 4_294_967_295


def request(model: str = "m", **fields: Any) -> CreateRequest:
    base = {"prompt": "A cozy campfire", "model": model, "size": "1280x720", "seconds": 8}
    return CreateRequest(**{**base, **fields})


def every_control(model: str = "m", **fields: Any) -> CreateRequest:
    return request(
        model,
        reference=FIRST,
        last_frame=LAST,
        reference_images=REFS,
        audio=False,
        seed=SEED,
        **fields,
    )


def b64(image: ReferenceImage) -> str:
    return base64.b64encode(image.data).decode()


def data_url(image: ReferenceImage) -> str:
    return f"data:{image.content_type};base64,{b64(image)}"


def sent_json(index: int = 0) -> dict[str, Any]:
    return json.loads(responses.calls[index].request.body)


def no_controls(**fields: Any) -> list[CreateRequest]:
    """One request per control, each alone."""
    return [
        request(reference=FIRST, **fields),
        request(last_frame=LAST, **fields),
        request(reference_images=REFS[:1], **fields),
        request(audio=True, **fields),
        request(seed=1, **fields),
    ]


# -- OpenRouter ---------------------------------------------------------------------------------

OPENROUTER = "https://openrouter.ai/api/v1"


@pytest.fixture
def openrouter() -> OpenRouterClient:
    return OpenRouterClient(OPENROUTER, "sk-or-key", timeout=5, max_retries=0, sleep=lambda _: None)


@responses.activate
def test_openrouter_sends_frames_references_sound_and_seed(openrouter):
    responses.post(f"{OPENROUTER}/videos", json={"id": "gen-1", "status": "pending"}, status=202)
    openrouter.create(every_control("google/veo-3.1"))
    body = sent_json()
    assert body["frame_images"] == [
        {"type": "image_url", "image_url": {"url": data_url(FIRST)}, "frame_type": "first_frame"},
        {"type": "image_url", "image_url": {"url": data_url(LAST)}, "frame_type": "last_frame"},
    ]
    assert body["input_references"] == [
        {"type": "image_url", "image_url": {"url": data_url(ref)}} for ref in REFS
    ]
    assert (body["generate_audio"], body["seed"]) == (False, SEED)


@responses.activate
def test_openrouter_a_last_frame_alone_and_no_controls(openrouter):
    responses.post(f"{OPENROUTER}/videos", json={"id": "gen-1", "status": "pending"}, status=202)
    openrouter.create(request(last_frame=LAST))
    openrouter.create(request())
    assert [f["frame_type"] for f in sent_json(0)["frame_images"]] == ["last_frame"]
    assert set(sent_json(1)) == {"model", "prompt", "duration", "size"}


@responses.activate
def test_openrouter_extends_with_previous_job_id_on_the_same_model():
    responses.post(f"{OPENROUTER}/videos", json={"id": "gen-2", "status": "pending"}, status=202)
    client = OpenRouterClient(
        OPENROUTER, "sk-or-key", callback_url="https://studio.example/api/webhooks/openrouter"
    )
    video = client.extend("gen-1", "the tide comes in", 6, model="google/veo-3.1", size="1280x720")
    assert video.id == "gen-2"
    assert sent_json() == {
        "model": "google/veo-3.1",
        "prompt": "the tide comes in",
        "duration": 6,
        "previous_job_id": "gen-1",
        "callback_url": "https://studio.example/api/webhooks/openrouter",
    }
    with pytest.raises(UpstreamBadRequest):
        client.extend("gen-1", "no model", 6)
    assert len(responses.calls) == 1


# -- /v1/videos ---------------------------------------------------------------------------------

VIDEOS = "https://gateway.example/v1"


@pytest.fixture
def videos() -> VideosApiClient:
    return VideosApiClient(VIDEOS, "sk-key", timeout=5, max_retries=0, sleep=lambda _: None)


def video_json(video_id: str, seconds: str = "4") -> dict[str, Any]:
    return {
        "id": video_id,
        "object": "video",
        "status": "queued",
        "progress": 0,
        "seconds": seconds,
    }


@responses.activate
def test_videos_api_sends_the_first_frame_and_refuses_what_it_cannot_send(videos):
    responses.post(f"{VIDEOS}/videos", json=video_json("video_1"))
    videos.create(request("sora-2", reference=FIRST))
    assert b'name="input_reference"; filename="reference.png"' in responses.calls[0].request.body
    for refused in no_controls()[1:]:
        with pytest.raises(UpstreamBadRequest) as caught:
            videos.create(refused)
        assert caught.value.param in ("last_frame", "reference_images", "audio", "seed")
    assert len(responses.calls) == 1


@responses.activate
def test_videos_api_extends_through_videos_extensions(videos):
    responses.post(f"{VIDEOS}/videos/extensions", json=video_json("video_2", seconds="12"))
    video = videos.extend("video_1", "the tide comes in", 8)
    assert video.id == "video_2" and video.raw["seconds"] == "12"
    assert sent_json() == {
        "prompt": "the tide comes in",
        "seconds": "8",
        "video": {"id": "video_1"},
    }


@responses.activate
def test_videos_api_an_extension_of_a_video_gone_upstream_is_a_refusal_not_a_lost_model(videos):
    error = {"error": {"message": "Video not found", "type": "invalid_request_error"}}
    responses.post(f"{VIDEOS}/videos/extensions", json=error, status=404)
    with pytest.raises(UpstreamBadRequest) as caught:
        videos.extend("video_gone", "more", 4)
    assert (caught.value.code, caught.value.status) == ("extend_unavailable", 404)


# -- Veo on the Gemini API -----------------------------------------------------------------------

GEMINI = "https://generativelanguage.googleapis.com"
VEO_MODEL = "veo-3.1-generate-preview"
OP = f"models/{VEO_MODEL}/operations/op1"
SAMPLE = f"{GEMINI}/v1beta/files/abc:download?alt=media"


@pytest.fixture
def veo() -> VeoClient:
    return VeoClient(GEMINI, "AIza-key", timeout=5, max_retries=0, now=lambda: 1_800_000_000.0)


@responses.activate
def test_veo_sends_image_last_frame_asset_references_sound_and_seed(veo):
    responses.post(f"{GEMINI}/v1beta/models/{VEO_MODEL}:predictLongRunning", json={"name": OP})
    veo.create(every_control(VEO_MODEL))
    body = sent_json()
    (instance,) = body["instances"]
    assert instance["image"] == {"bytesBase64Encoded": b64(FIRST), "mimeType": "image/png"}
    assert instance["lastFrame"] == {"bytesBase64Encoded": b64(LAST), "mimeType": "image/png"}
    assert instance["referenceImages"] == [
        {
            "image": {"bytesBase64Encoded": b64(ref), "mimeType": "image/png"},
            "referenceType": "asset",
        }
        for ref in REFS
    ]
    assert body["parameters"] == {
        "aspectRatio": "16:9",
        "durationSeconds": 8,
        "resolution": "720p",
        "generateAudio": False,
        "seed": SEED,
    }


@responses.activate
def test_veo_without_controls_sends_none_and_refuses_a_fourth_reference(veo):
    responses.post(f"{GEMINI}/v1beta/models/{VEO_MODEL}:predictLongRunning", json={"name": OP})
    veo.create(request(VEO_MODEL))
    assert set(sent_json()["parameters"]) == {"aspectRatio", "durationSeconds", "resolution"}
    assert set(sent_json()["instances"][0]) == {"prompt"}
    with pytest.raises(UpstreamBadRequest) as caught:
        veo.create(request(VEO_MODEL, reference_images=REFS + REFS))
    assert caught.value.param == "reference_images"
    assert len(responses.calls) == 1


@responses.activate
def test_veo_extends_the_finished_sample_by_its_uri(veo):
    done = {
        "name": OP,
        "done": True,
        "response": {"generateVideoResponse": {"generatedSamples": [{"video": {"uri": SAMPLE}}]}},
    }
    responses.get(f"{GEMINI}/v1beta/{OP}", json=done)
    responses.post(
        f"{GEMINI}/v1beta/models/{VEO_MODEL}:predictLongRunning", json={"name": OP + "x"}
    )
    video = veo.extend(f"{OP}#t=1799999000", "the tide comes in", 7, size="1280x720")
    assert video.id == f"{OP}x#t=1800000000"
    assert sent_json(1) == {
        "instances": [{"prompt": "the tide comes in", "video": {"uri": SAMPLE}}],
        "parameters": {"durationSeconds": 7, "resolution": "720p"},
    }


@responses.activate
def test_veo_refuses_to_extend_a_1080p_or_unfinished_video(veo):
    with pytest.raises(UpstreamBadRequest):
        veo.extend(OP, "more", 7, size="1920x1080")
    assert len(responses.calls) == 0
    responses.get(f"{GEMINI}/v1beta/{OP}", json={"name": OP})
    with pytest.raises(UpstreamBadRequest) as caught:
        veo.extend(OP, "more", 7, size="1280x720")
    assert caught.value.code == "extend_unavailable"
    assert len(responses.calls) == 1  # read only: nothing paid


# -- Veo on Vertex AI ------------------------------------------------------------------------------

VERTEX = "https://us-central1-aiplatform.googleapis.com"
VERTEX_MODEL = "veo-3.1-generate-001"
RESOURCE = f"projects/p-1234/locations/us-central1/publishers/google/models/{VERTEX_MODEL}"


@pytest.fixture
def vertex() -> VertexVeoClient:
    return VertexVeoClient(
        project="p-1234",
        location="us-central1",
        base_url=VERTEX,
        auth=ApiKey("AIza-vertex-key"),
        timeout=5,
        max_retries=0,
    )


@responses.activate
def test_vertex_sends_every_control(vertex):
    operation = {"name": f"{RESOURCE}/operations/0a1b2c3d-4e5f-6789-abcd-ef0123456789"}
    responses.post(f"{VERTEX}/v1/{RESOURCE}:predictLongRunning", json=operation)
    vertex.create(every_control(VERTEX_MODEL, size="1280x720", seconds=8))
    body = sent_json()
    (instance,) = body["instances"]
    assert set(instance) == {"prompt", "image", "lastFrame", "referenceImages"}
    assert [r["referenceType"] for r in instance["referenceImages"]] == ["asset", "asset"]
    assert instance["lastFrame"]["bytesBase64Encoded"] == b64(LAST)
    assert (body["parameters"]["generateAudio"], body["parameters"]["seed"]) == (False, SEED)


@responses.activate
def test_vertex_cannot_extend(vertex):
    with pytest.raises(UpstreamBadRequest) as caught:
        vertex.extend(f"{RESOURCE}/operations/x", "more", 7, model=VERTEX_MODEL)
    assert caught.value.code == "extend_unavailable"
    assert len(responses.calls) == 0


# -- fal.ai ---------------------------------------------------------------------------------------

FAL = "https://queue.fal.run"
PRESETS = {preset["id"]: preset for preset in FAL_PRESETS}
VEO_FAL = PRESETS["fal-ai/veo3.1"]
SEEDANCE = PRESETS["fal-ai/bytedance/seedance/v1.5/pro/text-to-video"]
KLING = PRESETS["fal-ai/kling-video/v2.5-turbo/pro/text-to-video"]
WAN = PRESETS["fal-ai/wan/v2.7/text-to-video"]
HAILUO = PRESETS["fal-ai/minimax/hailuo-2.3/standard/text-to-video"]
FIRST_URL = "https://media.s3.amazonaws.com/videos/j/reference.png?X-Amz-Signature=a"
LAST_URL = "https://media.s3.amazonaws.com/videos/j/last_frame.png?X-Amz-Signature=b"


def fal_request(preset: dict[str, Any], **fields: Any) -> CreateRequest:
    return request(preset["id"], wire=preset["wire"], **fields)


def test_fal_veo_takes_sound_and_seed_by_its_input_names():
    _, body = request_body(fal_request(VEO_FAL, audio=False, seed=SEED), FAL)
    assert (body["generate_audio"], body["seed"]) == (False, SEED)


def test_fal_a_last_frame_goes_with_the_first_to_the_image_endpoint_as_presigned_urls():
    shot = fal_request(
        SEEDANCE,
        reference=FIRST,
        reference_url=FIRST_URL,
        last_frame=LAST,
        last_frame_url=LAST_URL,
        audio=True,
        seed=3,
    )
    endpoint, body = request_body(shot, FAL)
    assert endpoint == "fal-ai/bytedance/seedance/v1.5/pro/image-to-video"
    assert (body["image_url"], body["end_image_url"]) == (FIRST_URL, LAST_URL)
    assert (body["generate_audio"], body["seed"]) == (True, 3)
    _, kling = request_body(
        fal_request(KLING, reference=FIRST, reference_url=FIRST_URL, last_frame=LAST), FAL
    )
    assert kling["tail_image_url"] == data_url(LAST)  # no URL given: inline
    _, wan = request_body(fal_request(WAN, reference=FIRST, last_frame=LAST, seed=9), FAL)
    assert (wan["end_image_url"], wan["seed"]) == (data_url(LAST), 9)


def test_fal_a_bucket_fal_cannot_reach_sends_the_image_inline():
    local = "http://127.0.0.1:9000/media/videos/j/last_frame.png?sig=1"
    shot = fal_request(WAN, reference=FIRST, last_frame=LAST, last_frame_url=local)
    _, body = request_body(shot, FAL)
    assert body["end_image_url"] == data_url(LAST)
    _, same_machine = request_body(shot, "http://127.0.0.1:8100/fal")
    assert same_machine["end_image_url"] == local


@pytest.mark.parametrize(
    ("preset", "shot", "field"),
    [
        (KLING, {"last_frame": LAST}, "last_frame"),  # its text endpoint has no last frame
        (HAILUO, {"reference": FIRST, "last_frame": LAST}, "last_frame"),
        (HAILUO, {"audio": True}, "audio"),
        (KLING, {"seed": 1}, "seed"),
        (VEO_FAL, {"reference_images": REFS}, "reference_images"),
    ],
    ids=["kling-last-alone", "hailuo-last", "hailuo-audio", "kling-seed", "veo-references"],
)
@responses.activate
def test_fal_refuses_a_control_the_model_has_no_input_for(preset, shot, field):
    client = FalClient(FAL, "fal-key", max_retries=0)
    with pytest.raises(UpstreamBadRequest) as caught:
        client.create(fal_request(preset, **shot))
    assert caught.value.param == field
    assert len(responses.calls) == 0


def test_fal_reference_images_go_as_a_list_where_a_model_names_an_input():
    wire = {"inputs": {"prompt": "prompt", "reference_images": "image_urls"}}
    urls = ("https://b/0.png", "https://b/1.png")
    shot = request("someone/refs", wire=wire, reference_images=REFS, reference_image_urls=urls)
    _, body = request_body(shot, FAL)
    assert body == {"prompt": "A cozy campfire", "image_urls": list(urls)}


def test_fal_cannot_extend():
    with pytest.raises(UpstreamBadRequest):
        FalClient(FAL, "fal-key").extend("fal-ai/veo3.1#req", "more", 4)


@pytest.mark.parametrize("preset", FAL_PRESETS, ids=[p["id"] for p in FAL_PRESETS])
def test_fal_presets_promise_only_what_their_inputs_send(preset):
    """Each capability a fal preset declares has an input name on the endpoint it uses."""
    caps = preset["capabilities"]
    wire = preset["wire"]
    image_inputs = wire.get("image_inputs") or wire["inputs"]
    shot: dict[str, Any] = {"reference": FIRST}
    if caps.get("last_frame"):
        shot["last_frame"] = LAST
    if caps.get("audio"):
        shot["audio"] = True
    if caps.get("seed"):
        shot["seed"] = 5
    _, body = request_body(fal_request(preset, **shot), FAL)
    for ours in ("last_frame", "audio", "seed"):
        if caps.get(ours):
            assert image_inputs[ours] in body


# -- what the catalog promises -------------------------------------------------------------------


def test_openrouter_capabilities_json_is_laid_over_the_listing_slug_after_star():
    from chalicelib.catalog.source import _with_capabilities

    listed = {"id": "google/veo-3.1", "capabilities": {"first_frame": True, "reference_images": 0}}
    overrides = {
        "*": {"extend": True, "reference_images": 1},
        "google/veo-3.1": {"reference_images": 3},
    }
    caps = _with_capabilities(listed, overrides)["capabilities"]
    assert caps == {"first_frame": True, "reference_images": 3, "extend": True}
    assert _with_capabilities({"id": "other"}, {"google/veo-3.1": {"seed": True}}) == {
        "id": "other"
    }


@pytest.mark.parametrize(
    "raw",
    ["{not json", '["reference_images"]', '{"*": 4}', '{"*": {"references": 4}}'],
    ids=["not-json", "a-list", "not-an-object", "unknown-capability"],
)
def test_a_bad_openrouter_capabilities_json_stops_start_up_naming_it(raw):
    from chalicelib.config import SettingsError, load_settings

    with pytest.raises(SettingsError, match="OPENROUTER_CAPABILITIES_JSON"):
        load_settings({"OPENROUTER_CAPABILITIES_JSON": raw})


def test_the_presets_say_what_each_protocol_takes():
    from chalicelib.catalog.presets import OPENAI_PRESETS, VEO_SIMULATED, VERTEX_PRESETS
    from chalicelib.catalog.spec import build_catalog

    catalog = build_catalog(OPENAI_PRESETS + VEO_SIMULATED + VERTEX_PRESETS + FAL_PRESETS)
    sora = catalog.get("sora-2")
    assert (sora.capabilities.extend, sora.extension_seconds) == (True, (4, 8, 12, 16, 20))
    assert (sora.capabilities.last_frame, sora.capabilities.audio) == (False, False)
    gemini = catalog.get("veo-3.1-generate-preview")
    assert (gemini.capabilities.reference_images, gemini.extension_seconds) == (3, (7,))
    vertex = catalog.get("veo-3.1-generate-001")
    assert (vertex.capabilities.extend, vertex.extension_seconds) == (False, ())
    assert catalog.get("fal-ai/kling-video/v2.5-turbo/pro/text-to-video").capabilities.last_frame
    public = sora.to_public()
    assert public["extend_seconds"] == [4, 8, 12, 16, 20]
    assert vertex.to_public()["extend_seconds"] == []
