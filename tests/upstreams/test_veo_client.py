"""The Veo provider against `responses` fixtures in the Gemini API's documented shapes:
success, safety filtering, operation error, 429, 5xx, download redirect, and retry parity
with the `/v1/videos` client (reads retried honouring Retry-After; creates never retried
after a response)."""

from __future__ import annotations

import base64
import json

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
from chalicelib.upstreams.veo import PROGRESS_CAP, RETENTION_SECONDS, VeoClient, split_id

BASE = "https://generativelanguage.googleapis.com"
KEY = "AIzaSy-test-key-0123456789abcdefghij"
MODEL = "veo-3.1-generate-preview"
OP = f"models/{MODEL}/operations/op123"
CREATE_URL = f"{BASE}/v1beta/models/{MODEL}:predictLongRunning"
OP_URL = f"{BASE}/v1beta/{OP}"
FILE_URL = f"{BASE}/v1beta/files/abc:download?alt=media"
STORE_URL = "https://video-downloads.example-storage.com/abc?signature=xyz"
NOW = 1_800_000_000.0


def done_ok(uri: str = FILE_URL) -> dict:
    return {
        "name": OP,
        "done": True,
        "response": {
            "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta."
            "PredictLongRunningResponse",
            "generateVideoResponse": {"generatedSamples": [{"video": {"uri": uri}}]},
        },
    }


def google_error(code: int, status: str, message: str, details: list | None = None) -> dict:
    error: dict = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = details
    return {"error": error}


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def clock() -> list[float]:
    return [NOW]


@pytest.fixture
def veo(sleeps: list[float], clock: list[float]) -> VeoClient:
    return VeoClient(BASE, KEY, timeout=5, max_retries=3, sleep=sleeps.append, now=lambda: clock[0])


def request(**overrides) -> CreateRequest:
    fields = {"prompt": "A cozy campfire", "model": MODEL, "size": "1280x720", "seconds": 8}
    return CreateRequest(**{**fields, **overrides})


@responses.activate
def test_create_sends_the_documented_body_with_the_key_header(veo):
    responses.post(CREATE_URL, json={"name": OP})
    video = veo.create(request(size="720x1280", seconds=6))
    sent = responses.calls[0].request
    assert sent.headers["x-goog-api-key"] == KEY
    assert "Authorization" not in sent.headers
    assert json.loads(sent.body) == {
        "instances": [{"prompt": "A cozy campfire"}],
        "parameters": {"aspectRatio": "9:16", "durationSeconds": 6, "resolution": "720p"},
    }
    assert split_id(video.id) == (OP, NOW)
    assert (video.status, video.progress) == ("in_progress", 0)


@responses.activate
def test_create_with_a_first_frame_image(veo):
    responses.post(CREATE_URL, json={"name": OP})
    ref = ReferenceImage(data=b"\x89PNG-bytes", content_type="image/png", filename="ref.png")
    veo.create(request(size="1920x1080", reference=ref))
    body = json.loads(responses.calls[0].request.body)
    assert body["instances"][0]["image"] == {
        "bytesBase64Encoded": base64.b64encode(b"\x89PNG-bytes").decode(),
        "mimeType": "image/png",
    }
    assert body["parameters"]["resolution"] == "1080p"


@responses.activate
def test_create_refuses_what_veo_cannot_make_before_paying(veo):
    with pytest.raises(UpstreamBadRequest) as short_1080p:
        veo.create(request(size="1920x1080", seconds=4))
    assert short_1080p.value.param == "seconds"
    with pytest.raises(UpstreamBadRequest) as odd_size:
        veo.create(request(size="1792x1024"))
    assert odd_size.value.param == "size"
    assert len(responses.calls) == 0


