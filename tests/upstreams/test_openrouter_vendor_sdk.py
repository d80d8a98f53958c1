"""Our OpenRouter shapes, checked with code OpenRouter wrote: the official TypeScript SDK
`@openrouter/sdk` (pinned in tests/support/vendor_sdk.py, installed once by npm when the
first of these tests runs) and its zod schemas, generated from OpenRouter's OpenAPI spec.

(a) The SDK itself runs list models -> create -> poll -> content against the simulator's
    OpenRouter protocol, and every answer (jobs, the model list, error envelopes) passes the
    SDK's response validation. The SDK drops keys it does not know and takes any string for
    an enum, so the probe also reports those from the raw bodies, and they are checked here.
(b) The create bodies *our* client (`OpenRouterClient.create`) sends pass the SDK's request
    schema unchanged: size-based, resolution + aspect ratio (`wire.resolution_by_size`), a
    first frame, a callback URL.
(c) The SDK's own example of a video model through `catalog_entries`: the npm package ships
    none, so that part is skipped (the test says what it looked for).

A control test feeds the probe wrong shapes from a stub server, to show that a mismatch
fails it with the SDK's own validation text.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

from chalicelib.upstreams.base import CreateRequest, ReferenceImage
from chalicelib.upstreams.openrouter import OpenRouterClient, catalog_entries
from simulator import SimulatorServer
from simulator.openrouter import MODELS
from tests.support.images import solid_png
from tests.support.vendor_sdk import (
    OPENROUTER_SDK_VERSION,
    OpenRouterSdk,
    VendorSdkError,
    openrouter_sdk,
)

pytestmark = [pytest.mark.vendor_sdk, pytest.mark.timeout(600)]

KEY = "sk-or-v1-vendor-sdk-test-0123456789abcdef"
SIM_IDS = [model.id for model in MODELS]
STATUS_ORDER = ["pending", "in_progress", "completed"]
# Keys the simulator sends that SDK 1.3.19's VideoGenerationResponse does not declare (zod
# drops them): `expires_at` is in newer revisions of OpenRouter's spec
# (docs/upstreams/openrouter.md). Anything else new here is a shape to look at.
TOLERATED_EXTRA_KEYS = {"getGeneration": {"expires_at"}}
PROBE_TIMEOUT = 180  # seconds: the probe's own deadline for a terminal status


@pytest.fixture(scope="session")
def openrouter_vendor_sdk() -> OpenRouterSdk:
    """The pinned SDK, installed (the first time on a machine) when a test first needs it."""
    try:
        return openrouter_sdk()
    except VendorSdkError as exc:
        pytest.fail(str(exc), pytrace=False)  # loud, never a skip


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorServer]:
    """A simulator of its own: renders take (2 + 2 x seconds) / 50 s plus the encode."""
    server = SimulatorServer(speed=50.0, cache_dir=tmp_path_factory.mktemp("vendor-sdk-media"))
    server.start()
    yield server
    server.stop()


def run_probe(sdk: OpenRouterSdk, base_url: str, *args: str, api_key: str = KEY) -> Any:
    return sdk.probe(
        "run",
        "--base-url",
        base_url,
        "--timeout",
        str(PROBE_TIMEOUT),
        *args,
        api_key=api_key,
        timeout=PROBE_TIMEOUT + 60,
    )


def assert_nothing_unknown(summary: dict[str, Any]) -> None:
    assert summary["unrecognized"] == [], "values outside the SDK's enums"
    for operation, keys in summary["extra_keys"].items():
        unknown = set(keys) - TOLERATED_EXTRA_KEYS.get(operation, set())
        assert not unknown, f"{operation}: keys the SDK's schema does not have: {sorted(unknown)}"


def assert_status_path(summary: dict[str, Any], final: str) -> None:
    seen = summary["statuses"]
    assert seen[0] == "pending"  # the 202 of the create
    assert seen[-1] == final == summary["final"]["status"]
    order = [*STATUS_ORDER[:2], final]
    assert seen == [s for s in order if s in seen], f"statuses out of order: {seen}"


# -- (a) the SDK against the simulator ---------------------------------------------------------


def test_the_sdk_is_the_pinned_version(openrouter_vendor_sdk: OpenRouterSdk) -> None:
    manifest = openrouter_vendor_sdk.root / "node_modules/@openrouter/sdk/package.json"
    assert json.loads(manifest.read_text())["version"] == OPENROUTER_SDK_VERSION


def test_sdk_lists_the_models_and_catalog_entries_offers_each(
    openrouter_vendor_sdk: OpenRouterSdk, sim: SimulatorServer
) -> None:
    result = run_probe(openrouter_vendor_sdk, sim.openrouter_url, "--models-only")
    assert result.returncode == 0, result
    summary = result.json
    assert summary["sdk_version"] == OPENROUTER_SDK_VERSION
    assert summary["models"] == SIM_IDS
    assert_nothing_unknown(summary)
    # The same listing, raw, is what our parser turns into catalog entries: every model the
    # SDK accepted is offered.
    listing = requests.get(f"{sim.openrouter_url}/videos/models", timeout=10).json()
    assert [entry["id"] for entry in catalog_entries(listing["data"])] == SIM_IDS


@pytest.mark.parametrize(
    ("model", "shape", "first_frame"),
    [
        ("sim/veo-3.1-like", ["--size", "1280x720"], True),
        ("sim/seedance-like", ["--resolution", "480p", "--aspect-ratio", "16:9"], True),
        ("sim/text-only-like", [], False),
    ],
    ids=["size+first-frame", "resolution+aspect-ratio+first-frame", "defaults-text-only"],
)
def test_sdk_create_poll_content_against_the_simulator(
    openrouter_vendor_sdk: OpenRouterSdk,
    sim: SimulatorServer,
    tmp_path: Path,
    model: str,
    shape: list[str],
    first_frame: bool,
) -> None:
    args = ["--model", model, "--prompt", "A lighthouse at dusk, waves", "--duration", "4"]
    args += shape
    if first_frame:
        image = tmp_path / "first.png"
        image.write_bytes(solid_png(64, 36, (200, 40, 40)))
        args += ["--first-frame", str(image), "--first-frame-type", "image/png"]
    result = run_probe(openrouter_vendor_sdk, sim.openrouter_url, *args)
    assert result.returncode == 0, result
    summary = result.json
    assert summary["models"] == SIM_IDS
    assert summary["create"]["status"] == "pending"
    assert summary["create"]["polling_url"].endswith(f"/videos/{summary['create']['id']}")
    assert_status_path(summary, "completed")
    final = summary["final"]
    assert final["generation_id"]
    assert final["unsigned_urls"] == [f"{summary['create']['polling_url']}/content?index=0"]
    assert isinstance(final["usage"]["cost"], int | float)
    assert final["usage"]["isByok"] is False
    assert final["error"] is None
    content = summary["content"]
    assert content["ftyp"] is True, content  # an MP4, through the SDK's video/mp4 matcher
    assert content["bytes"] > 1000
    assert_nothing_unknown(summary)


def test_sdk_accepts_a_failed_job(
    openrouter_vendor_sdk: OpenRouterSdk, sim: SimulatorServer
) -> None:
    result = run_probe(
        openrouter_vendor_sdk,
        sim.openrouter_url,
        *("--model", "sim/seedance-like", "--prompt", "A riot [fail:moderation]"),
    )
    assert result.returncode == 0, result
    summary = result.json
    assert_status_path(summary, "failed")
    assert summary["final"]["error"] == "Content policy violation"  # a string, as the SDK wants
    assert summary["final"]["unsigned_urls"] is None
    assert summary["content"] is None
    assert_nothing_unknown(summary)


@pytest.mark.parametrize(
    ("args", "api_key", "error_class", "status"),
    [
        (["--prompt", "[fail:credits] a cat"], KEY, "PaymentRequiredResponseError", 402),
        (["--prompt", "[fail:ratelimit] a cat"], KEY, "TooManyRequestsResponseError", 429),
        (["--prompt", "[fail:create] a cat"], KEY, "InternalServerResponseError", 500),
        (["--model", "sim/no-such-model"], KEY, "NotFoundResponseError", 404),
        (["--duration", "7"], KEY, "BadRequestResponseError", 400),
        ([], "", "UnauthorizedResponseError", 401),
    ],
    ids=["402", "429", "500", "404-model", "400-duration", "401-no-key"],
)
def test_sdk_recognises_the_error_envelopes(
    openrouter_vendor_sdk: OpenRouterSdk,
    sim: SimulatorServer,
    args: list[str],
    api_key: str,
    error_class: str,
    status: int,
) -> None:
    """The SDK parses each error body with its own schema for that status: an envelope it
    did not accept would be a ResponseValidationError (exit 3), not the typed error."""
    defaults = ["--model", "sim/seedance-like", "--prompt", "a cat"]  # later flags win
    result = run_probe(openrouter_vendor_sdk, sim.openrouter_url, *defaults, *args, api_key=api_key)
    assert result.returncode == 4, result
    summary = result.json
    assert summary["failed_operation"] == "generate"
    error = summary["error"]
    assert (error["kind"], error["name"], error["status"]) == ("api", error_class, status), error
    assert error["error"]["code"] == status
    assert error["error"]["message"]


# -- (b) what our client sends, through the SDK's request schema ------------------------------

ACCEPTED = {"id": "job-1", "polling_url": "https://openrouter.ai/api/v1/videos/job-1"}
BASE = "https://openrouter.ai/api/v1"


def sent_body(create: CreateRequest, callback_url: str = "") -> dict[str, Any]:
    """The JSON body `OpenRouterClient.create` POSTs for `create`."""
    client = OpenRouterClient(BASE, KEY, callback_url=callback_url, max_retries=0)
    with responses.RequestsMock() as mock:
        mock.post(f"{BASE}/videos", json={**ACCEPTED, "status": "pending"}, status=202)
        client.create(create)
        assert len(mock.calls) == 1
        return json.loads(mock.calls[0].request.body)


def entry(model_id: str) -> dict[str, Any]:
    """Our catalog entry for a simulated model, from its listing (as in production)."""
    listing = [model.listing() for model in MODELS]
    return next(e for e in catalog_entries(listing) if e["id"] == model_id)


def validate(sdk: OpenRouterSdk, body: Any) -> Any:
    result = sdk.probe("validate-request", stdin=json.dumps(body), timeout=60)
    assert result.returncode in (0, 3), result
    return result


def reference() -> ReferenceImage:
    return ReferenceImage(solid_png(64, 36, (10, 120, 200)), "image/png", "first.png")


def test_our_size_based_body_passes_the_sdk_request_schema(
    openrouter_vendor_sdk: OpenRouterSdk,
) -> None:
    veo = entry("sim/veo-3.1-like")
    assert "wire" not in veo  # listed sizes: sent as `size`
    body = sent_body(CreateRequest("A red kite", veo["id"], "1280x720", 8, wire={}))
    assert body == {
        "model": "sim/veo-3.1-like",
        "prompt": "A red kite",
        "duration": 8,
        "size": "1280x720",
    }
    result = validate(openrouter_vendor_sdk, body)
    assert result.returncode == 0, result
    assert result.json["wire"] == body


def test_our_resolution_aspect_ratio_body_passes_the_sdk_request_schema(
    openrouter_vendor_sdk: OpenRouterSdk,
) -> None:
    seedance = entry("sim/seedance-like")
    wire = seedance["wire"]
    assert wire["resolution_by_size"]["1280x720"] == ["720p", "16:9"]
    body = sent_body(CreateRequest("A red kite", seedance["id"], "1280x720", 5, wire=wire))
    assert (body["resolution"], body["aspect_ratio"]) == ("720p", "16:9")
    assert "size" not in body
    result = validate(openrouter_vendor_sdk, body)
    assert result.returncode == 0, result
    assert result.json["wire"] == body


def test_our_first_frame_and_callback_body_passes_the_sdk_request_schema(
    openrouter_vendor_sdk: OpenRouterSdk,
) -> None:
    wan = entry("sim/wan-like")
    create = CreateRequest(
        "A red kite", wan["id"], "1920x1080", 10, reference=reference(), wire=wan["wire"]
    )
    body = sent_body(create, callback_url="https://studio.example/api/webhooks/openrouter")
    frame = body["frame_images"][0]
    assert frame["frame_type"] == "first_frame"
    assert frame["image_url"]["url"].startswith("data:image/png;base64,")
    result = validate(openrouter_vendor_sdk, body)
    assert result.returncode == 0, result
    assert result.json["wire"] == body


def test_every_shape_our_catalog_offers_passes_the_sdk_request_schema(
    openrouter_vendor_sdk: OpenRouterSdk,
) -> None:
    """Each size of each simulated model, as our client sends it (one SDK run for all)."""
    bodies = []
    for item in catalog_entries([model.listing() for model in MODELS]):
        for size in item["sizes"]:
            create = CreateRequest(
                "A red kite",
                item["id"],
                size,
                item["seconds"][0],
                reference=reference() if item["capabilities"]["first_frame"] else None,
                wire=item.get("wire", {}),
            )
            bodies.append(sent_body(create))
    assert len(bodies) > 20
    result = validate(openrouter_vendor_sdk, bodies)
    assert result.returncode == 0, result
    failures = [
        (b, r["error"]) for b, r in zip(bodies, result.json["results"], strict=True) if not r["ok"]
    ]
    assert not failures


# -- (c) the SDK's own example of a video model -------------------------------------------------


def test_catalog_entries_accepts_the_sdks_own_video_model_example(
    openrouter_vendor_sdk: OpenRouterSdk,
) -> None:
    package = openrouter_vendor_sdk.root / "node_modules/@openrouter/sdk"
    schema_files = {"esm/models/videomodel.js", "esm/models/videomodel.d.ts"}
    mentions = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*")
        if path.is_file()
        and path.suffix in {".js", ".ts", ".json", ".md", ".yaml", ".yml"}
        and "supported_durations" in path.read_text(errors="replace")
    )
    extra = [p for p in mentions if p not in schema_files]
    if extra:
        pytest.fail(
            f"@openrouter/sdk {OPENROUTER_SDK_VERSION} now mentions video-model fields outside "
            f"its schema ({extra}): if that is an example, feed it to catalog_entries here"
        )
    pytest.skip(
        f"@openrouter/sdk {OPENROUTER_SDK_VERSION} ships no example or fixture of a video model "
        f"(only its schema: {mentions}); nothing vendor-written to feed catalog_entries"
    )


# -- control: the probe fails on shapes the SDK does not accept --------------------------------


class _WrongShapes(BaseHTTPRequestHandler):
    """A stub OpenRouter whose answers break the SDK's schemas in `server.flaw`."""

    MODEL = MODELS[0].listing()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _json(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        flaw = self.server.flaw  # type: ignore[attr-defined]
        if self.path.endswith("/videos/models"):
            model = dict(self.MODEL)
            if flaw == "listing":
                del model["canonical_slug"]
            self._json(200, {"data": [model]})
        else:  # a poll: the job failed, with an object for `error` (the SDK wants a string)
            self._json(
                200,
                {
                    "id": "job-1",
                    "polling_url": "/api/v1/videos/job-1",
                    "status": "failed",
                    "error": {"message": "boom"},
                },
            )

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self._json(202, {"id": "job-1", "polling_url": "/api/v1/videos/job-1", "status": "pending"})


@pytest.mark.parametrize(
    ("flaw", "operation", "needle"),
    [("listing", "listVideosModels", "canonical_slug"), ("poll", "getGeneration", "error")],
)
def test_the_probe_fails_with_the_sdks_validation_text_on_a_wrong_shape(
    openrouter_vendor_sdk: OpenRouterSdk, flaw: str, operation: str, needle: str
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _WrongShapes)
    server.flaw = flaw  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/api/v1"
        result = run_probe(
            openrouter_vendor_sdk, base, "--model", "sim/veo-3.1-like", "--prompt", "x"
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    assert result.returncode == 3, result
    summary = result.json
    assert summary["failed_operation"] == operation
    assert summary["error"]["kind"] == "validation"
    assert "Response validation failed" in result.stderr, result
    assert needle in result.stderr, result


def test_the_request_check_refuses_what_the_sdk_would_not_send(
    openrouter_vendor_sdk: OpenRouterSdk,
) -> None:
    bodies = [
        {"model": "m", "duration": "8"},  # a string for an integer
        {"model": "m", "seconds": 8},  # a field the SDK does not have
        {"model": "m", "resolution": "720P"},  # outside the SDK's enum
        {"model": "m", "frame_images": [{"type": "image_url", "image_url": {"url": "x"}}]},
    ]
    result = validate(openrouter_vendor_sdk, bodies)
    assert result.returncode == 3, result
    errors = [r["error"] for r in result.json["results"]]
    assert all(not r["ok"] for r in result.json["results"]), errors
    assert "videoGenerationRequest.duration" in errors[0]
    assert "$.seconds" in errors[1]
    assert "720P" in errors[2]
    assert "frameType" in errors[3]
