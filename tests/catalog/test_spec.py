"""`chalicelib.catalog.spec`: models parsed from plain dicts (capabilities with their older
aliases and per-provider defaults, prices, the public shape), and the catalog built from
them (bad entries named, duplicates refused, an empty catalog without defaults)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.catalog.presets import OPENAI_PRESETS, VEO_SIMULATED
from chalicelib.catalog.spec import (
    Capabilities,
    ModelSpec,
    aspect_ratio_of,
    build_catalog,
    parse_model,
)
from chalicelib.config import SettingsError

CAPABILITY_KEYS = {
    "first_frame",
    "last_frame",
    "reference_images",
    "audio",
    "seed",
    "remix",
    "extend",
}


def raw(model_id: str = "m", **fields: Any) -> dict[str, Any]:
    return {"id": model_id, "sizes": ["1280x720"], "seconds": [4, 8], **fields}


# -- capabilities ----------------------------------------------------------------------------


def test_a_v1_videos_model_takes_a_first_frame_and_remixes_by_default():
    spec = parse_model(raw())
    assert spec.provider == "openai"
    assert spec.capabilities == Capabilities(first_frame=True, remix=True)
    assert (spec.supports_reference, spec.supports_remix) == (True, True)


@pytest.mark.parametrize("provider", ["openrouter", "veo", "some-gateway"])
def test_other_providers_default_to_no_capabilities(provider):
    spec = parse_model(raw(provider=provider))
    assert spec.provider == provider
    assert spec.capabilities == Capabilities()
    assert (spec.supports_reference, spec.supports_remix) == (False, False)


def test_the_older_supports_flags_are_still_accepted_as_aliases():
    off = parse_model(raw(supports_remix=False, supports_reference=False))
    assert (off.capabilities.first_frame, off.capabilities.remix) == (False, False)
    on = parse_model(raw(provider="veo", supports_remix=True, supports_reference=True))
    assert (on.capabilities.first_frame, on.capabilities.remix) == (True, True)
    assert (on.supports_reference, on.supports_remix) == (True, True)


def test_capabilities_win_over_the_aliases():
    spec = parse_model(
        raw(
            supports_reference=True,
            supports_remix=True,
            capabilities={"first_frame": False, "remix": False},
        )
    )
    assert (spec.capabilities.first_frame, spec.capabilities.remix) == (False, False)


def test_every_capability_is_read():
    spec = parse_model(
        raw(
            provider="openrouter",
            capabilities={
                "first_frame": True,
                "last_frame": True,
                "reference_images": 3,
                "audio": True,
                "seed": True,
                "remix": True,
                "extend": True,
            },
        )
    )
    assert spec.capabilities == Capabilities(True, True, 3, True, True, True, True)


@pytest.mark.parametrize(("given", "count"), [("2", 2), (40, 16), (-3, 0), (None, 0), (0, 0)])
def test_reference_images_is_a_bounded_count(given, count):
    spec = parse_model(raw(capabilities={"reference_images": given}))
    assert spec.capabilities.reference_images == count


# -- the public shape ------------------------------------------------------------------------


def test_to_public_has_provider_capabilities_and_the_aliases():
    spec = parse_model(
        raw(
            "wan",
            label="Wan",
            provider="openrouter",
            sizes=["1280x720", "720x1280"],
            price_per_second_usd=0.1,
            price_per_second_by_size={"720x1280": 0.2},
            capabilities={"first_frame": True, "audio": True},
            wire={"resolution_by_size": {"1280x720": ["720p", "16:9"]}},
        )
    )
    public = spec.to_public()
    assert public["provider"] == "openrouter"
    assert set(public["capabilities"]) == CAPABILITY_KEYS
    assert public["capabilities"] == {
        "first_frame": True,
        "last_frame": False,
        "reference_images": 0,
        "audio": True,
        "seed": False,
        "remix": False,
        "extend": False,
    }
    assert (public["supports_reference"], public["supports_remix"]) == (True, False)
    assert public["aspect_ratios"] == {"1280x720": "16:9", "720x1280": "9:16"}
    assert public["price_per_second_by_size"] == {"1280x720": 0.1, "720x1280": 0.2}
    assert "price_per_second_with_audio_by_size" not in public
    assert "wire" not in public  # the upstream's own names stay in the provider
    assert spec.wire == {"resolution_by_size": {"1280x720": ["720p", "16:9"]}}


def test_audio_prices_are_public_and_fall_back_to_the_silent_price():
    spec = parse_model(
        raw(
            sizes=["1280x720", "1920x1080"],
            price_per_second_usd=0.2,
            price_per_second_by_size={"1920x1080": 0.3},
            price_per_second_with_audio_by_size={"1280x720": 0.4},
        )
    )
    assert spec.to_public()["price_per_second_with_audio_by_size"] == {
        "1280x720": 0.4,
        "1920x1080": 0.3,
    }
    assert spec.estimate_cost("1280x720", 8, audio=True) == 3.2
    assert spec.estimate_cost("1280x720", 8) == 1.6
    assert spec.estimate_cost("1920x1080", 8, audio=True) == 2.4


def test_estimates_are_rounded_to_cents():
    spec = parse_model(raw(price_per_second_usd=0.1234))
    assert spec.estimate_cost("1280x720", 5) == 0.62  # 0.617
    assert spec.estimate_cost("1280x720", 8) == 0.99  # 0.9872
    # Decimal arithmetic: no binary residue (0.1 * 3 is 0.30000000000000004 in floats).
    assert parse_model(raw(price_per_second_usd=0.1)).estimate_cost("1280x720", 3) == 0.3


@pytest.mark.parametrize(
    ("size", "ratio"),
    [
        ("1280x720", "16:9"),
        ("720x1280", "9:16"),
        ("854x480", "16:9"),
        ("720x720", "1:1"),
        ("1680x720", "21:9"),
        ("1792x1024", "7:4"),
        ("1024x1792", "4:7"),
    ],
)
def test_aspect_ratio_of(size, ratio):
    assert aspect_ratio_of(size) == ratio


def test_size_for_aspect_picks_the_first_size_of_that_ratio():
    spec = parse_model(raw(sizes=["720x1280", "1280x720", "1920x1080"]))
    assert spec.size_for_aspect("16:9") == "1280x720"
    assert spec.size_for_aspect("9:16") == "720x1280"
    assert spec.size_for_aspect("1:1") is None


# -- bad entries -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"sizes": []}, "needs non-empty"),
        ({"seconds": None}, "needs non-empty"),
        ({"sizes": ["1280*720"]}, "WIDTHxHEIGHT"),
        ({"sizes": ["8192x4320"]}, "WIDTHxHEIGHT"),
        ({"sizes": ["0x720"]}, "WIDTHxHEIGHT"),
        ({"seconds": ["four"]}, "whole numbers"),
        ({"seconds": [0, 4]}, "between 1 and 120"),
        ({"seconds": [121]}, "between 1 and 120"),
        ({"price_per_second_usd": "cheap"}, "price_per_second_usd"),
        ({"price_per_second_by_size": [0.1]}, "prices"),
        ({"price_per_second_by_size": {"1280x720": "a lot"}}, "numbers"),
        ({"price_per_second_with_audio_by_size": {"1280x720": None}}, "numbers"),
        ({"capabilities": ["first_frame"]}, "capabilities"),
        ({"capabilities": {"reference_images": "many"}}, "reference_images"),
        ({"wire": "720p"}, "wire"),
    ],
)
def test_a_bad_entry_raises_settings_error_naming_the_model(fields, says):
    with pytest.raises(SettingsError) as info:
        parse_model(raw("acme/broken", **fields))
    assert "acme/broken" in str(info.value)
    assert says in str(info.value)


@pytest.mark.parametrize("entry", [{}, {"id": ""}, {"id": 7}, "sora-2", None])
def test_an_entry_without_a_string_id_is_refused(entry):
    with pytest.raises(SettingsError, match="string 'id'"):
        parse_model(entry)


def test_a_bad_entry_fails_the_whole_catalog():
    with pytest.raises(SettingsError, match="acme/broken"):
        build_catalog([raw("fine"), raw("acme/broken", seconds=[])])


# -- the catalog -----------------------------------------------------------------------------


def test_duplicate_ids_are_refused():
    with pytest.raises(SettingsError, match="twice"):
        build_catalog([raw("sora-2"), raw("other"), raw("sora-2", provider="openrouter")])


def test_an_empty_catalog_has_no_models_and_no_defaults():
    catalog = build_catalog([])
    assert catalog.models == () and catalog.default_model is None
    assert catalog.to_public() == {"models": [], "defaults": {}}
    assert catalog.aspect_ratios() == set()


def test_the_first_model_gives_the_defaults():
    catalog = build_catalog(
        [raw("a", sizes=["720x1280", "1280x720"], seconds=[8, 4]), raw("b", sizes=["720x720"])]
    )
    assert catalog.to_public()["defaults"] == {"model": "a", "size": "720x1280", "seconds": 8}
    assert [m["id"] for m in catalog.to_public()["models"]] == ["a", "b"]
    assert catalog.get("b").sizes == ("720x720",)
    assert catalog.get("c") is None
    assert catalog.aspect_ratios() == {"9:16", "16:9", "1:1"}


def test_the_shipped_presets_parse_with_their_capabilities():
    catalog = build_catalog(OPENAI_PRESETS + VEO_SIMULATED)
    sora = catalog.get("sora-2-pro")
    assert isinstance(sora, ModelSpec) and sora.provider == "openai"
    assert (sora.capabilities.first_frame, sora.capabilities.remix) == (True, True)
    assert sora.price_per_second("1792x1024") == 0.5
    assert sora.price_per_second("1280x720") == 0.3
    veo = catalog.get("veo-3.1-generate-preview")
    assert veo.provider == "veo"
    assert (veo.capabilities.first_frame, veo.capabilities.remix) == (True, False)
    # Sound is always on through the Gemini API: no switch to offer (nor a seed).
    assert (veo.capabilities.audio, veo.capabilities.seed) == (False, False)
    assert (veo.capabilities.extend, veo.extension_seconds) == (True, (7,))
    assert sora.extension_seconds == (4, 8, 12, 16, 20)
