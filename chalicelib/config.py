"""Every environment variable the backend reads, parsed and validated in one place."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

DEFAULT_BASE_URL = "https://api.openai.com/v1"
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


def _choice(env: dict[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env.get(name, "").strip() or default
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


@dataclass(frozen=True)
class Settings:
    stage: str = "local"
    region: str = "us-east-1"
    jobs_table: str = "sora-studio-jobs"
    media_bucket: str = "sora-studio-media"
    videos_api_base_url: str = DEFAULT_BASE_URL
    videos_api_key: str = field(default="", repr=False)
    videos_api_key_param: str = ""
    webhook_secret: str = field(default="", repr=False)
    webhook_secret_param: str = ""
    poll_interval_seconds: int = 5
    pending_timeout_seconds: int = 3600
    model_catalog: list[dict[str, Any]] | None = None
    log_level: str = "INFO"
    http_timeout_seconds: float = 30.0
    refresh_concurrency: int = 8
    refresh_time_budget_seconds: float = 50.0
    media_url_ttl_seconds: int = 300
    auth_mode: str = "none"

    upstream_label: str = "remote"


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
    return Settings(
        stage=env.get("STAGE", "").strip() or "local",
        region=(env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1").strip(),
        jobs_table=env.get("JOBS_TABLE", "").strip() or "sora-studio-jobs",
        media_bucket=env.get("MEDIA_BUCKET", "").strip() or "sora-studio-media",
        videos_api_base_url=base_url.rstrip("/"),
        videos_api_key=(env.get("VIDEOS_API_KEY") or env.get("OPENAI_API_KEY") or "").strip(),
        videos_api_key_param=env.get("VIDEOS_API_KEY_PARAM", "").strip(),
        webhook_secret=env.get("VIDEOS_WEBHOOK_SECRET", "").strip(),
        webhook_secret_param=env.get("VIDEOS_WEBHOOK_SECRET_PARAM", "").strip(),
        poll_interval_seconds=_int(env, "POLL_INTERVAL_SECONDS", 5, 1, 3600),
        pending_timeout_seconds=_int(env, "PENDING_TIMEOUT_SECONDS", 3600, 60, 7 * 86400),
        model_catalog=catalog,
        log_level=_choice(env, "LOG_LEVEL", "INFO", LOG_LEVELS),
        http_timeout_seconds=_float(env, "HTTP_TIMEOUT_SECONDS", 30.0, 1.0, 300.0),
        refresh_concurrency=_int(env, "REFRESH_CONCURRENCY", 8, 1, 64),
        refresh_time_budget_seconds=_float(env, "REFRESH_TIME_BUDGET_SECONDS", 50.0, 1.0, 900.0),
        media_url_ttl_seconds=_int(env, "MEDIA_URL_TTL_SECONDS", 300, 30, 3600),
        auth_mode=_choice(env, "AUTH_MODE", "none", AUTH_MODES),
        upstream_label=_choice(env, "VIDEOS_UPSTREAM", "remote", ("remote", "simulator")),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def reset_settings() -> None:
    """Forget cached settings (tests change the environment between cases)."""
    get_settings.cache_clear()
