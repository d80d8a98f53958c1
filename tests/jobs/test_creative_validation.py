"""The creative controls of `POST /api/videos` (issue 14): `last_frame`, `reference_images`,
`audio` and `seed` beside `input_reference`, each taken only by a model whose capabilities say
so (a 400 naming the field otherwise, refused before any storage or upstream call), stored with
the job and served back as media variants; and `POST /api/videos/{id}/extend`'s refusals.

The catalog is two OpenRouter models (`MODEL_CATALOG_JSON`): one that takes every control and
one that takes none, so nothing here depends on a provider's name."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import responses

from tests.jobs.test_validation import offline_client  # noqa: F401 (the fixture)
from tests.support.api import body, get, post_json
from tests.support.aws import table_items
from tests.support.images import convert_image, data_url, solid_png
from tests.support.jobs import s3_bytes, s3_keys, stored_job

BASE = "https://openrouter.test/api/v1"
EVERY = "test/every-control"
PLAIN = "test/text-only"
SIZE = (1280, 720)
CATALOG = [
    {
        "id": EVERY,
        "provider": "openrouter",
        "sizes": ["1280x720", "720x1280"],
        "seconds": [4, 8],
        "price_per_second_usd": 0.2,
        "price_per_second_with_audio_by_size": {"1280x720": 0.4, "720x1280": 0.4},
        "capabilities": {
            "first_frame": True,
            "last_frame": True,
            "reference_images": 2,
            "audio": True,
            "seed": True,
            "extend": True,
        },
    },
    {
        "id": PLAIN,
        "provider": "openrouter",
        "sizes": ["1280x720"],
        "seconds": [4],
        "price_per_second_usd": 0.1,
    },
]
FRAME = data_url(solid_png(*SIZE, (200, 40, 40)))
WRONG_SIZE = data_url(solid_png(64, 36))
HUGE = data_url(b"\x89PNG\r\n\x1a\n" + b"\0" * (8 * 1024 * 1024 + 10))
NOT_AN_IMAGE = data_url(b"plain text here", "image/png")


@pytest.fixture(autouse=True)
def _two_models(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL_CATALOG_JSON", json.dumps(CATALOG))
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-test-key-0123456789")
    monkeypatch.setenv("OPENROUTER_BASE_URL", BASE)
    from tests.support.env import reload_runtime

    reload_runtime()


@pytest.fixture
def upstream(client: Any) -> Iterator[responses.RequestsMock]:
    """OpenRouter's create, answered 202 and recorded (nothing else may be called)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mocked.post(f"{BASE}/videos", json={"id": "gen-1", "status": "pending"}, status=202)
        yield mocked


def sent(mocked: responses.RequestsMock) -> dict[str, Any]:
    (call,) = mocked.calls
    return json.loads(call.request.body)


# -- a field the model does not take ---------------------------------------------------------

UNTAKEN = [
    ("input_reference", FRAME),
    ("last_frame", FRAME),
    ("reference_images", [FRAME]),
    ("audio", True),
    ("audio", False),
    ("seed", 7),
]


@pytest.mark.parametrize(("field", "value"), UNTAKEN, ids=[f"{f}={v!r:.12}" for f, v in UNTAKEN])
def test_a_control_the_model_does_not_take_is_400_naming_it(offline_client, field, value):  # noqa: F811
    payload = {"prompt": "a lighthouse", "model": PLAIN, field: value}
    response = post_json(offline_client, "/api/videos", payload)
    assert response.status_code == 400, response.body
    error = body(response)["error"]
    assert (error["code"], error["field"]) == ("invalid_request", field)
    assert PLAIN in error["message"]


def test_null_or_no_images_is_no_control_at_all(client, aws, upstream):
    payload = {
        "prompt": "a lighthouse",
        "model": PLAIN,
        "input_reference": None,
        "last_frame": None,
        "reference_images": [],
        "audio": None,
        "seed": None,
    }
    response = post_json(client, "/api/videos", payload)
    assert response.status_code == 201, response.body
    job = body(response)["job"]
    assert (job["last_frame_url"], job["reference_urls"], job["audio"], job["seed"]) == (
        None,
        [],
        None,
        None,
    )
    assert set(sent(upstream)) == {"model", "prompt", "duration", "size"}


