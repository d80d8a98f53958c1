"""Every bad input of the contract: 400 naming the field, refused before any storage or
upstream call (checked without moto: no AWS request may leave), and what the routes accept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import responses

from tests.support.api import body, get, post_json
from tests.support.aws import table_items
from tests.support.images import data_url, solid_png

BAD_INPUTS = [
    ("not an object", "[1, 2]", None),
    ("not json", "{prompt:", None),
    ("empty body", "", None),
    ("missing prompt", {"model": "sora-2"}, "prompt"),
    ("blank prompt", {"prompt": "   \n "}, "prompt"),
    ("prompt not a string", {"prompt": 42}, "prompt"),
    ("prompt too long", {"prompt": "x" * 32_001}, "prompt"),
    ("unknown field", {"prompt": "a cat", "quality": "hd"}, "quality"),
    ("unknown model", {"prompt": "a cat", "model": "sora-9"}, "model"),
    ("size not allowed", {"prompt": "a cat", "model": "sora-2", "size": "1792x1024"}, "size"),
    ("size garbage", {"prompt": "a cat", "size": "big"}, "size"),
    ("seconds not allowed", {"prompt": "a cat", "seconds": 5}, "seconds"),
    ("seconds not a number", {"prompt": "a cat", "seconds": "eight"}, "seconds"),
    ("seconds boolean", {"prompt": "a cat", "seconds": True}, "seconds"),
    ("duration not allowed", {"prompt": "a cat", "duration": 30}, "duration"),
    ("seconds and duration disagree", {"prompt": "a cat", "seconds": 4, "duration": 8}, "duration"),
    ("unknown aspect ratio", {"prompt": "a cat", "aspect_ratio": "4:3"}, "aspect_ratio"),
    (
        "size and aspect disagree",
        {"prompt": "a cat", "size": "1280x720", "aspect_ratio": "9:16"},
        "aspect_ratio",
    ),
    ("aspect not offered by model", {"prompt": "a cat", "aspect_ratio": "7:4"}, "aspect_ratio"),
    ("format not mp4", {"prompt": "a cat", "format": "webm"}, "format"),
    (
        "reference not data url",
        {"prompt": "a cat", "input_reference": "http://x/y.png"},
        "input_reference",
    ),
    (
        "reference not an image",
        {"prompt": "a cat", "input_reference": data_url(b"plain text here", "image/png")},
        "input_reference",
    ),
    (
        "reference broken base64",
        {"prompt": "a cat", "input_reference": "data:image/png;base64,@@@not-base64@@@"},
        "input_reference",
    ),
    (
        "reference wrong pixel size",
        {"prompt": "a cat", "input_reference": data_url(solid_png(64, 36))},
        "input_reference",
    ),
    (
        "reference too large",
        {
            "prompt": "a cat",
            "input_reference": data_url(b"\x89PNG\r\n\x1a\n" + b"\0" * (8 * 1024 * 1024 + 10)),
        },
        "input_reference",
    ),
]


@pytest.fixture
def offline_client(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The Chalice test client without moto: any AWS or HTTP request fails the test."""
    import botocore.endpoint
    from chalice.test import Client

    from app import app
    from tests.support.env import reload_runtime

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an AWS request was made")

    monkeypatch.setattr(botocore.endpoint.Endpoint, "_send", refuse)
    reload_runtime()
    with (
        responses.RequestsMock(assert_all_requests_are_fired=False) as mocked,
        Client(app, stage_name="test") as client,
    ):
        yield client
        assert len(mocked.calls) == 0  # not one HTTP request left the process
    reload_runtime()


@pytest.mark.parametrize(("case", "payload", "field"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_is_400_naming_the_field(offline_client, case, payload, field):
    response = post_json(offline_client, "/api/videos", payload)
    assert response.status_code == 400, response.body
    error = body(response)["error"]
    assert error["code"] in ("invalid_request", "invalid_json")
    assert error["message"]
    assert error.get("field") == field


def test_bad_idempotency_key_is_400(client, aws):
    response = post_json(client, "/api/videos", {"prompt": "a cat"}, {"Idempotency-Key": "x" * 300})
    assert response.status_code == 400
    assert body(response)["error"]["field"] == "Idempotency-Key"
    assert table_items(aws) == []


def test_accepted_aliases_and_defaults(client):
    response = post_json(
        client,
        "/api/videos",
        {"prompt": "  a dog  ", "aspect_ratio": "9:16", "duration": "8", "format": "mp4"},
    )
    assert response.status_code == 201, response.body
    job = body(response)["job"]
    assert (job["prompt"], job["size"], job["seconds"], job["aspect_ratio"]) == (
        "a dog",
        "720x1280",
        8,
        "9:16",
    )
    assert job["estimated_cost_usd"] == pytest.approx(0.8)


def test_pro_price_depends_on_size(client):
    response = post_json(
        client,
        "/api/videos",
        {"prompt": "a dog", "model": "sora-2-pro", "size": "1792x1024", "seconds": 12},
    )
    assert body(response)["job"]["estimated_cost_usd"] == pytest.approx(6.0)


def test_list_query_validation(client):
    for query, field in (
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=x", "limit"),
        ("status=done", "status"),
        ("cursor=%%%", "cursor"),
        ("sort=asc", "sort"),
    ):
        response = get(client, f"/api/videos?{query}")
        assert response.status_code == 400, query
        assert body(response)["error"]["field"] == field, query


def test_json_body_sent_as_text_plain_is_refused(client):
    # text/plain needs no CORS preflight: any page could start renders (tests/routes/
    # test_hostile_input.py has every such type).
    response = client.http.post(
        "/api/videos",
        body=json.dumps({"prompt": "text plain"}),
        headers={"Content-Type": "text/plain"},
    )
    assert response.status_code == 415
