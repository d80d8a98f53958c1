"""Choose the upstream provider for a model; built lazily, once per process and provider."""

from __future__ import annotations

import threading

from chalicelib import runtime
from chalicelib.catalog.spec import ModelSpec
from chalicelib.config import Settings, get_settings
from chalicelib.secrets import SecretError, resolve
from chalicelib.upstreams.base import UpstreamNotConfigured, VideoProvider

_lock = threading.Lock()
_providers: dict[str, VideoProvider] = {}


# Each upstream's key: the Settings fields giving it (value, SSM parameter name) and what to
# say when neither is set.
KEYS = {
    "openai": (
        "videos_api_key",
        "videos_api_key_param",
        "No upstream key: set VIDEOS_API_KEY (or OPENAI_API_KEY), or VIDEOS_API_KEY_PARAM "
        "naming an SSM SecureString.",
    ),
    "veo": (
        "gemini_api_key",
        "gemini_api_key_param",
        "No Gemini API key for the Veo models: set GEMINI_API_KEY, or GEMINI_API_KEY_PARAM "
        "naming an SSM SecureString.",
    ),
    "openrouter": (
        "openrouter_api_key",
        "openrouter_api_key_param",
        "No OpenRouter key: set OPENROUTER_API_KEY, or OPENROUTER_API_KEY_PARAM naming an SSM "
        "SecureString.",
    ),
    "fal": (
        "fal_key",
        "fal_key_param",
        "No fal.ai key: set FAL_KEY, or FAL_KEY_PARAM naming an SSM SecureString.",
    ),
}


def upstream_key(name: str, settings: Settings) -> str:
    """The key of upstream `name` (see secrets.resolve); without one it is not configured."""
    value_field, param_field, missing = KEYS[name]
    try:
        return resolve(
            getattr(settings, value_field), getattr(settings, param_field), required=missing
        )
    except SecretError as exc:
        raise UpstreamNotConfigured(str(exc)) from None


def vertex_credentials(settings: Settings) -> tuple[str, str]:
    """(service-account key JSON, Vertex API key) for Veo on Vertex AI; the key JSON wins."""
    try:
        account = resolve(
            settings.vertex_service_account_json, settings.vertex_service_account_param
        )
    except SecretError as exc:
        raise UpstreamNotConfigured(str(exc)) from None
    if not account and not settings.vertex_api_key:
        raise UpstreamNotConfigured(
            "No Google Cloud credentials for Veo on Vertex AI: set VERTEX_SERVICE_ACCOUNT_JSON "
            "(or VERTEX_SERVICE_ACCOUNT_PARAM naming an SSM SecureString), or VERTEX_API_KEY."
        )
    return account, settings.vertex_api_key


def _build(name: str, settings: Settings) -> VideoProvider:
    if name == "openrouter":
        from chalicelib.upstreams.openrouter import OpenRouterClient

        return OpenRouterClient(
            settings.openrouter_base_url,
            upstream_key("openrouter", settings),
            callback_url=settings.openrouter_callback_url,
            timeout=settings.http_timeout_seconds,
        )
    if name == "fal":
        from chalicelib.upstreams.fal import FalClient

        return FalClient(
            settings.fal_queue_base_url,
            upstream_key("fal", settings),
            webhook_url=settings.fal_webhook_url,
            timeout=settings.http_timeout_seconds,
        )
    if name == "openai":
        # Imported here: `requests` is not needed to answer routes that never go upstream.
        from chalicelib.upstreams.videos_api import VideosApiClient

        return VideosApiClient(
            settings.videos_api_base_url,
            upstream_key("openai", settings),
            timeout=settings.http_timeout_seconds,
        )
    if name == "vertex":
        from chalicelib.upstreams.vertex import build_client

        return build_client(settings, *vertex_credentials(settings))
    if name == "veo":
        from chalicelib.upstreams.veo import VeoClient

        return VeoClient(
            settings.gemini_api_base_url,
            upstream_key("veo", settings),
            timeout=settings.http_timeout_seconds,
        )
    raise UpstreamNotConfigured(f"Unknown provider {name!r} in the model catalog.")


def provider_named(name: str) -> VideoProvider:
    with _lock:
        provider = _providers.get(name)
        if provider is None:
            provider = _providers[name] = _build(name, get_settings())
        return provider


def provider_for(model: ModelSpec) -> VideoProvider:
    return provider_named(model.provider)


def set_provider(name: str, provider: VideoProvider) -> None:
    """Install a provider (tests and the local stack)."""
    with _lock:
        _providers[name] = provider


@runtime.register
def _forget_providers() -> None:
    with _lock:
        _providers.clear()
