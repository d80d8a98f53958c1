"""The simulator's Veo on Vertex AI protocol (simulator/vertex.py) as a client sees it: the
token endpoint checking a JWT-bearer assertion signed with its test service-account key,
create -> fetchPredictOperation -> an inline or Cloud Storage result (real MP4s), the storage
media route with Range, 401/403, every failure marker, the validation Vertex documents, and
expiry on the simulator's clock."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from simulator import SimulatorServer
from tests.support.clock import MovableClock
from tests.support.images import solid_png
from tests.support.wait import wait_until

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MODEL = "veo-3.1-fast-generate-001"
PROMPT = "A cozy campfire at night in the forest"


class Vertex:
    """A client of the simulator's Vertex routes, signed in with its test service account."""

    def __init__(self, sim: SimulatorServer, project: str = "simulated-project") -> None:
        assert sim.vertex is not None
        self.sim = sim
        self.key = json.loads(sim.vertex.service_account_json)
        self.root = sim.vertex_url
        self.resource = f"projects/{project}/locations/us-central1/publishers/google/models/{MODEL}"
        self.http = requests.Session()
        self.token = ""

    def assertion(self, now: float, **changes: Any) -> str:
        claims = {
            "iss": self.key["client_email"],
            "scope": SCOPE,
            "aud": self.sim.vertex_token_url,
            "iat": int(now),
            "exp": int(now) + 3600,
        }
        key = changes.pop("key", None) or self.key["private_key"]
        kid = changes.pop("kid", self.key["private_key_id"])
        claims.update(changes)
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})

    def exchange(self, assertion: str, grant: str = JWT_BEARER) -> requests.Response:
        return self.http.post(
            self.sim.vertex_token_url,
            data={"grant_type": grant, "assertion": assertion},
            timeout=10,
        )

    def sign_in(self, now: float) -> None:
        answer = self.exchange(self.assertion(now))
        assert answer.status_code == 200, answer.text
        self.token = answer.json()["access_token"]

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def create(
        self, instance: dict[str, Any] | None = None, **parameters: Any
    ) -> requests.Response:
        body = {
            "instances": [{"prompt": PROMPT, **(instance or {})}],
            "parameters": {"durationSeconds": 4, "generateAudio": True, **parameters},
        }
        return self.http.post(
            f"{self.root}/v1/{self.resource}:predictLongRunning",
            json=body,
            headers=self.headers(),
            timeout=10,
        )

    def fetch(self, name: str, resource: str | None = None) -> requests.Response:
        return self.http.post(
            f"{self.root}/v1/{resource or self.resource}:fetchPredictOperation",
            json={"operationName": name},
            headers=self.headers(),
            timeout=10,
        )

    def started(self, instance: dict[str, Any] | None = None, **parameters: Any) -> str:
        answer = self.create(instance, **parameters)
        assert answer.status_code == 200, answer.text
        return answer.json()["name"]

    def done(self, name: str) -> dict[str, Any]:
        def finished() -> dict[str, Any] | None:
            operation = self.fetch(name).json()
            return operation if operation.get("done") else None

        return wait_until(finished, timeout=60, what=f"{name} done")


@pytest.fixture
def vertex(sim: SimulatorServer) -> Iterator[Vertex]:
    client = Vertex(sim)
    client.sign_in(sim.clock())
    yield client
    client.http.close()


@pytest.fixture
def clocked(clock_sim: SimulatorServer, clock: MovableClock) -> Vertex:
    client = Vertex(clock_sim)
    client.sign_in(clock())
    return client


def error_of(answer: requests.Response) -> dict[str, Any]:
    return answer.json()["error"]


def png_image(width: int = 1280, height: int = 720) -> dict[str, str]:
    data = solid_png(width, height, (200, 40, 40))
    return {"bytesBase64Encoded": base64.b64encode(data).decode(), "mimeType": "image/png"}


# -- the token endpoint ------------------------------------------------------------------------


def test_a_signed_assertion_gets_an_access_token(sim: SimulatorServer) -> None:
    client = Vertex(sim)
    answer = client.exchange(client.assertion(sim.clock()))
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3599
    assert body["access_token"].startswith("ya29.")
    assert sim.vertex is not None and sim.vertex.stats["token"] == 1


