"""Signed webhooks for the simulator's protocols, sent from background threads.

Standard Webhooks (https://www.standardwebhooks.com/), for the ``/v1/videos`` protocol: the
headers ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature: v1,<base64 HMAC-SHA256>``
where the HMAC covers ``"{id}.{timestamp}.{body}"`` keyed with the base64-decoded secret that
follows ``whsec_``.

OpenRouter (docs/upstreams/openrouter.md), for its video protocol: ``X-OpenRouter-Signature:
t=<unix seconds>,v1=<hex HMAC-SHA256>`` over ``"{t},{raw body}"`` keyed with the secret's UTF-8
bytes as they are, plus ``X-OpenRouter-Idempotency-Key: <job id>-<status>``; unsigned when no
secret is configured.

fal.ai (docs/upstreams/fal.md): ``X-Fal-Webhook-Request-Id``, ``-User-Id``, ``-Timestamp`` and
``-Signature``, the hex ED25519 signature of ``"{request id}\n{user id}\n{timestamp}\n{hex
SHA-256 of the body}"``, made with a TEST key pair (:func:`fal_test_key`, fixed so every run
and every test agrees on it) whose public key :func:`fal_jwks` publishes. Never a real key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import queue
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

log = logging.getLogger("simulator.webhooks")

SECRET_PREFIX = "whsec_"


def decode_secret(secret: str) -> bytes:
    """Return the HMAC key of a ``whsec_<base64>`` secret (the prefix is optional)."""
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("webhook secret must be 'whsec_' followed by base64") from exc
    if not key:
        raise ValueError("webhook secret is empty")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes | str) -> str:
    """Return the ``webhook-signature`` header value (``v1,<base64>``) for one message."""
    payload = body.encode() if isinstance(body, str) else body
    signed = f"{msg_id}.{int(timestamp)}.".encode() + payload
    digest = hmac.new(decode_secret(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes | str,
    *,
    tolerance_seconds: int = 300,
    now: float | None = None,
) -> bool:
    """True when ``headers`` carry a valid, fresh Standard Webhooks signature for ``body``."""
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id = lower.get("webhook-id")
    stamp = lower.get("webhook-timestamp")
    signatures = lower.get("webhook-signature")
    if not msg_id or not stamp or not signatures:
        return False
    try:
        timestamp = int(stamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        return False
    expected = sign(secret, msg_id, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures.split())


def openrouter_signature(secret: str, timestamp: int, body: bytes | str) -> str:
    """Return the ``X-OpenRouter-Signature`` header value (``t=<ts>,v1=<hex>``) for a body."""
    payload = body.encode() if isinstance(body, str) else body
    signed = f"{int(timestamp)},".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={int(timestamp)},v1={digest}"


@dataclass(frozen=True)
class Delivery:
    event_id: str  # the id every attempt of this event repeats (a de-duplication key)
    body: bytes
    url: str


class _Sender:
    """Delivers queued events from background threads; :meth:`_enqueue` never blocks.

    Each event is tried up to ``max_attempts`` times with exponential backoff; every attempt
    keeps the same event id (so receivers can de-duplicate) and is signed afresh by
    :meth:`_headers`.
    """

    def __init__(
        self,
        *,
        max_attempts: int = 4,
        backoff_seconds: float = 0.5,
        timeout_seconds: float = 5.0,
        workers: int = 2,
        clock: Callable[[], float] = time.time,
        thread_name: str = "simulator-webhook",
    ) -> None:
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._timeout = timeout_seconds
        self._clock = clock
        self._queue: queue.Queue[Delivery | None] = queue.Queue()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self.delivered = 0
        self.failed = 0
        self._threads = [
            threading.Thread(target=self._work, name=f"{thread_name}-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def close(self) -> None:
        self._stopping.set()
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=2)

    def _headers(self, delivery: Delivery, timestamp: int) -> dict[str, str]:
        raise NotImplementedError

    def _enqueue(self, delivery: Delivery) -> None:
        self._queue.put(delivery)

    def _work(self) -> None:
        while True:
            delivery = self._queue.get()
            if delivery is None or self._stopping.is_set():
                return
            ok = self._deliver(delivery)
            with self._lock:
                if ok:
                    self.delivered += 1
                else:
                    self.failed += 1

    def _deliver(self, delivery: Delivery) -> bool:
        for attempt in range(self._max_attempts):
            if attempt and self._stopping.wait(self._backoff * 2 ** (attempt - 1)):
                return False
            if self._post(delivery):
                return True
        log.warning(
            "webhook %s to %s failed after %d attempts",
            delivery.event_id,
            delivery.url,
            self._max_attempts,
        )
        return False

    def _post(self, delivery: Delivery) -> bool:
        timestamp = int(time.time())  # wall clock: receivers check freshness against theirs
        request = urllib.request.Request(
            delivery.url,
            data=delivery.body,
            method="POST",
            headers={
                "content-type": "application/json",
                "user-agent": "sora-studio-simulator",
                **self._headers(delivery, timestamp),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                response.read()
                return 200 <= response.status < 300
        except urllib.error.HTTPError as exc:
            log.info("webhook %s answered HTTP %s", delivery.event_id, exc.code)
        except (OSError, ValueError) as exc:
            log.info("webhook %s not delivered: %s", delivery.event_id, exc)
        return False


class WebhookSender(_Sender):
    """Standard Webhooks ``video.*`` events to one URL, signed with a ``whsec_`` secret."""

    def __init__(self, url: str, secret: str, **options: Any) -> None:
        decode_secret(secret)  # fail fast on a malformed secret
        self.url = url
        self._secret = secret
        super().__init__(**options)

    def send(self, event_type: str, video_id: str) -> str:
        """Queue one ``video.completed`` / ``video.failed`` event; returns its event id."""
        event_id = "evt_" + secrets.token_hex(16)
        event = {
            "object": "event",
            "id": event_id,
            "type": event_type,
            "created_at": int(self._clock()),
            "data": {"id": video_id},
        }
        body = json.dumps(event, separators=(",", ":")).encode()
        self._enqueue(Delivery(event_id, body, self.url))
        return event_id

    def _headers(self, delivery: Delivery, timestamp: int) -> dict[str, str]:
        return {
            "webhook-id": delivery.event_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(self._secret, delivery.event_id, timestamp, delivery.body),
        }


class OpenRouterWebhookSender(_Sender):
    """OpenRouter ``video.generation.*`` events, each to its job's callback URL."""

    def __init__(self, secret: str | None, **options: Any) -> None:
        self._secret = secret or None
        super().__init__(thread_name="simulator-openrouter-webhook", **options)

    def send(self, url: str, event: Mapping[str, Any], idempotency_key: str) -> None:
        """Queue one event envelope; ``idempotency_key`` is ``<job id>-<status>``."""
        body = json.dumps(event, separators=(",", ":")).encode()
        self._enqueue(Delivery(idempotency_key, body, url))

    def _headers(self, delivery: Delivery, timestamp: int) -> dict[str, str]:
        headers = {"x-openrouter-idempotency-key": delivery.event_id}
        if self._secret is not None:
            headers["x-openrouter-signature"] = openrouter_signature(
                self._secret, timestamp, delivery.body
            )
        return headers


