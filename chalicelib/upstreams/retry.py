"""The retry loop every upstream client shares.

Reads and deletes are retried on connection errors, 408, 429 and 5xx with exponential
backoff (jittered) that honours the server's `retry-after`. A billed call (create, remix) is
retried only when the connection was never made, so the server surely saw nothing.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from urllib3.exceptions import NameResolutionError, NewConnectionError

from chalicelib.upstreams.base import UpstreamError, UpstreamUnavailable

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_SECONDS = 30.0


def never_sent(exc: requests.RequestException) -> bool:
    """True only when the connection was never established, so the server saw nothing."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason: Any = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)
        return isinstance(reason, NewConnectionError | NameResolutionError)
    return False


@dataclass
class RetryPolicy:
    max_retries: int = 3
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER_SECONDS)
        delay = min(self.backoff_cap, self.backoff_base * (2**attempt))
        return delay * (0.5 + random.random() / 2)

    def send(
        self,
        attempt_once: Callable[[], requests.Response],
        *,
        billed: bool,
        label: str,
        to_error: Callable[[requests.Response], UpstreamError],
        unreachable: str,
    ) -> requests.Response:
        """Call `attempt_once` until it answers < 400 or the policy gives up."""
        attempt = 0
        while True:
            try:
                response = attempt_once()
            except requests.RequestException as exc:
                log.warning("%s failed: %s (attempt %d)", label, type(exc).__name__, attempt + 1)
                if (never_sent(exc) or not billed) and attempt < self.max_retries:
                    self.sleep(self.delay(attempt, None))
                    attempt += 1
                    continue
                raise UpstreamUnavailable(f"{unreachable}: {type(exc).__name__}") from exc
            if response.status_code < 400:
                return response
            error = to_error(response)
            response.close()
            log.warning(
                "%s -> %d code=%s request_id=%s",
                label,
                response.status_code,
                error.code,
                error.request_id,
            )
            retryable = response.status_code in RETRYABLE_STATUSES and not billed
            if retryable and attempt < self.max_retries:
                self.sleep(self.delay(attempt, error.retry_after))
                attempt += 1
                continue
            raise error
