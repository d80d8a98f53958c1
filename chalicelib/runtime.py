"""What a process keeps between requests (settings, AWS clients, upstream providers, secrets,
signing keys, the catalog), in one registry: each module that keeps something registers the
function that forgets it. `init()` runs at cold start (app.py) and whenever tests or the local
stack change the environment: it forgets everything registered, then binds the models to the
settings. Nothing here imports a module that registers, so any module may import this one.
"""

from __future__ import annotations

from collections.abc import Callable

_forgetters: list[Callable[[], None]] = []


def register(forget: Callable[[], None]) -> Callable[[], None]:
    """Have `init()` call `forget`; returns it unchanged, so it can decorate a function."""
    if forget not in _forgetters:
        _forgetters.append(forget)
    return forget


def init() -> None:
    for forget in list(_forgetters):
        forget()
    from chalicelib.config import get_settings
    from chalicelib.models import bind_models

    bind_models(get_settings())
