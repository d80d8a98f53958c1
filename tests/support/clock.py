"""A clock that tests move forward instead of sleeping.

`CLOCK` is the one the backend (`chalicelib.clock.now`) and the clocked simulator share in
tests marked `movable_clock` (see tests/conftest.py): that simulator renders at
`CLOCKED_SIM_SPEED`, so nothing finishes until a test moves the clock past
`RENDER_CLOCK_SECONDS`.
"""

from __future__ import annotations

import threading
import time

# A 4-second video renders in (2 + 2 * 4) / speed seconds of *clock* time.
VIDEO_SECONDS = 4
CLOCKED_SIM_SPEED = 0.1
RENDER_CLOCK_SECONDS = (2 + 2 * VIDEO_SECONDS) / CLOCKED_SIM_SPEED
SIM_EXPIRY_SECONDS = 900


class MovableClock:
    """Time that only moves forward, by `advance` without sleeping: wall time plus an offset,
    or, given `start`, a time that stands still until advanced. Thread-safe; call it or its
    `now` for the time in Unix seconds."""

    def __init__(self, start: float | None = None) -> None:
        self._start = start
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            base = time.time() if self._start is None else self._start
            return base + self._offset

    __call__ = now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time never goes backwards here")
        with self._lock:
            self._offset += seconds


def frozen_clock(start: float = 1_800_000_000.0) -> MovableClock:
    """A clock that stands still at `start` until advanced (for the simulator's own tests)."""
    return MovableClock(start=start)


CLOCK = MovableClock()
