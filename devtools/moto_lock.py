"""The one lock around moto's DynamoDB, for the test suite (in-process moto) and `make run`'s
embedded store (moto's server in the devserver's process).

Real DynamoDB checks a condition and writes an item atomically, and a transaction touches
only its own items. moto's backend does neither when called from several threads: a failed
transaction (every refused create is one) puts back a copy of the whole table taken when it
began, silently undoing every write other requests made in between. Handling one DynamoDB
request at a time gives the guarantees production has. Dev-only: outside `chalicelib/`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

DYNAMODB_LOCK = threading.RLock()


@contextlib.contextmanager
def serialised_dynamodb() -> Iterator[None]:
    """One DynamoDB request at a time through moto while inside (nesting is harmless)."""
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action
    if getattr(original, "serialised", False):
        yield
        return

    def call_action(self: Any) -> Any:
        with DYNAMODB_LOCK:
            return original(self)

    call_action.serialised = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    try:
        yield
    finally:
        DynamoHandler.call_action = original  # type: ignore[method-assign]
