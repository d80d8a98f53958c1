"""`catalog_entries`: OpenRouter's `GET /videos/models` items (docs/upstreams/openrouter.md) as
catalog dicts: sizes listed or built from resolution x aspect ratio (with the wire values a
create sends), prices from `pricing_skus`, capabilities, and the models left out."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses

from chalicelib.catalog.spec import build_catalog
from chalicelib.upstreams.base import CreateRequest
from chalicelib.upstreams.openrouter import OpenRouterClient, catalog_entries, size_of

BASE = "https://openrouter.ai/api/v1"


def listing(model_id: str, **fields: Any) -> dict[str, Any]:
    """One `/videos/models` item with every required key, as the API reference gives it."""
    item: dict[str, Any] = {
        "id": model_id,
        "canonical_slug": f"{model_id}-20260101",
        "name": model_id.split("/")[-1].title(),
        "description": "A video model",
        "created": 1_767_225_600,
        "hugging_face_id": None,
        "supported_durations": [4, 8],
        "supported_resolutions": ["720p"],
        "supported_aspect_ratios": ["16:9"],
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


VEO = listing(
    "google/veo-3.1",
    name="Veo 3.1",
    supported_durations=[4, 6, 8],
    supported_resolutions=["720p", "1080p"],
    supported_aspect_ratios=["16:9", "9:16"],
    supported_sizes=["1280x720", "720x1280", "1920x1080", "1080x1920"],
    supported_frame_images=["first_frame", "last_frame"],
    generate_audio=True,
    seed=True,
    pricing_skus={
        "per-video-second": "0.20",
        "per-video-second-audio": "0.40",
        "per-video-second-1080p": "0.30",
        "per-video-second-1080p-audio": "0.50",
    },
    allowed_passthrough_parameters=["negativePrompt", "personGeneration"],
)
SEEDANCE = listing(
    "bytedance/seedance-1-pro",
    name="Seedance 1 Pro",
    supported_durations=[5, 10],
    supported_resolutions=["480p", "720p"],
    supported_aspect_ratios=["16:9", "9:16", "1:1"],
    supported_sizes=None,
    supported_frame_images=["first_frame"],
    generate_audio=False,
    seed=None,
    pricing_skus={"per-video-second": "0.05", "per-video-second-720p": "0.10"},
)
KLING = listing(
    "kwaivgi/kling-v2.6",
    name="Kling 2.6",
    supported_durations=[5, 10],
    supported_resolutions=None,
    supported_aspect_ratios=None,
    supported_sizes=["1280x720", "1920x1080"],
    supported_frame_images=["first_frame", "last_frame"],
    generate_audio=True,
    seed=False,
    pricing_skus={
        "per-video-second": "0.10",
        "per-video-second-with-audio": "0.15",
        "per-video-second-1080p": "0.12",
        "per-video-second-1080p-with-audio": "0.20",
        "per-image": "0.01",  # an unknown SKU: ignored
    },
)
FLAT = listing(
    "acme/clip-flat",
    name="Clip Flat",
    supported_durations=[4, 8],
    supported_resolutions=["720p"],
    supported_aspect_ratios=None,  # no ratios listed: 16:9
    pricing_skus={"generate": "0.50"},
)
UNUSABLE = [
    listing("acme/no-durations", supported_durations=None),
    listing("acme/durations-out-of-range", supported_durations=[0, 300]),
    listing(
        "acme/no-shapes",
        supported_resolutions=None,
        supported_aspect_ratios=None,
        supported_sizes=None,
    ),
    listing("acme/unknown-resolution", supported_resolutions=["8K"]),
    listing("acme/sizes-not-wxh", supported_sizes=["auto"], supported_resolutions=None),
    listing("", name="no id"),
    {"name": "missing id"},
    "not an object",
]
PAYLOAD = {"data": [VEO, SEEDANCE, *UNUSABLE, KLING, FLAT]}


@pytest.fixture
def entries() -> list[dict[str, Any]]:
    return catalog_entries(PAYLOAD["data"])


def by_id(entries: list[dict[str, Any]], model_id: str) -> dict[str, Any]:
    return next(e for e in entries if e["id"] == model_id)


def test_only_the_usable_models_are_offered_in_listing_order(entries):
    assert [e["id"] for e in entries] == [
        "google/veo-3.1",
        "bytedance/seedance-1-pro",
        "kwaivgi/kling-v2.6",
        "acme/clip-flat",
    ]
    assert all(e["provider"] == "openrouter" for e in entries)


def test_a_model_with_supported_sizes_uses_them_and_needs_no_wire(entries):
    veo = by_id(entries, "google/veo-3.1")
    assert veo["label"] == "Veo 3.1"
    assert veo["sizes"] == ["1280x720", "720x1280", "1920x1080", "1080x1920"]
    assert veo["seconds"] == [4, 6, 8]
    assert "wire" not in veo


def test_sizes_built_from_resolutions_and_aspect_ratios_carry_the_wire_values(entries):
    seedance = by_id(entries, "bytedance/seedance-1-pro")
    # Resolution by resolution, ratio by ratio, but landscape 720p first: the default size.
    assert seedance["sizes"] == [
        "1280x720",
        "854x480",
        "480x854",
        "480x480",
        "720x1280",
        "720x720",
    ]
    assert seedance["wire"] == {
        "resolution_by_size": {
            "854x480": ["480p", "16:9"],
            "480x854": ["480p", "9:16"],
            "480x480": ["480p", "1:1"],
            "1280x720": ["720p", "16:9"],
            "720x1280": ["720p", "9:16"],
            "720x720": ["720p", "1:1"],
        }
    }
    assert seedance["seconds"] == [5, 10]


@pytest.mark.parametrize(
    ("resolution", "ratio", "size"),
    [
        ("720p", "16:9", "1280x720"),
        ("720p", "9:16", "720x1280"),
        ("720p", "1:1", "720x720"),
        ("720p", "4:3", "960x720"),
        ("1080p", "16:9", "1920x1080"),
        ("1080p", "9:16", "1080x1920"),
        ("480p", "16:9", "854x480"),
        ("720p", "21:9", "1680x720"),
        ("4K", "16:9", "3840x2160"),
        ("4K", "21:9", None),  # wider than 4096
        ("8K", "16:9", None),
        ("720p", "wide", None),
        ("720p", "0:9", None),
    ],
)
def test_size_of_resolution_and_aspect_ratio(resolution, ratio, size):
    assert size_of(resolution, ratio) == size


@pytest.mark.parametrize(
    ("sizes", "first"),
    [
        (["720x1280", "1280x720", "1920x1080"], "1280x720"),
        (["1080x1920", "1920x1080"], "1920x1080"),
        (["720x1280", "720x720"], "720x1280"),
    ],
)
def test_landscape_720p_or_else_1080p_is_the_default_listed_size(sizes, first):
    [entry] = catalog_entries([listing("acme/m", supported_sizes=sizes)])
    assert entry["sizes"][0] == first
    assert sorted(entry["sizes"]) == sorted(sizes)


def test_no_listed_aspect_ratio_means_16_9(entries):
    flat = by_id(entries, "acme/clip-flat")
    assert flat["sizes"] == ["1280x720"]
    assert flat["wire"] == {"resolution_by_size": {"1280x720": ["720p", "16:9"]}}


def test_capabilities_come_from_frame_images_audio_and_seed(entries):
    expected = {
        "google/veo-3.1": (True, True, True, True),
        "bytedance/seedance-1-pro": (True, False, False, False),  # seed null: not offered
        "kwaivgi/kling-v2.6": (True, True, True, False),
        "acme/clip-flat": (False, False, False, False),  # frame images, audio, seed: null
    }
    for entry in entries:
        caps = entry["capabilities"]
        assert (caps["first_frame"], caps["last_frame"], caps["audio"], caps["seed"]) == expected[
            entry["id"]
        ], entry["id"]
        # Nothing in the listing says so: no reference images, remix or extend.
        assert (caps["reference_images"], caps["remix"], caps["extend"]) == (0, False, False)


def test_per_second_skus_by_resolution_and_with_audio(entries):
    veo = by_id(entries, "google/veo-3.1")
    assert veo["price_per_second_usd"] == 0.20
    assert veo["price_per_second_by_size"] == {
        "1280x720": 0.20,
        "720x1280": 0.20,
        "1920x1080": 0.30,
        "1080x1920": 0.30,
    }
    assert veo["price_per_second_with_audio_by_size"] == {
        "1280x720": 0.40,
        "720x1280": 0.40,
        "1920x1080": 0.50,
        "1080x1920": 0.50,
    }
    kling = by_id(entries, "kwaivgi/kling-v2.6")
    assert kling["price_per_second_by_size"] == {"1280x720": 0.10, "1920x1080": 0.12}
    assert kling["price_per_second_with_audio_by_size"] == {"1280x720": 0.15, "1920x1080": 0.20}


def test_resolution_skus_apply_to_built_sizes_and_silent_models_have_no_audio_prices(entries):
    seedance = by_id(entries, "bytedance/seedance-1-pro")
    assert seedance["price_per_second_usd"] == 0.05
    assert seedance["price_per_second_by_size"] == {
        "854x480": 0.05,
        "480x854": 0.05,
        "480x480": 0.05,
        "1280x720": 0.10,
        "720x1280": 0.10,
        "720x720": 0.10,
    }
    assert "price_per_second_with_audio_by_size" not in seedance


def test_a_flat_generate_sku_is_spread_over_the_shortest_duration(entries):
    flat = by_id(entries, "acme/clip-flat")
    assert flat["price_per_second_usd"] == 0.125
    assert flat["price_per_second_by_size"] == {"1280x720": 0.125}


@pytest.mark.parametrize("durations", [[4, None], [4, "8"], [4, 6.5], 5, "4,8"])
def test_a_malformed_duration_list_does_not_sink_the_whole_listing(durations):
    """Only integer durations count; one odd item must not fail every other model (the
    flat-price path used to re-read the raw list with int())."""
    odd = listing("acme/odd", supported_durations=durations, pricing_skus={"generate": "0.40"})
    entries = catalog_entries([VEO, odd])
    assert entries[0]["id"] == "google/veo-3.1"
    if isinstance(durations, list):
        [_, entry] = entries
        assert entry["seconds"] == [4]
        assert entry["price_per_second_usd"] == 0.10  # 0.40 over the 4 usable seconds
    else:
        assert len(entries) == 1  # no list of durations: not offered


def test_unparseable_or_negative_prices_are_ignored():
    [entry] = catalog_entries(
        [listing("acme/odd", pricing_skus={"per-video-second": "n/a", "generate": "-1"})]
    )
    assert entry["price_per_second_usd"] == 0.0
    [entry] = catalog_entries([listing("acme/none", pricing_skus=None)])
    assert entry["price_per_second_usd"] == 0.0


def test_the_entries_build_a_catalog_with_the_expected_estimates(entries):
    # Stored as JSON by the refresher, so build from a round trip.
    catalog = build_catalog(json.loads(json.dumps(entries)))
    veo = catalog.get("google/veo-3.1")
    assert veo is not None and veo.provider == "openrouter"
    assert veo.estimate_cost("1280x720", 8) == 1.60
    assert veo.estimate_cost("1280x720", 8, audio=True) == 3.20
    assert veo.estimate_cost("1920x1080", 8) == 2.40
    assert veo.estimate_cost("1080x1920", 6, audio=True) == 3.00
    seedance = catalog.get("bytedance/seedance-1-pro")
    assert seedance.estimate_cost("854x480", 5) == 0.25
    assert seedance.estimate_cost("720x1280", 10) == 1.00
    assert seedance.estimate_cost("720x1280", 10, audio=True) == 1.00  # no audio SKU
    kling = catalog.get("kwaivgi/kling-v2.6")
    assert kling.estimate_cost("1920x1080", 10) == 1.20
    assert kling.estimate_cost("1920x1080", 10, audio=True) == 2.00
    assert kling.estimate_cost("1280x720", 5, audio=True) == 0.75
    flat = catalog.get("acme/clip-flat")
    assert flat.estimate_cost("1280x720", 4) == 0.50  # exactly the flat price
    assert flat.estimate_cost("1280x720", 8) == 1.00  # errs high for longer clips
    assert catalog.to_public()["defaults"] == {
        "model": "google/veo-3.1",
        "size": "1280x720",
        "seconds": 4,
    }
    public = seedance.to_public()
    assert public["provider"] == "openrouter"
    assert public["aspect_ratios"]["720x1280"] == "9:16"
    assert public["aspect_ratios"]["854x480"] == "16:9"  # within 1% of the named ratio
    assert "wire" not in public
    assert seedance.wire["resolution_by_size"]["720x720"] == ["720p", "1:1"]


@responses.activate
def test_listed_models_create_with_the_values_the_listing_gave():
    """End to end: list, build the catalog, and create with each model's own wire names."""
    responses.get(f"{BASE}/videos/models", json=PAYLOAD)
    client = OpenRouterClient(BASE, "sk-or-v1-test", sleep=lambda _: None)
    catalog = build_catalog(json.loads(json.dumps(client.list_models())))
    assert "Authorization" in responses.calls[0].request.headers
    responses.post(f"{BASE}/videos", status=202, json={"id": "j1", "status": "pending"})
    for model_id, size in [("bytedance/seedance-1-pro", "720x720"), ("google/veo-3.1", "720x1280")]:
        spec = catalog.get(model_id)
        client.create(
            CreateRequest(
                prompt="p", model=spec.id, size=size, seconds=spec.seconds[0], wire=spec.wire
            )
        )
    seedance_body = json.loads(responses.calls[1].request.body)
    veo_body = json.loads(responses.calls[2].request.body)
    assert (seedance_body["resolution"], seedance_body["aspect_ratio"]) == ("720p", "1:1")
    assert seedance_body["duration"] == 5 and "size" not in seedance_body
    assert veo_body["size"] == "720x1280" and "resolution" not in veo_body
