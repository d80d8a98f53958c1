"""Fixtures for every backend test: the simulator over HTTP, the app's environment, moto-backed
AWS (made once per session, emptied per test) and the Chalice test client.

Tests marked `movable_clock` get a simulator and a backend that share `tests.support.clock.CLOCK`:
they jump time (render, lease, expiry, timeout) instead of sleeping. The others get a fast
real-time simulator.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator import SimulatorServer
from tests.support import env as test_env
from tests.support.aws import MotoAws, serialised_dynamodb, shared_botocore_loader
from tests.support.clock import CLOCK, CLOCKED_SIM_SPEED, SIM_EXPIRY_SECONDS
from tests.support.faults import FaultSession, UploadCounter, faulty_client
from tests.support.tool_cache import cache_dir


@pytest.fixture(scope="session")
def render_cache() -> Path:
    """One media cache for every simulator of every test run on this machine (the simulator's
    renders are deterministic and keyed by everything that shapes them): identical requests
    render once, and a second run renders almost nothing. Per ffmpeg build, as its output is."""
    import imageio_ffmpeg

    return cache_dir("SORA_STUDIO_RENDER_CACHE", f"simulator-renders-{imageio_ffmpeg.__version__}")


@pytest.fixture(scope="session")
def realtime_simulator(render_cache: Path) -> Iterator[SimulatorServer]:
    sim = SimulatorServer(speed=400.0, cache_dir=render_cache).start()
    yield sim
    sim.stop()


@pytest.fixture(scope="session")
def clocked_simulator(render_cache: Path) -> Iterator[SimulatorServer]:
    """Slow in *clock* time and on the movable clock: nothing finishes until a test moves it."""
    sim = SimulatorServer(
        speed=CLOCKED_SIM_SPEED,
        expiry_seconds=SIM_EXPIRY_SECONDS,
        clock=CLOCK.now,
        cache_dir=render_cache,
    ).start()
    yield sim
    sim.stop()


def _clocked(request: pytest.FixtureRequest) -> bool:
    return request.node.get_closest_marker("movable_clock") is not None


@pytest.fixture
def simulator(request: pytest.FixtureRequest) -> SimulatorServer:
    """The simulator the app talks to in this test (clocked under `movable_clock`)."""
    name = "clocked_simulator" if _clocked(request) else "realtime_simulator"
    return request.getfixturevalue(name)


@pytest.fixture(autouse=True)
def _movable_clock(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if _clocked(request):
        from chalicelib import clock

        monkeypatch.setattr(clock, "now", CLOCK.now)


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch, simulator: SimulatorServer) -> dict[str, str]:
    for name in test_env.UNSET:
        monkeypatch.delenv(name, raising=False)
    env = test_env.app_env(simulator.url)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture(scope="session")
def moto_aws() -> Iterator[MotoAws]:
    moto = MotoAws()
    yield moto
    moto.pause()


@pytest.fixture(autouse=True)
def _moto_only_for_aws_tests(request: pytest.FixtureRequest, moto_aws: MotoAws) -> None:
    if "aws" not in request.fixturenames:
        moto_aws.pause()


@pytest.fixture
def aws(app_env: dict[str, str], moto_aws: MotoAws) -> Iterator[dict[str, Any]]:
    """moto's DynamoDB and S3 with the jobs table and media bucket, empty:
    {"s3", "dynamodb", "settings"}."""
    with moto_aws.session() as resources:
        yield resources


@pytest.fixture
def client(aws: dict[str, Any]) -> Iterator[Any]:
    from chalice.test import Client

    from app import app

    # Stage "test" is not in .chalice/config.json: no deployed stage's environment leaks in.
    with Client(app, stage_name="test") as test_client:
        yield test_client


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
    from chalicelib.upstreams import registry

    session = FaultSession()
    registry.set_provider("openai", faulty_client(simulator.url, session))
    yield session
    session.close()


@pytest.fixture(scope="session", autouse=True)
def _aws_test_doubles() -> Iterator[None]:
    with serialised_dynamodb(), shared_botocore_loader():
        yield


@pytest.fixture(autouse=True)
def _no_stray_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    # moto's mock_aws does not intercept when an endpoint override is set.
    if "AWS_ENDPOINT_URL" in os.environ:
        monkeypatch.delenv("AWS_ENDPOINT_URL")
