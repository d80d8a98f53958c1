"""The fal.ai provider against `responses` fixtures in the documented shapes
(docs/upstreams/fal.md): the submit body built from a catalog entry's `wire`, the queue URLs
under the app's root, every status, a failed request reported as COMPLETED, fal's error bodies
(401/403, 422, 429, 5xx), the retry policy (a billed submit is retried only when nothing was
sent), the output file fetched from the CDN without the key, cancel, and the key kept out of
everything but the Authorization header."""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from chalicelib.catalog.presets import FAL_PRESETS
from chalicelib.upstreams.base import (
    CreateRequest,
    ReferenceImage,
    UpstreamAuthError,
    UpstreamBadRequest,
    UpstreamNotFound,
    UpstreamPaymentRequired,
    UpstreamRateLimited,
    UpstreamUnavailable,
)
from chalicelib.upstreams.fal import FalClient, app_root, progress_from_logs, request_body
from tests.upstreams.test_openrouter_client import refused

BASE = "https://queue.fal.run"
KEY = "3c1f9a2e-7b6d-4e8f-9a1b-2c3d4e5f6a7b:0123456789abcdef0123456789abcdef"
RID = "80e732af-660e-45cd-bd63-580e4f2a94cc"
VEO = next(m for m in FAL_PRESETS if m["id"] == "fal-ai/veo3.1")
WAN = next(m for m in FAL_PRESETS if m["id"] == "fal-ai/wan/v2.7/text-to-video")
KLING = next(m for m in FAL_PRESETS if m["id"].startswith("fal-ai/kling-video/"))
UPSTREAM = f"fal-ai/veo3.1#{RID}"
REQUESTS = f"{BASE}/fal-ai/veo3.1/requests/{RID}"
CDN = "https://v3b.fal.media/files/b/0a8d04e2/output.mp4"
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 16
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8


def submitted(endpoint: str = "fal-ai/veo3.1") -> dict:
    root = f"{BASE}/{app_root(endpoint)}/requests/{RID}"
    return {
        "request_id": RID,
        "gateway_request_id": RID,
        "response_url": root,
        "status_url": f"{root}/status",
        "cancel_url": f"{root}/cancel",
    }


def result() -> dict:
    video = {"url": CDN, "content_type": "video/mp4", "file_name": "output.mp4"}
    return {"video": {**video, "file_size": 13096952}, "seed": 42}


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def api(sleeps: list[float]) -> FalClient:
    return FalClient(BASE, KEY, timeout=5, max_retries=3, sleep=sleeps.append)


def request(preset: dict = VEO, **overrides) -> CreateRequest:
    fields = {"prompt": "A cozy campfire", "model": preset["id"], "size": "1280x720", "seconds": 8}
    return CreateRequest(**{**fields, "wire": preset["wire"], **overrides})


def sent_json(index: int = 0) -> dict:
    return json.loads(responses.calls[index].request.body)


# -- the submit body ------------------------------------------------------------------------


@responses.activate
def test_create_submits_the_models_own_inputs_with_the_key(api):
    responses.post(f"{BASE}/fal-ai/veo3.1", json=submitted())
    video = api.create(request())
    assert video.id == UPSTREAM and video.status == "queued" and video.request_id == RID
    call = responses.calls[0].request
    assert call.headers["Authorization"] == f"Key {KEY}"
    assert sent_json() == {
        "prompt": "A cozy campfire",
        "duration": "8s",
        "aspect_ratio": "16:9",
        "resolution": "720p",
    }


def test_each_duration_format_and_size_mapping():
    _, wan = request_body(request(WAN, size="1080x1920", seconds=10))
    assert wan["duration"] == 10 and (wan["resolution"], wan["aspect_ratio"]) == ("1080p", "9:16")
    _, kling = request_body(request(KLING, size="1080x1080", seconds=5))
    assert kling == {"prompt": "A cozy campfire", "duration": "5", "aspect_ratio": "1:1"}


def test_a_model_from_json_config_with_its_own_names_and_constants():
    wire = {
        "endpoint": "someone/their-app/t2v",
        "inputs": {"prompt": "text", "seconds": "length_seconds"},
        "seconds_format": "int",
        "extra": {"enable_safety_checker": True},
    }
    endpoint, sent = request_body(request(VEO, model="x", wire=wire, seconds=6))
    assert endpoint == "someone/their-app/t2v"
    assert sent == {"enable_safety_checker": True, "text": "A cozy campfire", "length_seconds": 6}