@responses.activate
def test_pending_progress_is_a_capped_time_estimate(veo, clock):
    responses.get(OP_URL, json={"name": OP})
    upstream_id = f"{OP}#t={int(NOW)}"
    clock[0] = NOW + 45  # half of the model's typical 90 s
    half = veo.retrieve(upstream_id)
    assert (half.status, half.progress) == ("in_progress", 50)
    clock[0] = NOW + 3600
    assert veo.retrieve(upstream_id).progress == PROGRESS_CAP
    assert veo.retrieve(OP).progress == 0  # no create time known: no guess


@responses.activate
def test_finished_operation_is_completed_with_two_day_retention(veo):
    responses.get(OP_URL, json=done_ok())
    video = veo.retrieve(f"{OP}#t={int(NOW)}")
    assert (video.status, video.progress) == ("completed", 100)
    assert video.expires_at == int(NOW) + RETENTION_SECONDS


@responses.activate
def test_safety_filtered_result_is_moderation_blocked(veo):
    filtered = {
        "name": OP,
        "done": True,
        "response": {
            "generateVideoResponse": {
                "raiMediaFilteredCount": 1,
                "raiMediaFilteredReasons": ["The prompt could not be submitted (58061214)."],
            }
        },
    }
    responses.get(OP_URL, json=filtered)
    video = veo.retrieve(OP)
    assert (video.status, video.error_code) == ("failed", "moderation_blocked")
    assert "58061214" in (video.error_message or "")


@responses.activate
def test_operation_error_becomes_the_jobs_error(veo):
    responses.get(OP_URL, json={"name": OP, "done": True, "error": {"code": 13, "message": "boom"}})
    video = veo.retrieve(OP)
    assert (video.status, video.error_code, video.error_message) == ("failed", "internal", "boom")
    responses.get(
        OP_URL,
        json={"name": OP, "done": True, "error": {"code": 3, "message": "Blocked by safety"}},
    )
    assert veo.retrieve(OP).error_code == "moderation_blocked"


@responses.activate
def test_done_without_video_or_reason_fails(veo):
    responses.get(OP_URL, json={"name": OP, "done": True, "response": {}})
    video = veo.retrieve(OP)
    assert (video.status, video.error_code) == ("failed", "upstream_failed")


@responses.activate
def test_reads_retry_429_and_5xx_honouring_retry_after(veo, sleeps):
    responses.get(
        OP_URL,
        status=429,
        json=google_error(429, "RESOURCE_EXHAUSTED", "quota"),
        headers={"retry-after": "3"},
    )
    retry_info = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s"}
    responses.get(OP_URL, status=503, json=google_error(503, "UNAVAILABLE", "busy", [retry_info]))
    responses.get(OP_URL, status=500, json=google_error(500, "INTERNAL", "oops"))
    responses.get(OP_URL, json={"name": OP})
    assert veo.retrieve(OP).status == "in_progress"
    assert sleeps[:2] == [3.0, 2.0] and len(sleeps) == 3


@responses.activate
def test_reads_give_up_after_max_retries_with_the_typed_error(veo, sleeps):
    responses.get(OP_URL, status=503, json=google_error(503, "UNAVAILABLE", "busy"))
    with pytest.raises(UpstreamUnavailable) as exc:
        veo.retrieve(OP)
    assert (exc.value.status, exc.value.code) == (503, "UNAVAILABLE")
    assert len(responses.calls) == 4 and len(sleeps) == 3


@responses.activate
def test_create_is_never_retried_after_a_response(veo, sleeps):
    responses.post(
        CREATE_URL,
        status=429,
        json=google_error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted"),
        headers={"retry-after": "7"},
    )
    with pytest.raises(UpstreamRateLimited) as limited:
        veo.create(request())
    assert (limited.value.retry_after, limited.value.code) == (7.0, "RESOURCE_EXHAUSTED")
    responses.replace(
        responses.POST, CREATE_URL, status=500, json=google_error(500, "INTERNAL", "oops")
    )
    with pytest.raises(UpstreamUnavailable):
        veo.create(request())
    assert len(responses.calls) == 2 and sleeps == []


