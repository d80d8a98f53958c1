"""Faults for the real upstream client and the media store: `FaultSession` (an HTTP session
that answers planned faults itself and sends the rest to the simulator), `faulty_client`
(a real `VideosApiClient` on it: one retry, no backoff sleeps) and `UploadCounter` (counts,
and on request fails, `media_store.upload_stream` calls)."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import requests

from tests.support.env import API_KEY


class UploadCounter:
    """Counts finished `media_store.upload_stream` calls per (job id, file name)."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self.fail_next: dict[str, int] = {}  # file name -> uploads still to fail

    def wrap(self, original: Callable[..., int]) -> Callable[..., int]:
        def upload_stream(key: str, chunks: Any, content_type: str) -> int:
            _, job_id, name = key.split("/")
            with self._lock:
                failing = self.fail_next.get(name, 0) > 0
                if failing:
                    self.fail_next[name] -= 1
            if failing:
                raise OSError(f"injected S3 failure writing {name}")
            written = original(key, chunks, content_type)
            with self._lock:
                self.counts[(job_id, name)] += 1
            return written

        return upload_stream

    def videos(self, job_id: str) -> int:
        with self._lock:
            return self.counts[(job_id, "video.mp4")]


class FaultSession(requests.Session):
    """A requests session for a real `VideosApiClient`: planned faults are answered here
    (HTTP 500, read timeout, a body that breaks off mid-stream, a Range header the upstream
    ignores); everything else goes to the simulator."""

    def __init__(self) -> None:
        super().__init__()
        self._plan: list[tuple[str, re.Pattern[str], str]] = []
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()

    def inject(self, method: str, path_pattern: str, fault: str, times: int = 1) -> None:
        """Fail the next `times` requests whose path (plus `?query`) matches the pattern."""
        assert fault in ("500", "timeout", "break", "norange")
        with self._lock:
            for _ in range(times):
                self._plan.append((method, re.compile(path_pattern), fault))

    def clear(self) -> None:
        with self._lock:
            self._plan.clear()

    def pending_faults(self) -> int:
        with self._lock:
            return len(self._plan)

    def _take(self, method: str, url: str, params: Any) -> str | None:
        target = requests.utils.urlparse(url).path
        if params:
            target += "?" + urlencode(params)
        with self._lock:
            for index, (want_method, pattern, fault) in enumerate(self._plan):
                if want_method == method and pattern.search(target):
                    del self._plan[index]
                    self.injected[fault] += 1
                    return fault
        return None

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        fault = self._take(method, url, kwargs.get("params"))
        if fault == "timeout":
            raise requests.exceptions.ReadTimeout(f"injected read timeout on {method} {url}")
        if fault == "500":
            response = requests.Response()
            response.status_code = 500
            response.url = url
            response.headers["content-type"] = "application/json"
            response.headers["x-request-id"] = "req_injected_" + uuid.uuid4().hex[:8]
            response._content = json.dumps(
                {"error": {"message": "injected failure", "type": "server_error", "code": None}}
            ).encode()
            return response
        if fault == "norange":
            headers = kwargs.get("headers") or {}
            kwargs["headers"] = {k: v for k, v in headers.items() if k.lower() != "range"}
        response = super().request(method, url, *args, **kwargs)
        if fault == "break":
            original = response.iter_content

            def broken(chunk_size: int = 1, decode_unicode: bool = False) -> Iterator[bytes]:
                chunks = original(chunk_size=min(chunk_size, 4096))
                yield next(chunks)
                raise requests.exceptions.ChunkedEncodingError("injected: connection broke off")

            response.iter_content = broken  # type: ignore[method-assign]
        return response


def faulty_client(sim_url: str, session: FaultSession, *, max_retries: int = 1) -> Any:
    from chalicelib.upstreams.videos_api import VideosApiClient

    return VideosApiClient(
        sim_url, API_KEY, timeout=5.0, max_retries=max_retries, session=session, sleep=_no_sleep
    )


def _no_sleep(_seconds: float) -> None:
    return None
