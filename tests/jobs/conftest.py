"""Lifecycle fixtures: the simulator and the backend share one movable clock, so tests jump
time (render, lease, expiry, timeout) instead of sleeping; DynamoDB calls are made atomic."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from simulator import SimulatorServer
from tests.lifecycle.support import (
    CLOCK,
    SIM_EXPIRY_SECONDS,
    SIM_SPEED,
    FaultSession,
    UploadCounter,
    faulty_client,
)


@pytest.fixture(scope="session")
def simulator() -> Iterator[SimulatorServer]:
    """Overrides the suite's simulator for tests/lifecycle: slow *clock* time, movable clock."""
    sim = SimulatorServer(speed=SIM_SPEED, expiry_seconds=SIM_EXPIRY_SECONDS, clock=CLOCK.now)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture(autouse=True)
def movable_clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    from chalicelib import clock

    monkeypatch.setattr(clock, "now", CLOCK.now)
    return CLOCK


@pytest.fixture(autouse=True)
def atomic_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto checks a condition and applies an update without a lock, so two threads can both
    pass one condition; DynamoDB itself applies each item write atomically. Serialise moto's
    DynamoDB actions so the races under test are the application's, not moto's."""
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.RLock()
    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with lock:
            return original(self)

    monkeypatch.setattr(DynamoHandler, "call_action", call_action)


@pytest.fixture
def uploads(monkeypatch: pytest.MonkeyPatch) -> UploadCounter:
    from chalicelib.media import store as media_store

    counter = UploadCounter()
    monkeypatch.setattr(media_store, "upload_stream", counter.wrap(media_store.upload_stream))
    return counter


@pytest.fixture
def secret(app_env: dict[str, str]) -> str:
    return app_env["VIDEOS_WEBHOOK_SECRET"]


@pytest.fixture
def faults(aws: dict[str, Any], simulator: SimulatorServer) -> Iterator[FaultSession]:
    """Install a real VideosApiClient (one retry, no backoff sleeps) whose HTTP session
    injects the faults a test plans; everything else reaches the simulator."""
    from chalicelib.upstreams import registry as providers

    session = FaultSession()
    providers.set_provider("openai", faulty_client(simulator.url, session))
    yield session
    session.close()
