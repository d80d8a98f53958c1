"""Standard Webhooks verification (https://www.standardwebhooks.com/): HMAC-SHA256 over
`{webhook-id}.{webhook-timestamp}.{raw body}` keyed with the base64 secret after `whsec_`,
checked in constant time, timestamps within five minutes either way."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    pass


def secret_bytes(secret: str) -> bytes:
    encoded = secret.removeprefix("whsec_")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("the webhook secret is not whsec_<base64>") from None


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return f"v1,{base64.b64encode(digest).decode()}"


def verify(secret: str, headers: dict[str, str], body: bytes, now: float) -> str:
    """Return the webhook id when the signature holds; raise SignatureError otherwise."""
    lowered = {k.lower(): v for k, v in headers.items()}
    msg_id = lowered.get("webhook-id", "")
    raw_timestamp = lowered.get("webhook-timestamp", "")
    signatures = lowered.get("webhook-signature", "")
    if not msg_id or not raw_timestamp or not signatures:
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature")
    if not raw_timestamp.isdigit():
        raise SignatureError("webhook-timestamp is not a Unix time")
    timestamp = int(raw_timestamp)
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        raise SignatureError("webhook-timestamp is outside the five-minute tolerance")
    expected = sign(secret, msg_id, timestamp, body).split(",", 1)[1].encode()
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            return msg_id
    raise SignatureError("no signature matches")


# -- OpenRouter (docs/upstreams/openrouter.md, "Webhooks") ------------------------------------
# `X-OpenRouter-Signature: t=<unix seconds>,v1=<hex>`: HMAC-SHA256 of `"{t},{raw body}"` keyed
# with the signing secret as UTF-8 text; the delivery id is `X-OpenRouter-Idempotency-Key`.


def sign_openrouter(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp},".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify_openrouter(secret: str, headers: dict[str, str], body: bytes, now: float) -> str:
    """Return the delivery id when the signature holds; raise SignatureError otherwise."""
    lowered = {k.lower(): v for k, v in headers.items()}
    delivery_id = lowered.get("x-openrouter-idempotency-key", "")
    header = lowered.get("x-openrouter-signature", "")
    if not delivery_id or not header:
        raise SignatureError("missing X-OpenRouter-Signature or X-OpenRouter-Idempotency-Key")
    parts = dict(part.strip().partition("=")[::2] for part in header.split(","))
    raw_timestamp, given = parts.get("t", ""), parts.get("v1", "")
    if not (raw_timestamp.isascii() and raw_timestamp.isdigit()) or len(raw_timestamp) > 12:
        raise SignatureError("the signature's t= is not a Unix time")
    timestamp = int(raw_timestamp)
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        raise SignatureError("the signature's timestamp is outside the five-minute tolerance")
    expected = sign_openrouter(secret, timestamp, body).rpartition("v1=")[2]
    if not hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode()):
        raise SignatureError("the signature does not match")
    return delivery_id