def stranger_key() -> str:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return other.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.mark.parametrize(
    ("changes", "status", "error"),
    [
        (lambda: {"key": stranger_key()}, 400, "invalid_grant"),
        (lambda: {"kid": "another-key-id"}, 400, "invalid_grant"),
        (lambda: {"aud": "https://oauth2.googleapis.com/token"}, 400, "invalid_grant"),
        (lambda: {"iss": "someone@else.iam.gserviceaccount.com"}, 401, "invalid_client"),
        (lambda: {"scope": "https://www.googleapis.com/auth/devstorage.read_only"}, 400,
         "invalid_scope"),
    ],
)  # fmt: skip
def test_the_token_endpoint_checks_signature_and_claims(
    sim: SimulatorServer, changes: Callable[[], dict[str, Any]], status: int, error: str
) -> None:
    client = Vertex(sim)
    answer = client.exchange(client.assertion(sim.clock(), **changes()))
    assert answer.status_code == status
    assert answer.json()["error"] == error and answer.json()["error_description"]


def test_the_token_endpoint_checks_the_assertions_time(clock_sim, clock) -> None:
    client = Vertex(clock_sim)
    now = clock()
    long_lived = client.assertion(now, exp=int(now) + 7200)
    from_the_future = client.assertion(now + 3600)
    stale = client.assertion(now - 7200)
    for assertion in (long_lived, from_the_future, stale):
        answer = client.exchange(assertion)
        assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")
    wrong_grant = client.exchange(client.assertion(now), grant="client_credentials")
    assert wrong_grant.json()["error"] == "unsupported_grant_type"
    assert client.exchange("not-a-jwt").json()["error"] == "invalid_grant"


# -- auth on the Vertex routes ---------------------------------------------------------------------


def test_vertex_routes_want_an_issued_unexpired_token(clocked: Vertex, clock: MovableClock) -> None:
    assert clocked.create().status_code == 200
    for token in ("", "ya29.made-up"):
        clocked.token = token
        answer = clocked.create()
        assert answer.status_code == 401
        assert error_of(answer)["status"] == "UNAUTHENTICATED"
    clocked.sign_in(clock())
    clock.advance(3600)
    assert clocked.create().status_code == 401
    assert clocked.sim.vertex is not None
    clocked.sign_in(clock())
    clocked.sim.vertex.revoke_tokens()
    assert clocked.create().status_code == 401


def test_a_project_the_account_does_not_belong_to_is_permission_denied(sim) -> None:
    other = Vertex(sim, project="someone-elses-project")
    other.sign_in(sim.clock())
    answer = other.create()
    assert answer.status_code == 403
    assert error_of(answer)["status"] == "PERMISSION_DENIED"


