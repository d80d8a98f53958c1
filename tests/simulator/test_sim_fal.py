"""fal.ai's queue on the simulator: submit -> status -> result -> the CDN file, the app-root
URLs, each preset's input schema (and that the app's presets pass it), first frames fetched by
URL, every failure marker, cancel, Key auth, and webhooks checked by an independent verifier
of fal's documented ED25519 signature against the simulator's JWKS."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from chalicelib.catalog.presets import FAL_PRESETS
from chalicelib.upstreams.base import CreateRequest
from chalicelib.upstreams.fal import request_body
from simulator import SimulatorServer, probe
from tests.support.images import data_url, first_frame_rgb, solid_png
from tests.support.simulator import PROMPT, Client
from tests.support.wait import wait_until
from tests.support.webhooks import Receiver

VEO = "fal-ai/veo3.1/fast"
SMALL = {"prompt": PROMPT, "duration": "4s", "resolution": "720p", "aspect_ratio": "16:9"}


class FalSession(Client):
    """A session on the simulator's fal queue base with `Authorization: Key`; absolute URLs
    (the status and result URLs fal answers with) are used as they are."""

    def __init__(self, base_url: str, key: str | None = "fal-sim-key") -> None:
        super().__init__(base_url, key=None)
        if key is not None:
            self.headers["Authorization"] = f"Key {key}"

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if not url.startswith("http"):
            return super().request(method, url, *args, **kwargs)
        kwargs.setdefault("timeout", 10)
        return requests.Session.request(self, method, url, *args, **kwargs)

    def submit(self, endpoint: str = VEO, **body: Any) -> dict[str, Any]:
        defaults = SMALL if endpoint.startswith("fal-ai/veo3.1") else {"prompt": PROMPT}
        response = self.post(f"/{endpoint}", json={**defaults, **body})
        assert response.status_code == 200, response.text
        return response.json()

    def finished(self, endpoint: str = VEO, **body: Any) -> dict[str, Any]:
        submitted = self.submit(endpoint, **body)

        def done() -> dict[str, Any] | None:
            status = self.get(submitted["status_url"]).json()
            return submitted if status["status"] == "COMPLETED" else None

        return wait_until(done, timeout=30, step=0.05, what="fal request completed")


@pytest.fixture
def fal(sim: SimulatorServer) -> Iterator[FalSession]:
    with FalSession(sim.fal_url) as session:
        yield session


@pytest.fixture
def files() -> Iterator[dict[str, Any]]:
    """A loopback file server: {"url": base, "served": {path: bytes}, "hits": [paths]}."""
    state: dict[str, Any] = {"served": {}, "hits": []}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state["hits"].append(self.path)
            data = state["served"].get(self.path.split("?")[0])
            self.send_response(200 if data is not None else 404)
            self.send_header("content-length", str(len(data or b"")))
            self.end_headers()
            self.wfile.write(data or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


def detail(response: requests.Response, status: int) -> Any:
    assert response.status_code == status, response.text
    return response.json()["detail"]


def verify_fal(jwks: dict[str, Any], headers: dict[str, str], body: bytes, now: float) -> bool:
    """Written from fal's docs, independently of the simulator's signing code."""
    request_id = headers["x-fal-webhook-request-id"]
    user_id = headers["x-fal-webhook-user-id"]
    timestamp = headers["x-fal-webhook-timestamp"]
    if abs(now - int(timestamp)) > 300:
        return False
    message = "\n".join([request_id, user_id, timestamp, hashlib.sha256(body).hexdigest()])
    signature = bytes.fromhex(headers["x-fal-webhook-signature"])
    for key in jwks["keys"]:
        raw = base64.urlsafe_b64decode(key["x"] + "==")
        try:
            Ed25519PublicKey.from_public_bytes(raw).verify(signature, message.encode())
        except InvalidSignature:
            continue
        return True
    return False


# --- the lifecycle --------------------------------------------------------------------------


def test_submit_status_result_and_a_real_mp4_from_the_cdn(
    sim: SimulatorServer, fal: FalSession, tmp_path: Path
) -> None:
    done = fal.finished()
    root = f"{sim.fal_url}/fal-ai/veo3.1/requests/{done['request_id']}"  # the app root only
    assert (done["status_url"], done["response_url"]) == (f"{root}/status", root)
    assert done["cancel_url"] == f"{root}/cancel"
    status = fal.get(done["status_url"], params={"logs": 1})
    assert status.status_code == 200 and status.json()["status"] == "COMPLETED"
    assert isinstance(status.json()["logs"], list)
    result = fal.get(done["response_url"]).json()
    video = result["video"]
    assert video["content_type"] == "video/mp4" and video["file_name"] == "output.mp4"
    file = requests.get(video["url"], timeout=10)  # the CDN needs no key
    assert file.status_code == 200 and len(file.content) == video["file_size"]
    path = tmp_path / "out.mp4"
    path.write_bytes(file.content)
    assert probe(path)[:2] == (1280, 720)
    part = requests.get(video["url"], headers={"Range": "bytes=0-9"}, timeout=10)
    assert part.status_code == 206 and part.content == file.content[:10]


def test_status_goes_queued_then_in_progress_then_completed(
    clock_sim: SimulatorServer, clock: Any
) -> None:
    with FalSession(clock_sim.fal_url) as fal:
        submitted = fal.submit("fal-ai/kling-video/v2.5-turbo/pro/text-to-video", duration="5")
        del submitted["status"]
        queued = fal.get(submitted["status_url"])
        assert queued.status_code == 202
        assert queued.json()["status"] == "IN_QUEUE" and queued.json()["queue_position"] == 0
        assert detail(fal.get(submitted["response_url"]), 400) == "Request is still in progress"
        clock.advance(6)
        running = fal.get(submitted["status_url"], params={"logs": 1})
        assert running.status_code == 202 and running.json()["status"] == "IN_PROGRESS"
        assert running.json()["logs"][-1]["message"].startswith("Generating video: ")
        assert fal.get(submitted["status_url"]).json()["logs"] is None  # logs=1 asks for them
        clock.advance(7)
        wait_until(
            lambda: fal.get(submitted["status_url"]).json()["status"] == "COMPLETED",
            timeout=30,
            what="render",
        )
        url = fal.get(submitted["response_url"]).json()["video"]["url"]
        clock.advance(clock_sim.expiry_seconds + 1)
        assert requests.get(url, timeout=10).status_code == 404  # the CDN copy expired


def test_requests_live_under_their_app_root_only(sim: SimulatorServer, fal: FalSession) -> None:
    submitted = fal.submit()
    request_id = submitted["request_id"]
    assert fal.get(f"/fal-ai/veo3.1/fast/requests/{request_id}/status").status_code == 404
    assert fal.get(f"/fal-ai/kling-video/requests/{request_id}/status").status_code == 404
    assert fal.get(f"/fal-ai/veo3.1/requests/{'0' * 36}/status").status_code == 404


# --- input schemas ------------------------------------------------------------------------


KLING_I2V = "fal-ai/kling-video/v2.5-turbo/pro/image-to-video"
HAILUO = "fal-ai/minimax/hailuo-2.3/standard/text-to-video"


@pytest.mark.parametrize(
    ("endpoint", "body", "field", "kind"),
    [
        (VEO, {**SMALL, "duration": "8"}, "duration", "literal_error"),
        (VEO, {**SMALL, "duration": 8}, "duration", "literal_error"),
        (VEO, {**SMALL, "aspect_ratio": "1:1"}, "aspect_ratio", "literal_error"),
        (VEO, {**SMALL, "resolution": "480p"}, "resolution", "literal_error"),
        (VEO, {**SMALL, "size": "1280x720"}, "size", "extra_forbidden"),
        (VEO, {**SMALL, "prompt": " "}, "prompt", "missing"),
        (VEO, {**SMALL, "generate_audio": "yes"}, "generate_audio", "bool_type"),
        (f"{VEO}/image-to-video", SMALL, "image_url", "missing"),
        (
            "fal-ai/wan/v2.7/text-to-video",
            {"prompt": "x", "duration": "5"},
            "duration",
            "literal_error",
        ),
        (KLING_I2V, {"prompt": "x", "duration": "5"}, "image_url", "missing"),
        (HAILUO, {"prompt": "x", "resolution": "768p"}, "resolution", "extra_forbidden"),
    ],
)
def test_each_models_own_schema_is_enforced_with_422(
    sim: SimulatorServer,
    fal: FalSession,
    endpoint: str,
    body: dict[str, Any],
    field: str,
    kind: str,
) -> None:
    before = len(sim.store or [])
    [item] = detail(fal.post(f"/{endpoint}", json=body), 422)
    assert (item["loc"], item["type"]) == (["body", field], kind)
    assert len(sim.store or []) == before  # nothing queued


def test_an_unknown_model_or_a_body_that_is_not_json(fal: FalSession) -> None:
    assert "not found" in detail(fal.post("/fal-ai/no-such-model", json=SMALL), 404)
    assert detail(fal.post(f"/{VEO}", data=b"{"), 422)[0]["type"] == "json_invalid"
    assert detail(fal.post(f"/{VEO}", json=[1]), 422)[0]["type"] == "dict_type"


@pytest.mark.parametrize("preset", FAL_PRESETS, ids=[m["id"] for m in FAL_PRESETS])
@pytest.mark.parametrize("with_image", [False, True], ids=["text", "first-frame"])
def test_every_preset_the_app_ships_passes_its_models_schema(
    fal: FalSession, preset: dict[str, Any], with_image: bool
) -> None:
    size = preset["sizes"][-1]
    width, height = (int(side) for side in size.split("x"))
    image = data_url(solid_png(width, height)) if with_image else None
    create = CreateRequest(
        prompt=PROMPT,
        model=preset["id"],
        size=size,
        seconds=preset["seconds"][0],
        reference_url=image,
        wire=preset["wire"],
    )
    endpoint, body = request_body(create, fal.base_url)
    response = fal.post(f"/{endpoint}", json=body)
    assert response.status_code == 200, (endpoint, response.text)


# --- first frames ---------------------------------------------------------------------------


def test_a_first_frame_is_fetched_from_its_url_and_drawn(
    sim: SimulatorServer, fal: FalSession, files: dict[str, Any], tmp_path: Path
) -> None:
    files["served"]["/ref.png"] = solid_png(1280, 720, (250, 10, 10))
    url = f"{files['url']}/ref.png?X-Amz-Signature=abc"
    done = fal.finished(f"{VEO}/image-to-video", image_url=url, aspect_ratio="auto")
    assert files["hits"] == ["/ref.png?X-Amz-Signature=abc"]
    assert sim.fal is not None and sim.fal.fetched_images(done["request_id"]) == [url]
    path = tmp_path / "first.mp4"
    path.write_bytes(requests.get(fal.get(done["response_url"]).json()["video"]["url"]).content)
    assert probe(path)[:2] == (1280, 720)  # `auto`: the image's size
    rgb = first_frame_rgb(str(path), 1280, 720)
    middle = (360 * 1280 + 640) * 3
    red, green, blue = rgb[middle : middle + 3]
    assert red > 200 and green < 60 and blue < 60


@pytest.mark.parametrize("path", ["/missing.png", "/not-an-image.txt"])
def test_an_image_that_cannot_be_fetched_is_a_422(
    fal: FalSession, files: dict[str, Any], path: str
) -> None:
    files["served"]["/not-an-image.txt"] = b"hello"
    response = fal.post(f"/{VEO}/image-to-video", json={**SMALL, "image_url": files["url"] + path})
    [item] = detail(response, 422)
    assert (item["loc"], item["type"]) == (["body", "image_url"], "file_download_error")


# --- failures, cancel, auth -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("marker", "status", "text"),
    [("create", 500, "Internal"), ("ratelimit", 429, "Rate"), ("credits", 403, "balance")],
)
def test_submit_markers_answer_errors_and_queue_nothing(
    sim: SimulatorServer, fal: FalSession, marker: str, status: int, text: str
) -> None:
    before = len(sim.store or [])
    response = fal.post(f"/{VEO}", json={**SMALL, "prompt": f"x [fail:{marker}]"})
    assert text in detail(response, status)
    if marker == "ratelimit":
        assert response.headers["retry-after"] == "1"
    assert len(sim.store or []) == before


def test_moderation_and_render_failures_complete_with_their_error(fal: FalSession) -> None:
    moderated = fal.finished(prompt="no [fail:moderation]")
    status = fal.get(moderated["status_url"]).json()
    assert status["error_type"] == "content_policy_violation"
    [item] = detail(fal.get(moderated["response_url"]), 422)
    assert (item["type"], item["loc"]) == ("content_policy_violation", ["body", "prompt"])
    broken = fal.finished(prompt="no [fail:render]")
    response = fal.get(broken["response_url"])
    assert (
        response.status_code == 500
        and response.headers["x-fal-error-type"] == response.json()["error_type"]
    )


def test_cancel_a_queued_request_then_an_ended_one(clock_sim: SimulatorServer, clock: Any) -> None:
    with FalSession(clock_sim.fal_url) as fal:
        queued = fal.submit()
        first = fal.put(queued["cancel_url"])
        assert first.status_code == 202 and first.json() == {"status": "CANCELLATION_REQUESTED"}
        assert fal.get(queued["status_url"]).json()["status"] == "COMPLETED"
        assert detail(fal.get(queued["response_url"]), 400) == "Request was cancelled"
        again = fal.put(queued["cancel_url"])
        assert again.status_code == 400 and again.json() == {"status": "ALREADY_COMPLETED"}
    unknown = FalSession(clock_sim.fal_url).put(f"/fal-ai/veo3.1/requests/{'0' * 36}/cancel")
    assert unknown.status_code == 404


def test_key_auth(make_sim: Callable[..., SimulatorServer]) -> None:
    sim = make_sim(api_key="the-key")
    for headers in ({}, {"Authorization": "Bearer the-key"}, {"Authorization": "Key other"}):
        response = requests.post(f"{sim.fal_url}/{VEO}", json=SMALL, headers=headers, timeout=10)
        assert response.status_code == 401 and isinstance(response.json()["detail"], str)
    with FalSession(sim.fal_url, "the-key") as fal:
        assert fal.post(f"/{VEO}", json=SMALL).status_code == 200
    assert requests.get(sim.fal_jwks_url, timeout=10).status_code == 200  # no key needed


# --- webhooks -----------------------------------------------------------------------------


def test_signed_webhooks_to_fal_webhook(
    sim: SimulatorServer, fal: FalSession, receiver: Receiver
) -> None:
    ok = fal.post(f"/{VEO}", params={"fal_webhook": receiver.url}, json=SMALL).json()
    bad = fal.post(
        f"/{VEO}",
        params={"fal_webhook": receiver.url},
        json={**SMALL, "prompt": "no [fail:moderation]"},
    ).json()
    jwks = requests.get(sim.fal_jwks_url, timeout=10).json()
    assert jwks["keys"][0]["kty"] == "OKP" and jwks["keys"][0]["crv"] == "Ed25519"
    deliveries = {}
    for headers, body in receiver.wait_for(2, timeout=30):
        assert verify_fal(jwks, headers, body, time.time())
        event = json.loads(body)
        assert headers["x-fal-webhook-request-id"] == event["request_id"]
        deliveries[event["request_id"]] = event
    assert deliveries[ok["request_id"]]["status"] == "OK"
    assert deliveries[ok["request_id"]]["payload"]["video"]["url"].endswith("/output.mp4")
    failed = deliveries[bad["request_id"]]
    assert failed["status"] == "ERROR" and failed["error"] == "Invalid status code: 422"
    assert failed["payload"]["detail"][0]["type"] == "content_policy_violation"


def test_a_failed_delivery_is_retried_with_the_same_request_id(
    fal: FalSession, receiver: Receiver
) -> None:
    receiver.failures = 1
    fal.post(f"/{VEO}", params={"fal_webhook": receiver.url}, json=SMALL)
    (first_headers, first_body), (second_headers, second_body) = receiver.wait_for(2, timeout=30)
    assert first_body == second_body
    assert first_headers["x-fal-webhook-request-id"] == second_headers["x-fal-webhook-request-id"]
