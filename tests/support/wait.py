"""The one way a test waits for something that happens in real time elsewhere (a render in
the simulator, a thread, a child process): poll a predicate until it returns something truthy."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T | None],
    timeout: float = 20.0,
    step: float = 0.02,
    what: str = "condition",
) -> T:
    """The first truthy result of `predicate()`, asked every `step` seconds; AssertionError
    naming `what` (and the last result) when `timeout` seconds pass first. The predicate is
    always asked once more after the deadline, so a slow machine only ever costs time."""
    deadline = time.monotonic() + timeout
    while True:
        last_call = time.monotonic() >= deadline
        result = predicate()
        if result:
            return result
        if last_call:
            raise AssertionError(f"{what} not met within {timeout:g} s (last: {result!r})")
        time.sleep(step)