def test_an_api_key_is_accepted_instead_of_a_token(sim: SimulatorServer) -> None:
    client = Vertex(sim)
    answer = client.http.post(
        f"{client.root}/v1/{client.resource}:predictLongRunning",
        json={"instances": [{"prompt": PROMPT}], "parameters": {"generateAudio": False}},
        headers={"x-goog-api-key": "AIza-any-key"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


# -- create, poll, results ---------------------------------------------------------------------


def test_an_inline_result_is_a_real_mp4(vertex: Vertex) -> None:
    name = vertex.started()
    assert name.startswith(f"{vertex.resource}/operations/")
    pending = vertex.fetch(name).json()
    assert pending == {"name": name} or pending.get("done")
    operation = vertex.done(name)
    result = operation["response"]
    assert result["@type"].endswith("GenerateVideoResponse")
    assert result["raiMediaFilteredCount"] == 0
    video = result["videos"][0]
    assert video["mimeType"] == "video/mp4"
    assert base64.b64decode(video["bytesBase64Encoded"])[4:8] == b"ftyp"


def test_a_storage_uri_gives_a_gcs_uri_served_by_the_storage_route(vertex: Vertex) -> None:
    name = vertex.started(storageUri="gs://my-bucket/veo/out")
    video = vertex.done(name)["response"]["videos"][0]
    operation_id = name.rsplit("/", 1)[1]
    assert video == {
        "gcsUri": f"gs://my-bucket/veo/out/{operation_id}/sample_0.mp4",
        "mimeType": "video/mp4",
    }
    url = f"{vertex.root}/storage/v1/b/my-bucket/o/veo%2Fout%2F{operation_id}%2Fsample_0.mp4"
    whole = vertex.http.get(url, params={"alt": "media"}, headers=vertex.headers(), timeout=10)
    assert whole.status_code == 200 and whole.content[4:8] == b"ftyp"
    part = vertex.http.get(
        url,
        params={"alt": "media"},
        headers={**vertex.headers(), "Range": "bytes=0-15"},
        timeout=10,
    )
    assert part.status_code == 206 and part.content == whole.content[:16]
    assert part.headers["content-range"] == f"bytes 0-15/{len(whole.content)}"
    metadata = vertex.http.get(url, headers=vertex.headers(), timeout=10).json()
    assert metadata["size"] == str(len(whole.content))
    assert vertex.http.get(url, params={"alt": "media"}, timeout=10).status_code == 401
    missing = url.replace("sample_0", "sample_9")
    assert (
        vertex.http.get(missing, params={"alt": "media"}, headers=vertex.headers()).status_code
        == 404
    )


def test_the_poll_checks_its_body_and_the_operations_model(vertex: Vertex) -> None:
    name = vertex.started()
    other = vertex.resource.replace(MODEL, "veo-3.1-generate-001")
    assert vertex.fetch(name, resource=other).status_code == 400
    assert vertex.fetch(f"{vertex.resource}/operations/video_unknown").status_code == 404
    wrong_body = vertex.http.post(
        f"{vertex.root}/v1/{vertex.resource}:fetchPredictOperation",
        json={"name": name},
        headers=vertex.headers(),
        timeout=10,
    )
    assert wrong_body.status_code == 400
    assert error_of(wrong_body)["status"] == "INVALID_ARGUMENT"


def test_an_inline_result_is_gone_after_the_simulators_expiry(clocked: Vertex, clock) -> None:
    name = clocked.started()
    clock.advance(60)  # the render takes (2 + 2 * 4) s of clock time at speed 1
    operation = clocked.done(name)
    assert operation["response"]["videos"][0]["bytesBase64Encoded"]
    clock.advance(3600)
    clocked.sign_in(clock())
    assert clocked.fetch(name).status_code == 404


# -- markers -----------------------------------------------------------------------------------


def test_fail_create_and_fail_ratelimit_answer_in_googles_envelope(vertex: Vertex) -> None:
    failed = vertex.create({"prompt": "x [fail:create]"})
    assert failed.status_code == 500 and error_of(failed)["status"] == "INTERNAL"
    limited = vertex.create({"prompt": "x [fail:ratelimit]"})
    assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
    error = error_of(limited)
    assert error["status"] == "RESOURCE_EXHAUSTED"
    assert error["details"][0]["retryDelay"] == "1s"


def test_fail_moderation_is_filtered_and_fail_render_is_an_operation_error(vertex: Vertex) -> None:
    filtered = vertex.done(vertex.started({"prompt": "x [fail:moderation]"}))["response"]
    assert filtered["raiMediaFilteredCount"] == 1 and filtered["videos"] == []
    assert "safety" in filtered["raiMediaFilteredReasons"][0]
    broken = vertex.done(vertex.started({"prompt": "x [fail:render]"}))
    assert broken["error"]["code"] == 13 and "response" not in broken


# -- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instance", "parameters", "fragment"),
    [
        ({}, {"durationSeconds": 5}, "durationSeconds"),
        ({}, {"resolution": "4k"}, "aspectRatio/resolution"),
        ({}, {"aspectRatio": "1:1"}, "aspectRatio/resolution"),
        ({}, {"generateAudio": None}, "generateAudio"),
        ({}, {"sampleCount": 2}, "sampleCount"),
        ({}, {"seed": -1}, "seed"),
        ({}, {"storageUri": "s3://bucket/x"}, "storageUri"),
        ({}, {"fps": 24}, "Unknown name"),
        ({"video": {"gcsUri": "gs://b/v.mp4"}}, {}, "Unknown name"),
        ({"lastFrame": {"bytesBase64Encoded": "bm90IGFuIGltYWdl", "mimeType": "image/png"}}, {},
         "lastFrame"),
        ({"referenceImages": [{"image": png_image(), "referenceType": "style"}]},
         {"durationSeconds": 8}, "asset"),
        ({"referenceImages": [{"image": png_image(), "referenceType": "asset"}]},
         {"durationSeconds": 4}, "8 seconds"),
        ({"referenceImages": [{"image": png_image(), "referenceType": "asset"}] * 4},
         {"durationSeconds": 8}, "at most 3"),
    ],
)  # fmt: skip
def test_a_create_vertex_would_refuse_is_a_400(
    vertex: Vertex, instance: dict[str, Any], parameters: dict[str, Any], fragment: str
) -> None:
    answer = vertex.create(instance, **parameters)
    assert answer.status_code == 400, answer.text
    assert error_of(answer)["status"] == "INVALID_ARGUMENT"
    assert fragment in error_of(answer)["message"]


def test_every_input_veo_31_documents_is_accepted(vertex: Vertex) -> None:
    instance = {
        "image": png_image(),
        "lastFrame": png_image(),
        "referenceImages": [{"image": png_image(640, 360), "referenceType": "asset"}] * 3,
    }
    name = vertex.started(
        instance,
        durationSeconds=8,
        aspectRatio="16:9",
        resolution="1080p",
        generateAudio=False,
        seed=4_294_967_295,
        personGeneration="allow_adult",
        negativePrompt="blurry",
    )
    assert vertex.done(name)["response"]["videos"]
    assert vertex.fetch(name).json()["done"] is True
