"""Repair drift in the pending-slot counters (`quota#pending#<owner>` and the global one).

Every release is exactly-once by construction (`store.release_slot_with`), so drift means a
bug or a crash between two writes; this is the safety net. At most every `EVERY_SECONDS` one
refresher recomputes what each counter should be from the sparse pending-index (pending jobs
whose slot was not given back) and compares it with the counter. A counter is corrected only
when the same drift is seen twice with no write to the counter in between (its count is
unchanged), so an in-flight create, counted before its job reaches the index, is never
mistaken for drift; the correction itself is conditional on that count. Each correction is
logged. Reads are O(pending jobs + counters): both sit in the pending-index.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from chalicelib import clock
from chalicelib.jobs import quotas
from chalicelib.models import (
    COUNTER_MARK,
    PENDING_MARK,
    JobModel,
    QuotaCounter,
    is_conditional_failure,
)

log = logging.getLogger(__name__)

EVERY_SECONDS = 600
CLAIM_ID = "quota#reconcile"


def _claim(now: float) -> bool:
    """One refresher per period: the claim item's `count` holds the next run's time."""
    try:
        QuotaCounter(CLAIM_ID).update(
            actions=[QuotaCounter.count.set(int(now + EVERY_SECONDS))],
            condition=QuotaCounter.count.does_not_exist() | (QuotaCounter.count <= now),
        )
    except UpdateError as exc:
        if is_conditional_failure(exc):
            return False
        raise
    return True


def expected_counts() -> dict[str, int]:
    """Pending slots each owner (and `*`, everyone) should hold, from the pending-index."""
    held: Counter[str] = Counter()
    for job in JobModel.pending_index.query(PENDING_MARK):
        if job.is_pending and job.slot_released_at is None:
            held[job.owner] += 1
    held[quotas.GLOBAL_OWNER] = sum(held.values())
    return dict(held)


def reconcile(force: bool = False) -> dict[str, int]:
    """{counter id: correction applied}; empty when nothing drifted (or not due)."""
    if not force and not _claim(clock.now()):
        return {}
    expected = expected_counts()
    corrections: dict[str, int] = {}
    seen_owners = set()
    for counter in QuotaCounter.counters_index.query(COUNTER_MARK):
        owner = counter.created_key or ""
        seen_owners.add(owner)
        delta = _check(counter, expected.get(owner, 0))
        if delta:
            corrections[counter.id] = delta
    for owner, count in expected.items():
        if owner not in seen_owners and count:
            log.warning("pending counter of %s is missing while %d jobs hold slots", owner, count)
    return corrections


def _check(counter: QuotaCounter, expected: int) -> int:
    count = int(counter.count or 0)
    if count == expected:
        if counter.seen_count is not None:
            _update(
                counter, [QuotaCounter.seen_count.remove(), QuotaCounter.seen_expected.remove()]
            )
        return 0
    seen_before = counter.seen_count == count and counter.seen_expected == expected
    if not seen_before:  # first sighting: note it, decide next time
        _update(
            counter,
            [QuotaCounter.seen_count.set(count), QuotaCounter.seen_expected.set(expected)],
        )
        return 0
    applied = _update(
        counter,
        [QuotaCounter.count.set(expected), *_forget_sighting()],
        QuotaCounter.count == count,
    )
    if not applied:
        return 0
    log.warning(
        "pending counter %s drifted: it said %d, %d jobs hold slots; corrected",
        counter.id,
        count,
        expected,
    )
    return expected - count


def _forget_sighting() -> list[Any]:
    return [QuotaCounter.seen_count.remove(), QuotaCounter.seen_expected.remove()]


def _update(counter: QuotaCounter, actions: list[Any], condition: Any = None) -> bool:
    try:
        counter.update(actions=actions, condition=condition)
    except (UpdateError, PutError) as exc:
        if is_conditional_failure(exc):
            return False
        raise
    return True
