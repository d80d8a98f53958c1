"""The time a request may still take. API Gateway cuts a request at 29 s whatever the Lambda
does, so every route runs under `REQUEST_SECONDS`: upstream calls made on its behalf get a
timeout that ends before the deadline and no sleeping retries (`RetryPolicy` asks
`active()`), and a call that would start with less than `MIN_CALL_SECONDS` left is not made.
Background work (the refresher, a worker) runs with no deadline and its own time budget.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar

REQUEST_SECONDS = 25.0
MIN_CALL_SECONDS = 1.0
MARGIN_SECONDS = 0.5  # left for writing the answer after the last upstream call

_deadline: ContextVar[float | None] = ContextVar("request_deadline", default=None)


class DeadlineReached(Exception):
    """Too little of the request's time is left to start another upstream call."""


@contextlib.contextmanager
def request(seconds: float = REQUEST_SECONDS) -> Iterator[None]:
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def active() -> bool:
    return _deadline.get() is not None


def remaining() -> float | None:
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def timeout(default: float) -> float:
    """The timeout for one upstream call: `default`, shortened to end before the deadline.
    Raises DeadlineReached when too little time is left to make the call at all."""
    left = remaining()
    if left is None:
        return default
    left -= MARGIN_SECONDS
    if left < MIN_CALL_SECONDS:
        raise DeadlineReached(f"{max(0.0, left):.1f} s left of the request")
    return min(default, left)
