"""Fetch the listed upstreams' model lists in the background (the minute refresher calls
`refresh_listings`), at most once per `CATALOG_REFRESH_SECONDS`. Exactly one caller fetches
each time; a failure is logged and recorded, and the last good list stays."""

from __future__ import annotations

import logging

from chalicelib import clock
from chalicelib.catalog import store
from chalicelib.catalog.source import forget_catalog, listed_providers
from chalicelib.config import get_settings
from chalicelib.upstreams.base import UpstreamError
from chalicelib.upstreams.registry import provider_named

log = logging.getLogger(__name__)


def refresh_listings() -> dict[str, str]:
    """{provider: "refreshed" | "not_due" | "failed"} for each listed upstream."""
    settings = get_settings()
    outcome: dict[str, str] = {}
    for name in listed_providers(settings):
        now = clock.now()
        if not store.claim_attempt(name, now):
            outcome[name] = "not_due"
            continue
        try:
            models = provider_named(name).list_models()  # type: ignore[attr-defined]
            if not models:
                raise UpstreamError("the model list is empty")
        except Exception as exc:
            log.warning("%s model list refresh failed; keeping the last good list: %s", name, exc)
            store.record_failure(name, str(exc) or type(exc).__name__)
            outcome[name] = "failed"
            continue
        store.save_models(name, models, now, settings.catalog_refresh_seconds)
        log.info("%s model list refreshed: %d models", name, len(models))
        outcome[name] = "refreshed"
    if "refreshed" in outcome.values():
        forget_catalog()
    return outcome