@responses.activate
def test_create_is_retried_only_when_the_connection_was_never_made(sleeps):
    veo = VeoClient("http://127.0.0.1:9", KEY, max_retries=2, sleep=sleeps.append)
    responses.add_passthru("http://127.0.0.1:9")
    with pytest.raises(UpstreamUnavailable):
        veo.create(request())
    assert len(sleeps) == 2  # refused connections: nothing reached a server


@responses.activate
def test_create_timeout_after_sending_is_not_retried(veo, sleeps):
    responses.post(CREATE_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(UpstreamUnavailable):
        veo.create(request())
    assert len(responses.calls) == 1 and sleeps == []


@responses.activate
def test_error_mapping_auth_bad_request_not_found(veo):
    invalid_key = google_error(
        400,
        "INVALID_ARGUMENT",
        "API key not valid. Please pass a valid API key.",
        [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}],
    )
    responses.post(CREATE_URL, status=400, json=invalid_key)
    with pytest.raises(UpstreamAuthError):
        veo.create(request())
    responses.replace(
        responses.POST,
        CREATE_URL,
        status=400,
        json=google_error(400, "INVALID_ARGUMENT", "durationSeconds is out of bounds"),
    )
    with pytest.raises(UpstreamBadRequest) as bad:
        veo.create(request())
    assert bad.value.message == "durationSeconds is out of bounds"
    responses.get(OP_URL, status=404, json=google_error(404, "NOT_FOUND", "gone"))
    with pytest.raises(UpstreamNotFound):
        veo.retrieve(OP)


@responses.activate
def test_download_follows_a_redirect_without_leaking_the_key(veo):
    responses.get(OP_URL, json=done_ok())
    responses.get(FILE_URL, status=302, headers={"Location": STORE_URL})
    responses.get(
        STORE_URL,
        body=b"\x00\x00\x00\x18ftypmp42rest",
        content_type="video/mp4",
        headers={"content-range": "bytes 0-15/999"},
        status=206,
    )
    stream = veo.download(f"{OP}#t=1", "video", "bytes=0-15")
    try:
        data = b"".join(stream.iter_chunks())
    finally:
        stream.close()
    assert data[4:8] == b"ftyp"
    assert (stream.status_code, stream.content_type) == (206, "video/mp4")
    file_call, store_call = responses.calls[1].request, responses.calls[2].request
    assert file_call.headers["x-goog-api-key"] == KEY
    assert file_call.headers["Range"] == "bytes=0-15"
    assert "x-goog-api-key" not in store_call.headers  # another host: no key
    assert store_call.headers["Range"] == "bytes=0-15"


@responses.activate
def test_download_of_variants_veo_does_not_make_is_not_found(veo):
    for variant in ("thumbnail", "spritesheet"):
        with pytest.raises(UpstreamNotFound):
            veo.download(OP, variant)
    assert len(responses.calls) == 0


@responses.activate
def test_download_before_done_is_not_found(veo):
    responses.get(OP_URL, json={"name": OP})
    with pytest.raises(UpstreamNotFound):
        veo.download(OP)


@responses.activate
def test_redirect_loops_are_cut(veo):
    responses.get(OP_URL, json=done_ok())
    responses.get(FILE_URL, status=302, headers={"Location": FILE_URL})
    with pytest.raises(UpstreamUnavailable):
        veo.download(OP)


def test_remix_is_refused_and_delete_is_a_no_op(veo):
    with pytest.raises(UpstreamBadRequest):
        veo.remix(OP, "again")
    assert veo.delete(OP) is None


@responses.activate
def test_the_key_is_never_logged(veo, caplog):
    caplog.set_level("DEBUG")
    responses.get(OP_URL, status=503, json=google_error(503, "UNAVAILABLE", "busy"))
    with pytest.raises(UpstreamUnavailable):
        veo.retrieve(OP)
    assert KEY not in caplog.text and KEY not in repr(veo)
