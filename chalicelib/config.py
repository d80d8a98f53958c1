"""Every environment variable the backend reads, parsed and validated in one place."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from chalicelib import runtime

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_GEMINI_BASE_URL = "https://generativelanguage.googleapis.com"
DEFAULT_OPENROUTER_BASE_URL = "https://openrouter.ai/api/v1"
DEFAULT_FAL_QUEUE_BASE_URL = "https://queue.fal.run"
DEFAULT_FAL_JWKS_URL = "https://rest.alpha.fal.ai/.well-known/jwks.json"
DEFAULT_VERTEX_LOCATION = "us-central1"
DEFAULT_VERTEX_TOKEN_URL = "https://oauth2.googleapis.com/token"
DEFAULT_VERTEX_GCS_BASE_URL = "https://storage.googleapis.com"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
AUTH_MODES = ("none", "token", "cognito")


class SettingsError(ValueError):
    """A setting is present but unusable; the message names the variable."""


def _int(env: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _float(env: dict[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _url(env: dict[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip() or default
    if not value.startswith(("http://", "https://")):
        raise SettingsError(f"{name} must be an http(s) URL, got {value!r}")
    return value.rstrip("/")


def _choice(env: dict[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env.get(name, "").strip() or default
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


_VERTEX_LOCATION = re.compile(r"[a-z]+(?:-[a-z0-9]+)+|global")
_VERTEX_PROJECT = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")


def vertex_host(location: str) -> str:
    """Vertex AI's regional host (`global` has none)."""
    return (
        "aiplatform.googleapis.com"
        if location == "global"
        else f"{location}-aiplatform.googleapis.com"
    )


def _vertex_settings(env: dict[str, str]) -> dict[str, str]:
    """VERTEX_*: Veo on Vertex AI (project, location, endpoints, credentials)."""
    location = env.get("VERTEX_LOCATION", "").strip() or DEFAULT_VERTEX_LOCATION
    if not _VERTEX_LOCATION.fullmatch(location):
        raise SettingsError(
            f"VERTEX_LOCATION must be a region such as us-central1, got {location!r}"
        )
    project = env.get("VERTEX_PROJECT", "").strip()
    if project and not _VERTEX_PROJECT.fullmatch(project):
        raise SettingsError(f"VERTEX_PROJECT must be a Google Cloud project id, got {project!r}")
    storage = env.get("VERTEX_STORAGE_URI", "").strip()
    if storage and not re.fullmatch(r"gs://[a-z0-9][a-z0-9._-]{1,221}[a-z0-9](/\S*)?", storage):
        raise SettingsError(f"VERTEX_STORAGE_URI must be gs://BUCKET/PREFIX/, got {storage!r}")
    api_key = env.get("VERTEX_API_KEY", "").strip()
    if any(ch.isspace() for ch in api_key):
        raise SettingsError("VERTEX_API_KEY must not contain spaces or line breaks")
    return {
        "vertex_project": project,
        "vertex_location": location,
        "vertex_base_url": _url(env, "VERTEX_BASE_URL", f"https://{vertex_host(location)}"),
        "vertex_token_url": _url(env, "VERTEX_TOKEN_URL", DEFAULT_VERTEX_TOKEN_URL),
        "vertex_gcs_base_url": _url(env, "VERTEX_GCS_BASE_URL", DEFAULT_VERTEX_GCS_BASE_URL),
        "vertex_storage_uri": storage.rstrip("/") + "/" if storage else "",
        "vertex_service_account_json": env.get("VERTEX_SERVICE_ACCOUNT_JSON", "").strip(),
        "vertex_service_account_param": env.get("VERTEX_SERVICE_ACCOUNT_PARAM", "").strip(),
        "vertex_api_key": api_key,
    }


def _json_models(env: dict[str, str], name: str) -> list[dict[str, Any]]:
    """A JSON list of catalog entries (objects), or [] when the variable is unset."""
    raw = env.get(name, "").strip()
    if not raw:
        return []
    try:
        models = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{name} is not valid JSON: {exc}") from None
    if not isinstance(models, list) or not all(isinstance(m, dict) for m in models):
        raise SettingsError(f"{name} must be a JSON list of model objects")
    return models


def _capability_overrides(env: dict[str, str], name: str) -> dict[str, dict[str, Any]]:
    """A JSON object of model id (or `*`, every model) to capability values, or {}."""
    from chalicelib.catalog.spec import Capabilities  # the catalog imports this module

    raw = env.get(name, "").strip()
    if not raw:
        return {}
    try:
        overrides = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{name} is not valid JSON: {exc}") from None
    known = set(Capabilities().to_public())
    if not isinstance(overrides, dict) or not all(
        isinstance(caps, dict) and set(caps) <= known for caps in overrides.values()
    ):
        raise SettingsError(
            f"{name} must map model ids (or '*') to objects of {', '.join(sorted(known))}"
        )
    return overrides


