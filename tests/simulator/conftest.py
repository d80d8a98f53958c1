"""Fixtures for the simulator's own tests: servers on loopback and a movable clock."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator import SimulatorServer
from tests.support.clock import MovableClock, frozen_clock
from tests.support.simulator import Client
from tests.support.webhooks import Receiver


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
def clock() -> MovableClock:
    return frozen_clock()


@pytest.fixture
def clock_sim(make_sim: Callable[..., SimulatorServer], clock: MovableClock) -> SimulatorServer:
    """A simulator at speed 1.0 whose time only moves with ``clock.advance``."""
    return make_sim(speed=1.0, clock=clock)


@pytest.fixture
def clock_api(clock_sim: SimulatorServer) -> Iterator[Client]:
    with Client(clock_sim.url) as session:
        yield session


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()
