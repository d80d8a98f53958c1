"""Spend guards: per-user concurrent pending jobs, per-user estimated spend per UTC day, and a
global cap on pending jobs. A submission reserves all three in one DynamoDB transaction of
conditional updates, so concurrent submissions can never overshoot a limit; a job gives its
pending slot back exactly once, when it leaves the pending states (or never got made).
Beside each day's spend, one counter holds the owner's spend of all days (GET /api/usage).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import clock, runtime
from chalicelib.config import get_settings
from chalicelib.errors import LimitReached
from chalicelib.models import COUNTER_MARK, QuotaCounter

log = logging.getLogger(__name__)

GLOBAL_OWNER = "*"


def _pending_id(owner: str) -> str:
    return f"quota#pending#{owner}"


def _day() -> str:
    return datetime.fromtimestamp(clock.now(), tz=UTC).strftime("%Y-%m-%d")


def _spend_id(owner: str, day: str) -> str:
    return f"quota#spend#{owner}#{day}"


def _total_id(owner: str) -> str:
    """The owner's spend of all days: moved with the day's spend wherever that moves."""
    return f"quota#total#{owner}"


def _cents(usd: float) -> int:
    return round(usd * 100)


def _seconds_to_midnight() -> int:
    now = datetime.fromtimestamp(clock.now(), tz=UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, math.ceil((midnight - now).total_seconds()))


@lru_cache(maxsize=1)
def _connection() -> Connection:
    """One connection per process: building a botocore client costs ~0.8 s of CPU."""
    settings = get_settings()
    return Connection(region=settings.region, host=settings.dynamodb_endpoint_url or None)


runtime.register(_connection.cache_clear)


@dataclass(frozen=True)
class Reservation:
    owner: str
    cents: int


def reserve(owner: str, cost_usd: float) -> Reservation:
    """Take one pending slot (user and global) and the job's estimated cost, or raise
    LimitReached."""
    settings = get_settings()
    cents = _cents(cost_usd)
    budget = _cents(settings.user_daily_budget_usd)
    day = _day()
    under_user = QuotaCounter.count.does_not_exist() | (
        QuotaCounter.count < settings.user_max_pending_jobs
    )
    under_global = QuotaCounter.count.does_not_exist() | (
        QuotaCounter.count < settings.global_max_pending_jobs
    )
    within_budget = QuotaCounter.cents.does_not_exist() | (QuotaCounter.cents <= budget - cents)
    if cents > budget:
        raise _over_budget(settings.user_daily_budget_usd, 0)
    try:
        with TransactWrite(connection=_connection()) as tx:
            tx.update(
                QuotaCounter(_pending_id(owner)),
                [QuotaCounter.count.add(1), *_indexed(owner)],
                under_user,
            )
            tx.update(
                QuotaCounter(_pending_id(GLOBAL_OWNER)),
                [QuotaCounter.count.add(1), *_indexed(GLOBAL_OWNER)],
                under_global,
            )
            tx.update(
                QuotaCounter(_spend_id(owner, day)),
                [QuotaCounter.cents.add(cents), QuotaCounter.ttl.set(timedelta(days=3))],
                within_budget,
            )
            tx.update(QuotaCounter(_total_id(owner)), [QuotaCounter.cents.add(cents)])
    except TransactWriteError as exc:
        reasons = [getattr(r, "code", None) for r in (exc.cancellation_reasons or [])]
        if len(reasons) == 4 and "ConditionalCheckFailed" in reasons:
            if reasons[0] == "ConditionalCheckFailed":
                raise LimitReached(
                    f"You already have {_videos(settings.user_max_pending_jobs)} in progress; "
                    "wait for one to finish.",
                    code="too_many_pending",
                    retry_after=30,
                ) from None
            if reasons[1] == "ConditionalCheckFailed":
                raise LimitReached(
                    "The studio is rendering as many videos as it allows.",
                    code="server_busy",
                    retry_after=30,
                ) from None
            raise _over_budget(settings.user_daily_budget_usd, cents) from None
        raise
    return Reservation(owner, cents)


def _videos(count: int) -> str:
    return "1 video" if count == 1 else f"{count} videos"


def _over_budget(budget_usd: float, cents: int) -> LimitReached:
    return LimitReached(
        f"This video would take you past today's budget of ${budget_usd:.2f}; "
        "the budget resets at midnight UTC.",
        code="daily_budget_exceeded",
        retry_after=_seconds_to_midnight(),
    )


def _indexed(owner: str) -> list[Any]:
    """Keep a pending counter in the sparse pending-index (see `reconcile`)."""
    return [QuotaCounter.pending.set(COUNTER_MARK), QuotaCounter.created_key.set(owner)]


def slot_counter_ids(owner: str) -> list[str]:
    return [_pending_id(owner), _pending_id(GLOBAL_OWNER)]


def add_slot_release(tx: TransactWrite, counter_ids: list[str]) -> None:
    """Add "give one pending slot back" to `tx`, for each counter in `counter_ids`. A counter
    never passes zero: its decrement is conditional, so a drifted counter makes the
    transaction fail on it (the caller then leaves it out; `reconcile` repairs it)."""
    for counter_id in counter_ids:
        tx.update(QuotaCounter(counter_id), [QuotaCounter.count.add(-1)], QuotaCounter.count > 0)


def connection() -> Connection:
    return _connection()


def release_reserved_slot(reservation: Reservation) -> None:
    """A reservation whose job was never stored gives its slot back (no job item to mark)."""
    counters = slot_counter_ids(reservation.owner)
    for _ in range(len(counters) + 1):
        try:
            with TransactWrite(connection=_connection()) as tx:
                add_slot_release(tx, counters)
            return
        except TransactWriteError as exc:
            failed = failed_counters(exc, counters, offset=0)
            if not failed:
                log.exception("could not release a pending slot of %s", reservation.owner)
                return
            counters = [c for c in counters if c not in failed]
            if not counters:
                return


def failed_counters(exc: TransactWriteError, counter_ids: list[str], offset: int) -> list[str]:
    """The counters whose "never below zero" condition cancelled the transaction (their
    updates follow `offset` other items in it); logged as drift for `reconcile`."""
    reasons = [getattr(r, "code", None) for r in (exc.cancellation_reasons or [])]
    failed = [
        counter_id
        for counter_id, reason in zip(counter_ids, reasons[offset:], strict=False)
        if reason == "ConditionalCheckFailed"
    ]
    if failed:
        log.warning("pending counters already at zero (drift, left to reconcile): %s", failed)
    return failed


def _move_spend(owner: str, day: str, delta: int) -> None:
    """Add `delta` cents to the owner's spend of `day` and of all days, in one transaction."""
    with TransactWrite(connection=_connection()) as tx:
        tx.update(QuotaCounter(_spend_id(owner, day)), [QuotaCounter.cents.add(delta)])
        tx.update(QuotaCounter(_total_id(owner)), [QuotaCounter.cents.add(delta)])


