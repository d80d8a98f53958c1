"""Fixtures for the live-upstream tests: the app wired to the simulator's Veo protocol."""

from __future__ import annotations

from typing import Any

import pytest

from simulator import SimulatorServer

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
    }
    monkeypatch.delenv("GEMINI_API_KEY_PARAM", raising=False)
    for name in ("GEMINI_API_KEY", "GEMINI_API_BASE_URL"):
        monkeypatch.setenv(name, env[name])
    return env


@pytest.fixture
def veo_client(veo_env: dict[str, str], client: Any) -> Any:
    """The Chalice test client with the Veo models in the catalog (after the Sora ones)."""
    return client
