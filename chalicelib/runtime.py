"""Bind models and forget cached clients, settings and providers (process start and tests)."""

from __future__ import annotations

from chalicelib.auth import reset_auth_caches
from chalicelib.aws import reset_clients
from chalicelib.catalog import get_catalog
from chalicelib.config import get_settings, reset_settings
from chalicelib.media_links import reset as reset_media_links
from chalicelib.models import bind_models
from chalicelib.providers import reset_providers
from chalicelib.quotas import reset_connection
from chalicelib.secrets import clear_cache as clear_secrets


def reset() -> None:
    reset_settings()
    get_catalog.cache_clear()
    reset_clients()
    reset_providers()
    reset_auth_caches()
    clear_secrets()
    reset_media_links()
    reset_connection()
    bind_models(get_settings())