@responses.activate
def test_a_first_frame_goes_to_the_image_endpoint_as_its_presigned_url(api):
    responses.post(f"{BASE}/fal-ai/veo3.1/image-to-video", json=submitted())
    url = "https://media.s3.amazonaws.com/videos/j/reference.png?X-Amz-Signature=abc"
    ref = ReferenceImage(PNG, "image/png", "reference.png")
    video = api.create(request(reference=ref, reference_url=url))
    assert video.id == UPSTREAM  # the same app root as the text endpoint
    assert sent_json()["image_url"] == url


def test_without_a_reachable_url_the_first_frame_is_a_data_url():
    ref = ReferenceImage(PNG, "image/png", "reference.png")
    local = "http://127.0.0.1:5000/media/videos/j/reference.png?X-Amz-Signature=abc"
    _, sent = request_body(request(reference=ref, reference_url=local), BASE)
    assert sent["image_url"].startswith("data:image/png;base64,")
    _, sent = request_body(request(reference=ref, reference_url=local), "http://127.0.0.1:8100/fal")
    assert sent["image_url"] == local  # a simulator on this machine can fetch it
    _, kling = request_body(request(KLING, size="1920x1080", seconds=5, reference=ref))
    assert "aspect_ratio" not in kling and kling["image_url"].startswith("data:")


def test_a_first_frame_for_a_model_that_takes_none_is_refused_before_paying():
    wire = {"inputs": {"prompt": "prompt"}}
    ref = ReferenceImage(PNG, "image/png", "reference.png")
    with pytest.raises(UpstreamBadRequest) as info:
        request_body(request(VEO, wire=wire, reference=ref))
    assert info.value.param == "input_reference"


@responses.activate
def test_the_webhook_url_names_the_app_and_goes_as_fal_webhook(sleeps):
    client = FalClient(BASE, KEY, webhook_url="https://studio.example/api/webhooks/fal")
    responses.post(f"{BASE}/fal-ai/veo3.1", json=submitted())
    client.create(request())
    sent = urlsplit(responses.calls[0].request.url)
    assert sent.path == "/fal-ai/veo3.1"
    (webhook,) = parse_qs(sent.query)["fal_webhook"]
    assert webhook.split("?")[0] == "https://studio.example/api/webhooks/fal"
    assert parse_qs(urlsplit(webhook).query) == {"app": ["fal-ai/veo3.1"]}


def test_app_roots_follow_fals_rule():
    assert app_root("fal-ai/kling-video/v2.5-turbo/pro/image-to-video") == "fal-ai/kling-video"
    assert app_root("workflows/someone/flow/run") == "workflows/someone/flow"
    with pytest.raises(ValueError):
        app_root("veo3.1")


# -- status and result ------------------------------------------------------------------------


@responses.activate
def test_status_polls_the_app_root_with_logs(api):
    responses.get(
        f"{REQUESTS}/status", status=202, json={"status": "IN_QUEUE", "queue_position": 3}
    )
    video = api.retrieve(UPSTREAM)
    assert (video.status, video.progress) == ("queued", None)
    assert responses.calls[0].request.url == f"{REQUESTS}/status?logs=1"


@pytest.mark.parametrize(
    ("logs", "progress"),
    [
        ([{"message": "Generating video: 12%"}, {"message": "Generating video: 47%"}], 47),
        ([{"message": "100% loaded"}, {"message": "step 3"}], 99),
        ([{"message": "Rendering frames"}], None),
        (None, None),
    ],
)
@responses.activate
def test_progress_comes_from_the_latest_percentage_in_the_logs(api, logs, progress):
    responses.get(f"{REQUESTS}/status", status=202, json={"status": "IN_PROGRESS", "logs": logs})
    video = api.retrieve(UPSTREAM)
    assert (video.status, video.progress) == ("in_progress", progress)


def test_progress_ignores_non_messages():
    assert progress_from_logs([{"message": None}, "7%", {"level": "INFO"}]) is None


@responses.activate
def test_a_completed_request_reads_its_result(api):
    responses.get(f"{REQUESTS}/status", json={"status": "COMPLETED", "logs": []})
    responses.get(REQUESTS, json=result())
    video = api.retrieve(UPSTREAM)
    assert (video.status, video.progress) == ("completed", 100)
    assert video.raw["video"]["url"] == CDN


@responses.activate
def test_a_content_refusal_reported_as_completed_fails_moderation_blocked(api, sleeps):
    responses.get(f"{REQUESTS}/status", json={"status": "COMPLETED"})
    detail = [
        {
            "loc": ["body", "prompt"],
            "msg": "The content was flagged by a content checker.",
            "type": "content_policy_violation",
            "url": "https://docs.fal.ai/errors#content_policy_violation",
        }
    ]
    responses.get(REQUESTS, status=422, json={"detail": detail})
    video = api.retrieve(UPSTREAM)
    assert (video.status, video.error_code) == ("failed", "moderation_blocked")
    assert "flagged" in video.error_message and sleeps == []


