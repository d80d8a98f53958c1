"""`POST /api/webhooks/{provider}`: a verified terminal event (`video.completed` /
`video.failed` of the `/v1/videos` protocol, `video.generation.*` of OpenRouter) refreshes that
one job through the refresher's own code path. Each delivery id is processed once."""

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
from chalicelib.secrets import resolve
from chalicelib.webhooks.signature import SignatureError, verify, verify_openrouter

log = logging.getLogger(__name__)

HANDLED_EVENTS = ("video.completed", "video.failed")
DEDUPE_LIFETIME = timedelta(days=2)


def webhook_secret(settings: Settings) -> str:
    return resolve(settings.webhook_secret, settings.webhook_secret_param)


def openrouter_webhook_secret(settings: Settings) -> str:
    return resolve(settings.openrouter_webhook_secret, settings.openrouter_webhook_secret_param)


def _bad(message: str) -> InvalidRequest:
    return bad_request(None, message, "invalid_webhook")


@dataclass(frozen=True)
class Receiver:
    """One upstream's webhook dialect: its secret, signature check and terminal events."""

    secret: Callable[[Settings], str]
    verify: Callable[[str, dict[str, str], bytes, float], str]  # -> delivery id
    events: tuple[str, ...]


RECEIVERS = {
    "videos": Receiver(webhook_secret, verify, HANDLED_EVENTS),
    "openrouter": Receiver(
        openrouter_webhook_secret,
        verify_openrouter,
        tuple(f"video.generation.{s}" for s in ("completed", "failed", "cancelled", "expired")),
    ),
}


def handle(headers: dict[str, str], raw_body: bytes, provider: str = "videos") -> dict[str, str]:
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
    try:
        event = json.loads(raw_body)
        event_type = str(event["type"])
        upstream_id = str(event["data"]["id"])
    except (ValueError, KeyError, TypeError, RecursionError):
        raise _bad("Webhook body is not an event with type and data.id.") from None
    dedupe_key = (
        f"webhook#{delivery_id}" if provider == "videos" else f"webhook#{provider}#{delivery_id}"
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
