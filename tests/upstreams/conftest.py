"""Fixtures for the live-upstream tests: the app wired to the simulator's Veo protocol."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.catalog.presets import OPENAI_PRESETS, VEO_SIMULATED
from simulator import SimulatorServer
from tests.support.gateway import Gateway, GatewayError

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


@pytest.fixture(scope="session")
def litellm_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """{"url", "key", "simulator"} of a running LiteLLM proxy in front of a simulator: started
    (and installed, the first time on a machine) when the first gateway test runs."""
    gateway = Gateway(tmp_path_factory.mktemp("gateway"))
    try:
        info = gateway.start()
    except GatewayError as exc:
        gateway.stop()
        pytest.fail(str(exc), pytrace=False)  # loud, never a skip
    yield info
    gateway.stop()
