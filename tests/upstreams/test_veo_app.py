"""The app with the native Veo provider against the simulator's Gemini-API mode: catalog,
create -> poll -> archive -> play, safety filtering, rate limits and refusals, through the
same routes, refresher and archive as `/v1/videos` (nothing there knows it is Veo)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.catalog.presets import VEO_SIMULATED
from chalicelib.catalog.source import load_catalog
from chalicelib.catalog.spec import build_catalog
from chalicelib.config import SettingsError, load_settings
from chalicelib.media import store as media_store
from tests.support.api import body, get, post_json
from tests.support.jobs import settle
from tests.upstreams.conftest import GEMINI_KEY

FAST = "veo-3.1-fast-generate-preview"


def finish(client: Any, job_id: str) -> dict[str, Any]:
    return settle(client, job_id)


def s3_bytes(aws: dict[str, Any], job_id: str) -> bytes:
    key = media_store.media_key(job_id, "video")
    return aws["s3"].get_object(Bucket=aws["settings"].media_bucket, Key=key)["Body"].read()


def test_veo_models_join_the_catalog_after_the_openai_ones(veo_client):
    config = body(get(veo_client, "/api/config"))
    ids = [m["id"] for m in config["models"]]
    assert ids == ["sora-2", "sora-2-pro", "veo-3.1-generate-preview", FAST]
    veo = {m["id"]: m for m in config["models"]}[FAST]
    assert veo["provider"] == "veo"
    assert veo["supports_remix"] is False and veo["supports_reference"] is True
    assert veo["capabilities"]["remix"] is False and veo["capabilities"]["first_frame"] is True
    assert veo["seconds"] == [4, 6, 8]
    assert veo["price_per_second_by_size"]["1920x1080"] == 0.12
    assert config["defaults"]["model"] == "sora-2"


def test_without_a_gemini_key_the_catalog_is_unchanged(client):
    ids = [m["id"] for m in body(get(client, "/api/config"))["models"]]
    assert ids == ["sora-2", "sora-2-pro"]


def test_model_catalog_json_replaces_the_presets(veo_env, monkeypatch):
    monkeypatch.setenv("MODEL_CATALOG_JSON", json.dumps(VEO_SIMULATED[:1]))
    catalog = build_catalog(load_settings().model_catalog)
    assert [m.id for m in catalog.models] == ["veo-3.1-generate-preview"]
    assert catalog.models[0].provider == "veo"


def test_the_retired_gemini_preview_ids_are_not_offered_by_default():
    gemini_only = load_settings({"GEMINI_API_KEY": GEMINI_KEY})
    assert load_catalog(gemini_only).models == ()
    with_gateway = load_settings({"GEMINI_API_KEY": GEMINI_KEY, "VIDEOS_API_KEY": "k"})
    assert [m.id for m in load_catalog(with_gateway).models] == ["sora-2", "sora-2-pro"]


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"GEMINI_API_BASE_URL": "ftp://example"}, "GEMINI_API_BASE_URL"),
        ({"GEMINI_API_KEY": "two words"}, "GEMINI_API_KEY"),
    ],
)
def test_gemini_settings_are_validated(env, fragment):
    with pytest.raises(SettingsError, match=fragment):
        load_settings(env)


def test_gemini_settings_defaults_and_param():
    settings = load_settings({"GEMINI_API_KEY_PARAM": "/sora-studio/dev/gemini-key"})
    assert settings.gemini_api_base_url == "https://generativelanguage.googleapis.com"
    assert settings.gemini_api_key == ""
    assert settings.gemini_api_key_param == "/sora-studio/dev/gemini-key"
    keyed = load_settings({"GEMINI_API_KEY": " AIza-secret-value "})
    assert keyed.gemini_api_key == "AIza-secret-value"
    assert "AIza-secret-value" not in repr(keyed)


def test_create_poll_archive_play(veo_client, aws, simulator):
    created = post_json(
        veo_client,
        "/api/videos",
        {"prompt": "A red fox in snow", "model": FAST, "aspect_ratio": "9:16", "seconds": 4},
    )
    assert created.status_code == 201, created.body
    job = body(created)["job"]
    assert job["sora_job_id"].startswith(f"models/{FAST}/operations/")
    assert job["size"] == "720x1280" and job["estimated_cost_usd"] == 0.4
    final = finish(veo_client, job["id"])
    assert final["status"] == "completed", final
    media = get(veo_client, final["media_url"])
    assert media.status_code == 302
    assert media_store.media_key(final["id"], "video") in media.headers["Location"]
    data = s3_bytes(aws, final["id"])
    assert data[4:8] == b"ftyp"
    # Veo makes no images: the archive holds the video only, and says so.
    assert get(veo_client, f"{final['media_url']}?variant=thumbnail").status_code == 404
    paths = [path for _, path in simulator.requests]
    assert any(p.startswith("/v1beta/media/") for p in paths)  # followed the redirect


def test_safety_filtered_job_fails_with_moderation_blocked(veo_client):
    created = post_json(
        veo_client, "/api/videos", {"prompt": "something [fail:moderation]", "model": FAST}
    )
    assert created.status_code == 201, created.body
    final = finish(veo_client, body(created)["job"]["id"])
    assert (final["status"], final["error_code"]) == ("failed", "moderation_blocked")
    assert "safety" in final["error_message"]


def test_render_failure_is_the_operation_error(veo_client):
    created = post_json(veo_client, "/api/videos", {"prompt": "x [fail:render]", "model": FAST})
    final = finish(veo_client, body(created)["job"]["id"])
    assert (final["status"], final["error_code"]) == ("failed", "internal")


def test_rate_limit_and_server_error_on_create_store_nothing(veo_client, simulator):
    before = simulator.veo.stats["create"]
    limited = post_json(veo_client, "/api/videos", {"prompt": "x [fail:ratelimit]", "model": FAST})
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
    failed = post_json(veo_client, "/api/videos", {"prompt": "x [fail:create]", "model": FAST})
    assert failed.status_code == 502
    assert body(failed)["error"]["code"] == "upstream_error"
    assert simulator.veo.stats["create"] - before == 2  # each tried once: never retried
    assert body(get(veo_client, "/api/videos"))["jobs"] == []


def test_1080p_needs_8_seconds_and_is_refused_before_any_call(veo_client, simulator):
    before = simulator.veo.stats["create"]
    refused = post_json(
        veo_client,
        "/api/videos",
        {"prompt": "p", "model": FAST, "size": "1920x1080", "seconds": 4},
    )
    assert refused.status_code == 400
    assert body(refused)["error"]["field"] == "seconds"
    assert simulator.veo.stats["create"] == before
    assert body(get(veo_client, "/api/videos"))["jobs"] == []


def test_remix_of_a_veo_video_is_refused(veo_client):
    created = post_json(veo_client, "/api/videos", {"prompt": "a boat", "model": FAST})
    final = finish(veo_client, body(created)["job"]["id"])
    assert final["status"] == "completed"
    remix = post_json(veo_client, f"/api/videos/{final['id']}/remix", {"prompt": "at night"})
    assert remix.status_code == 400
    assert body(remix)["error"]["code"] == "remix_unsupported"


def test_a_wrong_gemini_key_is_an_upstream_auth_error(veo_env, monkeypatch, simulator, client):
    simulator.veo.api_key = "the-right-key"
    try:
        refused = post_json(client, "/api/videos", {"prompt": "p", "model": FAST})
    finally:
        simulator.veo.api_key = None
    assert refused.status_code == 502
    assert "API key" in body(refused)["error"]["message"]


def test_the_gemini_key_can_come_from_ssm(veo_env, monkeypatch, aws):
    import boto3

    from chalicelib import runtime
    from chalicelib.upstreams.base import UpstreamNotConfigured
    from chalicelib.upstreams.registry import provider_named

    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name="/sora-studio/test/gemini", Value="AIza-from-ssm", Type="SecureString"
    )
    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.setenv("GEMINI_API_KEY_PARAM", "/sora-studio/test/gemini")
    runtime.init()
    try:
        veo = provider_named("veo")
        assert veo.name == "veo" and veo._api_key == "AIza-from-ssm"
        monkeypatch.delenv("GEMINI_API_KEY_PARAM")
        runtime.init()
        with pytest.raises(UpstreamNotConfigured, match="GEMINI_API_KEY"):
            provider_named("veo")
    finally:
        runtime.init()


def test_a_gemini_only_stage_with_sign_in_serves_its_finished_videos(
    veo_env, monkeypatch, aws, client
):
    """A stage as `make deploy` and `make secrets` leave it, signing callers in, whose only
    upstream key is Gemini's: its media links used to be keyed from the `/v1/videos` key it
    does not have, so every completed job's GET and the list answered 500. They have their own
    secret now, generated by `make secrets`."""
    import boto3

    from chalicelib import runtime
    from chalicelib.auth.access import token_hash
    from infra.deploy import store_secrets
    from infra.names import StageResources

    token = "sst_gemini-only-stage-0123456789"
    stage = StageResources.for_stage("dev")
    for name in ("VIDEOS_API_KEY", "OPENAI_API_KEY", "MEDIA_LINK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {**stage.params, "AUTH_MODE": "token"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MODEL_CATALOG_JSON", json.dumps(VEO_SIMULATED))
    tokens = json.dumps({token_hash(token): "gemini-user"})
    ssm = boto3.client("ssm", region_name="us-east-1")
    store_secrets(ssm, "dev", environ={"AUTH_TOKENS": tokens}, prompt=lambda _: "", say=print)
    runtime.init()
    auth = {"Authorization": f"Bearer {token}"}
    created = post_json(client, "/api/videos", {"prompt": "A heron", "model": FAST}, auth)
    assert created.status_code == 201, created.body
    job = settle(client, body(created)["job"]["id"], auth)
    assert job["status"] == "completed", job
    assert "sig=" in job["media_url"]
    listed = get(client, "/api/videos", auth)
    assert listed.status_code == 200, listed.body
    (link,) = [j["media_url"] for j in body(listed)["jobs"]]  # signed anew: a later expiry
    assert link.split("?")[0] == job["media_url"].split("?")[0] and "sig=" in link
    for url in (job["media_url"], link):
        assert get(client, url).status_code == 302  # the signature alone, no token
