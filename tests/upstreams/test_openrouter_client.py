"""The OpenRouter provider against `responses` fixtures in the documented shapes
(docs/upstreams/openrouter.md): the create body, every poll status, the error envelope, the
retry policy (a billed create is retried only when nothing was sent), the content download
and its redirect, and a key that never leaves the Authorization header."""

from __future__ import annotations

import base64
import json
import logging

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NewConnectionError

from chalicelib.upstreams.base import (
    CreateRequest,
    ReferenceImage,
    UpstreamAuthError,
    UpstreamBadRequest,
    UpstreamError,
    UpstreamNotFound,
    UpstreamPaymentRequired,
    UpstreamRateLimited,
    UpstreamUnavailable,
)
from chalicelib.upstreams.openrouter import OpenRouterClient

BASE = "https://openrouter.ai/api/v1"
KEY = "sk-or-v1-0123456789abcdef0123456789abcdef0123456789abcdef"
MODEL = "google/veo-3.1"
JOB = "gen-vid-1767225600-AbCdEfGhIjKlMnOpQrSt"
CREATE_URL = f"{BASE}/videos"
POLL_URL = f"{BASE}/videos/{JOB}"
CONTENT_URL = f"{BASE}/videos/{JOB}/content"
CDN_URL = "https://cdn.video-provider.example/outputs/abc.mp4?sig=xyz"
ACCEPTED = {"id": JOB, "polling_url": f"/api/v1/videos/{JOB}", "status": "pending"}
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 16


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def api(sleeps: list[float]) -> OpenRouterClient:
    return OpenRouterClient(BASE, KEY, timeout=5, max_retries=3, sleep=sleeps.append)


def request(**overrides) -> CreateRequest:
    fields = {"prompt": "A cozy campfire", "model": MODEL, "size": "1280x720", "seconds": 8}
    return CreateRequest(**{**fields, **overrides})


def envelope(code: int, message: str, metadata: dict | None = None) -> dict:
    error: dict = {"code": code, "message": message}
    if metadata is not None:
        error["metadata"] = metadata
    return {"error": error, "user_id": None}


def job(status: str, **fields) -> dict:
    return {"id": JOB, "polling_url": f"{BASE}/videos/{JOB}", "status": status, **fields}


def refused() -> requests.ConnectionError:
    """What requests raises when the TCP connection is refused: nothing reached the server."""
    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111]")
    return requests.ConnectionError(MaxRetryError(None, CREATE_URL, reason=reason))


def sent_json(call_index: int = 0) -> dict:
    return json.loads(responses.calls[call_index].request.body)


# -- create ----------------------------------------------------------------------------------


@responses.activate
def test_create_sends_slug_prompt_duration_and_size_with_the_bearer_key(api):
    responses.post(CREATE_URL, status=202, json=ACCEPTED)
    video = api.create(request(seconds=6))
    sent = responses.calls[0].request
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    assert sent.headers["Content-Type"] == "application/json"
    assert sent_json() == {
        "model": MODEL,
        "prompt": "A cozy campfire",
        "duration": 6,
        "size": "1280x720",
    }
    # The 202 answer: the job id, status `pending` as our `queued`, no progress figure.
    assert (video.id, video.status, video.progress) == (JOB, "queued", None)
    assert (video.error_code, video.cost_usd) == (None, None)


@responses.activate
def test_create_sends_resolution_and_aspect_ratio_when_the_wire_names_them(api):
    wire = {"resolution_by_size": {"720x1280": ["720p", "9:16"], "854x480": ["480p", "16:9"]}}
    responses.post(CREATE_URL, status=202, json=ACCEPTED)
    api.create(request(size="720x1280", seconds=5, wire=wire))
    assert sent_json() == {
        "model": MODEL,
        "prompt": "A cozy campfire",
        "duration": 5,
        "resolution": "720p",
        "aspect_ratio": "9:16",
    }


