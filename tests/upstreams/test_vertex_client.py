"""The Vertex AI Veo provider against `responses` fixtures in the documented shapes
(docs/upstreams/vertex.md): the create body, the JWT-bearer token exchange and its cache, the
poll, inline (base64) and Cloud Storage results, safety filtering, operation errors, 401/403,
429 and 5xx, the retry policy for billed creates, and credentials that stay with Google and
out of the logs."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import jwt
import pytest
import requests
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.config import load_settings
from chalicelib.upstreams.base import (
    CreateRequest,
    ReferenceImage,
    UpstreamAuthError,
    UpstreamBadRequest,
    UpstreamNotConfigured,
    UpstreamNotFound,
    UpstreamRateLimited,
    UpstreamUnavailable,
)
from chalicelib.upstreams.retry import RetryPolicy
from chalicelib.upstreams.vertex import (
    INLINE_RETENTION_SECONDS,
    REFRESH_MARGIN_SECONDS,
    SCOPE,
    ApiKey,
    InlineVideos,
    ServiceAccount,
    ServiceAccountTokens,
    VertexVeoClient,
    build_client,
)
from tests.upstreams.test_veo_client import google_error  # Google's error envelope, shared

BASE = "https://us-central1-aiplatform.googleapis.com"
TOKEN_URL = "https://oauth2.googleapis.com/token"
GCS = "https://storage.googleapis.com"
PROJECT = "my-veo-project"
MODEL = "veo-3.1-generate-001"
RESOURCE = f"projects/{PROJECT}/locations/us-central1/publishers/google/models/{MODEL}"
OP = f"{RESOURCE}/operations/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
CREATE_URL = f"{BASE}/v1/{RESOURCE}:predictLongRunning"
POLL_URL = f"{BASE}/v1/{RESOURCE}:fetchPredictOperation"
OBJECT_URL = f"{GCS}/storage/v1/b/my-bucket/o/veo%2F1234%2Fsample_0.mp4?alt=media"
TOKEN = "ya29.c.test-access-token-0123456789"
NOW = 1_800_000_000.0
MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 64


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def key_json(private_key: rsa.RSAPrivateKey) -> str:
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return json.dumps(
        {
            "type": "service_account",
            "project_id": PROJECT,
            "private_key_id": "kid-0123",
            "private_key": pem,
            "client_email": f"veo@{PROJECT}.iam.gserviceaccount.com",
            "client_id": "1234567890",
            "token_uri": TOKEN_URL,
        },
        indent=2,
    )


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def clock() -> list[float]:
    return [NOW]


@pytest.fixture
def tokens(key_json: str, sleeps: list[float], clock: list[float]) -> ServiceAccountTokens:
    session = requests.Session()
    return ServiceAccountTokens(
        ServiceAccount.from_json(key_json),
        TOKEN_URL,
        session=session,
        timeout=5,
        retry=RetryPolicy(3, 0.5, 8.0, sleeps.append),
        now=lambda: clock[0],
    )


def make_client(auth: Any, sleeps: list[float], clock: list[float], **options: Any):
    return VertexVeoClient(
        project=PROJECT,
        location="us-central1",
        base_url=options.pop("base_url", BASE),
        auth=auth,
        timeout=5,
        max_retries=3,
        sleep=sleeps.append,
        now=lambda: clock[0],
        **options,
    )


@pytest.fixture
def veo(tokens: ServiceAccountTokens, sleeps: list[float], clock: list[float]) -> VertexVeoClient:
    return make_client(tokens, sleeps, clock)


@dataclass(frozen=True)
class FullRequest(CreateRequest):
    """A create with the inputs issue 14 adds to CreateRequest."""

    last_frame: ReferenceImage | None = None
    reference_images: tuple[ReferenceImage, ...] = ()
    audio: bool | None = None
    seed: int | None = None


def request(**overrides: Any) -> FullRequest:
    fields = {"prompt": "A cozy campfire", "model": MODEL, "size": "1280x720", "seconds": 8}
    return FullRequest(**{**fields, **overrides})


def png(tag: bytes) -> ReferenceImage:
    return ReferenceImage(data=b"\x89PNG" + tag, content_type="image/png", filename="x.png")


def token_ok(expires_in: int = 3599, token: str = TOKEN) -> None:
    responses.post(
        TOKEN_URL, json={"access_token": token, "expires_in": expires_in, "token_type": "Bearer"}
    )


def done_inline(data: bytes = MP4) -> dict:
    return {
        "name": OP,
        "done": True,
        "response": {
            "@type": "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse",
            "raiMediaFilteredCount": 0,
            "videos": [
                {"bytesBase64Encoded": base64.b64encode(data).decode(), "mimeType": "video/mp4"}
            ],
        },
    }


def done_gcs() -> dict:
    return {
        "name": OP,
        "done": True,
        "response": {
            "raiMediaFilteredCount": 0,
            "videos": [{"gcsUri": "gs://my-bucket/veo/1234/sample_0.mp4", "mimeType": "video/mp4"}],
        },
    }


def calls_to(url: str) -> list[Any]:
    return [c for c in responses.calls if c.request.url.split("?")[0] == url.split("?")[0]]


# -- create ------------------------------------------------------------------------------------


@responses.activate
def test_create_signs_an_assertion_and_sends_the_documented_body(veo, private_key, clock):
    token_ok()
    responses.post(CREATE_URL, json={"name": OP})
    video = veo.create(request(size="720x1280", seconds=6))
    token_call, create_call = responses.calls[0].request, responses.calls[1].request
    form = parse_qs(token_call.body)
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    assertion = form["assertion"][0]
    assert jwt.get_unverified_header(assertion) == {"alg": "RS256", "typ": "JWT", "kid": "kid-0123"}
    claims = jwt.decode(
        assertion,
        private_key.public_key(),
        algorithms=["RS256"],
        audience=TOKEN_URL,
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims == {
        "iss": f"veo@{PROJECT}.iam.gserviceaccount.com",
        "scope": SCOPE,
        "aud": TOKEN_URL,
        "iat": int(NOW),
        "exp": int(NOW) + 3600,
    }
    assert create_call.headers["Authorization"] == f"Bearer {TOKEN}"
    assert json.loads(create_call.body) == {
        "instances": [{"prompt": "A cozy campfire"}],
        "parameters": {
            "durationSeconds": 6,
            "aspectRatio": "9:16",
            "resolution": "720p",
            "generateAudio": True,
            "sampleCount": 1,
        },
    }
    assert (video.id, video.status, video.progress) == (OP, "in_progress", None)


@responses.activate
def test_create_with_every_input_vertex_takes(veo):
    token_ok()
    responses.post(CREATE_URL, json={"name": OP})
    first, last, refs = png(b"first"), png(b"last"), (png(b"r1"), png(b"r2"))
    veo.create(
        request(
            size="1920x1080",
            reference=first,
            last_frame=last,
            reference_images=refs,
            audio=False,
            seed=4_294_967_295,
        )
    )
    body = json.loads(responses.calls[1].request.body)
    encoded = {
        "bytesBase64Encoded": base64.b64encode(b"\x89PNGfirst").decode(),
        "mimeType": "image/png",
    }
    assert body["instances"][0]["image"] == encoded
    assert (
        body["instances"][0]["lastFrame"]["bytesBase64Encoded"]
        == base64.b64encode(b"\x89PNGlast").decode()
    )
    assert [r["referenceType"] for r in body["instances"][0]["referenceImages"]] == ["asset"] * 2
    assert body["parameters"] == {
        "durationSeconds": 8,
        "aspectRatio": "16:9",
        "resolution": "1080p",
        "generateAudio": False,
        "sampleCount": 1,
        "seed": 4_294_967_295,
    }


@responses.activate
def test_a_storage_uri_asks_for_cloud_storage_results(tokens, sleeps, clock):
    token_ok()
    responses.post(CREATE_URL, json={"name": OP})
    client = make_client(tokens, sleeps, clock, storage_uri="gs://my-bucket/veo/")
    client.create(request())
    assert json.loads(responses.calls[1].request.body)["parameters"]["storageUri"] == (
        "gs://my-bucket/veo/"
    )


@responses.activate
@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"size": "1792x1024"}, "size"),
        ({"size": "3840x2160"}, "size"),
        ({"reference_images": (png(b"a"),), "seconds": 4}, "reference_images"),
        ({"reference_images": (png(b"a"),), "size": "720x1280"}, "reference_images"),
        ({"reference_images": tuple(png(bytes([i])) for i in range(4))}, "reference_images"),
    ],
)
def test_create_refuses_what_vertex_cannot_make_before_any_call(veo, fields, param):
    with pytest.raises(UpstreamBadRequest) as refused:
        veo.create(request(**fields))
    assert refused.value.param == param
    assert len(responses.calls) == 0


@responses.activate
def test_a_create_answer_without_an_operation_name_is_an_upstream_failure(veo):
    token_ok()
    responses.post(CREATE_URL, json={"name": "../../etc/passwd"})
    with pytest.raises(UpstreamUnavailable, match="operation name"):
        veo.create(request())


# -- poll ----------------------------------------------------------------------------------------


@responses.activate
def test_poll_posts_the_operation_name_to_the_model_resource(veo):
    token_ok()
    responses.post(POLL_URL, json={"name": OP})
    video = veo.retrieve(OP)
    assert json.loads(responses.calls[1].request.body) == {"operationName": OP}
    assert (video.status, video.progress) == ("in_progress", None)  # the lifecycle estimates


@responses.activate
def test_an_inline_result_is_completed_and_its_bytes_are_not_kept(veo):
    token_ok()
    responses.post(POLL_URL, json=done_inline())
    video = veo.retrieve(OP)
    assert (video.status, video.progress) == ("completed", 100)
    assert video.expires_at == int(NOW) + INLINE_RETENTION_SECONDS
    assert video.raw["response"]["videos"][0]["bytesBase64Encoded"] == ""
    assert base64.b64encode(MP4).decode()[:40] not in json.dumps(video.raw)


@responses.activate
def test_a_cloud_storage_result_is_completed_without_expiry(veo):
    token_ok()
    responses.post(POLL_URL, json=done_gcs())
    video = veo.retrieve(OP)
    assert (video.status, video.expires_at) == ("completed", None)


@responses.activate
def test_safety_filtered_result_is_moderation_blocked(veo):
    token_ok()
    filtered = {
        "name": OP,
        "done": True,
        "response": {
            "raiMediaFilteredCount": 1,
            "raiMediaFilteredReasons": ["Veo could not generate videos (support code 58061214)."],
            "videos": [],
        },
    }
    responses.post(POLL_URL, json=filtered)
    video = veo.retrieve(OP)
    assert (video.status, video.error_code) == ("failed", "moderation_blocked")
    assert "58061214" in (video.error_message or "")


@responses.activate
@pytest.mark.parametrize(
    ("error", "code"),
    [
        ({"code": 13, "message": "Internal error"}, "internal"),
        ({"code": 3, "message": "Generated video is large, an output storage uri is required."},
         "invalid_argument"),
        ({"code": 3, "message": "The prompt violates Vertex AI's usage guidelines."},
         "moderation_blocked"),
        ({"code": 8, "message": "Quota exceeded"}, "resource_exhausted"),
    ],
)  # fmt: skip
def test_an_operation_error_becomes_the_jobs_error(veo, error, code):
    token_ok()
    responses.post(POLL_URL, json={"name": OP, "done": True, "error": error})
    video = veo.retrieve(OP)
    assert (video.status, video.error_code, video.error_message) == (
        "failed",
        code,
        error["message"],
    )


@responses.activate
def test_done_without_a_video_or_a_reason_fails(veo):
    token_ok()
    responses.post(POLL_URL, json={"name": OP, "done": True, "response": {"videos": []}})
    assert veo.retrieve(OP).error_code == "upstream_failed"


def test_a_stored_id_that_is_not_an_operation_is_not_found_without_a_call(veo):
    with responses.RequestsMock() as mock:
        with pytest.raises(UpstreamNotFound):
            veo.retrieve("models/x/operations/../../admin")
        assert len(mock.calls) == 0


# -- download --------------------------------------------------------------------------------------


@responses.activate
def test_download_of_an_inline_result_refetches_and_decodes_as_it_streams(veo):
    big = MP4 * 40  # ~650 KB: several network chunks
    token_ok()
    responses.post(POLL_URL, json=done_inline(big))
    stream = veo.download(OP)
    try:
        chunks = list(stream.iter_chunks())
    finally:
        stream.close()
    assert b"".join(chunks) == big
    assert len(chunks) > 1 and max(map(len, chunks)) < len(big)  # never the whole video at once
    assert (stream.status_code, stream.content_type, stream.content_length) == (
        200,
        "video/mp4",
        None,
    )


@responses.activate
def test_download_of_a_cloud_storage_result_uses_the_json_api_with_range(veo):
    token_ok()
    responses.post(POLL_URL, json=done_gcs())
    responses.get(
        OBJECT_URL,
        body=MP4[:16],
        status=206,
        content_type="video/mp4",
        headers={"content-range": f"bytes 0-15/{len(MP4)}"},
    )
    stream = veo.download(OP, "video", "bytes=0-15")
    try:
        data = b"".join(stream.iter_chunks())
    finally:
        stream.close()
    assert data[4:8] == b"ftyp" and stream.status_code == 206
    storage_call = calls_to(OBJECT_URL)[0].request
    assert storage_call.url == OBJECT_URL  # the object name percent-encoded, alt=media
    assert storage_call.headers["Authorization"] == f"Bearer {TOKEN}"
    assert storage_call.headers["Range"] == "bytes=0-15"


@responses.activate
def test_credentials_never_follow_a_redirect_to_another_host(veo):
    elsewhere = "https://cdn.example.com/sample_0.mp4"
    token_ok()
    responses.post(POLL_URL, json=done_gcs())
    responses.get(OBJECT_URL, status=302, headers={"Location": elsewhere})
    responses.get(elsewhere, body=MP4, content_type="video/mp4")
    stream = veo.download(OP)
    stream.close()
    assert "Authorization" not in calls_to(elsewhere)[0].request.headers


@responses.activate
def test_download_before_done_is_not_found_and_images_are_never_asked_for(veo):
    for variant in ("thumbnail", "spritesheet"):
        with pytest.raises(UpstreamNotFound):
            veo.download(OP, variant)
    assert len(responses.calls) == 0
    token_ok()
    responses.post(POLL_URL, json={"name": OP})
    with pytest.raises(UpstreamNotFound):
        veo.download(OP)


@responses.activate
def test_a_broken_inline_video_is_an_upstream_failure(veo):
    token_ok()
    broken = done_inline()
    broken["response"]["videos"][0]["bytesBase64Encoded"] = "AAAA!!!!" * 100
    responses.post(POLL_URL, json=broken)
    with pytest.raises(UpstreamUnavailable):
        stream = veo.download(OP)
        b"".join(stream.iter_chunks())


def test_remix_is_refused_and_delete_is_a_no_op(veo):
    with pytest.raises(UpstreamBadRequest) as refused:
        veo.remix(OP, "again")
    assert refused.value.code == "remix_unsupported"
    assert veo.delete(OP) is None


# -- errors and retries ----------------------------------------------------------------------------


@responses.activate
def test_a_401_renews_the_token_once_and_a_second_401_is_an_auth_error(veo):
    token_ok(token="ya29.first")
    token_ok(token="ya29.second")
    unauthenticated = google_error(
        401, "UNAUTHENTICATED", "Request had invalid authentication credentials."
    )
    responses.post(CREATE_URL, status=401, json=unauthenticated)
    responses.post(CREATE_URL, json={"name": OP})
    assert veo.create(request()).id == OP
    creates = calls_to(CREATE_URL)
    assert [c.request.headers["Authorization"] for c in creates] == [
        "Bearer ya29.first",
        "Bearer ya29.second",
    ]
    responses.replace(responses.POST, CREATE_URL, status=401, json=unauthenticated)
    token_ok(token="ya29.third")
    with pytest.raises(UpstreamAuthError) as refused:
        veo.create(request())
    assert refused.value.status == 401


@responses.activate
def test_a_403_is_an_auth_error_and_renews_nothing(veo):
    token_ok()
    denied = google_error(
        403, "PERMISSION_DENIED", "Permission 'aiplatform.endpoints.predict' denied on resource"
    )
    responses.post(CREATE_URL, status=403, json=denied)
    with pytest.raises(UpstreamAuthError, match=r"aiplatform\.endpoints\.predict"):
        veo.create(request())
    assert len(calls_to(TOKEN_URL)) == 1 and len(calls_to(CREATE_URL)) == 1


@responses.activate
def test_a_429_on_create_is_not_retried_and_says_when_to_come_back(veo, sleeps):
    token_ok()
    retry_info = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "30s"}
    responses.post(
        CREATE_URL,
        status=429,
        json=google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded", [retry_info]),
    )
    with pytest.raises(UpstreamRateLimited) as limited:
        veo.create(request())
    assert (limited.value.retry_after, limited.value.code) == (30.0, "RESOURCE_EXHAUSTED")
    responses.replace(
        responses.POST, CREATE_URL, status=503, json=google_error(503, "UNAVAILABLE", "busy")
    )
    with pytest.raises(UpstreamUnavailable):
        veo.create(request())
    assert len(calls_to(CREATE_URL)) == 2 and sleeps == []


@responses.activate
def test_reads_retry_429_and_5xx_honouring_retry_delay(veo, sleeps):
    token_ok()
    retry_info = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s"}
    responses.post(
        POLL_URL, status=429, json=google_error(429, "RESOURCE_EXHAUSTED", "q", [retry_info])
    )
    responses.post(POLL_URL, status=500, json=google_error(500, "INTERNAL", "oops"))
    responses.post(POLL_URL, json={"name": OP})
    assert veo.retrieve(OP).status == "in_progress"
    assert sleeps[0] == 2.0 and len(sleeps) == 2


@responses.activate
def test_create_is_retried_only_when_the_connection_was_never_made(tokens, sleeps, clock):
    client = make_client(tokens, sleeps, clock, base_url="http://127.0.0.1:9")
    token_ok()
    responses.add_passthru("http://127.0.0.1:9")
    with pytest.raises(UpstreamUnavailable):
        client.create(request())
    assert len(sleeps) == 3  # refused connections: nothing reached a server


@responses.activate
def test_a_create_timeout_after_sending_is_not_retried(veo, sleeps):
    token_ok()
    responses.post(CREATE_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(UpstreamUnavailable):
        veo.create(request())
    assert len(calls_to(CREATE_URL)) == 1 and sleeps == []


@responses.activate
@pytest.mark.parametrize(
    ("status", "body", "kind", "code"),
    [
        (400, google_error(400, "INVALID_ARGUMENT", "durationSeconds must be 4, 6 or 8"),
         UpstreamBadRequest, "INVALID_ARGUMENT"),
        (400, google_error(400, "INVALID_ARGUMENT", "The prompt could not be submitted: it "
         "violates Vertex AI's usage guidelines."), UpstreamBadRequest, "moderation_blocked"),
        (404, google_error(404, "NOT_FOUND", "Publisher Model was not found"),
         UpstreamNotFound, "NOT_FOUND"),
    ],
)  # fmt: skip
def test_create_refusals_are_typed(veo, status, body, kind, code):
    token_ok()
    responses.post(CREATE_URL, status=status, json=body)
    with pytest.raises(kind) as refused:
        veo.create(request())
    assert refused.value.code == code
    assert refused.value.message == body["error"]["message"]
    if code == "moderation_blocked":
        assert refused.value.param == "prompt"


# -- tokens ----------------------------------------------------------------------------------------


@responses.activate
def test_a_token_is_reused_until_shortly_before_it_expires(veo, clock):
    token_ok(expires_in=3599, token="ya29.one")
    token_ok(expires_in=3599, token="ya29.two")
    responses.post(POLL_URL, json={"name": OP})
    veo.retrieve(OP)
    clock[0] = NOW + 3599 - REFRESH_MARGIN_SECONDS - 1
    veo.retrieve(OP)
    assert len(calls_to(TOKEN_URL)) == 1
    clock[0] = NOW + 3599 - REFRESH_MARGIN_SECONDS
    veo.retrieve(OP)
    polls = calls_to(POLL_URL)
    assert len(calls_to(TOKEN_URL)) == 2
    assert polls[-1].request.headers["Authorization"] == "Bearer ya29.two"


@responses.activate
def test_threads_share_one_refresh(veo):
    started = threading.Event()

    def slow_token(_request: Any) -> tuple[int, dict, str]:
        started.set()
        time.sleep(0.05)  # widen the window in which other threads want a token
        return 200, {}, json.dumps({"access_token": TOKEN, "expires_in": 3599})

    responses.add_callback(responses.POST, TOKEN_URL, callback=slow_token)
    responses.post(POLL_URL, json={"name": OP})
    threads = [threading.Thread(target=veo.retrieve, args=(OP,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert started.is_set()
    assert len(calls_to(TOKEN_URL)) == 1 and len(calls_to(POLL_URL)) == 8


@responses.activate
def test_a_refused_key_is_an_auth_error_and_nothing_is_created(veo):
    responses.post(
        TOKEN_URL,
        status=400,
        json={"error": "invalid_grant", "error_description": "Invalid JWT Signature."},
    )
    with pytest.raises(UpstreamAuthError, match="Invalid JWT Signature") as refused:
        veo.create(request())
    assert refused.value.code == "invalid_grant"
    assert calls_to(CREATE_URL) == []


@responses.activate
def test_a_busy_token_endpoint_is_retried(veo, sleeps):
    responses.post(TOKEN_URL, status=503, json={"error": "temporarily_unavailable"})
    token_ok()
    responses.post(POLL_URL, json={"name": OP})
    assert veo.retrieve(OP).status == "in_progress"
    assert len(calls_to(TOKEN_URL)) == 2 and len(sleeps) == 1


@responses.activate
def test_secrets_are_never_logged_or_shown(veo, key_json, caplog):
    caplog.set_level(logging.DEBUG)
    token_ok()
    responses.post(CREATE_URL, status=503, json=google_error(503, "UNAVAILABLE", "busy"))
    responses.post(POLL_URL, status=500, json=google_error(500, "INTERNAL", "oops"))
    with pytest.raises(UpstreamUnavailable) as failed:
        veo.create(request())
    with pytest.raises(UpstreamUnavailable):
        veo.retrieve(OP)
    assertion = parse_qs(calls_to(TOKEN_URL)[0].request.body)["assertion"][0]
    private = json.loads(key_json)["private_key"].splitlines()[1]
    shown = caplog.text + repr(veo) + repr(veo._auth) + str(failed.value)
    for secret in (TOKEN, assertion, private):
        assert secret not in shown


# -- API key, configuration ------------------------------------------------------------------------


@responses.activate
def test_an_api_key_travels_as_x_goog_api_key_and_no_token_is_asked_for(sleeps, clock):
    client = make_client(ApiKey("AIza-vertex-key-0123456789"), sleeps, clock)
    responses.post(CREATE_URL, json={"name": OP})
    client.create(request())
    sent = calls_to(CREATE_URL)[0].request.headers
    assert sent["x-goog-api-key"] == "AIza-vertex-key-0123456789" and "Authorization" not in sent
    assert calls_to(TOKEN_URL) == [] and "AIza" not in repr(client._auth)


def test_build_client_takes_the_project_from_the_key_and_refuses_what_cannot_work(key_json):
    client = build_client(load_settings({}), key_json, "")
    assert (client.project, client.location, client.base_url) == (PROJECT, "us-central1", BASE)
    override = build_client(load_settings({"VERTEX_PROJECT": "other-project"}), key_json, "")
    assert override.project == "other-project"
    with pytest.raises(UpstreamNotConfigured, match="VERTEX_PROJECT"):
        build_client(load_settings({}), "", "AIza-key")
    with pytest.raises(UpstreamNotConfigured, match="service account"):
        env = {"VERTEX_PROJECT": "my-veo-project", "VERTEX_STORAGE_URI": "gs://my-bucket/veo/"}
        build_client(load_settings(env), "", "AIza-key")
    broken = json.dumps({**json.loads(key_json), "private_key": "not a key"})
    with pytest.raises(UpstreamNotConfigured, match="private_key") as refused:
        build_client(load_settings({}), broken, "")
    assert "not a key" not in str(refused.value)
    with pytest.raises(UpstreamNotConfigured, match="service_account"):
        build_client(load_settings({}), json.dumps({"type": "authorized_user"}), "")


# -- the streamed operation reader -----------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 64, 1000])
def test_inline_videos_survive_any_chunking_and_escapes(size):
    encoded = base64.b64encode(MP4).decode()
    escaped = encoded.replace("/", "\\/")  # JSON may escape the solidus
    body = (
        '{"name": "op", "done": true, "response": {"videos": [{"mimeType": "video/mp4", '
        f'"bytesBase64Encoded" :  "{escaped}"}}, {{"bytesBase64Encoded": "{encoded[:8]}"}}]}}}}'
    ).encode()
    chunks = [body[i : i + size] for i in range(0, len(body), size)]
    scanner = InlineVideos(chunks)
    assert b"".join(scanner.first_video()) == MP4
    operation = scanner.operation()
    assert [v["bytesBase64Encoded"] for v in operation["response"]["videos"]] == ["", ""]
    assert operation["response"]["videos"][0]["mimeType"] == "video/mp4"
    assert scanner.sizes == [len(encoded), 8]


def test_an_operation_cut_off_inside_the_video_is_an_error():
    scanner = InlineVideos([b'{"response": {"videos": [{"bytesBase64Encoded": "AAAA'])
    with pytest.raises(ValueError, match="ended inside"):
        scanner.operation()
