"""The one module that reads and writes `CatalogListing` items (`catalog#<provider>`)."""

from __future__ import annotations

import json
import logging
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from chalicelib.models import CatalogListing, is_conditional_failure

log = logging.getLogger(__name__)

ATTEMPT_LEASE_SECONDS = 60  # a failed or crashed attempt is tried again after this


def _key(provider: str) -> str:
    return f"catalog#{provider}"


def _load(provider: str) -> CatalogListing | None:
    try:
        return CatalogListing.get(_key(provider))
    except DoesNotExist:
        return None


def load_models(provider: str) -> list[dict[str, Any]] | None:
    """The last good listing of `provider`, or None when there has been none yet."""
    item = _load(provider)
    if item is None or not item.models_json:
        return None
    models = json.loads(item.models_json)
    return models if isinstance(models, list) else None


def last_error(provider: str) -> str | None:
    """Why the latest attempt failed (kept until a listing succeeds), or None."""
    item = _load(provider)
    return item.last_error if item is not None else None


def claim_attempt(provider: str, now: float) -> bool:
    """True for exactly one caller once `next_attempt_at` has passed: it may fetch now."""
    item = CatalogListing(_key(provider))
    condition = CatalogListing.id.does_not_exist() | (CatalogListing.next_attempt_at <= now)
    try:
        item.update(
            actions=[CatalogListing.next_attempt_at.set(now + ATTEMPT_LEASE_SECONDS)],
            condition=condition,
        )
    except UpdateError as exc:
        if is_conditional_failure(exc):
            return False
        raise
    return True


def save_models(provider: str, models: list[dict[str, Any]], now: float, every: float) -> None:
    CatalogListing(_key(provider)).update(
        actions=[
            CatalogListing.models_json.set(json.dumps(models, separators=(",", ":"))),
            CatalogListing.fetched_at.set(now),
            CatalogListing.next_attempt_at.set(now + every),
            CatalogListing.last_error.remove(),
        ]
    )


def record_failure(provider: str, message: str) -> None:
    """Keep the last good list; note why this attempt failed (retried after the lease)."""
    try:
        CatalogListing(_key(provider)).update(
            actions=[CatalogListing.last_error.set(message[:500])]
        )
    except (UpdateError, PutError):
        log.exception("could not record the %s catalog failure", provider)
