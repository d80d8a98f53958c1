"""Bring one job up to date with its upstream: the single code path shared by the minute
refresher, the webhook and an inline GET. Any number of them may run at once: conditional
writes let exactly one win each transition, and an archive lease lets exactly one copy the
finished video to S3.
"""

from __future__ import annotations

import contextlib
import logging
import uuid

from chalicelib import clock, deadline
from chalicelib.config import get_settings
from chalicelib.jobs import quotas
from chalicelib.jobs import store as job_store
from chalicelib.jobs.store import TransitionRefused
from chalicelib.media import store as media_store
from chalicelib.models import PENDING_STATUSES, JobModel
from chalicelib.upstreams.base import VARIANTS, UpstreamError, UpstreamNotFound, UpstreamVideo
from chalicelib.upstreams.registry import provider_named

log = logging.getLogger(__name__)

ARCHIVE_LEASE_SECONDS = 180
SUBMISSION_GRACE_SECONDS = 300
UNCERTAIN = "uncertain"  # upstream_status of a create that broke off after it was sent

FAILURE_TEXT = {
    "timeout": "The video took too long and was stopped.",
    "expired": "The finished video expired at the video service before it could be saved.",
    "upstream_missing": "The video service no longer knows this job.",
    "submission_lost": "The request to the video service was interrupted; nothing was made.",
    "moderation_blocked": (
        "The video service refused this prompt or image under its content and safety policy. "
        "Edit the prompt or the image and try again."
    ),
    "upstream_failed": "The video service could not make this video.",
    "upstream_cancelled": "The video service cancelled this video.",
    "upstream_expired": "The video service gave up on this video before it was made.",
    "submission_uncertain": (
        "The video service did not confirm this video in time. It may have been made (and "
        "billed) there, but this studio cannot find it; its estimated cost stays counted."
    ),
}


def refresh_job(job: JobModel) -> JobModel:
    """Sync one job from upstream and archive it when finished; returns the fresh item."""
    try:
        if job.deleted_at is not None:
            _clean_up_deleted(job)
        elif job.is_pending:
            _refresh_pending(job)
    except TransitionRefused:
        log.info("job %s: another writer won; reloading", job.id)
        return job_store.load(job.id) or job
    return job


def _fail(job: JobModel, code: str, message: str | None = None) -> None:
    log.info("job %s failed: %s", job.id, code)
    job_store.fail(job, code, message or FAILURE_TEXT.get(code, "The video could not be made."))


def _refresh_pending(job: JobModel) -> None:
    now = clock.now()
    age = now - job.created_at.timestamp()
    if job.upstream_id is None:
        if age > SUBMISSION_GRACE_SECONDS:
            uncertain = job.upstream_status == UNCERTAIN
            _fail(job, "submission_uncertain" if uncertain else "submission_lost")
        return
    if job.archive_state == "archiving" and job.archive_lease_until > now:
        return  # another writer is copying the video right now
    # Judge the limit on upstream's current answer, not on the status stored at the last
    # check: a video that finished since then is saved, not thrown away as "timeout".
    timed_out = age > get_settings().pending_timeout_seconds
    provider = provider_named(job.provider)
    try:
        video = provider.retrieve(job.upstream_id)
    except UpstreamNotFound:
        _fail(job, "upstream_missing")
        return
    except UpstreamError:
        if timed_out and job.upstream_status != "completed":
            _fail(job, "timeout")
            return
        if _expired(job):  # upstream unreachable, and its copy is gone by now anyway
            _fail(job, "expired")
            return
        raise
    if timed_out and video.status in PENDING_STATUSES:
        _fail(job, "timeout")
        return
    _apply(job, video)


def _apply(job: JobModel, video: UpstreamVideo) -> None:
    now = clock.now()
    if video.status == "failed":
        # What the upstream said is logged, never shown: a user gets our own words for the
        # code (an upstream's text may hold internals, or markup for the page that shows it).
        code = video.error_code or "upstream_failed"
        log.info("job %s: upstream failed it (%s): %s", job.id, code, video.error_message)
        _fail(job, code, FAILURE_TEXT.get(code, FAILURE_TEXT["upstream_failed"]))
        # This writer won the one move to "failed" (`_fail` raises otherwise). A render the
        # upstream itself refused or failed, with no charge reported, costs nothing: its
        # reserved estimate goes back to the day and the total. A charge it reports counts.
        if video.cost_usd is None:
            quotas.refund(job.owner, job.created_at, float(job.estimated_cost_usd))
        else:
            quotas.settle(job.owner, job.created_at, float(job.estimated_cost_usd), video.cost_usd)
    elif video.status == "completed":
        if job.upstream_status != "completed":
            expires = video.expires_at or int(now) + 3600
            actions = [
                JobModel.upstream_status.set("completed"),
                JobModel.upstream_expires_at.set(expires),
                JobModel.checked_at.set(now),
            ]
            if video.cost_usd is not None:
                actions.append(JobModel.cost_usd.set(video.cost_usd))
            job_store.set_progress(job, "in_progress", 100, actions)
            if video.cost_usd is not None:  # this writer won the one move to "completed"
                quotas.settle(
                    job.owner, job.created_at, float(job.estimated_cost_usd), video.cost_usd
                )
        if deadline.active():
            return  # copying a video does not fit a request's deadline: the refresher does it
        archive(job)
    else:
        status = "in_progress" if "in_progress" in (video.status, job.status) else "queued"
        reported = video.progress if video.progress is not None else estimate_progress(job, now)
        progress = max(int(job.progress), min(int(reported), 99))
        job_store.set_progress(
            job,
            status,
            progress,
            [JobModel.upstream_status.set(video.status), JobModel.checked_at.set(now)],
        )