# -- each field's own rules --------------------------------------------------------------------

BAD_VALUES = [
    ("last_frame not a data url", {"last_frame": "https://example.com/end.png"}, "last_frame"),
    ("last_frame not an image", {"last_frame": NOT_AN_IMAGE}, "last_frame"),
    ("last_frame broken base64", {"last_frame": "data:image/png;base64,@@@"}, "last_frame"),
    ("last_frame another size", {"last_frame": WRONG_SIZE}, "last_frame"),
    ("last_frame over 8 MB", {"last_frame": HUGE}, "last_frame"),
    ("references not a list", {"reference_images": FRAME}, "reference_images"),
    ("references over the count", {"reference_images": [FRAME] * 3}, "reference_images"),
    ("reference not an image", {"reference_images": [FRAME, NOT_AN_IMAGE]}, "reference_images"),
    ("reference not a string", {"reference_images": [42]}, "reference_images"),
    ("reference over 8 MB", {"reference_images": [HUGE]}, "reference_images"),
    (
        "reference over 4096 a side",
        {"reference_images": [data_url(solid_png(4097, 8))]},
        "reference_images",
    ),
    ("audio a string", {"audio": "yes"}, "audio"),
    ("audio a number", {"audio": 1}, "audio"),
    ("seed negative", {"seed": -1}, "seed"),
    ("seed past 32 bits", {"seed": 4_294_967_296}, "seed"),
    ("seed a boolean", {"seed": True}, "seed"),
    ("seed a fraction", {"seed": 1.5}, "seed"),
    ("seed a string", {"seed": "42"}, "seed"),
    ("first frame still checked", {"input_reference": WRONG_SIZE}, "input_reference"),
]


@pytest.mark.parametrize(("case", "fields", "field"), BAD_VALUES, ids=[c[0] for c in BAD_VALUES])
def test_a_bad_value_is_400_naming_its_field(offline_client, case, fields, field):  # noqa: F811
    payload = {"prompt": "a lighthouse", "model": EVERY, **fields}
    response = post_json(offline_client, "/api/videos", payload)
    assert response.status_code == 400, response.body
    assert body(response)["error"]["field"] == field


def test_a_bad_reference_image_is_named_by_its_place_in_the_list(offline_client):  # noqa: F811
    payload = {"prompt": "a lighthouse", "model": EVERY, "reference_images": [FRAME, "nope"]}
    error = body(post_json(offline_client, "/api/videos", payload))["error"]
    assert error["field"] == "reference_images"
    assert "reference_images[1]" in error["message"]


def test_a_rejected_control_stores_nothing_and_calls_nothing(client, aws):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        for payload in (
            {"model": PLAIN, "seed": 1},
            {"model": EVERY, "reference_images": [FRAME] * 3},
            {"model": EVERY, "input_reference": FRAME, "last_frame": WRONG_SIZE},
        ):
            response = post_json(client, "/api/videos", {"prompt": "a lighthouse", **payload})
            assert response.status_code == 400, payload
        assert len(mocked.calls) == 0
    assert table_items(aws) == []
    listed = aws["s3"].list_objects_v2(Bucket=aws["settings"].media_bucket)
    assert listed.get("KeyCount", 0) == 0


# -- accepted: stored, sent, served back ---------------------------------------------------------


