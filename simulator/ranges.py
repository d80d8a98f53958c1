"""``Range: bytes=...`` header handling for content downloads (RFC 9110, single range)."""

from __future__ import annotations

import re

_RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)")


class RangeNotSatisfiable(ValueError):
    """The range lies wholly outside the resource (answer 416)."""


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Return the inclusive ``(first, last)`` bytes to send, or None for the whole body.

    Syntactically invalid and multi-range headers are ignored (RFC 9110 allows serving the
    full representation); unsatisfiable ones raise :class:`RangeNotSatisfiable`.
    """
    if not header:
        return None
    match = _RANGE_RE.fullmatch(header.strip().replace(" ", ""))
    if not match or (not match[1] and not match[2]):
        return None
    first_text, last_text = match[1], match[2]
    if not first_text:  # suffix range: the last N bytes
        length = int(last_text)
        if length == 0 or size == 0:
            raise RangeNotSatisfiable(header)
        return max(0, size - length), size - 1
    first = int(first_text)
    if last_text and int(last_text) < first:
        return None  # invalid, so ignored
    if first >= size:
        raise RangeNotSatisfiable(header)
    last = int(last_text) if last_text else size - 1
    return first, min(last, size - 1)
