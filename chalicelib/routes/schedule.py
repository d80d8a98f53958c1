"""The minute refresher as a scheduled Lambda: model lists when due, then every pending job;
and `refresh_shard`, the worker a tick hands a shard of them to (chalicelib/jobs/refresher.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from chalice import Blueprint, Rate

from chalicelib.catalog.refresh import refresh_listings
from chalicelib.jobs import refresher
from chalicelib.jobs.reconcile import reconcile

schedule = Blueprint(__name__)
log = logging.getLogger(__name__)


def tick(remaining_seconds: Callable[[], float] | None = None) -> dict[str, object]:
    """One refresher tick (the scheduled Lambda, and `make run`'s loop)."""
    try:
        listings: dict[str, str] = refresh_listings()
    except Exception:  # a model-list problem must never stop the jobs' refresh
        log.exception("model list refresh failed")
        listings = {}
    # Stop well before the Lambda timeout; the next tick picks up the rest.
    budget = max(1.0, remaining_seconds() - 15) if remaining_seconds else None
    result = {**refresher.refresh_pending(time_budget=budget).as_dict(), "catalog": listings}
    try:
        result["counter_corrections"] = reconcile()
    except Exception:  # the safety net must not fail the tick
        log.exception("pending-counter reconciliation failed")
    return result


@schedule.schedule(Rate(1, unit=Rate.MINUTES), name="refresh_pending_jobs")
def refresh_pending_jobs(event: Any) -> dict[str, object]:
    context = schedule.lambda_context
    if context is None:
        return tick()
    return tick(lambda: context.get_remaining_time_in_millis() / 1000)


@schedule.lambda_function(name="refresh_shard")
def refresh_shard(event: Any, context: Any) -> dict[str, object]:
    """One shard of a tick's pending jobs, handed over by an asynchronous invoke."""

    def remaining() -> float:
        return context.get_remaining_time_in_millis() / 1000

    try:
        report = refresher.refresh_shard(
            event, remaining_seconds=None if context is None else remaining
        )
    except ValueError as exc:  # not a shard: retrying the same event cannot help
        log.error("refresh_shard: %s", exc)
        return {"error": str(exc)}
    return report.as_dict()