def estimate_progress(job: JobModel, now: float) -> int:
    """For upstreams that give no figure: the job's age against a typical render time
    (half a minute plus twelve seconds per second of video), never past 95."""
    typical = 30 + 12 * float(job.seconds)
    return min(95, int(100 * max(0.0, now - job.created_at.timestamp()) / typical))


def archive(job: JobModel) -> None:
    """Copy the finished video (and its images) to S3 once, then mark the job completed."""
    now = clock.now()
    if job.upstream_expires_at is not None and now >= job.upstream_expires_at:
        _fail(job, "expired")
        return
    token = uuid.uuid4().hex
    lease_free = (JobModel.archive_state != "archiving") | (JobModel.archive_lease_until < now)
    job_store.update(
        job,
        [
            JobModel.archive_state.set("archiving"),
            JobModel.archive_lease_until.set(now + ARCHIVE_LEASE_SECONDS),
            JobModel.archive_token.set(token),
            JobModel.archive_attempts.add(1),
        ],
        JobModel.status.is_in(*PENDING_STATUSES) & lease_free,
    )
    try:
        variants = _copy_variants(job)
    except Exception as exc:
        log.warning("job %s: archive attempt failed: %s", job.id, exc)
        job_store.update(
            job,
            [
                JobModel.archive_state.set("none"),
                JobModel.archive_lease_until.set(0),
                JobModel.archive_error.set(str(exc)[:500]),
            ],
            JobModel.archive_token == token,
            versioned=False,
        )
        if isinstance(exc, UpstreamNotFound) and _expired(job):
            _fail(job, "expired")
        return
    try:
        job_store.finish(
            job,
            "completed",
            [
                JobModel.progress.set(100),
                JobModel.archive_state.set("archived"),
                JobModel.archived_variants.set(variants),
                JobModel.content_ready_at.set(clock.utcnow()),
                JobModel.archive_error.remove(),
            ],
            # A job deleted meanwhile stays pending, so the refresher still cleans it up.
            (JobModel.archive_token == token) & JobModel.deleted_at.does_not_exist(),
            versioned=False,
        )
    except TransitionRefused:
        current = job_store.load(job.id)
        if current is None or current.deleted_at is not None:
            # Deleted while we copied: what we uploaded must not outlive it.
            media_store.delete_job_media(job.id)
        raise
    log.info("job %s: archived %s and completed", job.id, sorted(variants))


def _expired(job: JobModel) -> bool:
    return job.upstream_expires_at is not None and clock.now() >= job.upstream_expires_at


def _copy_variants(job: JobModel) -> set[str]:
    provider = provider_named(job.provider)
    copied: set[str] = set()
    for variant in VARIANTS:
        try:
            stream = provider.download(job.upstream_id, variant)
        except UpstreamNotFound:
            if variant == "video":
                raise
            log.info("job %s: upstream has no %s; skipping it", job.id, variant)
            continue
        # Any other failure (5xx, timeout) fails this attempt: it is retried on the next
        # refresh instead of completing the job without an image its view advertises.
        try:
            _, content_type = media_store.VARIANT_FILES[variant]
            media_store.upload_stream(
                media_store.media_key(job.id, variant), stream.iter_chunks(), content_type
            )
        finally:
            stream.close()
        copied.add(variant)
    return copied


def _clean_up_deleted(job: JobModel) -> None:
    """A deleted job waits until upstream finishes (it refuses to delete running jobs), and
    one deleted while its create was still on the way waits for the upstream id that create
    writes, so the paid render is deleted upstream too. Past the pending limit it goes
    anyway: a render that never ends (or an upstream that keeps failing) holds no slot."""
    provider = provider_named(job.provider)
    age = clock.now() - job.created_at.timestamp()
    give_up = age > get_settings().pending_timeout_seconds
    if job.upstream_id is None and job.is_pending and age <= SUBMISSION_GRACE_SECONDS:
        return  # the create may still be waiting on upstream
    if job.upstream_id:
        try:
            video = provider.retrieve(job.upstream_id)
        except UpstreamNotFound:
            video = None
        except UpstreamError:
            if not give_up:
                raise
            video = None
        if video is not None and video.status in PENDING_STATUSES and not give_up:
            job_store.update(job, [JobModel.checked_at.set(clock.now())], versioned=False)
            return
        if video is not None:
            with contextlib.suppress(UpstreamError):
                provider.delete(job.upstream_id)
    media_store.delete_job_media(job.id)
    job_store.remove(job)
    log.info("job %s: deleted upstream and in storage", job.id)
