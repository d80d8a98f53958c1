"""The upstream client: retry policy, error mapping, multipart, and no key in logs."""

from __future__ import annotations

import json
import logging

import pytest
import requests
import responses

from chalicelib.upstreams.base import (
    CreateRequest,
    ReferenceImage,
    UpstreamAuthError,
    UpstreamBadRequest,
    UpstreamNotFound,
    UpstreamRateLimited,
    UpstreamUnavailable,
)
from chalicelib.upstreams.videos_api import VideosApiClient, parse_retry_after

BASE = "https://gateway.example/v1"
KEY = "sk-live-abcdefghijklmnopqrstuvwxyz0123"
VIDEO = {"id": "video_1", "object": "video", "status": "queued", "progress": 0}


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def api(sleeps: list[float]) -> VideosApiClient:
    return VideosApiClient(BASE, KEY, timeout=5, max_retries=3, sleep=sleeps.append)


def envelope(message: str, code: str | None = None, param: str | None = None) -> dict:
    return {
        "error": {"message": message, "type": "invalid_request_error", "code": code, "param": param}
    }


@responses.activate
def test_create_sends_seconds_as_string_and_bearer_key(api):
    responses.post(f"{BASE}/videos", json=VIDEO, headers={"x-request-id": "req_1"})
    video = api.create(CreateRequest(prompt="p", model="sora-2", size="1280x720", seconds=8))
    sent = responses.calls[0].request
    assert json.loads(sent.body) == {
        "prompt": "p",
        "model": "sora-2",
        "size": "1280x720",
        "seconds": "8",
    }
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    assert (video.id, video.status, video.request_id) == ("video_1", "queued", "req_1")


@responses.activate
def test_create_with_reference_is_multipart(api):
    responses.post(f"{BASE}/videos", json=VIDEO)
    ref = ReferenceImage(data=b"\x89PNGdata", content_type="image/png", filename="reference.png")
    api.create(CreateRequest(prompt="p", model="sora-2", size="1280x720", seconds=4, reference=ref))
    sent = responses.calls[0].request
    assert sent.headers["Content-Type"].startswith("multipart/form-data")
    assert b'name="input_reference"; filename="reference.png"' in sent.body
    assert b"Content-Type: image/png" in sent.body and b"\x89PNGdata" in sent.body
    assert b'name="seconds"\r\n\r\n4' in sent.body


@responses.activate
def test_reads_retry_on_429_honouring_retry_after_ms(api, sleeps):
    url = f"{BASE}/videos/video_1"
    responses.get(url, status=429, json=envelope("slow"), headers={"retry-after-ms": "1500"})
    responses.get(url, status=503, json=envelope("down"), headers={"retry-after": "2"})
    responses.get(url, json={**VIDEO, "status": "in_progress", "progress": 40})
    video = api.retrieve("video_1")
    assert video.progress == 40
    assert sleeps == [1.5, 2.0]


@responses.activate
def test_reads_retry_with_backoff_on_connection_errors_then_give_up(api, sleeps):
    url = f"{BASE}/videos/video_1"
    for _ in range(4):
        responses.get(url, body=requests.ConnectionError("reset"))
    with pytest.raises(UpstreamUnavailable):
        api.retrieve("video_1")
    assert len(responses.calls) == 4
    assert len(sleeps) == 3 and sleeps[0] < sleeps[1] < sleeps[2]


@responses.activate
def test_delete_retries_on_500(api, sleeps):
    url = f"{BASE}/videos/video_1"
    responses.delete(url, status=500, json=envelope("oops"))
    responses.delete(url, json={"id": "video_1", "deleted": True})
    api.delete("video_1")
    assert len(responses.calls) == 2


@responses.activate
def test_create_is_never_retried_after_a_5xx_response(api, sleeps):
    responses.post(
        f"{BASE}/videos",
        status=500,
        json=envelope("boom", "server_error"),
        headers={"x-request-id": "req_9"},
    )
    with pytest.raises(UpstreamUnavailable) as info:
        api.create(CreateRequest(prompt="p", model="sora-2", size="1280x720", seconds=4))
    assert len(responses.calls) == 1 and sleeps == []
    assert (info.value.status, info.value.code, info.value.request_id) == (
        500,
        "server_error",
        "req_9",
    )


@responses.activate
def test_create_is_not_retried_when_the_connection_broke_after_sending(api, sleeps):
    responses.post(f"{BASE}/videos", body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(UpstreamUnavailable):
        api.create(CreateRequest(prompt="p", model="sora-2", size="1280x720", seconds=4))
    assert len(responses.calls) == 1


def test_create_is_retried_when_the_server_was_never_reached(sleeps):
    # Port 9 on loopback refuses the connection: the request surely never reached a server.
    api = VideosApiClient(
        "http://127.0.0.1:9/v1", KEY, timeout=2, max_retries=2, sleep=sleeps.append
    )
    with pytest.raises(UpstreamUnavailable):
        api.create(CreateRequest(prompt="p", model="sora-2", size="1280x720", seconds=4))
    assert len(sleeps) == 2


@responses.activate
def test_create_429_is_passed_on_with_retry_after(api):
    responses.post(
        f"{BASE}/videos",
        status=429,
        json=envelope("rate", "rate_limit_exceeded"),
        headers={"retry-after": "7"},
    )
    with pytest.raises(UpstreamRateLimited) as info:
        api.create(CreateRequest(prompt="p", model="sora-2", size="1280x720", seconds=4))
    assert info.value.retry_after == 7.0 and len(responses.calls) == 1


@pytest.mark.parametrize(
    ("status", "kind"),
    [(400, UpstreamBadRequest), (401, UpstreamAuthError), (404, UpstreamNotFound)],
)
@responses.activate
def test_error_mapping_keeps_status_message_code_request_id(api, status, kind):
    responses.get(
        f"{BASE}/videos/v",
        status=status,
        json=envelope("nope", "bad_thing", "size"),
        headers={"x-request-id": "req_7"},
    )
    with pytest.raises(kind) as info:
        api.retrieve("v")
    err = info.value
    assert (err.status, err.message, err.code, err.request_id, err.param) == (
        status,
        "nope",
        "bad_thing",
        "req_7",
        "size",
    )
    assert len(responses.calls) == 1


@responses.activate
def test_key_never_logged(api, caplog):
    caplog.set_level(logging.DEBUG)
    responses.get(f"{BASE}/videos/video_1", status=503, json=envelope("down"))
    responses.get(f"{BASE}/videos/video_1", json=VIDEO)
    responses.post(f"{BASE}/videos", status=401, json=envelope("bad key", "invalid_api_key"))
    api.retrieve("video_1")
    with pytest.raises(UpstreamAuthError) as info:
        api.create(CreateRequest(prompt="p", model="sora-2", size="1280x720", seconds=4))
    assert KEY not in caplog.text and KEY not in str(info.value) and KEY not in repr(api)


@responses.activate
def test_download_streams_with_range(api):
    responses.get(
        f"{BASE}/videos/video_1/content",
        body=b"abc",
        status=206,
        content_type="video/mp4",
        headers={"content-range": "bytes 0-2/10"},
    )
    stream = api.download("video_1", "video", "bytes=0-2")
    assert b"".join(stream.iter_chunks()) == b"abc"
    assert (stream.status_code, stream.content_type, stream.content_range) == (
        206,
        "video/mp4",
        "bytes 0-2/10",
    )
    assert responses.calls[0].request.headers["Range"] == "bytes=0-2"
    assert "variant=video" in responses.calls[0].request.url


def test_parse_retry_after():
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "soon"}) is None
