"""The `/v1/videos` client's handling of what OpenAI-compatible gateways (LiteLLM) do
differently: variant ignored on content, DELETE not routed, model dropped from remix ids."""

from __future__ import annotations

import base64

import pytest
import responses

from chalicelib.upstreams.base import UpstreamError, UpstreamNotFound
from chalicelib.upstreams.videos_api import VideosApiClient, keep_gateway_route

BASE = "http://gateway.example:4000/v1"
KEY = "sk-gateway-master-key-0123456789"


def litellm_id(model_id: str, video_id: str, provider: str = "openai") -> str:
    text = f"litellm:custom_llm_provider:{provider};model_id:{model_id};video_id:{video_id}"
    return "video_" + base64.b64encode(text.encode()).decode()


@pytest.fixture
def api() -> VideosApiClient:
    return VideosApiClient(BASE, KEY, max_retries=1, sleep=lambda _: None)


@responses.activate
def test_an_mp4_answered_for_a_thumbnail_counts_as_no_thumbnail(api):
    url = f"{BASE}/videos/video_1/content"
    responses.get(url, body=b"\x00\x00\x00\x18ftypmp42", content_type="video/mp4")
    with pytest.raises(UpstreamNotFound):
        api.download("video_1", "thumbnail")
    stream = api.download("video_1", "video")
    assert b"".join(stream.iter_chunks())[4:8] == b"ftyp"
    stream.close()


@responses.activate
def test_a_real_thumbnail_still_downloads(api):
    url = f"{BASE}/videos/video_1/content"
    responses.get(url, body=b"RIFF....WEBP", content_type="image/webp")
    stream = api.download("video_1", "thumbnail")
    assert stream.content_type == "image/webp"
    stream.close()


@responses.activate
def test_delete_not_routed_by_the_gateway_is_not_an_error(api):
    responses.delete(f"{BASE}/videos/video_1", status=405, json={"detail": "Method Not Allowed"})
    api.delete("video_1")
    responses.replace(responses.DELETE, f"{BASE}/videos/video_1", status=400, json={})
    with pytest.raises(UpstreamError):
        api.delete("video_1")


@responses.activate
def test_remix_keeps_the_gateway_route_of_its_source(api):
    source = litellm_id("sora-2", "video_src")
    dropped = litellm_id("", "video_new")
    responses.post(f"{BASE}/videos/{source}/remix", json={"id": dropped, "status": "queued"})
    video = api.remix(source, "at night")
    assert video.id == litellm_id("sora-2", "video_new")
    assert video.status == "queued"


def test_keep_gateway_route_leaves_other_ids_alone():
    assert keep_gateway_route("video_plain", litellm_id("m", "v")) == "video_plain"
    complete = litellm_id("azure-sora", "video_2")
    assert keep_gateway_route(complete, litellm_id("sora-2", "video_1")) == complete
    assert keep_gateway_route(litellm_id("", "v"), "video_plain") == litellm_id("", "v")
    unpadded = litellm_id("", "video_x").rstrip("=")
    restored = keep_gateway_route(unpadded, litellm_id("sora-2", "s"))
    assert restored == litellm_id("sora-2", "video_x")