@responses.activate
def test_create_falls_back_to_size_for_a_size_the_wire_does_not_name(api):
    wire = {"resolution_by_size": {"720x1280": ["720p", "9:16"]}}
    responses.post(CREATE_URL, status=202, json=ACCEPTED)
    api.create(request(size="1280x720", wire=wire))
    body = sent_json()
    assert body["size"] == "1280x720"
    assert "resolution" not in body and "aspect_ratio" not in body


@responses.activate
def test_create_with_a_first_frame_sends_a_frame_images_data_url(api):
    responses.post(CREATE_URL, status=202, json=ACCEPTED)
    ref = ReferenceImage(data=b"\x89PNG\r\n\x1a\nbytes", content_type="image/png", filename="a.png")
    api.create(request(reference=ref))
    body = sent_json()
    encoded = base64.b64encode(b"\x89PNG\r\n\x1a\nbytes").decode()
    assert body["frame_images"] == [
        {
            "type": "image_url",
            "image_url": {"url": f"data:image/png;base64,{encoded}"},
            "frame_type": "first_frame",
        }
    ]
    assert "input_references" not in body


@responses.activate
def test_callback_url_is_sent_only_when_configured(api, sleeps):
    responses.post(CREATE_URL, status=202, json=ACCEPTED)
    api.create(request())
    assert "callback_url" not in sent_json(0)
    hooked = OpenRouterClient(
        BASE,
        KEY,
        callback_url="https://studio.example/api/webhooks/openrouter",
        sleep=sleeps.append,
    )
    hooked.create(request())
    assert sent_json(1)["callback_url"] == "https://studio.example/api/webhooks/openrouter"


# -- poll ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "status", "progress", "code"),
    [
        (job("pending"), "queued", None, None),
        (job("in_progress"), "in_progress", None, None),
        (
            job("completed", unsigned_urls=[f"{CONTENT_URL}?index=0"], usage={"cost": 0.5}),
            "completed",
            100,
            None,
        ),
        (job("failed", error="Content policy violation"), "failed", None, "moderation_blocked"),
        (job("failed", error="Provider returned error"), "failed", None, "upstream_failed"),
        (job("cancelled", error="Job was cancelled"), "failed", None, "upstream_cancelled"),
        (
            job("expired", error="Job exceeded maximum time to live"),
            "failed",
            None,
            "upstream_expired",
        ),
    ],
    ids=["pending", "in_progress", "completed", "moderated", "failed", "cancelled", "expired"],
)
@responses.activate
def test_poll_maps_each_documented_status(api, answer, status, progress, code):
    responses.get(POLL_URL, json=answer)
    video = api.retrieve(JOB)
    assert (video.id, video.status, video.progress, video.error_code) == (
        JOB,
        status,
        progress,
        code,
    )
    if status == "failed":
        assert video.error_message == answer["error"]
    else:
        assert video.error_message is None
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {KEY}"


@responses.activate
def test_completed_job_carries_the_charge_and_expiry(api):
    responses.get(
        POLL_URL,
        json=job(
            "completed",
            generation_id="gen-xyz789",
            unsigned_urls=[f"{CONTENT_URL}?index=0"],
            usage={"cost": 1.25, "is_byok": False},
            expires_at=1_767_312_000,
        ),
    )
    video = api.retrieve(JOB)
    assert (video.cost_usd, video.expires_at) == (1.25, 1_767_312_000)
    assert video.raw["generation_id"] == "gen-xyz789"


@pytest.mark.parametrize("usage", [None, {"cost": None, "is_byok": True}, {"cost": "0.5"}])
@responses.activate
def test_completed_job_without_a_numeric_cost_has_none(api, usage):
    responses.get(POLL_URL, json=job("completed", usage=usage))
    video = api.retrieve(JOB)
    assert (video.status, video.cost_usd) == ("completed", None)


