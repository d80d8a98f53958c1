"""The model catalog: which models, sizes and durations exist and what they cost.

Validation and cost estimates read it; `GET /api/config` exposes it. The defaults are the
Sora 2 models as OpenAI published them, followed by the Google Veo models (`VEO_CATALOG`,
native provider `veo`) when a Gemini API key is configured; `MODEL_CATALOG_JSON` replaces all
of them (a gateway's Veo or Runway models, say) without code changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from math import gcd
from typing import Any

from chalicelib.config import SettingsError, get_settings

DEFAULT_CATALOG: list[dict[str, Any]] = [
    {
        "id": "sora-2",
        "label": "Sora 2",
        "sizes": ["1280x720", "720x1280"],
        "seconds": [4, 8, 12],
        "price_per_second_usd": 0.10,
    },
    {
        "id": "sora-2-pro",
        "label": "Sora 2 Pro",
        "sizes": ["1280x720", "720x1280", "1792x1024", "1024x1792"],
        "seconds": [4, 8, 12],
        "price_per_second_usd": 0.30,
        "price_per_second_by_size": {"1792x1024": 0.50, "1024x1792": 0.50},
    },
]


# Veo 3.1 on the Gemini API (ai.google.dev/gemini-api/docs/video and docs/pricing): 16:9 or
# 9:16 at 720p or 1080p (1080p only for 8 s, which the Veo client checks before paying), 4, 6
# or 8 s, audio included; USD per second: 0.40 (Fast: 0.10 at 720p, 0.12 at 1080p). No remix;
# a first-frame image is supported. 4k (3840x2160, 0.60/s; Fast 0.30/s) can be added through
# MODEL_CATALOG_JSON.
VEO_SIZES = ["1280x720", "720x1280", "1920x1080", "1080x1920"]
VEO_CATALOG: list[dict[str, Any]] = [
    {
        "id": "veo-3.1-generate-preview",
        "label": "Veo 3.1",
        "sizes": VEO_SIZES,
        "seconds": [4, 6, 8],
        "price_per_second_usd": 0.40,
        "provider": "veo",
        "supports_remix": False,
        "supports_reference": True,
    },
    {
        "id": "veo-3.1-fast-generate-preview",
        "label": "Veo 3.1 Fast",
        "sizes": VEO_SIZES,
        "seconds": [4, 6, 8],
        "price_per_second_usd": 0.10,
        "price_per_second_by_size": {"1920x1080": 0.12, "1080x1920": 0.12},
        "provider": "veo",
        "supports_remix": False,
        "supports_reference": True,
    },
]


def aspect_ratio_of(size: str) -> str:
    width, height = (int(part) for part in size.split("x"))
    divisor = gcd(width, height)
    return f"{width // divisor}:{height // divisor}"


@dataclass(frozen=True)
class ModelSpec:
    id: str
    label: str
    sizes: tuple[str, ...]
    seconds: tuple[int, ...]
    price_per_second_usd: float
    price_by_size: dict[str, float] = field(default_factory=dict)
    provider: str = "openai"
    supports_remix: bool = True
    supports_reference: bool = True

    def price_per_second(self, size: str) -> float:
        return self.price_by_size.get(size, self.price_per_second_usd)

    def estimate_cost(self, size: str, seconds: int) -> float:
        cost = Decimal(str(self.price_per_second(size))) * seconds
        return float(cost.quantize(Decimal("0.01")))

    def size_for_aspect(self, aspect_ratio: str) -> str | None:
        for size in self.sizes:
            if aspect_ratio_of(size) == aspect_ratio:
                return size
        return None

    def to_public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "sizes": list(self.sizes),
            "aspect_ratios": {size: aspect_ratio_of(size) for size in self.sizes},
            "seconds": list(self.seconds),
            "price_per_second_usd": self.price_per_second_usd,
            "price_per_second_by_size": {s: self.price_per_second(s) for s in self.sizes},
            "supports_remix": self.supports_remix,
            "supports_reference": self.supports_reference,
        }


def _parse_size(value: Any, model_id: str) -> str:
    text = str(value)
    parts = text.split("x")
    if len(parts) != 2 or not all(p.isdigit() and 0 < int(p) <= 4096 for p in parts):
        raise SettingsError(f"model {model_id!r}: size {text!r} is not WIDTHxHEIGHT")
    return text


def parse_model(raw: dict[str, Any]) -> ModelSpec:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
        raise SettingsError("every catalog model needs a string 'id'")
    model_id = raw["id"]
    sizes = tuple(_parse_size(s, model_id) for s in raw.get("sizes") or [])
    seconds = tuple(int(s) for s in raw.get("seconds") or [])
    if not sizes or not seconds:
        raise SettingsError(f"model {model_id!r} needs non-empty 'sizes' and 'seconds'")
    if any(s <= 0 or s > 120 for s in seconds):
        raise SettingsError(f"model {model_id!r}: seconds must be between 1 and 120")
    price = float(raw.get("price_per_second_usd", 0))
    by_size = {str(k): float(v) for k, v in (raw.get("price_per_second_by_size") or {}).items()}
    return ModelSpec(
        id=model_id,
        label=str(raw.get("label") or model_id),
        sizes=sizes,
        seconds=seconds,
        price_per_second_usd=price,
        price_by_size=by_size,
        provider=str(raw.get("provider") or "openai"),
        supports_remix=bool(raw.get("supports_remix", True)),
        supports_reference=bool(raw.get("supports_reference", True)),
    )


@dataclass(frozen=True)
class Catalog:
    models: tuple[ModelSpec, ...]

    @property
    def default_model(self) -> ModelSpec:
        return self.models[0]

    def get(self, model_id: str) -> ModelSpec | None:
        return next((m for m in self.models if m.id == model_id), None)

    def aspect_ratios(self) -> set[str]:
        return {aspect_ratio_of(size) for m in self.models for size in m.sizes}

    def to_public(self) -> dict[str, Any]:
        default = self.default_model
        return {
            "models": [m.to_public() for m in self.models],
            "defaults": {
                "model": default.id,
                "size": default.sizes[0],
                "seconds": default.seconds[0],
            },
        }


def build_catalog(raw_models: list[dict[str, Any]] | None) -> Catalog:
    models = tuple(parse_model(raw) for raw in (raw_models or DEFAULT_CATALOG))
    ids = [m.id for m in models]
    if len(set(ids)) != len(ids):
        raise SettingsError("MODEL_CATALOG_JSON lists a model id twice")
    return Catalog(models)


def default_models(with_openai: bool, with_veo: bool) -> list[dict[str, Any]]:
    """The presets of the configured upstreams; the first model is the default."""
    models = (DEFAULT_CATALOG if with_openai or not with_veo else []) + (
        VEO_CATALOG if with_veo else []
    )
    return models


@lru_cache(maxsize=1)
def get_catalog() -> Catalog:
    settings = get_settings()
    if settings.model_catalog:
        return build_catalog(settings.model_catalog)
    with_veo = bool(settings.gemini_api_key or settings.gemini_api_key_param)
    with_openai = bool(settings.videos_api_key or settings.videos_api_key_param)
    return build_catalog(default_models(with_openai, with_veo))
