"""fal.ai's webhook signing keys: the ED25519 public keys of its JWKS (docs/upstreams/fal.md).

The JWKS is fetched at most once a minute per URL (a flood of forgeries cannot make this
server hammer fal) and its keys are kept for a day, as fal advises. A delivery no cached key
verifies fetches the set again (keys rotate), within that same once-a-minute limit. When the
keys cannot be had at all the delivery is answered 503, so fal retries it later.
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
from typing import Any

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from chalicelib import clock, runtime
from chalicelib.errors import Unavailable
from chalicelib.webhooks.signature import SignatureError, ed25519_matches, fal_signed_message

log = logging.getLogger(__name__)

FETCH_INTERVAL_SECONDS = 60.0
KEY_LIFETIME_SECONDS = 24 * 3600.0
FETCH_TIMEOUT_SECONDS = 10.0

_lock = threading.Lock()
_keys: dict[str, tuple[float, list[Ed25519PublicKey]]] = {}
_attempts: dict[str, float] = {}


def _unavailable() -> Unavailable:
    return Unavailable(
        "fal.ai's webhook signing keys could not be fetched; try again in a minute.",
        code="webhook_keys_unavailable",
        retry_after=60,
    )


def parse_jwks(document: Any) -> list[Ed25519PublicKey]:
    """The Ed25519 keys (`kty` OKP, `crv` Ed25519, base64url `x`) of a JWKS; others skipped."""
    entries = document.get("keys") if isinstance(document, dict) else None
    keys: list[Ed25519PublicKey] = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or (entry.get("kty"), entry.get("crv")) != (
            "OKP",
            "Ed25519",
        ):
            continue
        x = entry.get("x")
        try:
            raw = base64.urlsafe_b64decode(str(x) + "=" * (-len(str(x)) % 4))
            keys.append(Ed25519PublicKey.from_public_bytes(raw))
        except (binascii.Error, ValueError):
            continue
    return keys


def _fetch(url: str) -> list[Ed25519PublicKey]:
    response = requests.get(url, timeout=FETCH_TIMEOUT_SECONDS)
    response.raise_for_status()
    keys = parse_jwks(response.json())
    if not keys:
        raise ValueError("the JWKS holds no Ed25519 key")
    return keys


def public_keys(url: str, *, fresh: bool = False) -> list[Ed25519PublicKey]:
    """The cached keys; fetched when none are cached, a day old, or `fresh` asks, but never
    more than once a minute (then the cached ones, or 503 when there are none)."""
    now = clock.now()
    with _lock:
        cached = _keys.get(url)
        wanted = cached is None or fresh or now - cached[0] >= KEY_LIFETIME_SECONDS
        if not wanted and cached is not None:
            return cached[1]
        if now - _attempts.get(url, float("-inf")) < FETCH_INTERVAL_SECONDS:
            if cached is None:
                raise _unavailable()
            return cached[1]
        _attempts[url] = now
    try:
        keys = _fetch(url)
    except (requests.RequestException, ValueError) as exc:
        log.warning("fal JWKS fetch from %s failed: %s", url, type(exc).__name__)
        if cached is None:
            raise _unavailable() from None
        return cached[1]
    with _lock:
        _keys[url] = (now, keys)
    return keys


def verify_fal(jwks_url: str, headers: dict[str, str], body: bytes, now: float) -> str:
    """The request id of a delivery signed by one of fal's keys; raise SignatureError for a
    malformed, stale or forged one (headers and freshness are checked before any fetch)."""
    request_id, message, signature = fal_signed_message(headers, body, now)
    keys = public_keys(jwks_url)
    if ed25519_matches(keys, message, signature):
        return request_id
    newer = public_keys(jwks_url, fresh=True)
    if newer is not keys and ed25519_matches(newer, message, signature):
        return request_id
    raise SignatureError("no fal.ai key verifies the signature")


@runtime.register
def forget_keys() -> None:
    with _lock:
        _keys.clear()
        _attempts.clear()