@responses.activate
def test_failed_job_without_an_error_string_still_says_why(api):
    responses.get(POLL_URL, json=job("cancelled"))
    video = api.retrieve(JOB)
    assert video.error_code == "upstream_cancelled"
    assert "cancelled" in video.error_message


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "message", "kind"),
    [
        (400, "Invalid request parameters", UpstreamBadRequest),
        (401, "Missing Authentication header", UpstreamAuthError),
        (402, "Insufficient credits. Add more using https://openrouter.ai/credits", None),
        (404, "Resource not found", UpstreamNotFound),
        (500, "Internal Server Error", UpstreamUnavailable),
        (502, "Provider returned error", UpstreamUnavailable),
        (503, "No provider meets the routing requirements", UpstreamUnavailable),
    ],
)
@responses.activate
def test_create_maps_the_error_envelope_and_is_never_retried_after_an_answer(
    api, sleeps, status, message, kind
):
    kind = kind or UpstreamPaymentRequired
    responses.post(
        CREATE_URL,
        status=status,
        json=envelope(status, message),
        headers={"x-request-id": "req_7"},
    )
    with pytest.raises(kind) as info:
        api.create(request())
    assert (info.value.status, info.value.message, info.value.request_id) == (
        status,
        message,
        "req_7",
    )
    assert len(responses.calls) == 1 and sleeps == []


@responses.activate
def test_a_403_on_create_is_a_moderation_refusal_of_the_prompt(api):
    metadata = {"reasons": ["violence"], "flagged_input": "A cozy campfire"}
    responses.post(CREATE_URL, status=403, json=envelope(403, "Input flagged", metadata))
    with pytest.raises(UpstreamBadRequest) as info:
        api.create(request())
    assert (info.value.code, info.value.param) == ("moderation_blocked", "prompt")


@pytest.mark.parametrize(
    ("headers", "metadata", "retry_after"),
    [
        ({"Retry-After": "7"}, None, 7.0),
        ({}, {"retry_after_seconds": 12}, 12.0),
        ({"Retry-After": "3"}, {"retry_after_seconds": 12}, 3.0),
        ({}, None, None),
        ({}, {}, None),
    ],
    ids=["header", "metadata", "header-wins", "neither", "empty-metadata"],
)
@responses.activate
def test_429_is_rate_limited_with_the_hinted_wait(api, sleeps, headers, metadata, retry_after):
    responses.post(
        CREATE_URL,
        status=429,
        json=envelope(429, "Rate limit exceeded", metadata),
        headers=headers,
    )
    with pytest.raises(UpstreamRateLimited) as info:
        api.create(request())
    assert (info.value.status, info.value.retry_after) == (429, retry_after)
    assert len(responses.calls) == 1 and sleeps == []


@responses.activate
def test_a_poll_answering_429_waits_the_hinted_time_then_succeeds(api, sleeps):
    responses.get(
        POLL_URL,
        status=429,
        json=envelope(429, "Rate limit exceeded", {"retry_after_seconds": 4}),
    )
    responses.get(POLL_URL, json=job("in_progress"))
    assert api.retrieve(JOB).status == "in_progress"
    assert sleeps == [4.0]


@responses.activate
def test_an_error_body_that_is_not_the_envelope_still_maps_by_status(api):
    responses.get(POLL_URL, status=404, body="<html>Not Found</html>", content_type="text/html")
    with pytest.raises(UpstreamNotFound) as info:
        api.retrieve(JOB)
    assert info.value.message == "OpenRouter answered HTTP 404"


# -- retry policy ----------------------------------------------------------------------------