@dataclass(frozen=True)
class Settings:
    stage: str = "local"
    region: str = "us-east-1"
    jobs_table: str = "sora-studio-jobs"
    dynamodb_endpoint_url: str = ""  # AWS_ENDPOINT_URL(_DYNAMODB): a local DynamoDB (make run)
    media_bucket: str = "sora-studio-media"
    videos_api_base_url: str = DEFAULT_BASE_URL
    videos_api_key: str = field(default="", repr=False)
    videos_api_key_param: str = ""
    gemini_api_base_url: str = DEFAULT_GEMINI_BASE_URL
    gemini_api_key: str = field(default="", repr=False)
    gemini_api_key_param: str = ""
    webhook_secret: str = field(default="", repr=False)
    webhook_secret_param: str = ""
    openrouter_base_url: str = DEFAULT_OPENROUTER_BASE_URL
    openrouter_api_key: str = field(default="", repr=False)
    openrouter_api_key_param: str = ""
    openrouter_models: tuple[str, ...] = ()  # allow-list of slugs; empty offers all
    openrouter_webhook_secret: str = field(default="", repr=False)
    openrouter_webhook_secret_param: str = ""
    openrouter_callback_url: str = ""
    # OPENROUTER_CAPABILITIES_JSON: {"<slug>" or "*": {capability: value}} laid over what the
    # listing says (it has no field for reference images or extension).
    openrouter_capabilities: dict[str, dict[str, Any]] = field(default_factory=dict)
    fal_key: str = field(default="", repr=False)
    fal_key_param: str = ""
    fal_queue_base_url: str = DEFAULT_FAL_QUEUE_BASE_URL
    fal_webhook_url: str = ""  # our public /api/webhooks/fal, sent as fal_webhook
    fal_jwks_url: str = DEFAULT_FAL_JWKS_URL
    fal_models: list[dict[str, Any]] = field(default_factory=list)  # FAL_MODELS_JSON entries
    vertex_project: str = ""  # else the service-account key's project_id
    vertex_location: str = DEFAULT_VERTEX_LOCATION
    vertex_base_url: str = f"https://{DEFAULT_VERTEX_LOCATION}-aiplatform.googleapis.com"
    vertex_token_url: str = DEFAULT_VERTEX_TOKEN_URL
    vertex_gcs_base_url: str = DEFAULT_VERTEX_GCS_BASE_URL
    vertex_storage_uri: str = ""  # gs://bucket/prefix/: results in Cloud Storage, else inline
    vertex_service_account_json: str = field(default="", repr=False)
    vertex_service_account_param: str = ""
    vertex_api_key: str = field(default="", repr=False)
    catalog_refresh_seconds: int = 3600
    poll_interval_seconds: int = 5
    pending_timeout_seconds: int = 3600
    model_catalog: list[dict[str, Any]] | None = None
    log_level: str = "INFO"
    http_timeout_seconds: float = 30.0
    refresh_concurrency: int = 16
    refresh_time_budget_seconds: float = 50.0
    # Fan-out (chalicelib/jobs/refresher.py): above the threshold the tick hands shards of about
    # refresh_shard_size ids to at most refresh_workers workers (the worker function's reserved
    # concurrency); with no worker function every shard is refreshed in this process.
    refresh_fanout_threshold: int = 500
    refresh_shard_size: int = 500
    refresh_workers: int = 20
    refresh_worker_function: str = ""
    media_url_ttl_seconds: int = 300
    auth_mode: str = "none"
    auth_tokens_json: str = field(default="", repr=False)
    auth_tokens_param: str = ""
    cognito_user_pool_id: str = ""
    cognito_client_id: str = ""
    cognito_domain: str = ""
    cognito_jwks_url: str = ""
    upstream_label: str = "remote"
    user_max_pending_jobs: int = 5
    user_daily_budget_usd: float = 25.0
    global_max_pending_jobs: int = 50
    max_body_bytes: int = 12 * 1024 * 1024
    media_link_secret: str = field(default="", repr=False)
    media_link_secret_param: str = ""

    @property
    def cognito_issuer(self) -> str:
        region = self.cognito_user_pool_id.split("_", 1)[0] or self.region
        return f"https://cognito-idp.{region}.amazonaws.com/{self.cognito_user_pool_id}"


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if environ is None else environ)
    catalog_raw = env.get("MODEL_CATALOG_JSON", "").strip()
    catalog = None
    if catalog_raw:
        try:
            catalog = json.loads(catalog_raw)
        except json.JSONDecodeError as exc:
            raise SettingsError(f"MODEL_CATALOG_JSON is not valid JSON: {exc}") from None
        if not isinstance(catalog, list) or not catalog:
            raise SettingsError("MODEL_CATALOG_JSON must be a non-empty JSON list of models")
    base_url = env.get("VIDEOS_API_BASE_URL", "").strip() or DEFAULT_BASE_URL
    if not base_url.startswith(("http://", "https://")):
        raise SettingsError(f"VIDEOS_API_BASE_URL must be an http(s) URL, got {base_url!r}")
    gemini_base_url = env.get("GEMINI_API_BASE_URL", "").strip() or DEFAULT_GEMINI_BASE_URL
    if not gemini_base_url.startswith(("http://", "https://")):
        raise SettingsError(f"GEMINI_API_BASE_URL must be an http(s) URL, got {gemini_base_url!r}")
    gemini_key = env.get("GEMINI_API_KEY", "").strip()
    if any(ch.isspace() for ch in gemini_key):
        raise SettingsError("GEMINI_API_KEY must not contain spaces or line breaks")
    openrouter_base_url = _url(env, "OPENROUTER_BASE_URL", DEFAULT_OPENROUTER_BASE_URL)
    callback_url = env.get("OPENROUTER_CALLBACK_URL", "").strip()
    if callback_url and not callback_url.startswith(("http://", "https://")):
        raise SettingsError(f"OPENROUTER_CALLBACK_URL must be an http(s) URL, got {callback_url!r}")
    settings = Settings(
        stage=env.get("STAGE", "").strip() or "local",
        region=(env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1").strip(),
        jobs_table=env.get("JOBS_TABLE", "").strip() or "sora-studio-jobs",
        dynamodb_endpoint_url=(
            env.get("AWS_ENDPOINT_URL_DYNAMODB") or env.get("AWS_ENDPOINT_URL") or ""
        ).strip(),
        media_bucket=env.get("MEDIA_BUCKET", "").strip() or "sora-studio-media",
        videos_api_base_url=base_url.rstrip("/"),
        videos_api_key=(env.get("VIDEOS_API_KEY") or env.get("OPENAI_API_KEY") or "").strip(),
        videos_api_key_param=env.get("VIDEOS_API_KEY_PARAM", "").strip(),
        gemini_api_base_url=gemini_base_url.rstrip("/"),
        gemini_api_key=gemini_key,
        gemini_api_key_param=env.get("GEMINI_API_KEY_PARAM", "").strip(),
        webhook_secret=env.get("VIDEOS_WEBHOOK_SECRET", "").strip(),
        webhook_secret_param=env.get("VIDEOS_WEBHOOK_SECRET_PARAM", "").strip(),
        openrouter_base_url=openrouter_base_url,
        openrouter_api_key=env.get("OPENROUTER_API_KEY", "").strip(),
        openrouter_api_key_param=env.get("OPENROUTER_API_KEY_PARAM", "").strip(),
        openrouter_models=tuple(
            slug.strip() for slug in env.get("OPENROUTER_MODELS", "").split(",") if slug.strip()
        ),
        openrouter_webhook_secret=env.get("OPENROUTER_WEBHOOK_SECRET", "").strip(),
        openrouter_webhook_secret_param=env.get("OPENROUTER_WEBHOOK_SECRET_PARAM", "").strip(),
        openrouter_callback_url=callback_url,
        openrouter_capabilities=_capability_overrides(env, "OPENROUTER_CAPABILITIES_JSON"),
        fal_key=env.get("FAL_KEY", "").strip(),
        fal_key_param=env.get("FAL_KEY_PARAM", "").strip(),
        fal_queue_base_url=_url(env, "FAL_QUEUE_BASE_URL", DEFAULT_FAL_QUEUE_BASE_URL),
        fal_webhook_url=(
            _url(env, "FAL_WEBHOOK_URL", "") if env.get("FAL_WEBHOOK_URL", "").strip() else ""
        ),
        fal_jwks_url=_url(env, "FAL_JWKS_URL", DEFAULT_FAL_JWKS_URL),
        fal_models=_json_models(env, "FAL_MODELS_JSON"),
        **_vertex_settings(env),
        catalog_refresh_seconds=_int(env, "CATALOG_REFRESH_SECONDS", 3600, 60, 7 * 86400),
        poll_interval_seconds=_int(env, "POLL_INTERVAL_SECONDS", 5, 1, 3600),
        pending_timeout_seconds=_int(env, "PENDING_TIMEOUT_SECONDS", 3600, 60, 7 * 86400),
        model_catalog=catalog,
        log_level=_choice(env, "LOG_LEVEL", "INFO", LOG_LEVELS),
        http_timeout_seconds=_float(env, "HTTP_TIMEOUT_SECONDS", 30.0, 1.0, 300.0),
        refresh_concurrency=_int(env, "REFRESH_CONCURRENCY", 16, 1, 64),
        refresh_time_budget_seconds=_float(env, "REFRESH_TIME_BUDGET_SECONDS", 50.0, 1.0, 900.0),
        refresh_fanout_threshold=_int(env, "REFRESH_FANOUT_THRESHOLD", 500, 1, 1_000_000),
        refresh_shard_size=_int(env, "REFRESH_SHARD_SIZE", 500, 1, 5_000),
        refresh_workers=_int(env, "REFRESH_WORKERS", 20, 1, 1_000),
        refresh_worker_function=env.get("REFRESH_WORKER_FUNCTION", "").strip(),
        media_url_ttl_seconds=_int(env, "MEDIA_URL_TTL_SECONDS", 300, 30, 3600),
        auth_mode=_choice(env, "AUTH_MODE", "none", AUTH_MODES),
        upstream_label=_choice(env, "VIDEOS_UPSTREAM", "remote", ("remote", "simulator")),
        auth_tokens_json=env.get("AUTH_TOKENS", "").strip(),
        auth_tokens_param=env.get("AUTH_TOKENS_PARAM", "").strip(),
        cognito_user_pool_id=env.get("COGNITO_USER_POOL_ID", "").strip(),
        cognito_client_id=env.get("COGNITO_CLIENT_ID", "").strip(),
        cognito_domain=env.get("COGNITO_DOMAIN", "").strip(),
        cognito_jwks_url=env.get("COGNITO_JWKS_URL", "").strip(),
        user_max_pending_jobs=_int(env, "USER_MAX_PENDING_JOBS", 5, 1, 10_000),
        user_daily_budget_usd=_float(env, "USER_DAILY_BUDGET_USD", 25.0, 0.0, 1_000_000.0),
        global_max_pending_jobs=_int(env, "GLOBAL_MAX_PENDING_JOBS", 50, 1, 100_000),
        max_body_bytes=_int(env, "MAX_BODY_BYTES", 12 * 1024 * 1024, 1024, 64 * 1024 * 1024),
        media_link_secret=env.get("MEDIA_LINK_SECRET", "").strip(),
        media_link_secret_param=env.get("MEDIA_LINK_SECRET_PARAM", "").strip(),
    )
    _check_auth(settings, env)
    return settings


PUBLIC_OVERRIDE = "I_UNDERSTAND_AUTH_MODE_NONE_MAKES_MY_DEPLOYMENT_PUBLIC"


def _check_auth(settings: Settings, env: dict[str, str]) -> None:
    deployed = settings.stage not in ("local", "test") or bool(env.get("AWS_LAMBDA_FUNCTION_NAME"))
    if settings.auth_mode == "none" and deployed and env.get(PUBLIC_OVERRIDE) != "yes":
        raise SettingsError(
            f"AUTH_MODE=none is for `make run` on loopback only; stage {settings.stage!r} refuses "
            f"to start with it. Set AUTH_MODE=token or cognito (or {PUBLIC_OVERRIDE}=yes to "
            "serve an unauthenticated, publicly billable API)."
        )
    if settings.auth_mode == "token" and not (
        settings.auth_tokens_json or settings.auth_tokens_param
    ):
        raise SettingsError("AUTH_MODE=token needs AUTH_TOKENS (local) or AUTH_TOKENS_PARAM (SSM).")
    if settings.auth_mode == "cognito" and not (
        settings.cognito_user_pool_id and settings.cognito_client_id
    ):
        raise SettingsError("AUTH_MODE=cognito needs COGNITO_USER_POOL_ID and COGNITO_CLIENT_ID.")
    if settings.auth_mode != "none" and not (
        settings.media_link_secret or settings.media_link_secret_param
    ):
        raise SettingsError(
            f"AUTH_MODE={settings.auth_mode} signs media links: it needs MEDIA_LINK_SECRET "
            "(local) or MEDIA_LINK_SECRET_PARAM (SSM; `make secrets` generates it)."
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


runtime.register(get_settings.cache_clear)
