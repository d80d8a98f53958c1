"""Bind models and forget cached clients, settings and providers (process start and tests)."""

from __future__ import annotations

from chalicelib.auth.access import reset_auth_caches
from chalicelib.aws import reset_clients
from chalicelib.catalog.source import forget_catalog
from chalicelib.config import get_settings, reset_settings
from chalicelib.jobs.quotas import reset_connection
from chalicelib.media.links import reset as reset_media_links
from chalicelib.models import bind_models
from chalicelib.secrets import clear_cache as clear_secrets
from chalicelib.upstreams.registry import reset_providers


def reset() -> None:
    reset_settings()
    forget_catalog()
    reset_clients()
    reset_providers()
    reset_auth_caches()
    clear_secrets()
    reset_media_links()
    reset_connection()
    bind_models(get_settings())
