"""The environment every backend test runs in: fake AWS credentials and names (never a real
account), the simulator as the upstream, and spend guards far above what a test spends."""

from __future__ import annotations

API_KEY = "sk-test-simulator-key-0123456789abcdef"
WEBHOOK_SECRET = "whsec_" + "c2VjcmV0LWZvci10ZXN0cy0xMjM0NTY3ODkw"
MEDIA_LINK_SECRET = "test-media-link-secret-0123456789abcdef"
REGION = "us-east-1"

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "JOBS_TABLE": "test-jobs",
    "MEDIA_BUCKET": "test-media",
    "POLL_INTERVAL_SECONDS": "1",
    "USER_MAX_PENDING_JOBS": "1000",
    "GLOBAL_MAX_PENDING_JOBS": "10000",
    "USER_DAILY_BUDGET_USD": "100000",
}

# Set in a developer's shell, these would point the app somewhere else.
UNSET = (
    "AWS_ENDPOINT_URL",
    "AWS_PROFILE",
    "OPENAI_API_KEY",
    "MODEL_CATALOG_JSON",
    "GEMINI_API_KEY",
    "GEMINI_API_KEY_PARAM",
    "OPENROUTER_API_KEY",
    "OPENROUTER_API_KEY_PARAM",
    "OPENROUTER_CAPABILITIES_JSON",
)


def app_env(simulator_url: str) -> dict[str, str]:
    """Everything the app reads, for a simulator at `simulator_url` (its `/v1` base)."""
    return {
        **AWS_ENV,
        "VIDEOS_API_BASE_URL": simulator_url,
        "VIDEOS_API_KEY": API_KEY,
        "VIDEOS_UPSTREAM": "simulator",
        "VIDEOS_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "MEDIA_LINK_SECRET": MEDIA_LINK_SECRET,
    }


def reload_runtime() -> None:
    """Forget every process cache (settings, clients, providers, secrets, the catalog) after
    the environment changed: the one call tests make for that."""
    from chalicelib import runtime

    runtime.init()