def cancel(reservation: Reservation) -> None:
    """Nothing was stored or made: return the slot and the reserved spend."""
    release_reserved_slot(reservation)
    refund_reservation(reservation)


def refund_reservation(reservation: Reservation) -> None:
    """Nothing was made: the reserved spend goes back (the slot goes with the job item)."""
    try:
        _move_spend(reservation.owner, _day(), -reservation.cents)
    except Exception:
        log.exception("could not refund reserved spend of %s", reservation.owner)


def settle(owner: str, created_at: datetime, reserved_usd: float, actual_usd: float) -> None:
    """The upstream said what a job cost: the job's day holds that instead of the estimate."""
    delta = _cents(actual_usd) - _cents(reserved_usd)
    if not delta:
        return
    day = created_at.astimezone(UTC).strftime("%Y-%m-%d")
    try:
        _move_spend(owner, day, delta)
    except Exception:
        log.exception("could not settle the actual cost of a job of %s", owner)


def refund(owner: str, created_at: datetime, reserved_usd: float) -> None:
    """A job ended with nothing billed (cancelled while pending): its day and the total give
    its reserved estimate back. Its pending slot went back when it left the pending states."""
    day = created_at.astimezone(UTC).strftime("%Y-%m-%d")
    try:
        _move_spend(owner, day, -_cents(reserved_usd))
    except Exception:
        log.exception("could not refund the spend of a cancelled job of %s", owner)


def _read(counter_id: str, attribute: str) -> int:
    try:
        item = QuotaCounter.get(counter_id, consistent_read=True)
    except DoesNotExist:
        return 0
    return int(getattr(item, attribute) or 0)


def usage(owner: str) -> dict[str, object]:
    settings = get_settings()
    spent = _read(_spend_id(owner, _day()), "cents") / 100
    return {
        "pending": max(0, _read(_pending_id(owner), "count")),
        "max_pending": settings.user_max_pending_jobs,
        # Every day's spend: the actual cost where upstream said it, else the estimate.
        "spent_total_usd": round(_read(_total_id(owner), "cents") / 100, 2),
        "spent_today_usd": round(spent, 2),
        "daily_budget_usd": settings.user_daily_budget_usd,
        "remaining_today_usd": round(max(0.0, settings.user_daily_budget_usd - spent), 2),
    }
