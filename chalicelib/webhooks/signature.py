"""Standard Webhooks verification (https://www.standardwebhooks.com/): HMAC-SHA256 over
`{webhook-id}.{webhook-timestamp}.{raw body}` keyed with the base64 secret after `whsec_`,
checked in constant time, timestamps within five minutes either way. OpenRouter's HMAC and
fal.ai's ED25519 dialects follow below."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # cryptography is imported by the first fal webhook, not by every cold start
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

TOLERANCE_SECONDS = 300


ID_MAX_CHARS = 256  # a delivery id becomes part of a DynamoDB key (at most 2,048 bytes)
SIGNATURES_MAX_CHARS = 4096


class SignatureError(ValueError):
    pass


def ascii_header(name: str, value: str, max_chars: int) -> str:
    """`value` when it is printable ASCII of at most `max_chars`; a SignatureError naming the
    header otherwise (headers are text whose bytes are compared, never decoded guesses)."""
    if len(value) > max_chars or not (value.isascii() and value.isprintable()):
        raise SignatureError(f"{name} is not printable ASCII of at most {max_chars} characters")
    return value


def unix_time(name: str, raw: str) -> int:
    """Seconds from ASCII digits only (`str.isdigit` also takes '²' and other scripts' digits,
    which `int` then refuses)."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        raise SignatureError(f"{name} is not a Unix time")
    return int(raw)


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
    ascii_header("webhook-id", msg_id, ID_MAX_CHARS)
    timestamp = unix_time("webhook-timestamp", raw_timestamp)
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        raise SignatureError("webhook-timestamp is outside the five-minute tolerance")
    ascii_header("webhook-signature", signatures, SIGNATURES_MAX_CHARS)
    expected = sign(secret, msg_id, timestamp, body).split(",", 1)[1].encode()
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode("ascii"), expected):
            return msg_id
    raise SignatureError("no webhook-signature matches")


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
    ascii_header("X-OpenRouter-Idempotency-Key", delivery_id, ID_MAX_CHARS)
    ascii_header("X-OpenRouter-Signature", header, SIGNATURES_MAX_CHARS)
    parts = dict(part.strip().partition("=")[::2] for part in header.split(","))
    raw_timestamp, given = parts.get("t", ""), parts.get("v1", "")
    timestamp = unix_time("X-OpenRouter-Signature t=", raw_timestamp)
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        raise SignatureError("X-OpenRouter-Signature t= is outside the five-minute tolerance")
    expected = sign_openrouter(secret, timestamp, body).rpartition("v1=")[2]
    if not hmac.compare_digest(given.encode("ascii"), expected.encode()):
        raise SignatureError("X-OpenRouter-Signature v1= does not match")
    return delivery_id


# -- fal.ai (docs/upstreams/fal.md, "Webhooks") -----------------------------------------------
# ED25519 over "{request id}\n{user id}\n{timestamp}\n{hex SHA-256 of the raw body}", hex in
# X-Fal-Webhook-Signature, checked against the public keys of fal's JWKS (any may match);
# timestamps within five minutes either way. The delivery id is the request id.


def fal_signed_message(
    headers: dict[str, str], body: bytes, now: float
) -> tuple[str, bytes, bytes]:
    """(request id, signed message, signature) of a fal delivery whose headers are well
    formed and fresh; raise SignatureError otherwise (before any key is needed)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    request_id = lowered.get("x-fal-webhook-request-id", "")
    user_id = lowered.get("x-fal-webhook-user-id", "")
    raw_timestamp = lowered.get("x-fal-webhook-timestamp", "")
    signature_hex = lowered.get("x-fal-webhook-signature", "")
    if not (request_id and user_id and raw_timestamp and signature_hex):
        raise SignatureError("missing X-Fal-Webhook-Request-Id, -User-Id, -Timestamp or -Signature")
    if not (raw_timestamp.isascii() and raw_timestamp.isdigit()) or len(raw_timestamp) > 12:
        raise SignatureError("X-Fal-Webhook-Timestamp is not a Unix time")
    if abs(now - int(raw_timestamp)) > TOLERANCE_SECONDS:
        raise SignatureError("X-Fal-Webhook-Timestamp is outside the five-minute tolerance")
    try:
        signature = bytes.fromhex(signature_hex) if signature_hex.isascii() else b""
    except ValueError:
        signature = b""
    if len(signature) != 64:
        raise SignatureError("X-Fal-Webhook-Signature is not a hex ED25519 signature")
    digest = hashlib.sha256(body).hexdigest()
    message = f"{request_id}\n{user_id}\n{raw_timestamp}\n{digest}".encode()
    return request_id, message, signature


def ed25519_matches(keys: Sequence[Ed25519PublicKey], message: bytes, signature: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature

    for key in keys:
        try:
            key.verify(signature, message)
        except InvalidSignature:
            continue
        return True
    return False