def test_every_control_is_stored_sent_and_shown_on_the_job(client, aws, upstream):
    last = solid_png(*SIZE, (20, 200, 40))
    wide = convert_image(solid_png(640, 360, (10, 10, 220)), "jpg")  # any size, any type
    tall = convert_image(solid_png(300, 500, (220, 220, 10)), "webp")
    payload = {
        "prompt": "a lighthouse at dusk",
        "model": EVERY,
        "input_reference": FRAME,
        "last_frame": data_url(last),
        "reference_images": [data_url(wide, "image/jpeg"), data_url(tall, "image/webp")],
        "audio": True,
        "seed": 4_294_967_295,
    }
    response = post_json(client, "/api/videos", payload)
    assert response.status_code == 201, response.body
    job = body(response)["job"]
    media = f"/api/videos/{job['id']}/media"
    assert job["reference_url"] == f"{media}?variant=reference"
    assert job["last_frame_url"] == f"{media}?variant=last_frame"
    assert job["reference_urls"] == [f"{media}?variant=reference_0", f"{media}?variant=reference_1"]
    assert (job["audio"], job["seed"], job["extended_from"]) == (True, 4_294_967_295, None)
    assert job["estimated_cost_usd"] == pytest.approx(0.4 * 4)  # the sound price

    prefix = f"videos/{job['id']}"
    assert s3_keys(aws, job["id"]) == [
        f"{prefix}/last_frame.png",
        f"{prefix}/reference.png",
        f"{prefix}/reference_0.jpg",
        f"{prefix}/reference_1.webp",
    ]
    assert s3_bytes(aws, f"{prefix}/last_frame.png") == last
    assert s3_bytes(aws, f"{prefix}/reference_1.webp") == tall

    request = sent(upstream)
    assert [f["frame_type"] for f in request["frame_images"]] == ["first_frame", "last_frame"]
    assert len(request["input_references"]) == 2
    assert (request["generate_audio"], request["seed"]) == (True, 4_294_967_295)


@pytest.mark.parametrize(
    ("audio", "sent_audio", "estimate"),
    [(None, True, 1.6), (True, True, 1.6), (False, False, 0.8)],
    ids=["default-on", "on", "off"],
)
def test_sound_defaults_to_on_and_sets_the_estimate(
    client, aws, upstream, audio, sent_audio, estimate
):
    payload: dict[str, Any] = {"prompt": "waves", "model": EVERY}
    if audio is not None:
        payload["audio"] = audio
    job = body(post_json(client, "/api/videos", payload))["job"]
    assert job["audio"] is sent_audio
    assert job["estimated_cost_usd"] == pytest.approx(estimate)
    assert sent(upstream)["generate_audio"] is sent_audio


def test_seed_zero_is_a_seed(client, aws, upstream):
    job = body(post_json(client, "/api/videos", {"prompt": "waves", "model": EVERY, "seed": 0}))
    assert job["job"]["seed"] == 0
    assert sent(upstream)["seed"] == 0


def test_inputs_are_served_as_media_variants(client, aws, upstream):
    payload = {
        "prompt": "a lighthouse",
        "model": EVERY,
        "last_frame": FRAME,
        "reference_images": [FRAME, FRAME],
    }
    job = body(post_json(client, "/api/videos", payload))["job"]
    media = f"/api/videos/{job['id']}/media"
    for variant, name in (("last_frame", "last_frame"), ("reference_1", "reference_1")):
        redirect = get(client, f"{media}?variant={variant}")
        assert redirect.status_code == 302, variant
        assert f"videos/{job['id']}/{name}.png" in redirect.headers["Location"]
    assert get(client, f"{media}?variant=reference").status_code == 404  # no first frame
    assert get(client, f"{media}?variant=reference_2").status_code == 404  # two were given
    for bad in ("reference_16", "reference_x", "reference_01", "last-frame"):
        response = get(client, f"{media}?variant={bad}")
        assert response.status_code == 400, bad
        assert body(response)["error"]["field"] == "variant"