@responses.activate
def test_a_create_that_timed_out_reading_is_not_retried(api, sleeps):
    responses.post(CREATE_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(UpstreamUnavailable):
        api.create(request())
    assert len(responses.calls) == 1 and sleeps == []


@responses.activate
def test_a_create_whose_connection_broke_after_sending_is_not_retried(api, sleeps):
    responses.post(CREATE_URL, body=requests.ConnectionError("Connection reset by peer"))
    with pytest.raises(UpstreamUnavailable):
        api.create(request())
    assert len(responses.calls) == 1 and sleeps == []


@responses.activate
def test_a_create_whose_connection_was_refused_is_retried(api, sleeps):
    responses.post(CREATE_URL, body=refused())
    responses.post(CREATE_URL, body=refused())
    responses.post(CREATE_URL, status=202, json=ACCEPTED)
    assert api.create(request()).id == JOB
    assert len(responses.calls) == 3
    assert len(sleeps) == 2 and 0 < sleeps[0] < sleeps[1]


@responses.activate
def test_a_create_refused_every_time_gives_up_after_the_retries(api, sleeps):
    responses.post(CREATE_URL, body=refused())
    with pytest.raises(UpstreamUnavailable) as info:
        api.create(request())
    assert "could not reach OpenRouter" in info.value.message
    assert len(responses.calls) == 4 and len(sleeps) == 3


@responses.activate
def test_a_poll_answering_503_is_retried(api, sleeps):
    responses.get(POLL_URL, status=503, json=envelope(503, "busy"))
    responses.get(POLL_URL, json=job("in_progress"))
    assert api.retrieve(JOB).status == "in_progress"
    assert len(responses.calls) == 2
    assert len(sleeps) == 1 and 0.25 <= sleeps[0] <= 0.5  # jittered half-second backoff


@responses.activate
def test_a_poll_that_keeps_failing_gives_up(api, sleeps):
    responses.get(POLL_URL, status=500, json=envelope(500, "Internal Server Error"))
    with pytest.raises(UpstreamUnavailable):
        api.retrieve(JOB)
    assert len(responses.calls) == 4 and len(sleeps) == 3


@responses.activate
def test_a_poll_answering_401_is_not_retried(api, sleeps):
    responses.get(POLL_URL, status=401, json=envelope(401, "Missing Authentication header"))
    with pytest.raises(UpstreamAuthError):
        api.retrieve(JOB)
    assert len(responses.calls) == 1 and sleeps == []


# -- bodies that are not a job ---------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        {"body": "<html>gateway</html>", "content_type": "text/html"},
        {"body": "[1, 2]", "content_type": "application/json"},
        {"json": {"status": "pending"}},
    ],
    ids=["html", "json-list", "no-id"],
)
@responses.activate
def test_a_body_that_is_not_a_video_job_is_unavailable(api, answer):
    responses.get(POLL_URL, **answer)
    with pytest.raises(UpstreamUnavailable):
        api.retrieve(JOB)
    responses.post(CREATE_URL, status=202, **answer)
    with pytest.raises(UpstreamUnavailable):
        api.create(request())


@responses.activate
def test_a_model_list_that_is_not_json_or_has_no_data_is_unavailable(api):
    responses.get(f"{BASE}/videos/models", body="not json", content_type="text/plain")
    with pytest.raises(UpstreamUnavailable):
        api.list_models()
    responses.replace(responses.GET, f"{BASE}/videos/models", json={"models": []})
    with pytest.raises(UpstreamUnavailable):
        api.list_models()


# -- download --------------------------------------------------------------------------------


@responses.activate
def test_download_gets_the_first_output_with_the_key_and_passes_range(api):
    responses.get(
        f"{CONTENT_URL}?index=0",
        body=MP4[:16],
        status=206,
        content_type="video/mp4",
        headers={"content-range": f"bytes 0-15/{len(MP4)}"},
    )
    stream = api.download(JOB, "video", "bytes=0-15")
    try:
        data = b"".join(stream.iter_chunks())
    finally:
        stream.close()
    assert data == MP4[:16]
    assert (stream.status_code, stream.content_type, stream.content_range) == (
        206,
        "video/mp4",
        f"bytes 0-15/{len(MP4)}",
    )
    sent = responses.calls[0].request
    assert sent.url == f"{CONTENT_URL}?index=0"
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    assert sent.headers["Range"] == "bytes=0-15"


