"""`POST /api/webhooks/videos`: a verified `video.completed` / `video.failed` refreshes that
one job through the refresher's own code path. Each delivery id is processed once."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from pynamodb.exceptions import PutError

from chalicelib import clock
from chalicelib.config import Settings, get_settings
from chalicelib.errors import ApiError
from chalicelib.jobs import lifecycle
from chalicelib.jobs import store as job_store
from chalicelib.models import WebhookDelivery, is_conditional_failure
from chalicelib.webhooks.signature import SignatureError, verify

log = logging.getLogger(__name__)

HANDLED_EVENTS = ("video.completed", "video.failed")
DEDUPE_LIFETIME = timedelta(days=2)


def webhook_secret(settings: Settings) -> str:
    if settings.webhook_secret:
        return settings.webhook_secret
    if settings.webhook_secret_param:
        from chalicelib.secrets import read_secret

        return read_secret(settings.webhook_secret_param)
    return ""


def _bad(message: str) -> ApiError:
    return ApiError(400, "invalid_webhook", message)


def handle(headers: dict[str, str], raw_body: bytes) -> dict[str, str]:
    secret = webhook_secret(get_settings())
    if not secret:
        raise _bad("Webhooks are not configured on this server.")
    try:
        delivery_id = verify(secret, headers, raw_body, clock.now())
    except SignatureError as exc:
        log.warning("webhook rejected: %s", exc)
        raise _bad(f"Webhook signature check failed: {exc}.") from None
    try:
        event = json.loads(raw_body)
        event_type = str(event["type"])
        upstream_id = str(event["data"]["id"])
    except (ValueError, KeyError, TypeError):
        raise _bad("Webhook body is not an event with type and data.id.") from None
    try:
        WebhookDelivery(f"webhook#{delivery_id}", ttl=DEDUPE_LIFETIME).save(
            condition=WebhookDelivery.id.does_not_exist()
        )
    except PutError as exc:
        if is_conditional_failure(exc):
            return {"status": "duplicate"}
        raise
    if event_type not in HANDLED_EVENTS:
        return {"status": "ignored"}
    try:
        _refresh(upstream_id)
    except Exception:
        # Let the sender retry this delivery: forget that we saw it.
        WebhookDelivery(f"webhook#{delivery_id}").delete()
        raise
    return {"status": "processed"}


def _refresh(upstream_id: str) -> None:
    job = job_store.job_for_upstream(upstream_id)
    if job is None:
        log.info("webhook for unknown upstream video %s ignored", upstream_id)
        return
    lifecycle.refresh_job(job)
