"""The background model-list refresh (`refresh_listings`, run by the minute scheduler) and the
catalog it feeds: the first listing is fetched and stored, later calls wait for the refresh
interval, a failure keeps the last good list, `OPENROUTER_MODELS` narrows it,
`MODEL_CATALOG_JSON` replaces it, and before any listing nothing is offered.

OpenRouter is a `responses` mock behind the real `OpenRouterClient` (its backoff sleeps
recorded), DynamoDB is moto and time is `chalicelib.clock.now` moved by hand."""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from threading import Barrier
from typing import Any

import pytest
import requests
import responses

from chalicelib.catalog import store
from chalicelib.catalog.refresh import refresh_listings
from chalicelib.catalog.source import forget_catalog
from chalicelib.config import get_settings
from chalicelib.models import CatalogListing
from chalicelib.upstreams import registry
from chalicelib.upstreams.openrouter import OpenRouterClient, catalog_entries
from tests.support.api import body, get, post_json

NOW = 1_800_000_000.0
EVERY = 600  # CATALOG_REFRESH_SECONDS in these tests
BASE = "https://openrouter.test/api/v1"
MODELS_URL = f"{BASE}/videos/models"
KEY = "sk-or-v1-refresh-test-0123456789abcdef0123456789"


def listed(model_id: str, **fields: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": model_id,
        "canonical_slug": model_id,
        "name": model_id,
        "created": 1_767_225_600,
        "supported_durations": [4, 8],
        "supported_resolutions": ["720p"],
        "supported_aspect_ratios": ["16:9", "9:16"],
        "supported_sizes": None,
        "supported_frame_images": None,
        "generate_audio": None,
        "seed": None,
        "pricing_skus": {"per-video-second": "0.10"},
        "allowed_passthrough_parameters": [],
        "upscale_factor": None,
        "creativity": None,
    }
    item.update(fields)
    return item


VEO = listed(
    "google/veo-3.1",
    name="Veo 3.1",
    supported_durations=[4, 6, 8],
    supported_sizes=["1280x720", "720x1280", "1920x1080", "1080x1920"],
    supported_frame_images=["first_frame", "last_frame"],
    generate_audio=True,
    seed=True,
    pricing_skus={"per-video-second": "0.20", "per-video-second-audio": "0.40"},
)
SEEDANCE = listed(
    "bytedance/seedance-1-pro",
    name="Seedance 1 Pro",
    supported_durations=[5, 10],
    supported_resolutions=["480p", "720p"],
    supported_frame_images=["first_frame"],
    generate_audio=False,
    seed=True,
)
SORA = listed(
    "openai/sora-2",
    name="Sora 2",
    supported_durations=[4, 8, 12],
    supported_sizes=["1280x720", "720x1280"],
    supported_frame_images=["first_frame"],
)
UNUSABLE = listed("acme/no-durations", supported_durations=None)
PAYLOAD = {"data": [VEO, SEEDANCE, UNUSABLE, SORA]}
OFFERED = ["google/veo-3.1", "bytedance/seedance-1-pro", "openai/sora-2"]


@dataclass
class Upstream:
    mock: responses.RequestsMock
    sleeps: list[float]
    client: Any  # the Chalice test client

    @property
    def listings(self) -> list[Any]:
        return [c for c in self.mock.calls if c.request.url == MODELS_URL]


