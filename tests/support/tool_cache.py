"""Where the tests keep what they make once per machine: tools installed from a registry (the
LiteLLM proxy's venv, the OpenRouter SDK's node_modules) and the simulator's render cache,
and the lock that makes two test runs install one of them only once."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


def cache_dir(override_env: str, name: str) -> Path:
    """`$override_env` if set, else `~/.cache/sora-studio/<name>` (honouring XDG_CACHE_HOME)."""
    if os.environ.get(override_env):
        return Path(os.environ[override_env])
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "sora-studio" / name


@contextlib.contextmanager
def install_lock(root: Path) -> Iterator[None]:
    """Held while `root` is checked and, if need be, installed: another test run may be
    installing it right now."""
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
