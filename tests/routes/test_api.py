"""Routes through chalice.test.Client: idempotency, upstream failures, listing."""

from __future__ import annotations

import pytest

from chalicelib import runtime
from tests.support.api import body, get, post_json
from tests.support.aws import table_items
from tests.support.jobs import completed_job, settle


def test_idempotency_key_returns_same_job_without_second_render(client, aws, simulator):
    before = simulator.stats.get("create", 0)
    payload = {"prompt": "same thing twice"}
    first = post_json(client, "/api/videos", payload, {"Idempotency-Key": "k-1"})
    second = post_json(client, "/api/videos", payload, {"Idempotency-Key": "k-1"})
    assert first.status_code == second.status_code == 201
    assert body(first)["job"]["id"] == body(second)["job"]["id"]
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert simulator.stats["create"] == before + 1
    other = post_json(client, "/api/videos", {"prompt": "different"}, {"Idempotency-Key": "k-1"})
    assert other.status_code == 409
    assert body(other)["error"]["code"] == "idempotency_key_reused"
    assert len(body(get(client, "/api/videos"))["jobs"]) == 1


@pytest.mark.parametrize(
    ("marker", "status", "code"),
    [("[fail:create]", 502, "upstream_error"), ("[fail:ratelimit]", 429, "rate_limited")],
)
def test_upstream_failure_on_create_stores_nothing(client, aws, marker, status, code):
    response = post_json(
        client, "/api/videos", {"prompt": f"boom {marker}"}, {"Idempotency-Key": "k"}
    )
    assert response.status_code == status, response.body
    assert body(response)["error"]["code"] == code
    if status == 429:
        assert int(response.headers["Retry-After"]) >= 1
    assert table_items(aws) == []
    usage = body(get(client, "/api/usage"))
    assert (usage["pending"], usage["spent_today_usd"]) == (0, 0)
    # The key was released: the user may try again (and this time it works).
    retry = post_json(client, "/api/videos", {"prompt": "fine now"}, {"Idempotency-Key": "k2"})
    assert retry.status_code == 201


def test_get_unknown_is_404_in_contract_shape(client):
    response = get(client, "/api/videos/does-not-exist")
    assert response.status_code == 404
    assert body(response) == {"error": {"code": "not_found", "message": "No such video."}}
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_list_pages_with_cursor_and_filters(client):
    ids = [
        body(post_json(client, "/api/videos", {"prompt": f"clip {n}"}))["job"]["id"]
        for n in range(5)
    ]
    page = body(get(client, "/api/videos?limit=2"))
    assert [j["id"] for j in page["jobs"]] == ids[::-1][:2]
    page2 = body(get(client, f"/api/videos?limit=2&cursor={page['next_cursor']}"))
    assert [j["id"] for j in page2["jobs"]] == ids[::-1][2:4]
    found = body(get(client, "/api/videos?q=CLIP%203"))["jobs"]
    assert [j["id"] for j in found] == [ids[3]]
    assert body(get(client, "/api/videos?status=failed"))["jobs"] == []


def test_moderation_failure_is_reported(client):
    job = body(post_json(client, "/api/videos", {"prompt": "bad [fail:moderation]"}))["job"]
    final = settle(client, job["id"])
    assert final["status"] == "failed", final
    assert final["error_code"] == "moderation_blocked" and final["error_message"]
    assert final["media_url"] is None


def test_delete_of_a_completed_job_leaves_no_items_behind(client, aws):
    job = completed_job(client)
    assert client.http.delete(f"/api/videos/{job['id']}").status_code == 204
    assert table_items(aws) == []  # no job, no upstream link, no idempotency record
    listed = aws["s3"].list_objects_v2(Bucket=aws["settings"].media_bucket)
    assert listed.get("KeyCount", 0) == 0


def test_body_size_limit(client, monkeypatch):
    monkeypatch.setenv("MAX_BODY_BYTES", "2048")
    runtime.init()
    response = post_json(client, "/api/videos", {"prompt": "x" * 4000})
    assert response.status_code == 413
    assert body(response)["error"]["code"] == "payload_too_large"
