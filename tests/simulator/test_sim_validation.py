"""Every rejected create answers 400 with OpenAI's envelope, names the field, stores nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.images import convert_image, solid_png
from tests.support.simulator import Client

VEO = {"prompt": "p", "model": "veo-3"}
JSON_CASES = [
    pytest.param(["prompt"], None, "invalid_body", id="not an object"),
    pytest.param({"model": "sora-2"}, "prompt", "missing_required_parameter", id="no prompt"),
    pytest.param({"prompt": None}, "prompt", "missing_required_parameter", id="null prompt"),
    pytest.param({"prompt": ""}, "prompt", "string_below_min_length", id="empty prompt"),
    pytest.param({"prompt": "   "}, "prompt", "string_below_min_length", id="blank prompt"),
    pytest.param({"prompt": "x" * 32_001}, "prompt", "string_above_max_length", id="long"),
    pytest.param({"prompt": 42}, "prompt", "invalid_type", id="prompt not a string"),
    pytest.param({"prompt": "p", "seconds": 8}, "seconds", "invalid_type", id="int seconds"),
    pytest.param({"prompt": "p", "seconds": "5"}, "seconds", "invalid_value", id="5 seconds"),
    pytest.param({"prompt": "p", "size": "1920x1080"}, "size", "invalid_value", id="size"),
    pytest.param({"prompt": "p", "size": "1792x1024"}, "size", "invalid_value", id="pro size"),
    pytest.param({"prompt": "p", "size": [1, 2]}, "size", "invalid_type", id="size type"),
    pytest.param({"prompt": "p", "model": "a b"}, "model", "invalid_value", id="model id"),
    pytest.param({"prompt": "p", "model": 2}, "model", "invalid_type", id="model type"),
    pytest.param({"prompt": "p", "format": "mp4"}, "format", "unknown_parameter", id="unknown"),
    pytest.param({**VEO, "size": "641x480"}, "size", "invalid_value", id="odd size"),
    pytest.param({**VEO, "size": "3840x2160"}, "size", "invalid_value", id="huge size"),
    pytest.param({**VEO, "size": "8x8"}, "size", "invalid_value", id="tiny size"),
    pytest.param({**VEO, "seconds": "21"}, "seconds", "invalid_value", id="21 seconds"),
    pytest.param({**VEO, "seconds": "0"}, "seconds", "invalid_value", id="0 seconds"),
    pytest.param(
        {"prompt": "p", "input_reference": "data:image/png;base64,AA=="},
        "input_reference",
        "invalid_value",
        id="reference in JSON",
    ),
]


def assert_rejected(api: Client, sim, response, param: str | None, code: str) -> dict:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert (error["param"], error["code"]) == (param, code)
    assert error["message"]
    assert sim.store is not None and len(sim.store) == 0  # nothing was created
    return error


@pytest.mark.parametrize(("body", "param", "code"), JSON_CASES)
def test_bad_json_create_is_400(api: Client, sim, body: Any, param: str | None, code: str) -> None:
    assert_rejected(api, sim, api.post("/videos", json=body), param, code)


def test_integer_seconds_message_mirrors_openai(api: Client, sim) -> None:
    response = api.post("/videos", json={"prompt": "p", "seconds": 4})
    error = assert_rejected(api, sim, response, "seconds", "invalid_type")
    assert error["message"] == (
        "Invalid type for 'seconds': expected one of '4', '8' and '12', but got an integer instead."
    )


def test_unparseable_json_is_400(api: Client, sim) -> None:
    response = api.post("/videos", data=b"{nope", headers={"content-type": "application/json"})
    assert_rejected(api, sim, response, None, "invalid_json")


def test_unsupported_content_type_is_415(api: Client, sim) -> None:
    response = api.post("/videos", data=b"prompt=x", headers={"content-type": "text/plain"})
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_other_models_accept_any_even_size_and_1_to_20_seconds(api: Client) -> None:
    video = api.create(model="veo-3.0-generate-001", size="1920x1080", seconds="20")
    assert video["model"] == "veo-3.0-generate-001"
    assert (video["size"], video["seconds"]) == ("1920x1080", "20")
    assert api.create(model="runway/gen4", size="64x64", seconds="1")["status"] == "queued"


def test_sora_2_pro_offers_the_tall_and_wide_sizes(api: Client) -> None:
    for size in ("1024x1792", "1792x1024", "720x1280", "1280x720"):
        assert api.create(model="sora-2-pro", size=size, prompt="p [fail:render]")["size"] == size


def form(prompt: str = "p", size: str = "1280x720", **files: Any) -> dict[str, Any]:
    return {"prompt": (None, prompt), "size": (None, size), **files}


def test_reference_of_another_size_is_400(api: Client, sim) -> None:
    png = solid_png(640, 360, (255, 0, 0))
    response = api.post("/videos", files=form(input_reference=("ref.png", png, "image/png")))
    error = assert_rejected(api, sim, response, "input_reference", "invalid_value")
    assert error["message"] == "Inpaint image must match the requested width and height"


@pytest.mark.parametrize(
    ("filename", "data", "content_type"),
    [
        ("ref.gif", b"GIF89a" + b"\0" * 40, "image/gif"),
        ("ref.png", b"not an image at all", "image/png"),
        ("ref.png", b"\xff\xd8\xff\xd9", "image/jpeg"),  # JPEG without a frame header
    ],
    ids=["gif", "garbage", "truncated-jpeg"],
)
def test_reference_that_is_not_a_supported_image_is_400(
    api: Client, sim, filename: str, data: bytes, content_type: str
) -> None:
    response = api.post("/videos", files=form(input_reference=(filename, data, content_type)))
    assert_rejected(api, sim, response, "input_reference", "invalid_image_format")


def test_reference_declared_as_another_type_is_400(api: Client, sim) -> None:
    png = solid_png(1280, 720, (0, 0, 255))
    response = api.post("/videos", files=form(input_reference=("ref.jpg", png, "image/jpeg")))
    assert_rejected(api, sim, response, "input_reference", "invalid_image_format")


@pytest.mark.parametrize("extension", ["jpg", "webp"])
def test_jpeg_and_webp_references_are_accepted(api: Client, extension: str) -> None:
    image = convert_image(solid_png(1280, 720, (0, 128, 0)), extension)
    mime = {"jpg": "image/jpeg", "webp": "image/webp"}[extension]
    reference = (f"r.{extension}", image, mime)
    response = api.post("/videos", files=form("p [fail:render]", input_reference=reference))
    assert response.status_code == 200, response.text


def test_multipart_duplicates_and_unknown_fields_are_400(api: Client, sim) -> None:
    unknown = api.post("/videos", files={**form(), "duration": (None, "8")})
    assert_rejected(api, sim, unknown, "duration", "unknown_parameter")
    duplicate = api.post("/videos", files=[("prompt", (None, "a")), ("prompt", (None, "b"))])
    assert_rejected(api, sim, duplicate, "prompt", "invalid_value")


def test_malformed_multipart_is_400(api: Client, sim) -> None:
    response = api.post(
        "/videos",
        data=b"--b\r\nContent-Disposition: form-data; name=prompt\r\n\r\nhello",  # unterminated
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert_rejected(api, sim, response, None, "invalid_value")


def test_list_query_is_validated(api: Client) -> None:
    for params, param in (
        ({"limit": "-1"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"order": "newest"}, "order"),
        ({"after": "video_unknown"}, "after"),
        ({"cursor": "x"}, "cursor"),
    ):
        response = api.get("/videos", params=params)
        assert response.status_code == 400, params
        assert response.json()["error"]["param"] == param


def test_bad_content_variant_is_400(api: Client) -> None:
    video = api.completed()
    response = api.get(f"/videos/{video['id']}/content", params={"variant": "poster"})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "variant"
