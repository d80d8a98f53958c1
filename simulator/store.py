"""Thread-safe in-memory video jobs whose state is computed from the clock.

Nothing ticks in the background: a job's status and progress are a pure function of the
time since it was created (scaled by ``speed``) and of whether its media has been rendered.
Render wall time at speed 1.0 is ``2 + 2 * seconds`` s; the first 10 % is ``queued``, the rest
``in_progress`` with progress 0..99. A job only reports ``completed`` once its media exists;
until then it stays ``in_progress`` at 99.
"""

from __future__ import annotations

import itertools
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass

from .errors import ApiError, bad_request, not_found
from .render import Media

QUEUED_FRACTION = 0.1
TERMINAL = frozenset({"completed", "failed"})


def render_wall_seconds(seconds: int, speed: float) -> float:
    return (2 + 2 * seconds) / speed


@dataclass(frozen=True)
class Failure:
    code: str
    message: str


@dataclass
class Job:
    id: str
    model: str
    size: str
    seconds: str
    prompt: str
    created: float
    seq: int
    remixed_from: str | None = None
    planned_failure: Failure | None = None
    media: Media | None = None
    rendered_at: float | None = None
    render_failure: Failure | None = None
    announced: bool = False


@dataclass(frozen=True)
class State:
    status: str
    progress: int
    completed_at: int | None = None
    expires_at: int | None = None
    error: Failure | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL


def new_video_id() -> str:
    return "video_" + secrets.token_hex(16)


class VideoStore:
    """Jobs by id. ``on_terminal(job, state)`` fires exactly once per job, when it is first
    observed in a terminal state (by a request or by :meth:`poll`)."""

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        speed: float = 1.0,
        expiry_seconds: int = 3600,
        on_terminal: Callable[[Job, State], None] | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.clock = clock
        self.speed = speed
        self.expiry_seconds = expiry_seconds
        self.on_terminal = on_terminal
        self._jobs: dict[str, Job] = {}
        self._seq = itertools.count()
        self._lock = threading.Lock()

    # --- writes ---------------------------------------------------------------------------
    def create(
        self,
        *,
        model: str,
        size: str,
        seconds: str,
        prompt: str,
        remixed_from: str | None = None,
        planned_failure: Failure | None = None,
    ) -> tuple[Job, State]:
        with self._lock:
            job = Job(
                id=new_video_id(),
                model=model,
                size=size,
                seconds=seconds,
                prompt=prompt,
                created=self.clock(),
                seq=next(self._seq),
                remixed_from=remixed_from,
                planned_failure=planned_failure,
            )
            self._jobs[job.id] = job
            return job, self._state(job, job.created)

    def finish_render(self, video_id: str, media: Media | None, failure: Failure | None) -> None:
        """Record the outcome of a job's render (called from the render pool)."""
        with self._lock:
            job = self._jobs.get(video_id)
            if job is None or job.rendered_at is not None:
                return
            job.rendered_at = self.clock()
            job.media = media
            job.render_failure = failure
        self.poll()

    def delete(self, video_id: str) -> Job:
        with self._lock:
            job, state = self._get(video_id)
            if not state.terminal:
                raise bad_request(
                    f"Video '{video_id}' is still processing (status '{state.status}') and "
                    "cannot be deleted until it has completed or failed.",
                    code="video_not_finished",
                )
            del self._jobs[video_id]
        self._announce([(job, state)])
        return job

    # --- reads ----------------------------------------------------------------------------
    def get(self, video_id: str) -> tuple[Job, State]:
        with self._lock:
            job, state = self._get(video_id)
        self._announce([(job, state)])
        return job, state

    def page(
        self, *, limit: int, after: str | None, order: str
    ) -> tuple[list[tuple[Job, State]], bool]:
        """Return ``([(job, state)...], has_more)`` ordered by creation time."""
        with self._lock:
            jobs = sorted(self._jobs.values(), key=lambda j: (j.created, j.seq))
            if order == "desc":
                jobs.reverse()
            if after is not None:
                ids = [j.id for j in jobs]
                if after not in ids:
                    raise bad_request(f"No video found with id '{after}'.", param="after")
                jobs = jobs[ids.index(after) + 1 :]
            now = self.clock()
            selected = [(j, self._state(j, now)) for j in jobs[:limit]]
            has_more = len(jobs) > limit
        self._announce(selected)
        return selected, has_more

    def poll(self) -> int:
        """Announce every job that has newly become terminal; return how many are pending."""
        with self._lock:
            now = self.clock()
            pending = [(j, self._state(j, now)) for j in self._jobs.values() if not j.announced]
        self._announce(pending)
        return sum(1 for _, state in pending if not state.terminal)

    def poll_after_ms(self, job: Job) -> int:
        """How long a client should wait before polling ``job`` again: a tenth of its render
        time, 10 ms to 10 s (sent as ``openai-poll-after-ms``)."""
        wall_ms = render_wall_seconds(int(job.seconds), self.speed) * 1000
        return max(10, min(10_000, round(wall_ms / 10)))

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs)

    # --- internals (lock held) ----------------------------------------------------------------
    def _get(self, video_id: str) -> tuple[Job, State]:
        job = self._jobs.get(video_id)
        if job is None:
            raise not_found(video_id)
        return job, self._state(job, self.clock())

    def _state(self, job: Job, now: float) -> State:
        total = render_wall_seconds(int(job.seconds), self.speed)
        elapsed = now - job.created
        queued_for = total * QUEUED_FRACTION
        if elapsed < queued_for:
            return State("queued", 0)
        if elapsed < total:
            return State(
                "in_progress", min(99, int(100 * (elapsed - queued_for) / (total - queued_for)))
            )
        failure = job.planned_failure or job.render_failure
        if failure is not None:
            return State("failed", 99, error=failure)
        if job.media is None or job.rendered_at is None:
            return State("in_progress", 99)
        completed_at = int(max(job.created + total, job.rendered_at))
        return State(
            "completed",
            100,
            completed_at=completed_at,
            expires_at=completed_at + self.expiry_seconds,
        )

    def _announce(self, observed: list[tuple[Job, State]]) -> None:
        """Fire ``on_terminal`` once for each job seen terminal for the first time."""
        fresh: list[tuple[Job, State]] = []
        with self._lock:
            for job, state in observed:
                if state.terminal and not job.announced:
                    job.announced = True
                    fresh.append((job, state))
        if self.on_terminal is not None:
            for job, state in fresh:
                self.on_terminal(job, state)


def require_completed(job: Job, state: State, action: str) -> None:
    """Raise the 400 a client gets when it needs a completed video but this one is not."""
    if state.status == "completed":
        return
    if state.status == "failed":
        raise ApiError(
            400,
            f"Video '{job.id}' failed and has no content to {action}.",
            code="video_failed",
        )
    raise ApiError(
        400,
        f"Video '{job.id}' is not ready yet (status '{state.status}'); poll "
        f"GET /v1/videos/{job.id} until its status is 'completed'.",
        code="video_not_ready",
    )
