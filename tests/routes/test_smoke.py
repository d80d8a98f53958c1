"""The shortest path through the app: health, config, create -> refresh -> completed."""

from __future__ import annotations

from tests.support.api import body, get, post_json
from tests.support.jobs import settle


def test_health_and_config(client):
    assert body(get(client, "/api/health")) == {"status": "ok"}
    config = body(get(client, "/api/config"))
    assert [m["id"] for m in config["models"]] == ["sora-2", "sora-2-pro"]
    assert config["upstream"] == "simulator"


def test_create_then_refresh_to_completed(client):
    created = post_json(client, "/api/videos", {"prompt": "A cozy campfire", "seconds": 4})
    assert created.status_code == 201, created.body
    job = body(created)["job"]
    assert created.headers["Location"] == f"/api/videos/{job['id']}"

    final = settle(client, job["id"])
    assert final["status"] == "completed", final
    assert final["media_url"] == f"/api/videos/{job['id']}/media"
    listed = body(get(client, "/api/videos"))["jobs"]
    assert [j["id"] for j in listed] == [job["id"]]
