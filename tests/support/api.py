"""Calls through `chalice.test.Client` (the `client` fixture), the way the frontend makes them."""

from __future__ import annotations

import json
from typing import Any

HEADERS = {"Content-Type": "application/json", "Accept": "*/*"}


def post_json(client: Any, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    raw = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.http.post(path, body=raw, headers={**HEADERS, **(headers or {})})


def get(client: Any, path: str, headers: dict[str, str] | None = None) -> Any:
    return client.http.get(path, headers={"Accept": "*/*", **(headers or {})})


def body(response: Any) -> Any:
    return json.loads(response.body) if response.body else None
