"""`make run` and Veo on Vertex AI: UPSTREAM_PROTOCOL=vertex without Google credentials points
the app at the simulator's Vertex protocol, signed in with the simulator's test service
account; with a real service account set, `vertex` is the default and no simulator starts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.catalog.source import load_catalog
from chalicelib.config import load_settings
from chalicelib.upstreams.base import CreateRequest
from chalicelib.upstreams.vertex import build_client
from devserver.stack import LocalStack

TOUCHED = (
    "UPSTREAM_PROTOCOL",
    "OPENROUTER_API_KEY",
    "VIDEOS_API_KEY",
    "VIDEOS_API_BASE_URL",
    "OPENAI_API_KEY",
    "VIDEOS_UPSTREAM",
    "USER_MAX_PENDING_JOBS",
    "USER_DAILY_BUDGET_USD",
    "VERTEX_SERVICE_ACCOUNT_JSON",
    "VERTEX_SERVICE_ACCOUNT_PARAM",
    "VERTEX_API_KEY",
    "VERTEX_PROJECT",
    "VERTEX_BASE_URL",
    "VERTEX_GCS_BASE_URL",
    "VERTEX_TOKEN_URL",
    "MODEL_CATALOG_JSON",
    "FAL_KEY",
)


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[LocalStack]:
    """A LocalStack whose upstream part alone runs; every variable it sets is undone."""
    for name in TOUCHED:
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    local = LocalStack(port=0, data_dir=tmp_path, simulator_speed=400)
    yield local
    if local.simulator is not None:
        local.simulator.stop()


def test_vertex_without_credentials_is_the_simulators_vertex(stack, monkeypatch):
    monkeypatch.setenv("UPSTREAM_PROTOCOL", "vertex")
    monkeypatch.setenv("VERTEX_PROJECT", "my-real-project")  # the test key's project wins
    stack._configure_upstream()
    sim = stack.simulator
    assert sim is not None and sim.vertex is not None
    settings = load_settings()
    assert settings.vertex_base_url == sim.vertex_url
    assert settings.vertex_token_url == sim.vertex_token_url
    assert settings.videos_api_key == "" and settings.upstream_label == "simulator"
    assert json.loads(settings.vertex_service_account_json)["type"] == "service_account"
    assert [m.provider for m in load_catalog(settings).models] == ["vertex", "vertex"]
    client = build_client(settings, settings.vertex_service_account_json, "")
    video = client.create(
        CreateRequest(prompt="a fox", model="veo-3.1-fast-generate-001", size="1280x720", seconds=4)
    )
    assert video.id.startswith("projects/simulated-project/")
    assert sim.vertex.stats["token"] == 1


def test_a_service_account_makes_vertex_the_default_and_starts_no_simulator(stack, monkeypatch):
    monkeypatch.setenv("VERTEX_SERVICE_ACCOUNT_JSON", '{"type": "service_account"}')
    stack._configure_upstream()
    assert stack.simulator is None
    settings = load_settings()
    assert settings.upstream_label == "remote"
    assert settings.vertex_base_url == "https://us-central1-aiplatform.googleapis.com"