@responses.activate
def test_download_without_range_sends_no_range_header(api):
    responses.get(f"{CONTENT_URL}?index=0", body=MP4, content_type="video/mp4")
    stream = api.download(JOB)
    assert b"".join(stream.iter_chunks()) == MP4
    assert stream.status_code == 200
    assert "Range" not in responses.calls[0].request.headers


@responses.activate
def test_download_redirected_to_another_host_drops_the_key(api):
    responses.get(f"{CONTENT_URL}?index=0", status=302, headers={"Location": CDN_URL})
    responses.get(
        CDN_URL,
        body=MP4[:8],
        status=206,
        content_type="video/mp4",
        headers={"content-range": f"bytes 0-7/{len(MP4)}"},
    )
    stream = api.download(JOB, "video", "bytes=0-7")
    try:
        assert b"".join(stream.iter_chunks()) == MP4[:8]
    finally:
        stream.close()
    assert len(responses.calls) == 2
    first, second = responses.calls[0].request, responses.calls[1].request
    assert first.headers["Authorization"] == f"Bearer {KEY}"
    assert second.url == CDN_URL
    assert "Authorization" not in second.headers
    assert KEY not in json.dumps(dict(second.headers))
    assert second.headers["Range"] == "bytes=0-7"


@responses.activate
def test_download_redirected_within_openrouter_keeps_the_key(api):
    moved = f"{BASE}/videos/{JOB}/content/0"
    responses.get(f"{CONTENT_URL}?index=0", status=307, headers={"Location": moved})
    responses.get(moved, body=MP4, content_type="video/mp4")
    stream = api.download(JOB)
    assert b"".join(stream.iter_chunks()) == MP4
    assert responses.calls[1].request.headers["Authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize("variant", ["thumbnail", "spritesheet"])
@responses.activate
def test_images_openrouter_does_not_make_are_not_found_without_a_request(api, variant):
    with pytest.raises(UpstreamNotFound) as info:
        api.download(JOB, variant)
    assert info.value.code == "variant_unavailable"
    assert len(responses.calls) == 0


def test_an_unknown_variant_is_a_programming_error(api):
    with pytest.raises(ValueError):
        api.download(JOB, "poster")


@responses.activate
def test_download_of_an_expired_job_is_not_found(api, sleeps):
    responses.get(f"{CONTENT_URL}?index=0", status=404, json=envelope(404, "Resource not found"))
    with pytest.raises(UpstreamNotFound):
        api.download(JOB)
    assert len(responses.calls) == 1 and sleeps == []


@responses.activate
def test_remix_is_refused_and_delete_does_nothing_upstream(api):
    with pytest.raises(UpstreamBadRequest):
        api.remix(JOB, "again, at night")
    assert api.delete(JOB) is None
    assert len(responses.calls) == 0


# -- the key stays secret --------------------------------------------------------------------


@responses.activate
def test_the_key_never_appears_in_repr_errors_or_logs(api, caplog):
    caplog.set_level(logging.DEBUG)
    responses.get(POLL_URL, status=503, json=envelope(503, "busy"))
    responses.get(POLL_URL, json=job("completed", usage={"cost": 0.5}))
    responses.post(CREATE_URL, status=401, json=envelope(401, "Missing Authentication header"))
    responses.get(f"{CONTENT_URL}?index=0", status=302, headers={"Location": CDN_URL})
    responses.get(CDN_URL, body=MP4, content_type="video/mp4")
    api.retrieve(JOB)
    errors: list[UpstreamError] = []
    with pytest.raises(UpstreamAuthError) as info:
        api.create(request())
    errors.append(info.value)
    b"".join(api.download(JOB).iter_chunks())
    assert KEY not in repr(api) and KEY not in str(api)
    assert all(KEY not in str(e) and KEY not in repr(e) for e in errors)
    assert caplog.records, "the client logs its calls"
    for record in caplog.records:
        assert KEY not in record.getMessage()
        assert KEY not in repr(record.args)
    assert KEY not in caplog.text
