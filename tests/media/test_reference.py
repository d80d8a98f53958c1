"""Image-to-video: a first-frame reference travels to upstream as a multipart file part,
is stored with the job and served back through the media route."""

from __future__ import annotations

import hashlib

import requests

from tests.support.api import body, get, post_json
from tests.support.images import data_url, solid_png


def test_reference_reaches_upstream_and_is_served_back(client, aws, simulator):
    image = solid_png(1280, 720)
    response = post_json(
        client, "/api/videos", {"prompt": "from a picture", "input_reference": data_url(image)}
    )
    assert response.status_code == 201, response.body
    job = body(response)["job"]
    assert job["reference_url"] == f"/api/videos/{job['id']}/media?variant=reference"
    redirect = get(client, job["reference_url"])
    assert redirect.status_code == 302
    stored = requests.get(redirect.headers["Location"], timeout=10)
    assert hashlib.sha256(stored.content).hexdigest() == hashlib.sha256(image).hexdigest()
    assert stored.headers["Content-Type"] == "image/png"
    upstream = requests.get(
        f"{simulator.url}/videos/{job['sora_job_id']}",
        headers={"Authorization": "Bearer k"},
        timeout=10,
    ).json()
    assert upstream["size"] == "1280x720" and upstream["status"] in (
        "queued",
        "in_progress",
        "completed",
    )


def test_no_reference_is_404(client):
    job = body(post_json(client, "/api/videos", {"prompt": "plain"}))["job"]
    assert job["reference_url"] is None
    assert get(client, f"/api/videos/{job['id']}/media?variant=reference").status_code == 404


def test_reference_url_is_signed_when_sign_in_is_on(client, aws, monkeypatch):
    import json

    from chalicelib import runtime
    from chalicelib.auth.access import token_hash

    monkeypatch.setenv("AUTH_MODE", "token")
    monkeypatch.setenv("AUTH_TOKENS", json.dumps({token_hash("sst_ref-user-token"): "ref-user"}))
    runtime.init()
    headers = {"Authorization": "Bearer sst_ref-user-token"}
    created = post_json(
        client,
        "/api/videos",
        {"prompt": "signed", "input_reference": data_url(solid_png(1280, 720))},
        headers,
    )
    job = body(created)["job"]
    assert "sig=" in job["reference_url"] and job["reference_url"].endswith("&variant=reference")
    assert client.http.get(job["reference_url"], headers={"Accept": "*/*"}).status_code == 302
    runtime.init()
