"""The wire shapes of every route, auth and request ids."""

from __future__ import annotations

import re

import requests

from tests.support.simulator import API_KEY, PROMPT, Client

VIDEO_KEYS = {
    "id",
    "object",
    "model",
    "status",
    "progress",
    "created_at",
    "completed_at",
    "expires_at",
    "size",
    "seconds",
    "quality",
    "prompt",
    "remixed_from_video_id",
    "error",
}


def assert_envelope(response: requests.Response, status: int, code: str | None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"]
    assert error["code"] == code
    return error


def test_create_answers_a_queued_video_object(api: Client) -> None:
    response = api.post("/videos", json={"prompt": PROMPT, "size": "1280x720", "seconds": "8"})
    assert response.status_code == 200
    video = response.json()
    assert set(video) == VIDEO_KEYS
    assert re.fullmatch(r"video_[0-9a-f]{32}", video["id"])
    assert video["object"] == "video"
    assert video["model"] == "sora-2"
    assert video["status"] == "queued" and video["progress"] == 0
    assert isinstance(video["created_at"], int)
    assert video["completed_at"] is None and video["expires_at"] is None
    assert (video["size"], video["seconds"], video["quality"]) == ("1280x720", "8", "standard")
    assert video["prompt"] == PROMPT
    assert video["remixed_from_video_id"] is None and video["error"] is None


def test_create_defaults(api: Client) -> None:
    video = api.create()
    assert (video["model"], video["size"], video["seconds"]) == ("sora-2", "720x1280", "4")


def test_create_accepts_multipart_form(api: Client) -> None:
    fields = {"prompt": (None, PROMPT), "model": (None, "sora-2-pro"), "size": (None, "1792x1024")}
    response = api.post("/videos", files={**fields, "seconds": (None, "12")})
    assert response.status_code == 200, response.text
    video = response.json()
    assert (video["model"], video["size"], video["seconds"]) == ("sora-2-pro", "1792x1024", "12")


def test_retrieve_returns_the_same_video(api: Client) -> None:
    created = api.create()
    fetched = api.get(f"/videos/{created['id']}")
    assert fetched.status_code == 200
    assert fetched.json()["id"] == created["id"]
    assert set(fetched.json()) == VIDEO_KEYS


def test_video_completes_with_timestamps(api: Client, sim) -> None:
    video = api.completed()
    assert video["status"] == "completed" and video["progress"] == 100
    assert video["completed_at"] >= video["created_at"]
    assert video["expires_at"] == video["completed_at"] + 3600


def test_every_response_has_a_request_id(api: Client) -> None:
    responses = [
        api.post("/videos", json={"prompt": "x [fail:render]"}),
        api.get("/videos/video_missing"),
        api.get("/nope"),
        requests.get(api.base_url + "/videos", timeout=5),  # 401
    ]
    ids = {response.headers["x-request-id"] for response in responses}
    assert len(ids) == 4
    assert all(re.fullmatch(r"req_[0-9a-f]{32}", request_id) for request_id in ids)


def test_missing_or_blank_bearer_is_401(sim) -> None:
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Basic abc"}):
        response = requests.get(sim.url + "/videos", headers=headers, timeout=5)
        error = assert_envelope(response, 401, "invalid_api_key")
        assert error["type"] == "invalid_request_error" and error["param"] is None


def test_configured_api_key_must_match(make_sim) -> None:
    sim = make_sim(api_key=API_KEY)
    with Client(sim.url, key="sk-wrong-key-123456") as wrong:
        error = assert_envelope(wrong.get("/videos"), 401, "invalid_api_key")
        assert "sk-wrong-key-123456" not in error["message"]  # keys are masked
    with Client(sim.url) as right:
        assert right.get("/videos").status_code == 200


def test_unknown_video_is_404(api: Client) -> None:
    for method, path in (
        ("GET", "/videos/video_nope"),
        ("DELETE", "/videos/video_nope"),
        ("GET", "/videos/video_nope/content"),
        ("POST", "/videos/video_nope/remix"),
    ):
        kwargs = {"json": {"prompt": "again"}} if method == "POST" else {}
        error = assert_envelope(api.request(method, path, **kwargs), 404, "not_found")
        assert "video_nope" in error["message"]


def test_unknown_route_and_wrong_method(api: Client) -> None:
    assert_envelope(api.get("/images"), 404, "unknown_url")
    response = api.put("/videos/video_x", json={})
    assert_envelope(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET, DELETE"


def test_list_pages_newest_first(api: Client) -> None:
    ids = [api.create(prompt=f"clip {i} [fail:render]")["id"] for i in range(5)]
    first = api.get("/videos", params={"limit": 2}).json()
    assert first["object"] == "list"
    assert [v["id"] for v in first["data"]] == ids[::-1][:2]
    assert (first["first_id"], first["last_id"], first["has_more"]) == (ids[4], ids[3], True)
    second = api.get("/videos", params={"limit": 2, "after": first["last_id"]}).json()
    assert [v["id"] for v in second["data"]] == [ids[2], ids[1]]
    third = api.get("/videos", params={"limit": 2, "after": second["last_id"]}).json()
    assert [v["id"] for v in third["data"]] == [ids[0]] and third["has_more"] is False
    ascending = api.get("/videos", params={"order": "asc"}).json()
    assert [v["id"] for v in ascending["data"]] == ids and ascending["has_more"] is False


def test_empty_list(api: Client) -> None:
    assert api.get("/videos").json() == {
        "object": "list",
        "data": [],
        "first_id": None,
        "last_id": None,
        "has_more": False,
    }


def test_delete_is_refused_while_processing_then_works(clock_api: Client, clock) -> None:
    video = clock_api.create()
    error = assert_envelope(clock_api.delete(f"/videos/{video['id']}"), 400, "video_not_finished")
    assert "still processing" in error["message"]
    clock.advance(5)  # in_progress now
    assert_envelope(clock_api.delete(f"/videos/{video['id']}"), 400, "video_not_finished")
    clock.advance(5)
    clock_api.wait_for(video["id"], "completed")
    deleted = clock_api.delete(f"/videos/{video['id']}")
    assert deleted.status_code == 200
    assert deleted.json() == {"id": video["id"], "object": "video.deleted", "deleted": True}
    assert_envelope(clock_api.get(f"/videos/{video['id']}"), 404, "not_found")
    assert clock_api.get("/videos").json()["data"] == []


def test_failed_video_can_be_deleted(api: Client) -> None:
    video = api.wait_for(api.create(prompt="x [fail:moderation]")["id"], "failed")
    assert api.delete(f"/videos/{video['id']}").json()["deleted"] is True


def test_remix_creates_a_linked_video(api: Client) -> None:
    source = api.completed(model="sora-2-pro", size="1280x720")
    response = api.post(f"/videos/{source['id']}/remix", json={"prompt": "Same, but snowing"})
    assert response.status_code == 200, response.text
    remix = response.json()
    assert remix["id"] != source["id"]
    assert remix["remixed_from_video_id"] == source["id"]
    assert remix["prompt"] == "Same, but snowing"
    assert (remix["model"], remix["size"], remix["seconds"]) == ("sora-2-pro", "1280x720", "4")
    assert remix["status"] == "queued"
    assert api.wait_for(remix["id"], "completed")["remixed_from_video_id"] == source["id"]


def test_remix_of_unfinished_source_is_400(clock_api: Client) -> None:
    source = clock_api.create()
    response = clock_api.post(f"/videos/{source['id']}/remix", json={"prompt": "again"})
    assert_envelope(response, 400, "video_not_ready")


def test_remix_validates_its_body(api: Client) -> None:
    path = f"/videos/{api.completed()['id']}/remix"
    missing = assert_envelope(api.post(path, json={}), 400, "missing_required_parameter")
    assert missing["param"] == "prompt"
    extra = api.post(path, json={"prompt": "a", "seconds": "8"})
    assert assert_envelope(extra, 400, "unknown_parameter")["param"] == "seconds"


def test_stats_and_requests_are_recorded(api: Client, sim) -> None:
    video = api.create(prompt="counted [fail:render]")
    api.get(f"/videos/{video['id']}")
    api.get("/videos")
    api.post("/videos", json={"prompt": "x [fail:create]"})
    assert sim.stats == {
        "create": 2,
        "retrieve": 1,
        "content": 0,
        "delete": 0,
        "remix": 0,
        "list": 1,
        "extend": 0,
    }
    assert sim.requests == [
        ("POST", "/v1/videos"),
        ("GET", f"/v1/videos/{video['id']}"),
        ("GET", "/v1/videos"),
        ("POST", "/v1/videos"),
    ]


def test_latency_is_added_to_every_request(make_sim) -> None:
    sim = make_sim(latency_ms=150)
    with Client(sim.url) as api:
        response = api.get("/videos")
    assert response.status_code == 200
    assert response.elapsed.total_seconds() >= 0.15


def test_stopped_simulator_refuses_pooled_connections(make_sim) -> None:
    sim = make_sim()
    with Client(sim.url) as api:
        assert api.get("/videos").status_code == 200  # leaves a keep-alive connection
        sim.stop()
        try:
            api.get("/videos", timeout=2)
        except requests.ConnectionError:
            pass
        else:
            raise AssertionError("a stopped simulator still answered")