@responses.activate
def test_a_request_error_fails_the_job_but_a_gateway_fault_does_not(api, sleeps):
    responses.get(f"{REQUESTS}/status", json={"status": "COMPLETED"})
    responses.get(
        REQUESTS,
        status=504,
        json={"detail": "Request timed out", "error_type": "request_timeout"},
        headers={"X-Fal-Error-Type": "request_timeout"},
    )
    video = api.retrieve(UPSTREAM)
    assert (video.status, video.error_code) == ("failed", "upstream_failed")
    assert video.error_message == "Request timed out"
    responses.replace(responses.GET, REQUESTS, status=502, body="<html>nginx</html>")
    with pytest.raises(UpstreamUnavailable):
        api.retrieve(UPSTREAM)  # stays pending: the next refresh asks again
    assert sleeps == []  # result reads are not retried in-process


@responses.activate
def test_a_result_without_a_video_fails(api):
    responses.get(f"{REQUESTS}/status", json={"status": "COMPLETED", "error": "No output"})
    responses.get(REQUESTS, json={"images": []})
    video = api.retrieve(UPSTREAM)
    assert (video.status, video.error_code) == ("failed", "upstream_failed")


@pytest.mark.parametrize("status", ["FAILED", "CANCELED"])
@responses.activate
def test_undocumented_terminal_statuses_end_the_job(api, status):
    responses.get(f"{REQUESTS}/status", json={"status": status, "error": "Runner died"})
    video = api.retrieve(UPSTREAM)
    assert (video.status, video.error_message) == ("failed", "Runner died")


@responses.activate
def test_an_unknown_status_keeps_the_job_pending(api):
    responses.get(f"{REQUESTS}/status", json={"status": "WARMING_UP"})
    assert api.retrieve(UPSTREAM).status == "in_progress"


def test_a_malformed_upstream_id_is_not_found(api):
    with pytest.raises(UpstreamNotFound):
        api.retrieve("no-hash-here")


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "answer", "kind"),
    [
        (401, {"detail": "No user found for Key ID and Secret"}, UpstreamAuthError),
        (403, {"detail": "Access denied to this application"}, UpstreamAuthError),
        (403, {"detail": "User is locked. Reason: Exhausted balance."}, UpstreamPaymentRequired),
        (404, {"detail": "Application 'x' not found"}, UpstreamNotFound),
        (500, {"detail": "Internal Server Error"}, UpstreamUnavailable),
        (503, {"detail": "No runner", "error_type": "runner_scheduling_failure"}, None),
    ],
)
@responses.activate
def test_submit_errors_map_by_status_and_are_never_retried_after_an_answer(
    api, sleeps, status, answer, kind
):
    responses.post(f"{BASE}/fal-ai/veo3.1", status=status, json=answer)
    with pytest.raises(kind or UpstreamUnavailable) as info:
        api.create(request())
    assert (info.value.status, info.value.message) == (status, answer["detail"])
    assert len(responses.calls) == 1 and sleeps == []


@responses.activate
def test_a_422_on_submit_names_the_input(api):
    detail = [{"loc": ["body", "duration"], "msg": "Input should be '4s'", "type": "literal_error"}]
    responses.post(f"{BASE}/fal-ai/veo3.1", status=422, json={"detail": detail})
    with pytest.raises(UpstreamBadRequest) as info:
        api.create(request())
    assert (info.value.param, info.value.code) == ("duration", "literal_error")
    assert info.value.message == "Input should be '4s'"


@responses.activate
def test_a_moderated_image_names_the_first_frame(api):
    detail = [{"loc": ["body", "image_url"], "msg": "flagged", "type": "content_policy_violation"}]
    responses.post(f"{BASE}/fal-ai/veo3.1", status=422, json={"detail": detail})
    with pytest.raises(UpstreamBadRequest) as info:
        api.create(request())
    assert (info.value.code, info.value.param) == ("moderation_blocked", "input_reference")


@responses.activate
def test_429_is_rate_limited_and_a_submit_is_not_retried(api, sleeps):
    responses.post(
        f"{BASE}/fal-ai/veo3.1",
        status=429,
        json={"detail": "Too many"},
        headers={"Retry-After": "9"},
    )
    with pytest.raises(UpstreamRateLimited) as info:
        api.create(request())
    assert info.value.retry_after == 9.0 and len(responses.calls) == 1 and sleeps == []


