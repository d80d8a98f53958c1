"""Reading and writing job items and their upstream links (the only writer of both). Every
status change is a conditional update, so DynamoDB itself refuses a move out of a terminal
state or backwards, and one writer wins each change.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib import clock
from chalicelib.errors import bad_request
from chalicelib.jobs import quotas
from chalicelib.models import (
    PENDING_MARK,
    PENDING_STATUSES,
    STATUSES,
    JobModel,
    UpstreamLink,
    is_conditional_failure,
)

LIST_SCAN_BUDGET = 2_000  # items a filtered list may examine per request before it pages


class TransitionRefused(Exception):
    """DynamoDB refused the conditional update: another writer got there first."""


def new_job(
    *,
    owner: str,
    prompt: str,
    model: str,
    provider: str,
    size: str,
    seconds: int,
    estimated_cost_usd: float,
    remixed_from: str | None = None,
    job_id: str | None = None,
) -> JobModel:
    created = clock.utcnow()
    job_id = job_id or str(uuid.uuid4())
    return JobModel(
        id=job_id,
        owner=owner,
        created_key=f"{created.strftime('%Y-%m-%dT%H:%M:%S.%f')}#{job_id}",
        pending=PENDING_MARK,
        prompt=prompt,
        prompt_lc=prompt.lower(),
        model=model,
        provider=provider,
        size=size,
        seconds=seconds,
        status="queued",
        progress=0,
        estimated_cost_usd=estimated_cost_usd,
        remixed_from=remixed_from,
        created_at=created,
        updated_at=created,
        checked_at=clock.now(),
    )


def insert(job: JobModel) -> None:
    job.save(condition=JobModel.id.does_not_exist())


def load(job_id: str) -> JobModel | None:
    try:
        return JobModel.get(job_id, consistent_read=True)
    except DoesNotExist:
        return None


def load_visible(job_id: str, owner: str) -> JobModel | None:
    """The owner's job, unless it was deleted; another owner's job looks like no job."""
    job = load(job_id)
    if job is None or job.owner != owner or job.deleted_at is not None:
        return None
    return job


def update(
    job: JobModel, actions: list[Any], condition: Any = None, *, versioned: bool = True
) -> None:
    """Conditional update (guarded by the item's version unless `versioned` is False);
    refreshes `job` in place. Raises TransitionRefused when a condition fails."""
    try:
        job.update(
            actions=[*actions, JobModel.updated_at.set(clock.utcnow())],
            condition=condition,
            add_version_condition=versioned,
        )
    except UpdateError as exc:
        if is_conditional_failure(exc):
            raise TransitionRefused(job.id) from exc
        raise


def set_progress(job: JobModel, status: str, progress: int, extra: list[Any] | None = None) -> None:
    """Move within the pending states: queued -> in_progress, progress never decreasing."""
    if status not in PENDING_STATUSES:
        raise ValueError(status)
    allowed = ("queued", "in_progress") if status == "in_progress" else ("queued",)
    condition = JobModel.status.is_in(*allowed) & (JobModel.progress <= progress)
    update(
        job,
        [JobModel.status.set(status), JobModel.progress.set(progress), *(extra or [])],
        condition,
    )


def finish(
    job: JobModel,
    status: str,
    actions: list[Any],
    condition: Any = None,
    *,
    versioned: bool = True,
) -> None:
    """Pending -> completed | failed; the pending mark goes, so the sparse index forgets it."""
    if status not in ("completed", "failed"):
        raise ValueError(status)
    guard = JobModel.status.is_in(*PENDING_STATUSES)
    if not release_slot_with(
        job,
        [JobModel.status.set(status), JobModel.pending.remove(), *actions],
        guard if condition is None else guard & condition,
        versioned=versioned,
    ):
        raise TransitionRefused(job.id)


def release_slot_with(
    job: JobModel, actions: list[Any], condition: Any, *, versioned: bool = False
) -> bool:
    """Apply `actions` to the job under `condition` and give its pending slot back, in one
    transaction. The job's `slot_released_at` mark makes the release happen at most once,
    whoever races (refresher, webhook, DELETE, cancel). False when the job's condition (or
    the mark) refused: nothing was written. Refreshes `job` in place."""
    now = clock.now()
    counters = quotas.slot_counter_ids(job.owner)
    guard = JobModel.id.exists() & JobModel.slot_released_at.does_not_exist()
    job_actions = [
        *actions,
        JobModel.slot_released_at.set(now),
        JobModel.updated_at.set(clock.utcnow()),
    ]
    for _ in range(len(counters) + 1):
        try:
            with TransactWrite(connection=quotas.connection()) as tx:
                tx.update(
                    job,
                    list(job_actions),  # PynamoDB appends its version action to the list
                    guard if condition is None else guard & condition,
                    add_version_condition=versioned,
                )
                quotas.add_slot_release(tx, counters)
        except TransactWriteError as exc:
            reasons = [getattr(r, "code", None) for r in (exc.cancellation_reasons or [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return False
            failed = quotas.failed_counters(exc, counters, offset=1)
            if not failed:
                raise
            counters = [c for c in counters if c not in failed]
            continue
        job.refresh(consistent_read=True)
        return True
    raise RuntimeError("unreachable: every counter was left out and the job still refused")


def fail(job: JobModel, code: str, message: str) -> None:
    finish(job, "failed", [JobModel.error_code.set(code), JobModel.error_message.set(message)])


def accept_upstream(job: JobModel, upstream_id: str, upstream_status: str, progress: int) -> None:
    """Upstream accepted the job as `upstream_id`: link that id to the job (so a webhook
    about it finds the job), then record it on the job with its first status."""
    UpstreamLink(UpstreamLink.key(upstream_id), job_id=job.id).save()
    status = "in_progress" if upstream_status == "in_progress" else "queued"
    # A paid render exists now, so its id is written whatever happened to the job meanwhile
    # (a DELETE while the create waited): the clean-up then deletes it upstream. Only a job
    # that already left the pending states keeps its status.
    actions = [
        JobModel.upstream_id.set(upstream_id),
        JobModel.upstream_status.set(upstream_status),
        JobModel.checked_at.set(clock.now()),
    ]
    try:
        update(
            job,
            [*actions, JobModel.status.set(status), JobModel.progress.set(min(progress, 99))],
            JobModel.id.exists() & JobModel.status.is_in(*PENDING_STATUSES),
            versioned=False,
        )
    except TransitionRefused:
        update(job, actions, JobModel.id.exists(), versioned=False)


def job_for_upstream(upstream_id: str) -> JobModel | None:
    """The job an upstream video id belongs to, through its link; None when unknown."""
    try:
        link = UpstreamLink.get(UpstreamLink.key(upstream_id))
    except DoesNotExist:
        return None
    return load(link.job_id)


def remove(job: JobModel) -> None:
    """Delete the item and its upstream link. A job that never reached a terminal state
    (deleted while rendering, or a create that failed) gives its pending slot back first,
    once: of any number of racing removers, one marks and releases; all delete."""
    if job.status in PENDING_STATUSES:
        release_slot_with(job, [], None)
    try:
        job.delete(add_version_condition=False)
    except DeleteError as exc:
        if not is_conditional_failure(exc):
            raise
    if job.upstream_id is not None:
        UpstreamLink(UpstreamLink.key(job.upstream_id)).delete()


def pending_jobs() -> list[JobModel]:
    """Every pending (or awaiting-cleanup) job via the sparse index: O(pending), not O(history)."""
    return list(JobModel.pending_index.query(PENDING_MARK))


# -- history -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    jobs: list[JobModel]
    next_cursor: str | None


def encode_cursor(key: dict[str, Any]) -> str:
    plain = {"id": key["id"]["S"], "k": key["created_key"]["S"]}
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, owner: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        plain = json.loads(base64.urlsafe_b64decode(padded.encode()))
        job_id, created_key = str(plain["id"]), str(plain["k"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise bad_request("cursor", "The cursor is not one this API handed out.") from None
    return {
        "id": {"S": job_id},
        "owner": {"S": owner},
        "created_key": {"S": created_key},
    }


def search_words(query: str) -> list[str]:
    """The distinct lower-cased words of a search (jobs_service caps how many)."""
    return list(dict.fromkeys(query.lower().split()))


def list_page(
    owner: str,
    *,
    limit: int,
    cursor: str | None,
    status: str | None,
    query: str | None,
    model: str | None = None,
) -> Page:
    """Newest first. Filters run in DynamoDB (a search matches prompts holding every one of
    its words, in any order); a page examines a bounded number of items."""
    if status is not None and status not in STATUSES:
        raise ValueError(status)
    condition = JobModel.deleted_at.does_not_exist()
    if status:
        condition &= JobModel.status == status
    if model:
        condition &= JobModel.model == model
    for word in search_words(query or ""):
        condition &= JobModel.prompt_lc.contains(word)
    filtered = bool(status or query or model)
    start = decode_cursor(cursor, owner) if cursor else None
    pages = JobModel.history_index.query(
        owner,
        scan_index_forward=False,
        filter_condition=condition,
        last_evaluated_key=start,
        page_size=max(limit, 100) if filtered else limit + 1,
    ).page_iter
    jobs: list[JobModel] = []
    for page in pages:
        items = page.get("Items", [])
        for index, raw in enumerate(items):
            jobs.append(JobModel.from_raw_data(raw))
            if len(jobs) == limit:
                more = index < len(items) - 1 or page.get("LastEvaluatedKey") is not None
                return Page(jobs, _item_cursor(jobs[-1]) if more else None)
        last_key = page.get("LastEvaluatedKey")
        if last_key is None:
            return Page(jobs, None)
        if pages.total_scanned_count >= LIST_SCAN_BUDGET:
            return Page(jobs, encode_cursor(last_key))
    return Page(jobs, None)


def _item_cursor(job: JobModel) -> str:
    return encode_cursor({"id": {"S": job.id}, "created_key": {"S": job.created_key}})