# --- fal.ai ------------------------------------------------------------------------------------
FAL_TEST_USER_ID = "sim-fal-user"
FAL_TEST_KEY_ID = "sim-fal-test-key-1"
_FAL_TEST_SEED = hashlib.sha256(b"sora-studio simulator: fal.ai webhook TEST key").digest()


def fal_test_key() -> Ed25519PrivateKey:
    """The simulator's TEST signing key (derived from a public constant: never trust it)."""
    return Ed25519PrivateKey.from_private_bytes(_FAL_TEST_SEED)


def fal_jwks(key: Ed25519PrivateKey | None = None) -> dict[str, Any]:
    """The JWKS publishing ``key``'s public half (the TEST key by default)."""
    public = (key or fal_test_key()).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    x = base64.urlsafe_b64encode(public).decode().rstrip("=")
    entry = {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": FAL_TEST_KEY_ID}
    return {"keys": [{**entry, "use": "sig", "alg": "EdDSA"}]}


def fal_signed_headers(
    request_id: str,
    body: bytes,
    *,
    timestamp: int | None = None,
    user_id: str = FAL_TEST_USER_ID,
    key: Ed25519PrivateKey | None = None,
) -> dict[str, str]:
    """The four ``X-Fal-Webhook-*`` headers of one delivery, signed as fal signs."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hashlib.sha256(body).hexdigest()
    message = f"{request_id}\n{user_id}\n{stamp}\n{digest}".encode()
    signature = (key or fal_test_key()).sign(message).hex()
    return {
        "x-fal-webhook-request-id": request_id,
        "x-fal-webhook-user-id": user_id,
        "x-fal-webhook-timestamp": stamp,
        "x-fal-webhook-signature": signature,
    }


class FalWebhookSender(_Sender):
    """fal result deliveries, each to its request's ``fal_webhook`` URL, signed afresh."""

    def __init__(self, **options: Any) -> None:
        super().__init__(thread_name="simulator-fal-webhook", **options)

    def send(self, url: str, request_id: str, body: Mapping[str, Any]) -> None:
        payload = json.dumps(body, separators=(",", ":")).encode()
        self._enqueue(Delivery(request_id, payload, url))

    def _headers(self, delivery: Delivery, timestamp: int) -> dict[str, str]:
        return fal_signed_headers(delivery.event_id, delivery.body, timestamp=timestamp)