@responses.activate
def test_a_status_poll_answering_429_or_5xx_is_retried(api, sleeps):
    responses.get(f"{REQUESTS}/status", status=429, json={"detail": "Too many"})
    responses.get(f"{REQUESTS}/status", status=503, body="busy")
    responses.get(f"{REQUESTS}/status", status=202, json={"status": "IN_QUEUE"})
    assert api.retrieve(UPSTREAM).status == "queued" and len(sleeps) == 2


@responses.activate
def test_a_status_poll_answering_401_is_not_retried(api, sleeps):
    responses.get(f"{REQUESTS}/status", status=401, json={"detail": "Missing credentials"})
    with pytest.raises(UpstreamAuthError):
        api.retrieve(UPSTREAM)
    assert sleeps == []


@responses.activate
def test_an_error_body_that_is_not_json_keeps_its_text(api):
    responses.post(f"{BASE}/fal-ai/veo3.1", status=500, body="upstream connect error")
    with pytest.raises(UpstreamUnavailable) as info:
        api.create(request())
    assert "upstream connect error" in info.value.message


# -- the billed submit and the retry policy ------------------------------------------------


@responses.activate
def test_a_submit_that_timed_out_reading_is_not_retried(api, sleeps):
    responses.post(f"{BASE}/fal-ai/veo3.1", body=requests.exceptions.ReadTimeout("timed out"))
    with pytest.raises(UpstreamUnavailable):
        api.create(request())
    assert len(responses.calls) == 1 and sleeps == []


@responses.activate
def test_a_submit_whose_connection_was_refused_is_retried(api, sleeps):
    responses.post(f"{BASE}/fal-ai/veo3.1", body=refused())
    responses.post(f"{BASE}/fal-ai/veo3.1", json=submitted())
    assert api.create(request()).id == UPSTREAM
    assert len(responses.calls) == 2 and len(sleeps) == 1


@responses.activate
def test_a_submit_answer_without_a_request_id_is_unavailable(api):
    responses.post(f"{BASE}/fal-ai/veo3.1", json={"status": "IN_QUEUE"})
    with pytest.raises(UpstreamUnavailable):
        api.create(request())


# -- download, cancel, remix -------------------------------------------------------------------


@responses.activate
def test_download_reads_the_result_then_fetches_the_cdn_file_without_the_key(api):
    responses.get(REQUESTS, json=result())
    responses.get(CDN, body=MP4, content_type="video/mp4", status=206)
    stream = api.download(UPSTREAM, "video", "bytes=0-31")
    assert b"".join(stream.iter_chunks()) == MP4
    stream.close()
    queue_call, cdn_call = (call.request for call in responses.calls)
    assert queue_call.headers["Authorization"] == f"Key {KEY}"
    assert "Authorization" not in cdn_call.headers
    assert cdn_call.headers["Range"] == "bytes=0-31"


@responses.activate
def test_an_expired_cdn_file_is_not_found(api):
    responses.get(REQUESTS, json=result())
    responses.get(CDN, status=404, body="Not Found")
    with pytest.raises(UpstreamNotFound):
        api.download(UPSTREAM)


@pytest.mark.parametrize("variant", ["thumbnail", "spritesheet"])
def test_fal_makes_no_images(api, variant):
    with pytest.raises(UpstreamNotFound) as info:
        api.download(UPSTREAM, variant)
    assert info.value.code == "variant_unavailable"


@pytest.mark.parametrize(
    ("status", "answer"),
    [(202, "CANCELLATION_REQUESTED"), (400, "ALREADY_COMPLETED"), (404, "NOT_FOUND")],
)
@responses.activate
def test_delete_asks_the_queue_to_cancel(api, status, answer):
    responses.put(f"{REQUESTS}/cancel", status=status, json={"status": answer})
    api.delete(UPSTREAM)  # an ended or unknown request has nothing to cancel
    assert responses.calls[0].request.method == "PUT"


def test_remix_is_refused(api):
    with pytest.raises(UpstreamBadRequest):
        api.remix(UPSTREAM, "again")


@responses.activate
def test_the_key_never_appears_in_repr_errors_or_logs(api, caplog):
    caplog.set_level(logging.DEBUG)
    responses.post(f"{BASE}/fal-ai/veo3.1", status=401, json={"detail": "Invalid key"})
    with pytest.raises(UpstreamAuthError) as info:
        api.create(request())
    assert KEY not in repr(api) and KEY not in str(info.value)
    assert all(KEY not in record.getMessage() for record in caplog.records)