def test_input_links_are_signed_per_variant_when_sign_in_is_on(client, aws, upstream, monkeypatch):
    from chalicelib.auth.access import token_hash
    from tests.support.env import reload_runtime

    monkeypatch.setenv("AUTH_MODE", "token")
    monkeypatch.setenv("AUTH_TOKENS", json.dumps({token_hash("sst_creative-user"): "creative"}))
    reload_runtime()
    headers = {"Authorization": "Bearer sst_creative-user"}
    payload = {"prompt": "signed", "model": EVERY, "last_frame": FRAME, "reference_images": [FRAME]}
    job = body(post_json(client, "/api/videos", payload, headers))["job"]
    link = job["reference_urls"][0]
    assert "sig=" in link and link.endswith("&variant=reference_0")
    assert "sig=" in job["last_frame_url"] and job["last_frame_url"].endswith("&variant=last_frame")
    assert get(client, link).status_code == 302  # no token: the signature is enough
    # A link signed for one input does not open another.
    assert get(client, link.replace("variant=reference_0", "variant=last_frame")).status_code in (
        401,
        403,
    )


# -- extend: the refusals ----------------------------------------------------------------------


def completed_source(model: str = EVERY, **fields: Any) -> Any:
    done = {"status": "completed", "pending": None, "progress": 100, "upstream_status": "completed"}
    return stored_job(
        model=model,
        provider="openrouter",
        size="1280x720",
        upstream_id="gen-source",
        **{**done, **fields},
    )


def extend(client: Any, job_id: str, payload: Any) -> Any:
    return post_json(client, f"/api/videos/{job_id}/extend", payload)


def test_extend_an_unknown_job_is_404(client, aws):
    missing = "00000000-0000-4000-8000-000000000000"
    assert extend(client, missing, {"prompt": "more"}).status_code == 404
    assert extend(client, "not-a-job-id", {"prompt": "more"}).status_code == 404


def test_extend_a_job_not_completed_is_409(client, aws):
    source = completed_source(status="in_progress", pending="P")
    response = extend(client, source.id, {"prompt": "more"})
    assert response.status_code == 409
    assert body(response)["error"]["code"] == "source_not_completed"


def test_extend_a_video_the_upstream_no_longer_keeps_is_409(client, aws):
    source = completed_source(upstream_expires_at=1)
    response = extend(client, source.id, {"prompt": "more"})
    assert (response.status_code, body(response)["error"]["code"]) == (409, "source_expired")


def test_extend_on_a_model_that_cannot_is_400_naming_nothing(client, aws):
    source = completed_source(model=PLAIN)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        response = extend(client, source.id, {"prompt": "more"})
        assert len(mocked.calls) == 0
    assert response.status_code == 400
    error = body(response)["error"]
    assert error["code"] == "extend_unsupported" and "field" not in error


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"seconds": 4}, "prompt"),
        ({"prompt": "  "}, "prompt"),
        ({"prompt": "more", "seconds": 6}, "seconds"),
        ({"prompt": "more", "seconds": "lots"}, "seconds"),
        ({"prompt": "more", "model": EVERY}, "model"),
    ],
)
def test_extend_bad_input_is_400_naming_the_field(client, aws, payload, field):
    source = completed_source()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        response = extend(client, source.id, payload)
        assert len(mocked.calls) == 0
    assert response.status_code == 400, response.body
    assert body(response)["error"]["field"] == field
    assert [i["id"]["S"] for i in table_items(aws) if not i["id"]["S"].startswith("quota#")] == [
        source.id
    ]


def test_extend_makes_a_longer_job_priced_for_the_new_seconds(client, aws, upstream):
    source = completed_source(seconds=4, audio=False)
    response = extend(client, source.id, {"prompt": "the tide comes in", "seconds": 8})
    assert response.status_code == 201, response.body
    job = body(response)["job"]
    assert (job["extended_from"], job["seconds"], job["model"]) == (source.id, 12, EVERY)
    assert job["audio"] is False
    assert job["estimated_cost_usd"] == pytest.approx(0.2 * 8)
    assert response.headers["Location"] == f"/api/videos/{job['id']}"
    assert sent(upstream) == {
        "model": EVERY,
        "prompt": "the tide comes in",
        "duration": 8,
        "previous_job_id": "gen-source",
    }
