"""Fixtures for the simulator's own tests: servers on loopback and a movable clock."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sim_support import Client, FakeClock  # noqa: E402

from simulator import SimulatorServer  # noqa: E402


@pytest.fixture(scope="session")
def render_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One media cache for the whole session: identical requests render once."""
    return tmp_path_factory.mktemp("simulator-cache")


@pytest.fixture
def make_sim(render_cache: Path) -> Iterator[Callable[..., SimulatorServer]]:
    """Start simulators (speed 500, shared cache unless overridden); all stop after the test."""
    started: list[SimulatorServer] = []

    def make(**options: Any) -> SimulatorServer:
        options.setdefault("speed", 500.0)
        options.setdefault("cache_dir", render_cache)
        sim = SimulatorServer(**options).start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(make_sim: Callable[..., SimulatorServer]) -> SimulatorServer:
    return make_sim()


@pytest.fixture
def api(sim: SimulatorServer) -> Iterator[Client]:
    with Client(sim.url) as session:
        yield session


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def clock_sim(make_sim: Callable[..., SimulatorServer], clock: FakeClock) -> SimulatorServer:
    """A simulator at speed 1.0 whose time only moves with ``clock.advance``."""
    return make_sim(speed=1.0, clock=clock)


@pytest.fixture
def clock_api(clock_sim: SimulatorServer) -> Iterator[Client]:
    with Client(clock_sim.url) as session:
        yield session
