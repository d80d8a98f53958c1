"""PynamoDB models against moto: conditional transitions refused by DynamoDB itself, the
sparse pending index, and history paging."""

from __future__ import annotations

import threading

import pytest

from chalicelib.jobs import store as job_store
from chalicelib.jobs.store import TransitionRefused
from chalicelib.models import JobModel
from tests.support.jobs import stored_job


def make_job(prompt: str = "a red fox", owner: str = "alice") -> JobModel:
    return stored_job(prompt, owner)


def test_pending_index_is_sparse(aws):
    pending = make_job("pending one")
    done = make_job("done one")
    job_store.finish(done, "completed", [JobModel.progress.set(100)])
    assert [j.id for j in job_store.pending_jobs()] == [pending.id]
    raw = aws["dynamodb"].get_item(TableName=aws["settings"].jobs_table, Key={"id": {"S": done.id}})
    assert "pending" not in raw["Item"]


def test_progress_moves_forward_only(aws):
    job = make_job()
    job_store.set_progress(job, "in_progress", 40)
    with pytest.raises(TransitionRefused):
        job_store.set_progress(job_store.load(job.id), "in_progress", 30)
    with pytest.raises(TransitionRefused):
        job_store.set_progress(job_store.load(job.id), "queued", 50)  # in_progress -> queued
    assert job_store.load(job.id).progress == 40


@pytest.mark.parametrize("terminal", ["completed", "failed"])
def test_terminal_states_are_final_in_dynamodb(aws, terminal):
    job = make_job()
    job_store.finish(job, terminal, [])
    stale = job_store.load(job.id)
    stale.status = "in_progress"  # lie to Python: only DynamoDB's condition can refuse now
    for attempt in (
        lambda: job_store.set_progress(stale, "in_progress", 50),
        lambda: job_store.finish(stale, "completed", [], versioned=False),
        lambda: job_store.fail(stale, "x", "y"),
    ):
        with pytest.raises(TransitionRefused):
            attempt()
    assert job_store.load(job.id).status == terminal


def test_one_of_many_concurrent_writers_wins(aws):
    job = make_job()
    wins: list[str] = []
    barrier = threading.Barrier(8)

    def writer(n: int) -> None:
        copy = job_store.load(job.id)
        barrier.wait()
        try:
            job_store.finish(copy, "completed" if n % 2 else "failed", [])
            wins.append("completed" if n % 2 else "failed")
        except TransitionRefused:
            pass

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert job_store.load(job.id).status == wins[0]


def test_history_pages_newest_first_with_filters(aws):
    ids = [make_job(f"clip {n} {'Ocean' if n % 3 == 0 else 'forest'}").id for n in range(12)]
    make_job("someone else's ocean", owner="bob")
    first = job_store.list_page("alice", limit=5, cursor=None, status=None, query=None)
    second = job_store.list_page(
        "alice", limit=5, cursor=first.next_cursor, status=None, query=None
    )
    third = job_store.list_page(
        "alice", limit=5, cursor=second.next_cursor, status=None, query=None
    )
    seen = [j.id for j in first.jobs + second.jobs + third.jobs]
    assert seen == list(reversed(ids)) and third.next_cursor is None
    oceans = job_store.list_page("alice", limit=2, cursor=None, status=None, query="OCEAN")
    rest = job_store.list_page(
        "alice", limit=10, cursor=oceans.next_cursor, status=None, query="ocean"
    )
    found = [j.prompt for j in oceans.jobs + rest.jobs]
    assert found == [f"clip {n} Ocean" for n in (9, 6, 3, 0)]
    assert (
        job_store.list_page("alice", limit=5, cursor=None, status="completed", query=None).jobs
        == []
    )


def test_exact_page_has_no_next_cursor(aws):
    for n in range(4):
        make_job(f"j{n}")
    page = job_store.list_page("alice", limit=4, cursor=None, status=None, query=None)
    assert len(page.jobs) == 4 and page.next_cursor is None
