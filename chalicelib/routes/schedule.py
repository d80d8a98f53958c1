"""The minute refresher as a scheduled Lambda."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Rate

from chalicelib.jobs import refresher

schedule = Blueprint(__name__)


@schedule.schedule(Rate(1, unit=Rate.MINUTES), name="refresh_pending_jobs")
def refresh_pending_jobs(event: Any) -> dict[str, object]:
    context = schedule.lambda_context
    budget = None
    if context is not None:
        # Stop well before the Lambda timeout; the next tick picks up the rest.
        budget = max(1.0, context.get_remaining_time_in_millis() / 1000 - 15)
    return refresher.refresh_pending(time_budget=budget).as_dict()
