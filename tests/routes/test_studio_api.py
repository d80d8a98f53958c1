"""What the studio's history and budget line need from the API (issue 16): a search of
several words in any order, a model filter, the user's total spend beside the day's, and
cancelling a pending job."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.jobs import quotas
from tests.support.api import body, get, post_json
from tests.support.jobs import OWNER, completed_job


def create(client, prompt: str, **fields) -> dict:
    response = post_json(client, "/api/videos", {"prompt": prompt, **fields})
    assert response.status_code == 201, response.body
    return body(response)["job"]


def listed(client, query: str) -> list[str]:
    response = get(client, f"/api/videos?{query}")
    assert response.status_code == 200, response.body
    return [job["id"] for job in body(response)["jobs"]]


def usage(client) -> dict:
    return body(get(client, "/api/usage"))


def test_search_matches_every_word_in_any_order(client):
    both = create(client, "A golden Retriever running along the beach at sunset")
    create(client, "Sunset over a calm sea")
    create(client, "A retriever puppy asleep")
    assert listed(client, "q=retriever%20sunset") == [both["id"]]
    assert listed(client, "q=SUNSET%20%20golden%20retriever") == [both["id"]]
    assert listed(client, "q=retriever%20sunset%20moon") == []
    assert len(listed(client, "q=retriever")) == 2

    too_many = "%20".join(f"w{n}" for n in range(13))
    response = get(client, f"/api/videos?q={too_many}")
    assert response.status_code == 400
    assert body(response)["error"]["field"] == "q"


def test_model_filter_keeps_the_models_jobs_and_names_a_bad_value(client):
    pro = create(client, "one on the pro model", model="sora-2-pro")
    base = create(client, "one on the base model", model="sora-2")
    assert listed(client, "model=sora-2-pro") == [pro["id"]]
    assert listed(client, "model=sora-2") == [base["id"]]
    assert listed(client, "model=sora-2&q=base") == [base["id"]]
    assert listed(client, "model=retired-model") == []  # any id: old jobs keep theirs

    response = get(client, "/api/videos?model=%3Cscript%3E")
    assert response.status_code == 400
    assert body(response)["error"]["field"] == "model"


def test_usage_has_the_total_spend_beside_the_days(client):
    assert usage(client)["spent_total_usd"] == 0
    job = completed_job(client)  # a 4 s video of the default model, $0.40 estimated
    spent = usage(client)
    assert spent["spent_total_usd"] == spent["spent_today_usd"] == job["estimated_cost_usd"]

    # An upstream that says what it charged: both counters hold the actual cost instead.
    created = datetime.fromisoformat(job["created_at"].replace("Z", "+00:00")).astimezone(UTC)
    quotas.settle(OWNER, created, job["estimated_cost_usd"], 0.25)
    spent = usage(client)
    assert spent["spent_total_usd"] == spent["spent_today_usd"] == 0.25
    assert spent["remaining_today_usd"] == round(spent["daily_budget_usd"] - 0.25, 2)

    # A create the upstream refused costs nothing, in either counter.
    refused = post_json(client, "/api/videos", {"prompt": "no [fail:create]"})
    assert refused.status_code == 502
    assert usage(client)["spent_total_usd"] == 0.25


def test_cancel_a_pending_job_returns_its_slot_and_its_spend(client, simulator):
    job = create(client, "a long render to stop", seconds=12)
    before = usage(client)
    assert before["pending"] == 1 and before["spent_total_usd"] == job["estimated_cost_usd"]

    response = post_json(client, f"/api/videos/{job['id']}/cancel", {})
    assert response.status_code == 200, response.body
    cancelled = body(response)["job"]
    assert (cancelled["status"], cancelled["error_code"]) == ("failed", "cancelled")
    assert cancelled["error_message"]
    after = usage(client)
    assert (after["pending"], after["spent_today_usd"], after["spent_total_usd"]) == (0, 0, 0)
    assert body(get(client, f"/api/videos/{job['id']}"))["job"]["status"] == "failed"

    again = post_json(client, f"/api/videos/{job['id']}/cancel", {})
    assert again.status_code == 409
    assert body(again)["error"]["code"] == "not_pending"
    missing = post_json(client, "/api/videos/00000000-0000-4000-8000-000000000000/cancel", {})
    assert missing.status_code == 404


def test_a_completed_job_cannot_be_cancelled(client):
    job = completed_job(client)
    response = post_json(client, f"/api/videos/{job['id']}/cancel", {})
    assert response.status_code == 409
    assert body(response)["error"]["code"] == "not_pending"
    assert usage(client)["spent_total_usd"] == job["estimated_cost_usd"]
