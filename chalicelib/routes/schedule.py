"""The minute refresher as a scheduled Lambda: model lists when due, then every pending job."""

from __future__ import annotations

import logging
from typing import Any

from chalice import Blueprint, Rate

from chalicelib.catalog.refresh import refresh_listings
from chalicelib.jobs import refresher

schedule = Blueprint(__name__)
log = logging.getLogger(__name__)


@schedule.schedule(Rate(1, unit=Rate.MINUTES), name="refresh_pending_jobs")
def refresh_pending_jobs(event: Any) -> dict[str, object]:
    try:
        listings: dict[str, str] = refresh_listings()
    except Exception:  # a model-list problem must never stop the jobs' refresh
        log.exception("model list refresh failed")
        listings = {}
    context = schedule.lambda_context
    budget = None
    if context is not None:
        # Stop well before the Lambda timeout; the next tick picks up the rest.
        budget = max(1.0, context.get_remaining_time_in_millis() / 1000 - 15)
    return {**refresher.refresh_pending(time_budget=budget).as_dict(), "catalog": listings}
