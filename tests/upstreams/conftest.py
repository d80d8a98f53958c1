"""Fixtures for the live-upstream tests: the app wired to the simulator's Veo protocol."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.catalog.presets import OPENAI_PRESETS, VEO_SIMULATED
from simulator import SimulatorServer
from tests.upstreams.gateway_support import GatewayError, GatewayStarter

GEMINI_KEY = "AIza-simulated-gemini-key-0123456789"


@pytest.fixture
def veo_env(
    app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, simulator: SimulatorServer
) -> dict[str, str]:
    """The shared test env plus a Gemini key and base URL pointing at the simulator."""
    env = {
        **app_env,
        "GEMINI_API_KEY": GEMINI_KEY,
        "GEMINI_API_BASE_URL": simulator.url.removesuffix("/v1"),
        # Google retired the preview ids; the simulator still answers to them.
        "MODEL_CATALOG_JSON": json.dumps(OPENAI_PRESETS + VEO_SIMULATED),
    }
    monkeypatch.delenv("GEMINI_API_KEY_PARAM", raising=False)
    for name in ("GEMINI_API_KEY", "GEMINI_API_BASE_URL", "MODEL_CATALOG_JSON"):
        monkeypatch.setenv(name, env[name])
    return env


@pytest.fixture
def veo_client(veo_env: dict[str, str], client: Any) -> Any:
    """The Chalice test client with the Veo models in the catalog (after the Sora ones)."""
    return client


_gateway = GatewayStarter()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Install and start LiteLLM in the background while the other tests run."""
    if any(item.get_closest_marker("gateway") for item in session.items):
        _gateway.start()


def pytest_sessionfinish(session: pytest.Session) -> None:
    _gateway.stop()


@pytest.fixture(scope="session")
def litellm_proxy() -> dict[str, Any]:
    """{"url", "key", "simulator"} of a running LiteLLM proxy in front of a simulator."""
    try:
        return _gateway.wait()
    except GatewayError as exc:
        pytest.fail(str(exc), pytrace=False)  # loud, never a skip
