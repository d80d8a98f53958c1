"""Who is calling. In `none` mode (local runs only) every caller is the one local user."""

from __future__ import annotations

from chalice.app import Request

LOCAL_OWNER = "local"


def current_owner(request: Request) -> str:
    return LOCAL_OWNER
