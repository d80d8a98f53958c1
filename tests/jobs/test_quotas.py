"""Spend guards: the per-user pending limit under concurrent submissions, the daily budget
to the cent, and the global pending cap. One prompt throughout: the simulator renders it
once for the session."""

from __future__ import annotations

import json
import threading

import pytest

from chalicelib import runtime
from chalicelib.errors import LimitReached
from chalicelib.http import refusal
from chalicelib.jobs import refresher
from chalicelib.jobs import service as jobs_service
from tests.support.api import body, post_json
from tests.support.jobs import PROMPT
from tests.support.wait import wait_until

PROMPT_BODY = json.dumps({"prompt": PROMPT}).encode()


def test_twenty_concurrent_submissions_against_a_limit_of_five_admit_five(
    aws, monkeypatch, simulator
):
    monkeypatch.setenv("USER_MAX_PENDING_JOBS", "5")
    runtime.init()
    before = simulator.stats.get("create", 0)
    outcomes: list[object] = []
    barrier = threading.Barrier(20)

    def submit(n: int) -> None:
        barrier.wait()
        try:
            jobs_service.create("alice", PROMPT_BODY, None)
            outcomes.append(201)
        except LimitReached as exc:
            outcomes.append((refusal(exc).status_code, exc.code))

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count(201) == 5
    assert outcomes.count((429, "too_many_pending")) == 15
    assert simulator.stats["create"] == before + 5
    # Finishing jobs frees their slots.
    wait_until(lambda: refresher.refresh_pending().outcomes.get("completed", 0) >= 1 or None)
    jobs_service.create("alice", PROMPT_BODY, None)


def test_daily_budget_edge(client, monkeypatch):
    monkeypatch.setenv("USER_DAILY_BUDGET_USD", "1.20")
    runtime.init()
    for _ in range(3):  # 3 x $0.40 = exactly the budget
        assert post_json(client, "/api/videos", {"prompt": PROMPT, "seconds": 4}).status_code == 201
    over = post_json(client, "/api/videos", {"prompt": PROMPT, "seconds": 4})
    assert over.status_code == 429
    assert body(over)["error"]["code"] == "daily_budget_exceeded"
    assert 0 < int(over.headers["Retry-After"]) <= 86400
    usage = body(client.http.get("/api/usage", headers={"Accept": "*/*"}))
    assert usage["spent_today_usd"] == pytest.approx(1.2) and usage["remaining_today_usd"] == 0


def test_global_cap(aws, monkeypatch):
    monkeypatch.setenv("GLOBAL_MAX_PENDING_JOBS", "2")
    runtime.init()
    jobs_service.create("alice", PROMPT_BODY, None)
    jobs_service.create("bob", PROMPT_BODY, None)
    with pytest.raises(LimitReached) as info:
        jobs_service.create("carol", PROMPT_BODY, None)
    assert (refusal(info.value).status_code, info.value.code) == (429, "server_busy")
