"""Bad input is a 4xx, never a 500: each input an adversarial review answered with a traceback,
then a list of hostile inputs thrown at every route (`chalice.test.Client`)."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from chalicelib.webhooks.signature import sign, sign_openrouter
from tests.support.api import HEADERS, body, get, post_json
from tests.support.aws import table_items
from tests.support.jobs import completed_job

UUID = "3f2c1b7e-0000-4000-8000-000000000000"
OPENROUTER_SECRET = "openrouter-webhook-secret-for-tests"


def error(response: Any) -> dict[str, Any]:
    return body(response)["error"]


def cursor_of(plain: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


# -- the inputs found in review ---------------------------------------------------------------


def video_webhook_headers(secret: str, raw: bytes, **override: str) -> dict[str, str]:
    """Signed headers with one replaced; an id that can be signed is signed (so only its
    shape is wrong)."""
    now = int(time.time())
    msg_id = override.get("webhook-id", "msg_1")
    signable = msg_id.encode("utf-8", "surrogatepass").decode("utf-8", "replace") == msg_id
    headers = {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(now),
        "webhook-signature": sign(secret, msg_id if signable else "msg_1", now, raw),
    }
    return {**headers, **override}


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("webhook-timestamp", "²"),
        ("webhook-timestamp", "\u0661\u0662\u0663"),  # Arabic-Indic digits: isdigit() but not ASCII
        ("webhook-timestamp", "9" * 400),
        ("webhook-signature", "v1,ü"),
        ("webhook-signature", "v1,\ud800"),
        ("webhook-signature", "ü"),
        ("webhook-id", "\ud800"),
        ("webhook-id", "x" * 5000),
    ],
)
def test_garbage_video_webhook_headers_are_a_400_naming_the_header(client, secret, header, value):
    raw = json.dumps({"type": "video.completed", "data": {"id": "video_1"}}).encode()
    headers = video_webhook_headers(secret, raw, **{header: value})
    response = client.http.post("/api/webhooks/videos", headers=headers, body=raw)
    assert response.status_code == 400, response.body
    assert error(response)["code"] == "invalid_webhook"
    assert header in error(response)["message"]


@pytest.fixture
def openrouter_secret(monkeypatch: pytest.MonkeyPatch, app_env: dict[str, str]) -> str:
    monkeypatch.setenv("OPENROUTER_WEBHOOK_SECRET", OPENROUTER_SECRET)
    return OPENROUTER_SECRET


@pytest.mark.parametrize(
    "signature",
    [
        "t=²,v1=ü",
        "t=\u0661\u0662\u0663,v1=00",
        "t=\ud800,v1=00",
        "{now},v1=\ud800",
        "t={now},v1=ü",
        "=,=,=",
        "",
    ],
)
def test_garbage_openrouter_webhook_headers_are_a_400(openrouter_secret, client, signature):
    raw = json.dumps({"type": "video.generation.completed", "data": {"id": "x"}}).encode()
    now = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "X-OpenRouter-Signature": signature.format(now=f"t={now}"),
        "X-OpenRouter-Idempotency-Key": "x-completed",
    }
    response = client.http.post("/api/webhooks/openrouter", headers=headers, body=raw)
    assert response.status_code == 400, response.body
    assert error(response)["code"] == "invalid_webhook"


def test_a_signed_openrouter_delivery_with_a_garbage_id_is_a_400(openrouter_secret, client):
    raw = json.dumps({"type": "video.generation.completed", "data": {"id": "x"}}).encode()
    for delivery_id in ("\ud800", "k" * 5000):
        headers = {
            "Content-Type": "application/json",
            "X-OpenRouter-Signature": sign_openrouter(OPENROUTER_SECRET, int(time.time()), raw),
            "X-OpenRouter-Idempotency-Key": delivery_id,
        }
        response = client.http.post("/api/webhooks/openrouter", headers=headers, body=raw)
        assert response.status_code == 400, response.body
        assert "X-OpenRouter-Idempotency-Key" in error(response)["message"]


@pytest.mark.parametrize("limit", ["%C2%B2", "²", "\u0661", "9" * 5000, "-1", "0", "101", "1.5"])
def test_a_limit_that_is_no_ascii_number_is_a_400_naming_limit(client, limit):
    response = get(client, f"/api/videos?limit={limit}")
    assert response.status_code == 400, response.body
    assert error(response)["field"] == "limit"


@pytest.mark.parametrize(
    "raw",
    [
        '{"prompt": "\\ud800"}',
        '{"prompt": "a fox \\udfff in the snow"}',
        '{"prompt": "ok", "model": "\\ud800"}',
        '{"prompt": "ok", "size": "\\ud800"}',
        '{"prompt": "ok", "aspect_ratio": "\\ud800"}',
        '{"prompt": "ok", "seconds": "\\ud800"}',
        '{"prompt": "ok", "format": "\\ud800"}',
        '{"prompt": "ok", "input_reference": "\\ud800"}',
        '{"prompt": "ok", "\\ud800": 1}',
    ],
)
def test_a_lone_surrogate_in_a_create_is_a_400_naming_the_field(client, aws, raw):
    response = post_json(client, "/api/videos", raw)
    assert response.status_code == 400, response.body
    assert error(response)["field"]
    assert table_items(aws) == []


def test_a_lone_surrogate_in_a_remix_prompt_is_a_400(client, aws):
    job = completed_job(client)
    response = post_json(client, f"/api/videos/{job['id']}/remix", '{"prompt": "\\ud83d"}')
    assert response.status_code == 400, response.body
    assert error(response)["field"] == "prompt"


@pytest.mark.parametrize("route", ["/api/videos", f"/api/videos/{UUID}/remix"])
@pytest.mark.parametrize("depth", [100_000, 2_000])
def test_deeply_nested_json_is_a_400_invalid_json(client, route, depth):
    response = post_json(client, route, "[" * depth + "]" * depth)
    assert response.status_code == 400, response.body
    assert error(response)["code"] == "invalid_json"
    nested = '{"prompt": ' + '{"a": ' * depth + "1" + "}" * depth + "}"
    response = post_json(client, route, nested)
    assert response.status_code == 400, response.body


@pytest.mark.parametrize(
    "job_id",
    ["x" * 3000, "not-a-uuid", "3F2C1B7E-0000-4000-8000-00000000000", "%C2%B2", "%00", " "],
)
@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("delete", ""),
        ("get", "/media"),
        ("get", "/media?sig=1.YQ.x"),
        ("post", "/remix"),
        ("post", "/cancel"),
    ],
)
def test_a_malformed_job_id_is_a_404_on_every_route(client, monkeypatch, job_id, method, suffix):
    from chalicelib.jobs import store as job_store

    def no_read(*_: Any) -> None:
        raise AssertionError("a malformed id reached DynamoDB")

    monkeypatch.setattr(job_store, "load", no_read)
    path = f"/api/videos/{job_id}{suffix}"
    if method == "post":
        response = post_json(client, path, {"prompt": "again"})
    else:
        response = getattr(client.http, method)(path, headers={"Accept": "*/*"})
    assert response.status_code == 404, (path, response.body)
    assert error(response)["code"] == "not_found"


@pytest.mark.parametrize(
    "cursor",
    [
        "x" * 5000,
        cursor_of({"id": "", "k": ""}),
        cursor_of({"id": UUID, "k": ""}),
        cursor_of({"id": "x" * 3000, "k": "y" * 3000}),
        cursor_of({"id": "\ud800", "k": "2026-01-01T00:00:00.000000#" + UUID}),
        cursor_of({"id": UUID, "k": 1}),
        cursor_of({"id": UUID, "k": "not a created key"}),
        cursor_of([1, 2]),
        cursor_of("plain"),
        "%C2%B2",
        "====",
    ],
)
def test_a_cursor_not_handed_out_is_a_400_naming_cursor(client, cursor):
    response = get(client, f"/api/videos?cursor={cursor}")
    assert response.status_code == 400, response.body
    assert error(response)["field"] == "cursor"


def test_a_real_cursor_still_pages(client):
    ids = [
        body(post_json(client, "/api/videos", {"prompt": f"clip {n}"}))["job"]["id"]
        for n in range(3)
    ]
    page = body(get(client, "/api/videos?limit=2"))
    rest = body(get(client, f"/api/videos?limit=2&cursor={page['next_cursor']}"))
    assert [j["id"] for j in page["jobs"] + rest["jobs"]] == ids[::-1]


@pytest.mark.parametrize(
    "header",
    [
        "Bearer \ud800",
        "Bearer ²",
        "Bearer sst_ü",
        "Bearer \x00",
        "Bearer " + "t" * 5000,
        "Bearer a.b.c",
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "",
    ],
)
def test_a_garbage_bearer_token_is_a_401(client, aws, monkeypatch, header):
    from chalicelib import runtime

    monkeypatch.setenv("AUTH_MODE", "token")
    monkeypatch.setenv("AUTH_TOKENS", json.dumps({"0" * 64: "alice"}))
    runtime.init()
    for path in ("/api/usage", "/api/videos", f"/api/videos/{UUID}"):
        response = get(client, path, {"Authorization": header})
        assert response.status_code == 401, (path, response.body)
    runtime.init()


# -- everything at every route ----------------------------------------------------------------

HOSTILE_IDS = ["x" * 3000, "²", "%C2%B2", "..", "%2e%2e", "a%2Fb", "%00", "' OR 1=1 --", UUID]
HOSTILE_QUERIES = [
    "limit=%C2%B2",
    "limit=99999999999999999999999999",
    "limit=",
    "cursor=" + "A" * 10_000,
    "cursor=%00",
    "status=%C2%B2",
    "status=queued&status=failed",
    "q=" + "w%20" * 500,
    "q=%ED%A0%80",
    "q=%00",
    "model=" + "m" * 300,
    "model=%ED%A0%80",
    "variant=%C2%B2",
    "variant=reference",
    "download=%C2%B2",
    "sig=",
    "sig=...",
    "sig=1.%C2%B2.x",
    "sig=99999999999999999999.YQ.AAAA",
    "sig=" + "s" * 5000,
    "unknown=1",
    "%ED%A0%80=1",
]
HOSTILE_BODIES: list[bytes | str] = [
    b"",
    b"\xff\xfe\x00",
    b"null",
    b"[]",
    b'"text"',
    b"1e999",
    b'{"prompt": 1e999}',
    b'{"prompt": "x", "seconds": ' + b"9" * 5000 + b"}",
    b'{"prompt": "x", "seconds": "1e999"}',
    b'{"prompt": "x", "seconds": NaN}',
    b'{"prompt": "x", "seconds": true}',
    b'{"prompt": "x", "size": {"w": 1}}',
    b'{"prompt": "x", "aspect_ratio": ["16:9"]}',
    b'{"prompt": "x", "model": ["sora-2"]}',
    b'{"prompt": "x", "model": {"id": 1}}',
    b'{"prompt": "x", "input_reference": "data:image/png;base64,' + b"A" * 1000 + b'"}',
    b'{"prompt": "x", "input_reference": "data:image/jpeg;base64,/9j/"}',
    b'{"prompt": "x", "input_reference": {"url": 1}}',
    '{"prompt": "\\ud800"}',
    '{"prompt": "\\u0000"}',
    '{"prompt": "ok", "prompt": "\\udc00"}',
    "[" * 100_000,
    "{" * 50_000,
    '{"prompt": "' + "p" * 40_000 + '"}',
    b'{"prompt": "x"}' * 3,
]
HOSTILE_HEADERS: list[dict[str, str]] = [
    {"Content-Length": "²"},
    {"Content-Length": "99999999999999999999999999999"},
    {"Content-Length": "-1"},
    {"Idempotency-Key": "²" * 300},
    {"Idempotency-Key": "\ud800"},
    {"Idempotency-Key": ""},
    {"Range": "bytes=99999999999999999999999999-"},
    {"Range": "bytes=²-"},
    {"Range": "bytes=-0"},
    {"Authorization": "Bearer \ud800"},
    {"Content-Type": "application/json; charset=\ud800"},
]
KNOWN_ROUTES = {
    ("GET", "/api/health"),
    ("GET", "/api/config"),
    ("GET", "/api/usage"),
    ("GET", "/api/videos"),
    ("POST", "/api/videos"),
    ("GET", "/api/videos/{job_id}"),
    ("DELETE", "/api/videos/{job_id}"),
    ("GET", "/api/videos/{job_id}/media"),
    ("POST", "/api/videos/{job_id}/remix"),
    ("POST", "/api/videos/{job_id}/cancel"),
    ("POST", "/api/webhooks/videos"),
    ("POST", "/api/webhooks/openrouter"),
}


def every_route() -> list[tuple[str, str]]:
    """(method, path) of every route the app serves, those added later included."""
    from app import app

    routes = sorted((m, path) for path, entries in app.routes.items() for m in entries)
    assert set(routes) >= KNOWN_ROUTES
    return routes


def _call(client: Any, method: str, path: str, raw: bytes | str, headers: dict[str, str]) -> Any:
    merged = {**HEADERS, **headers}
    if method in ("GET", "DELETE"):
        return getattr(client.http, method.lower())(path, headers=merged)
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    return client.http.post(path, body=data, headers=merged)


def test_no_hostile_input_gets_a_5xx_on_any_route(openrouter_secret, client, aws):
    real = completed_job(client)["id"]
    failures: list[str] = []

    def check(method: str, path: str, raw: bytes | str = b"{}", headers: Any = None) -> None:
        try:
            response = _call(client, method, path, raw, headers or {})
        except Exception as exc:  # the app's own exception escaping the test client
            failures.append(f"{method} {path[:80]} {headers}: raised {exc!r}")
            return
        if response.status_code >= 500:
            failures.append(
                f"{method} {path[:80]} {str(raw)[:60]} {headers}: {response.status_code}"
            )

    for method, route in every_route():
        for job_id in [*HOSTILE_IDS, real] if "{job_id}" in route else [None]:
            path = route.replace("{job_id}", job_id) if job_id else route
            for query in HOSTILE_QUERIES:
                check(method, f"{path}?{query}")
            if method == "POST":
                for raw in HOSTILE_BODIES:
                    check(method, path, raw)
            for headers in HOSTILE_HEADERS:
                check(method, path, b'{"prompt": "x"}', headers)
    assert not failures, "\n".join(failures)


# -- JSON routes take application/json only ---------------------------------------------------
# A page on any origin may POST without a CORS preflight when its Content-Type is text/plain,
# form-encoded or multipart (or absent: a Blob body), so those never start a render.

SIMPLE_REQUEST_TYPES = [
    "text/plain",
    "text/plain;charset=UTF-8",
    "text/plain;application/json",
    "text/plain;a=*/*",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/octet-stream",
    "application/jsonx",
    None,
]


def json_post_routes() -> list[str]:
    from app import app

    return sorted(
        path
        for path, methods in app.routes.items()
        if "POST" in methods and not path.startswith("/api/webhooks/")
    )


def test_every_json_route_accepts_application_json_only():
    from app import app

    routes = json_post_routes()
    assert "/api/videos" in routes and "/api/videos/{job_id}/remix" in routes
    for path in routes:
        assert app.routes[path]["POST"].content_types == ["application/json"], path


@pytest.mark.parametrize("content_type", SIMPLE_REQUEST_TYPES)
def test_a_create_without_application_json_is_a_415_and_makes_nothing(
    client, aws, simulator, content_type
):
    before = simulator.stats.get("create", 0)
    headers = {"Accept": "*/*"} | ({"Content-Type": content_type} if content_type else {})
    for path in json_post_routes():
        path = path.replace("{job_id}", UUID)
        response = client.http.post(path, body=b'{"prompt": "a paid render"}', headers=headers)
        assert response.status_code == 415, (path, response.body)
        assert error(response)["code"] == "unsupported_media_type"
    assert table_items(aws) == []
    assert simulator.stats.get("create", 0) == before


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8"])
def test_application_json_is_accepted(client, content_type):
    response = client.http.post(
        "/api/videos", body=b'{"prompt": "fine"}', headers={"Content-Type": content_type}
    )
    assert response.status_code == 201, response.body


def test_webhooks_keep_their_content_types(client, secret):
    raw = json.dumps({"type": "video.completed", "data": {"id": "video_unknown"}}).encode()
    headers = video_webhook_headers(secret, raw, **{"Content-Type": "text/plain"})
    response = client.http.post("/api/webhooks/videos", headers=headers, body=raw)
    assert response.status_code == 200, response.body