@pytest.fixture
def openrouter_env(
    request: pytest.FixtureRequest, app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """OpenRouter as the only upstream (no `/v1/videos` key), plus the parametrised extras."""
    for name in (
        "VIDEOS_API_KEY",
        "VIDEOS_API_KEY_PARAM",
        "OPENAI_API_KEY",
        "OPENROUTER_API_KEY_PARAM",
        "OPENROUTER_MODELS",
        "MODEL_CATALOG_JSON",
    ):
        monkeypatch.delenv(name, raising=False)
    env = {
        "OPENROUTER_API_KEY": KEY,
        "OPENROUTER_BASE_URL": BASE,
        "CATALOG_REFRESH_SECONDS": str(EVERY),
        **getattr(request, "param", {}),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The backend's clock, standing still at `now[0]` until a test moves it."""
    from chalicelib import clock

    moment = [NOW]
    monkeypatch.setattr(clock, "now", lambda: moment[0])
    return moment


@pytest.fixture
def upstream(openrouter_env: dict[str, str], client: Any, now: list[float]) -> Any:
    """OpenRouter's model list mocked (started after moto, so it answers first) and the real
    client installed with its backoff sleeps recorded."""
    settings = get_settings()
    assert settings.openrouter_base_url == BASE
    sleeps: list[float] = []
    registry.set_provider(
        "openrouter",
        OpenRouterClient(settings.openrouter_base_url, KEY, timeout=5, sleep=sleeps.append),
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(MODELS_URL, json=PAYLOAD)
        yield Upstream(mock, sleeps, client)


def config(client: Any) -> dict[str, Any]:
    response = get(client, "/api/config")
    assert response.status_code == 200, response.body
    return body(response)


def listing_item() -> CatalogListing:
    return CatalogListing.get("catalog#openrouter")


def stored_items(aws: dict[str, Any]) -> list[dict[str, Any]]:
    items = aws["dynamodb"].scan(TableName=aws["settings"].jobs_table)["Items"]
    return [item for item in items if not item["id"]["S"].startswith("quota#")]


# -- before any listing ----------------------------------------------------------------------


def test_before_any_listing_nothing_is_offered_and_create_is_503(upstream, aws):
    shown = config(upstream.client)
    assert shown["models"] == [] and shown["defaults"] == {}
    assert shown["catalog"]["loading"] is True
    response = post_json(upstream.client, "/api/videos", {"prompt": "a fox in the snow"})
    assert response.status_code == 503, response.body
    assert body(response)["error"]["code"] == "no_models"
    assert response.headers["Retry-After"] == "60"
    assert stored_items(aws) == []
    assert len(upstream.mock.calls) == 0  # no request waits on the upstream's listing


# -- the first listing -----------------------------------------------------------------------


def test_the_first_refresh_fetches_stores_and_offers_the_models(upstream):
    assert refresh_listings() == {"openrouter": "refreshed"}
    [call] = upstream.listings
    assert call.request.headers["Authorization"] == f"Bearer {KEY}"
    assert store.load_models("openrouter") == catalog_entries(PAYLOAD["data"])
    item = listing_item()
    assert (item.fetched_at, item.next_attempt_at, item.last_error) == (NOW, NOW + EVERY, None)

    shown = config(upstream.client)
    assert shown["catalog"]["loading"] is False
    assert [m["id"] for m in shown["models"]] == OFFERED
    assert {m["provider"] for m in shown["models"]} == {"openrouter"}
    models = {m["id"]: m for m in shown["models"]}
    assert models["google/veo-3.1"]["capabilities"] == {
        "first_frame": True,
        "last_frame": True,
        "reference_images": 0,
        "audio": True,
        "seed": True,
        "remix": False,
        "extend": False,
    }
    seedance = models["bytedance/seedance-1-pro"]["capabilities"]
    assert (seedance["first_frame"], seedance["audio"], seedance["seed"]) == (True, False, True)
    sora = models["openai/sora-2"]["capabilities"]
    assert (sora["first_frame"], sora["audio"], sora["seed"]) == (True, False, False)
    assert models["google/veo-3.1"]["price_per_second_with_audio_by_size"]["1280x720"] == 0.4
    assert shown["defaults"] == {"model": "google/veo-3.1", "size": "1280x720", "seconds": 4}


def test_a_second_refresh_before_the_interval_is_not_due(upstream, now):
    assert refresh_listings() == {"openrouter": "refreshed"}
    assert refresh_listings() == {"openrouter": "not_due"}
    now[0] = NOW + EVERY - 1
    assert refresh_listings() == {"openrouter": "not_due"}
    assert len(upstream.listings) == 1
    now[0] = NOW + EVERY
    assert refresh_listings() == {"openrouter": "refreshed"}
    assert len(upstream.listings) == 2
    assert listing_item().next_attempt_at == NOW + 2 * EVERY


def test_a_failing_listing_keeps_the_last_good_list_records_and_logs(upstream, now, caplog):
    assert refresh_listings() == {"openrouter": "refreshed"}
    good = store.load_models("openrouter")
    now[0] = NOW + EVERY + 1
    upstream.mock.replace(
        responses.GET,
        MODELS_URL,
        status=500,
        json={"error": {"code": 500, "message": "Internal Server Error"}},
    )
    with caplog.at_level(logging.WARNING, logger="chalicelib.catalog.refresh"):
        assert refresh_listings() == {"openrouter": "failed"}
    # A listing is a read: the client retried it (recorded sleeps, no waiting) before failing.
    assert len(upstream.listings) == 1 + 4 and len(upstream.sleeps) == 3
    assert store.load_models("openrouter") == good
    item = listing_item()
    assert item.fetched_at == NOW
    assert "Internal Server Error" in item.last_error
    warnings = [
        r
        for r in caplog.records
        if r.name == "chalicelib.catalog.refresh" and r.levelno == logging.WARNING
    ]
    assert len(warnings) == 1 and "keeping the last good list" in warnings[0].getMessage()
    forget_catalog()  # read the stored list again, not this process's copy
    shown = config(upstream.client)
    assert [m["id"] for m in shown["models"]] == OFFERED
    assert shown["catalog"]["loading"] is False


def test_after_a_failure_the_next_attempt_waits_for_the_lease_then_recovers(upstream, now):
    assert refresh_listings() == {"openrouter": "refreshed"}
    failed_at = NOW + EVERY + 1
    now[0] = failed_at
    upstream.mock.replace(responses.GET, MODELS_URL, body=requests.ConnectionError("reset"))
    assert refresh_listings() == {"openrouter": "failed"}
    now[0] = failed_at + store.ATTEMPT_LEASE_SECONDS - 1
    assert refresh_listings() == {"openrouter": "not_due"}
    now[0] = failed_at + store.ATTEMPT_LEASE_SECONDS
    upstream.mock.replace(responses.GET, MODELS_URL, json={"data": [SORA, VEO]})
    assert refresh_listings() == {"openrouter": "refreshed"}
    item = listing_item()
    assert item.last_error is None and item.fetched_at == now[0]
    assert [m["id"] for m in config(upstream.client)["models"]] == [
        "openai/sora-2",
        "google/veo-3.1",
    ]


@pytest.mark.parametrize(
    "answer",
    [{"json": {"data": []}}, {"json": {"data": [UNUSABLE]}}, {"body": "<html>", "status": 200}],
    ids=["empty", "nothing-usable", "not-json"],
)
def test_a_listing_with_nothing_to_offer_is_a_failure_and_still_loading(upstream, answer):
    upstream.mock.replace(responses.GET, MODELS_URL, **answer)
    assert refresh_listings() == {"openrouter": "failed"}
    assert store.load_models("openrouter") is None
    assert listing_item().last_error
    shown = config(upstream.client)
    assert shown["models"] == [] and shown["catalog"]["loading"] is True


# -- what the settings do with the listing ---------------------------------------------------


@pytest.mark.parametrize(
    "openrouter_env",
    [{"OPENROUTER_MODELS": "openai/sora-2, google/veo-3.1,acme/not-listed"}],
    indirect=True,
)
def test_openrouter_models_narrows_the_offered_list(upstream):
    assert refresh_listings() == {"openrouter": "refreshed"}
    shown = config(upstream.client)
    # The listing's order, only the allowed ids; one the listing lacks is simply absent.
    assert [m["id"] for m in shown["models"]] == ["google/veo-3.1", "openai/sora-2"]
    assert len(store.load_models("openrouter")) == 3  # the whole listing is kept


CUSTOM = [
    {
        "id": "gateway/my-model",
        "label": "My model",
        "sizes": ["1280x720"],
        "seconds": [4],
        "price_per_second_usd": 0.05,
    }
]


@pytest.mark.parametrize(
    "openrouter_env", [{"MODEL_CATALOG_JSON": json.dumps(CUSTOM)}], indirect=True
)
def test_model_catalog_json_overrides_everything(upstream):
    before = config(upstream.client)
    assert [m["id"] for m in before["models"]] == ["gateway/my-model"]
    assert before["catalog"]["loading"] is False
    refresh_listings()
    forget_catalog()
    after = config(upstream.client)
    assert [m["id"] for m in after["models"]] == ["gateway/my-model"]
    assert after["models"][0]["provider"] == "openai"


def test_without_an_openrouter_key_nothing_is_listed_or_fetched(client, aws):
    assert refresh_listings() == {}
    shown = config(client)
    assert shown["catalog"]["loading"] is False
    assert {m["provider"] for m in shown["models"]} == {"openai"}
    assert stored_items(aws) == []


def test_the_minute_scheduler_refreshes_the_listing_when_due(upstream, now):
    lambda_client = upstream.client
    event = lambda_client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )
    first = lambda_client.lambda_.invoke("refresh_pending_jobs", event).payload
    assert first["catalog"] == {"openrouter": "refreshed"}
    second = lambda_client.lambda_.invoke("refresh_pending_jobs", event).payload
    assert second["catalog"] == {"openrouter": "not_due"}
    assert len(upstream.listings) == 1


# -- one caller per attempt ------------------------------------------------------------------


def test_exactly_one_of_two_callers_claims_an_attempt(aws):
    assert [store.claim_attempt("openrouter", NOW) for _ in range(2)] == [True, False]
    # Until the lease runs out nobody else may try; then exactly one may.
    assert store.claim_attempt("openrouter", NOW + store.ATTEMPT_LEASE_SECONDS - 1) is False
    assert store.claim_attempt("openrouter", NOW + store.ATTEMPT_LEASE_SECONDS) is True
    assert store.claim_attempt("other", NOW) is True  # each provider has its own item


def test_exactly_one_of_many_concurrent_callers_claims_an_attempt(aws):
    callers = 8
    barrier = Barrier(callers)

    def claim(_: int) -> bool:
        barrier.wait()
        return store.claim_attempt("openrouter", NOW)

    with ThreadPoolExecutor(max_workers=callers) as pool:
        claimed = list(pool.map(claim, range(callers)))
    assert claimed.count(True) == 1
