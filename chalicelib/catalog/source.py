"""Which models this deployment offers, from the configured upstreams.

`MODEL_CATALOG_JSON` replaces everything. Otherwise each configured upstream adds its models,
the first one giving the default: OpenRouter the last good listing the refresher stored
(`catalog.refresh`), narrowed by `OPENROUTER_MODELS`, with `OPENROUTER_CAPABILITIES_JSON` laid
over its capabilities (the listing says nothing of reference images or extension); fal.ai
its curated presets, with `FAL_MODELS_JSON` adding or replacing entries by id; the
`/v1/videos` protocol its presets; Veo on Vertex AI its two GA models.
The stored listing is read at most once per `LISTING_CACHE_SECONDS` per process, so a cold
start reads one item and no request waits on the upstream.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from chalicelib import runtime
from chalicelib.catalog import store
from chalicelib.catalog.presets import FAL_PRESETS, OPENAI_PRESETS, VERTEX_PRESETS
from chalicelib.catalog.spec import Catalog, build_catalog
from chalicelib.config import Settings, get_settings
from chalicelib.secrets import is_set

log = logging.getLogger(__name__)

LISTING_CACHE_SECONDS = 300.0

_lock = threading.Lock()
_cached: tuple[float, Catalog] | None = None


def openrouter_configured(settings: Settings) -> bool:
    return is_set(settings.openrouter_api_key, settings.openrouter_api_key_param)


def fal_configured(settings: Settings) -> bool:
    return is_set(settings.fal_key, settings.fal_key_param)


def fal_models(settings: Settings) -> list[dict[str, Any]]:
    """The fal presets, each `FAL_MODELS_JSON` entry taking the place of the preset of its id
    (or added after them); an entry without a provider is a fal model."""
    configured = {entry.get("id"): {"provider": "fal", **entry} for entry in settings.fal_models}
    presets = [configured.pop(m["id"], m) for m in FAL_PRESETS]
    return presets + list(configured.values())


def openai_configured(settings: Settings) -> bool:
    return is_set(settings.videos_api_key, settings.videos_api_key_param)


def vertex_configured(settings: Settings) -> bool:
    """A service-account key (given or stored in SSM) or a Vertex API key."""
    account = is_set(settings.vertex_service_account_json, settings.vertex_service_account_param)
    return account or bool(settings.vertex_api_key)


def listed_providers(settings: Settings) -> list[str]:
    """The configured upstreams whose models come from their own listing."""
    return ["openrouter"] if openrouter_configured(settings) else []


def _openrouter_models(settings: Settings) -> list[dict[str, Any]]:
    models = store.load_models("openrouter") or []
    if settings.openrouter_models:
        allowed = set(settings.openrouter_models)
        models = [m for m in models if m.get("id") in allowed]
    overrides = settings.openrouter_capabilities
    if overrides:
        models = [_with_capabilities(m, overrides) for m in models]
    return models


def _with_capabilities(
    model: dict[str, Any], overrides: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The listed model with OPENROUTER_CAPABILITIES_JSON laid over its capabilities: `*`
    first, then its own slug's entry."""
    given = {**overrides.get("*", {}), **overrides.get(str(model.get("id")), {})}
    if not given:
        return model
    return {**model, "capabilities": {**(model.get("capabilities") or {}), **given}}


def load_catalog(settings: Settings) -> Catalog:
    if settings.model_catalog:
        return build_catalog(settings.model_catalog)
    models: list[dict[str, Any]] = []
    if openrouter_configured(settings):
        models += _openrouter_models(settings)
    if fal_configured(settings):
        models += fal_models(settings)
    if openai_configured(settings):
        models += OPENAI_PRESETS
    if vertex_configured(settings):
        models += VERTEX_PRESETS
    return build_catalog(models)


def get_catalog() -> Catalog:
    global _cached
    now = time.monotonic()
    with _lock:
        if _cached is not None and now - _cached[0] < LISTING_CACHE_SECONDS:
            return _cached[1]
    catalog = load_catalog(get_settings())
    with _lock:
        _cached = (now, catalog)
    return catalog


@runtime.register
def forget_catalog() -> None:
    """Drop the process copy (tests, and right after this process stored a new listing)."""
    global _cached
    with _lock:
        _cached = None


def status(settings: Settings, catalog: Catalog) -> dict[str, Any]:
    """`{"loading": bool, "error": str | None}`: loading while a listed upstream has given no
    list yet; `error` says why its last fetch failed (a refused key, say)."""
    if settings.model_catalog or catalog.models:
        return {"loading": False, "error": None}
    waiting = [p for p in listed_providers(settings) if store.load_models(p) is None]
    errors = [f"{p}: {e}" for p in waiting if (e := store.last_error(p))]
    return {"loading": bool(waiting), "error": "; ".join(errors) or None}
