"""What a model is: its sizes, durations, prices and capabilities, parsed from plain dicts.

Every source of models (the shipped presets, an upstream's own listing, `MODEL_CATALOG_JSON`)
is a list of such dicts; `build_catalog` turns it into a `Catalog` that validation, cost
estimates, `GET /api/config` and the UI all read. Nothing outside a provider module reads
`wire`: it carries the upstream's own names for our choices (a size's resolution, say).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from math import gcd
from typing import Any

from chalicelib.config import SettingsError

MAX_SIDE = 4096
MAX_REFERENCE_IMAGES = 16  # the most reference images any catalog entry may declare


# The ratios upstreams name; a size within 1% of one is called by it (854x480 is 16:9).
NAMED_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9", "9:21")


def aspect_ratio_of(size: str) -> str:
    width, height = (int(part) for part in size.split("x"))
    for name in NAMED_RATIOS:
        a, b = (int(part) for part in name.split(":"))
        if abs(width * b - height * a) <= 0.01 * height * a:
            return name
    divisor = gcd(width, height)
    return f"{width // divisor}:{height // divisor}"


@dataclass(frozen=True)
class Capabilities:
    """What a model takes besides prompt, size and seconds (`reference_images` is a count)."""

    first_frame: bool = False
    last_frame: bool = False
    reference_images: int = 0
    audio: bool = False
    seed: bool = False
    remix: bool = False
    extend: bool = False

    def to_public(self) -> dict[str, Any]:
        return {
            "first_frame": self.first_frame,
            "last_frame": self.last_frame,
            "reference_images": self.reference_images,
            "audio": self.audio,
            "seed": self.seed,
            "remix": self.remix,
            "extend": self.extend,
        }


@dataclass(frozen=True)
class ModelSpec:
    id: str
    label: str
    sizes: tuple[str, ...]
    seconds: tuple[int, ...]
    price_per_second_usd: float
    price_by_size: dict[str, float] = field(default_factory=dict)
    audio_price_by_size: dict[str, float] = field(default_factory=dict)
    provider: str = "openai"
    capabilities: Capabilities = field(default_factory=Capabilities)
    wire: dict[str, Any] = field(default_factory=dict, compare=False)
    # The new seconds an extension may add (empty: the model's own `seconds`).
    extend_seconds: tuple[int, ...] = ()

    @property
    def supports_remix(self) -> bool:
        return self.capabilities.remix

    @property
    def supports_reference(self) -> bool:
        return self.capabilities.first_frame

    @property
    def extension_seconds(self) -> tuple[int, ...]:
        """The seconds `POST /api/videos/{id}/extend` may add (none when it cannot extend)."""
        if not self.capabilities.extend:
            return ()
        return self.extend_seconds or self.seconds

    def price_per_second(self, size: str, audio: bool = False) -> float:
        if audio and size in self.audio_price_by_size:
            return self.audio_price_by_size[size]
        return self.price_by_size.get(size, self.price_per_second_usd)

    def estimate_cost(self, size: str, seconds: int, audio: bool = False) -> float:
        cost = Decimal(str(self.price_per_second(size, audio))) * seconds
        return float(cost.quantize(Decimal("0.01")))

    def size_for_aspect(self, aspect_ratio: str) -> str | None:
        for size in self.sizes:
            if aspect_ratio_of(size) == aspect_ratio:
                return size
        return None

    def to_public(self) -> dict[str, Any]:
        public: dict[str, Any] = {
            "id": self.id,
            "label": self.label,
            "provider": self.provider,
            "sizes": list(self.sizes),
            "aspect_ratios": {size: aspect_ratio_of(size) for size in self.sizes},
            "seconds": list(self.seconds),
            "price_per_second_usd": self.price_per_second_usd,
            "price_per_second_by_size": {s: self.price_per_second(s) for s in self.sizes},
            "capabilities": self.capabilities.to_public(),
            "extend_seconds": list(self.extension_seconds),
            "supports_remix": self.supports_remix,
            "supports_reference": self.supports_reference,
        }
        if self.audio_price_by_size:
            public["price_per_second_with_audio_by_size"] = {
                s: self.price_per_second(s, audio=True) for s in self.sizes
            }
        return public


def _parse_size(value: Any, model_id: str) -> str:
    text = str(value)
    parts = text.split("x")
    if len(parts) != 2 or not all(p.isdigit() and 0 < int(p) <= MAX_SIDE for p in parts):
        raise SettingsError(f"model {model_id!r}: size {text!r} is not WIDTHxHEIGHT")
    return text


def _prices(raw: Any, model_id: str, name: str) -> dict[str, float]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SettingsError(f"model {model_id!r}: {name} must be an object of size: price")
    try:
        return {str(k): float(v) for k, v in raw.items()}
    except (TypeError, ValueError):
        raise SettingsError(f"model {model_id!r}: {name} must hold numbers") from None


def _capabilities(raw: dict[str, Any], provider: str) -> Capabilities:
    """`capabilities` as given; the older `supports_remix`/`supports_reference` flags stay
    accepted as aliases. A `/v1/videos` model takes a first frame and remixes by default."""
    given = raw.get("capabilities") or {}
    if not isinstance(given, dict):
        raise SettingsError(f"model {raw['id']!r}: capabilities must be an object")
    classic = provider == "openai"
    first = given.get("first_frame", raw.get("supports_reference", classic))
    remix = given.get("remix", raw.get("supports_remix", classic))
    try:
        count = int(given.get("reference_images") or 0)
    except (TypeError, ValueError):
        raise SettingsError(f"model {raw['id']!r}: reference_images must be a count") from None
    return Capabilities(
        first_frame=bool(first),
        last_frame=bool(given.get("last_frame", False)),
        reference_images=max(0, min(count, MAX_REFERENCE_IMAGES)),
        audio=bool(given.get("audio", False)),
        seed=bool(given.get("seed", False)),
        remix=bool(remix),
        extend=bool(given.get("extend", False)),
    )


def parse_model(raw: dict[str, Any]) -> ModelSpec:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
        raise SettingsError("every catalog model needs a string 'id'")
    model_id = raw["id"]
    sizes = tuple(_parse_size(s, model_id) for s in raw.get("sizes") or [])
    try:
        seconds = tuple(int(s) for s in raw.get("seconds") or [])
    except (TypeError, ValueError):
        raise SettingsError(f"model {model_id!r}: seconds must be whole numbers") from None
    if not sizes or not seconds:
        raise SettingsError(f"model {model_id!r} needs non-empty 'sizes' and 'seconds'")
    if any(s <= 0 or s > 120 for s in seconds):
        raise SettingsError(f"model {model_id!r}: seconds must be between 1 and 120")
    try:
        extend_seconds = tuple(int(s) for s in raw.get("extend_seconds") or [])
    except (TypeError, ValueError):
        raise SettingsError(f"model {model_id!r}: extend_seconds must be whole numbers") from None
    if any(s <= 0 or s > 120 for s in extend_seconds):
        raise SettingsError(f"model {model_id!r}: extend_seconds must be between 1 and 120")
    try:
        price = float(raw.get("price_per_second_usd", 0))
    except (TypeError, ValueError):
        raise SettingsError(f"model {model_id!r}: price_per_second_usd is not a number") from None
    provider = str(raw.get("provider") or "openai")
    wire = raw.get("wire") or {}
    if not isinstance(wire, dict):
        raise SettingsError(f"model {model_id!r}: wire must be an object")
    return ModelSpec(
        id=model_id,
        label=str(raw.get("label") or model_id),
        sizes=sizes,
        seconds=seconds,
        price_per_second_usd=price,
        price_by_size=_prices(raw.get("price_per_second_by_size"), model_id, "prices"),
        audio_price_by_size=_prices(
            raw.get("price_per_second_with_audio_by_size"), model_id, "audio prices"
        ),
        provider=provider,
        capabilities=_capabilities(raw, provider),
        wire=dict(wire),
        extend_seconds=extend_seconds,
    )


@dataclass(frozen=True)
class Catalog:
    models: tuple[ModelSpec, ...]

    @property
    def default_model(self) -> ModelSpec | None:
        return self.models[0] if self.models else None

    def get(self, model_id: str) -> ModelSpec | None:
        return next((m for m in self.models if m.id == model_id), None)

    def aspect_ratios(self) -> set[str]:
        return {aspect_ratio_of(size) for m in self.models for size in m.sizes}

    def to_public(self) -> dict[str, Any]:
        default = self.default_model
        defaults = (
            {"model": default.id, "size": default.sizes[0], "seconds": default.seconds[0]}
            if default
            else {}
        )
        return {"models": [m.to_public() for m in self.models], "defaults": defaults}


def build_catalog(raw_models: list[dict[str, Any]]) -> Catalog:
    models = tuple(parse_model(raw) for raw in raw_models)
    ids = [m.id for m in models]
    if len(set(ids)) != len(ids):
        raise SettingsError("the model catalog lists a model id twice")
    return Catalog(models)
