"""The HTTP plumbing every upstream client shares: the retry loop, `retry-after` parsing, a
streamed content answer, and the transport of the bearer-key protocols.

Reads and deletes are retried on connection errors, 408, 429 and 5xx with exponential
backoff (jittered) that honours the server's `retry-after`. A billed call (create, remix) is
retried only when the connection was never made, so the server surely saw nothing.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypedDict, Unpack

import requests
from urllib3.exceptions import NameResolutionError, NewConnectionError

from chalicelib import deadline
from chalicelib.upstreams.base import UpstreamError, UpstreamOutcomeUncertain, UpstreamUnavailable

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_SECONDS = 30.0


def parse_retry_after(headers: Any) -> float | None:
    """Seconds to wait from `retry-after-ms` (preferred) or `retry-after` (seconds)."""
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        raw = headers.get(name) if headers is not None else None
        if raw is None:
            continue
        try:
            value = float(raw) / scale
        except (TypeError, ValueError):
            continue
        if value >= 0:
            return value
    return None


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
        """Call `attempt_once` until it answers < 400 or the policy gives up. On a request
        path (`deadline.active()`) nothing is retried: a sleep there would outlive the
        request. A billed call that broke off after it was sent may have been accepted:
        `UpstreamOutcomeUncertain`, never "nothing was made"."""
        attempt = 0
        max_retries = 0 if deadline.active() else self.max_retries
        while True:
            try:
                response = attempt_once()
            except deadline.DeadlineReached as exc:
                raise UpstreamUnavailable(f"{unreachable}: no time left ({exc})") from exc
            except requests.RequestException as exc:
                log.warning("%s failed: %s (attempt %d)", label, type(exc).__name__, attempt + 1)
                sent = not never_sent(exc)
                if (not sent or not billed) and attempt < max_retries:
                    self.sleep(self.delay(attempt, None))
                    attempt += 1
                    continue
                if billed and sent:
                    raise UpstreamOutcomeUncertain(
                        f"{unreachable}: {type(exc).__name__} after the request was sent"
                    ) from exc
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
            if retryable and attempt < max_retries:
                self.sleep(self.delay(attempt, error.retry_after))
                attempt += 1
                continue
            raise error


class HttpContentStream:
    """A streamed content answer (`ContentStream`); close it when done."""

    def __init__(self, response: requests.Response) -> None:
        self._response = response
        self.status_code = response.status_code
        self.content_type = response.headers.get("content-type", "application/octet-stream")
        length = response.headers.get("content-length")
        self.content_length = int(length) if length and length.isdigit() else None
        self.content_range = response.headers.get("content-range")

    def iter_chunks(self, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        try:
            yield from self._response.iter_content(chunk_size=chunk_size)
        except requests.RequestException as exc:
            raise UpstreamUnavailable(f"content download broke off: {type(exc).__name__}") from exc

    def close(self) -> None:
        self._response.close()


class Transport(TypedDict, total=False):
    """How an UpstreamClient talks: a subclass takes these as `**transport` beside its own."""

    timeout: float
    max_retries: int
    backoff_base: float
    backoff_cap: float
    session: requests.Session | None
    sleep: Callable[[float], None]


class UpstreamClient:
    """What every upstream client holds: its `base_url`, the per-request timeout, the retry
    policy and one HTTP session."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        max_retries: int = 3,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retry = RetryPolicy(max_retries, backoff_base, backoff_cap, sleep)
        self._session = session or requests.Session()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"


class BearerKeyClient(UpstreamClient):
    """The transport of the protocols whose key travels as `Authorization: Bearer` (the
    `/v1/videos` protocol, OpenRouter) or another scheme (fal's `Key`): paths under
    `base_url`, the key in that header only (requests drops it when a redirect leaves the
    host) and never logged, the retry policy, and the protocol's own `error_from_response`."""

    scheme = "Bearer"  # the Authorization scheme the key travels with
    label = "upstream"  # how log lines name the service
    unreachable = "could not reach the video API"

    def __init__(self, base_url: str, api_key: str, **transport: Unpack[Transport]) -> None:
        super().__init__(base_url, **transport)
        self._api_key = api_key

    @staticmethod
    def error_from_response(response: requests.Response) -> UpstreamError:
        raise NotImplementedError

    def _send(
        self,
        method: str,
        path: str,
        *,
        billed: bool = False,
        headers: dict[str, str] | None = None,
        retry: RetryPolicy | None = None,  # this call's policy, else the client's
        **kwargs: Any,
    ) -> requests.Response:
        url = f"{self.base_url}{path}"
        all_headers = {"Authorization": f"{self.scheme} {self._api_key}", **(headers or {})}
        response = (retry or self.retry).send(
            lambda: self._session.request(
                method, url, headers=all_headers, timeout=deadline.timeout(self.timeout), **kwargs
            ),
            billed=billed,
            label=f"{self.label} {method} {path}",
            to_error=self.error_from_response,
            unreachable=self.unreachable,
        )
        log.debug("%s %s %s -> %d", self.label, method, path, response.status_code)
        return response
