"""`POST /api/webhooks/{provider}`: a verified terminal event (`video.completed` /
`video.failed` of the `/v1/videos` protocol, `video.generation.*` of OpenRouter, fal.ai's
`OK` / `ERROR` result deliveries) refreshes that one job through the refresher's own code
path. Each delivery id is processed once."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from pynamodb.exceptions import PutError

from chalicelib import clock
from chalicelib.config import Settings, get_settings
from chalicelib.errors import InvalidRequest, bad_request
from chalicelib.jobs import lifecycle
from chalicelib.jobs import store as job_store
from chalicelib.models import WebhookDelivery, is_conditional_failure
from chalicelib.secrets import is_set, resolve
from chalicelib.webhooks.signature import SignatureError, verify, verify_openrouter

log = logging.getLogger(__name__)

HANDLED_EVENTS = ("video.completed", "video.failed")
DEDUPE_LIFETIME = timedelta(days=2)


def webhook_secret(settings: Settings) -> str:
    return resolve(settings.webhook_secret, settings.webhook_secret_param)


def openrouter_webhook_secret(settings: Settings) -> str:
    return resolve(settings.openrouter_webhook_secret, settings.openrouter_webhook_secret_param)


def fal_jwks_url(settings: Settings) -> str:
    """fal signs with its published keys: the JWKS URL, once a fal key is configured."""
    return settings.fal_jwks_url if is_set(settings.fal_key, settings.fal_key_param) else ""


def _bad(message: str) -> InvalidRequest:
    return bad_request(None, message, "invalid_webhook")


def envelope_event(
    raw_body: bytes, delivery_id: str, query: dict[str, str]
) -> tuple[str, str, str]:
    """(event type, upstream id, dedupe id) of a `{"type", "data": {"id"}}` envelope."""
    try:
        event = json.loads(raw_body)
        return str(event["type"]), str(event["data"]["id"]), delivery_id
    except (ValueError, KeyError, TypeError, RecursionError):
        raise _bad("Webhook body is not an event with type and data.id.") from None


def fal_event(raw_body: bytes, request_id: str, query: dict[str, str]) -> tuple[str, str, str]:
    """fal posts the result itself (`status` OK or ERROR) for the signed request id; the app
    it belongs to comes back in our URL's `app` query (FalClient adds it)."""
    try:
        status = str(json.loads(raw_body)["status"])
    except (ValueError, KeyError, TypeError, RecursionError):
        raise _bad("Webhook body is not a fal result with a status.") from None
    app = (query or {}).get("app", "")
    if app.count("/") not in (1, 2) or "#" in app:
        raise _bad("The webhook URL names no fal app (?app=owner/app).")
    return status, f"{app}#{request_id}", f"{request_id}-{status}"


@dataclass(frozen=True)
class Receiver:
    """One upstream's webhook dialect: its secret, signature check and terminal events."""

    secret: Callable[[Settings], str]
    verify: Callable[[str, dict[str, str], bytes, float], str]  # -> delivery id
    events: tuple[str, ...]
    # (raw body, delivery id, query parameters) -> (event type, upstream id, dedupe id)
    event: Callable[[bytes, str, dict[str, str]], tuple[str, str, str]] = envelope_event


def _verify_fal(jwks_url: str, headers: dict[str, str], body: bytes, now: float) -> str:
    # Imported on first use: fetching fal's keys needs `requests`, which a cold start of a
    # stage without fal need not load (the cold-import budget in bench/).
    from chalicelib.webhooks.fal_keys import verify_fal

    return verify_fal(jwks_url, headers, body, now)


RECEIVERS = {
    "videos": Receiver(webhook_secret, verify, HANDLED_EVENTS),
    "openrouter": Receiver(
        openrouter_webhook_secret,
        verify_openrouter,
        tuple(f"video.generation.{s}" for s in ("completed", "failed", "cancelled", "expired")),
    ),
    "fal": Receiver(fal_jwks_url, _verify_fal, ("OK", "ERROR"), fal_event),
}


def handle(
    headers: dict[str, str],
    raw_body: bytes,
    provider: str = "videos",
    query: dict[str, str] | None = None,
) -> dict[str, str]:
    """Verify, dedupe, then re-read the job upstream: the body is never trusted."""
    receiver = RECEIVERS[provider]
    secret = receiver.secret(get_settings())
    if not secret:
        raise _bad("Webhooks are not configured on this server.")
    try:
        delivery_id = receiver.verify(secret, headers, raw_body, clock.now())
    except SignatureError as exc:
        log.warning("%s webhook rejected: %s", provider, exc)
        raise _bad(f"Webhook signature check failed: {exc}.") from None
    event_type, upstream_id, dedupe_id = receiver.event(raw_body, delivery_id, query or {})
    dedupe_key = (
        f"webhook#{dedupe_id}" if provider == "videos" else f"webhook#{provider}#{dedupe_id}"
    )
    try:
        WebhookDelivery(dedupe_key, ttl=DEDUPE_LIFETIME).save(
            condition=WebhookDelivery.id.does_not_exist()
        )
    except PutError as exc:
        if is_conditional_failure(exc):
            return {"status": "duplicate"}
        raise
    if event_type not in receiver.events:
        return {"status": "ignored"}
    try:
        _refresh(upstream_id)
    except Exception:
        # Let the sender retry this delivery: forget that we saw it.
        WebhookDelivery(dedupe_key).delete()
        raise
    return {"status": "processed"}


def _refresh(upstream_id: str) -> None:
    job = job_store.job_for_upstream(upstream_id)
    if job is None:
        log.info("webhook for unknown upstream video %s ignored", upstream_id)
        return
    lifecycle.refresh_job(job)
