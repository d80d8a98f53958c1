"""The app with Veo on Vertex AI as its only upstream (a service-account key, nothing else),
against the simulator's Vertex protocol: the catalog, create -> poll -> archive -> play with
inline and with Cloud Storage results, safety filtering, rate limits and refusals, a refused
project, a revoked token, and the key read from SSM. Routes, refresher and archive are the
shared ones: nothing there knows it is Vertex."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.catalog.source import load_catalog
from chalicelib.config import SettingsError, load_settings
from chalicelib.media import store as media_store
from simulator import SimulatorServer
from tests.support.api import body, get, post_json
from tests.support.aws import table_items
from tests.support.env import reload_runtime
from tests.support.jobs import settle

FULL = "veo-3.1-generate-001"
FAST = "veo-3.1-fast-generate-001"


@pytest.fixture
def vertex_env(
    app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, simulator: SimulatorServer
) -> SimulatorServer:
    """Only VERTEX_* set: no `/v1/videos` key, so every model is a Vertex one."""
    for name in ("VIDEOS_API_KEY", "VIDEOS_API_BASE_URL", "VERTEX_PROJECT", "VERTEX_STORAGE_URI"):
        monkeypatch.delenv(name, raising=False)
    assert simulator.vertex is not None
    monkeypatch.setenv("VERTEX_SERVICE_ACCOUNT_JSON", simulator.vertex.service_account_json)
    monkeypatch.setenv("VERTEX_BASE_URL", simulator.vertex_url)
    monkeypatch.setenv("VERTEX_GCS_BASE_URL", simulator.vertex_url)
    monkeypatch.setenv("VERTEX_TOKEN_URL", simulator.vertex_token_url)
    return simulator


@pytest.fixture
def app(vertex_env: SimulatorServer, client: Any) -> Any:
    return client


def create(client: Any, **fields: Any) -> Any:
    return post_json(client, "/api/videos", {"model": FAST, "seconds": 4, **fields})


def jobs_stored(aws: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in table_items(aws) if not i["id"]["S"].startswith("catalog#")]


def archived(aws: dict[str, Any], job_id: str) -> bytes:
    key = media_store.media_key(job_id, "video")
    return aws["s3"].get_object(Bucket=aws["settings"].media_bucket, Key=key)["Body"].read()


def test_the_catalog_is_the_two_ga_veo_models(app):
    config = body(get(app, "/api/config"))
    models = {m["id"]: m for m in config["models"]}
    assert list(models) == [FULL, FAST]
    assert config["defaults"] == {"model": FULL, "size": "1280x720", "seconds": 4}
    full, fast = models[FULL], models[FAST]
    assert full["provider"] == fast["provider"] == "vertex"
    assert full["capabilities"] == {
        "first_frame": True,
        "last_frame": True,
        "reference_images": 3,
        "audio": True,
        "seed": True,
        "remix": False,
        "extend": False,
    }
    assert fast["capabilities"]["reference_images"] == 0
    assert full["seconds"] == [4, 6, 8]
    assert full["sizes"] == ["1280x720", "720x1280", "1920x1080", "1080x1920"]
    assert fast["price_per_second_with_audio_by_size"]["1920x1080"] == 0.15
    assert full["price_per_second_by_size"]["1280x720"] == 0.20


def test_without_google_credentials_no_vertex_model_is_offered(app_env):
    assert [m.id for m in load_catalog(load_settings(app_env)).models] == ["sora-2", "sora-2-pro"]
    keyed = load_settings({"VERTEX_API_KEY": "AIza-vertex", "VERTEX_PROJECT": "my-project"})
    assert [m.provider for m in load_catalog(keyed).models] == ["vertex", "vertex"]


def test_create_poll_archive_play_with_an_inline_result(app, aws, vertex_env):
    before = vertex_env.vertex.stats
    response = create(app, prompt="A red fox in snow", aspect_ratio="9:16")
    assert response.status_code == 201, response.body
    job = body(response)["job"]
    assert job["sora_job_id"].startswith(
        f"projects/simulated-project/locations/us-central1/publishers/google/models/{FAST}/"
        "operations/"
    )
    assert job["size"] == "720x1280" and job["estimated_cost_usd"] == 0.6  # 4 s with sound
    done = settle(app, job["id"])
    assert done["status"] == "completed", done
    assert archived(aws, done["id"])[4:8] == b"ftyp"
    media = get(app, done["media_url"])
    assert media.status_code == 302
    assert media_store.media_key(done["id"], "video") in media.headers["Location"]
    assert done["thumbnail_url"] is None  # Veo makes no images: only the video is archived
    stats = vertex_env.vertex.stats
    assert stats["token"] - before["token"] == 1  # one token for the whole job
    assert stats["media"] == before["media"]  # the bytes came inline, re-read to archive


def test_a_cloud_storage_result_is_downloaded_from_the_bucket(app, aws, vertex_env, monkeypatch):
    monkeypatch.setenv("VERTEX_STORAGE_URI", "gs://studio-veo-output/renders/")
    reload_runtime()
    before = vertex_env.vertex.stats["media"]
    job = body(create(app, prompt="A lighthouse at dusk", size="1920x1080", seconds=8))["job"]
    done = settle(app, job["id"])
    assert done["status"] == "completed", done
    assert archived(aws, done["id"])[4:8] == b"ftyp"
    assert vertex_env.vertex.stats["media"] > before
    operation = job["sora_job_id"].rsplit("/", 1)[1]
    obj = f"/storage/v1/b/studio-veo-output/o/renders%2F{operation}%2Fsample_0.mp4"
    assert obj in [path for _, path in vertex_env.requests]


def test_safety_filtering_ends_the_job_as_moderation_blocked(app):
    job = body(create(app, prompt="something [fail:moderation]"))["job"]
    done = settle(app, job["id"])
    assert (done["status"], done["error_code"]) == ("failed", "moderation_blocked")
    assert "safety" in done["error_message"]


def test_a_render_failure_is_the_operations_error(app):
    job = body(create(app, prompt="x [fail:render]"))["job"]
    done = settle(app, job["id"])
    assert (done["status"], done["error_code"]) == ("failed", "internal")


def test_rate_limit_and_server_error_on_create_store_nothing(app, aws, vertex_env):
    before = vertex_env.vertex.stats["create"]
    limited = create(app, prompt="x [fail:ratelimit]")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
    failed = create(app, prompt="x [fail:create]")
    assert failed.status_code == 502
    assert body(failed)["error"]["code"] == "upstream_error"
    assert vertex_env.vertex.stats["create"] - before == 2  # a billed create is never retried
    assert jobs_stored(aws) == []


def test_1080p_takes_every_duration_on_vertex(app):
    # Unlike the Gemini API, Vertex's model page ties 1080p to no duration.
    response = create(app, prompt="a boat", model=FULL, size="1920x1080", seconds=4)
    assert response.status_code == 201, response.body
    assert settle(app, body(response)["job"]["id"])["status"] == "completed"


def test_a_project_the_account_may_not_use_is_an_auth_failure(app, aws, monkeypatch):
    monkeypatch.setenv("VERTEX_PROJECT", "someone-elses-project")
    reload_runtime()
    refused = create(app, prompt="a fox")
    assert refused.status_code == 502
    assert body(refused)["error"]["code"] == "upstream_auth_failed"
    assert jobs_stored(aws) == []


def test_a_revoked_token_is_renewed_once_and_the_job_goes_on(app, vertex_env):
    job = body(create(app, prompt="a kite on a beach"))["job"]
    tokens_before = vertex_env.vertex.stats["token"]
    vertex_env.vertex.revoke_tokens()
    done = settle(app, job["id"])
    assert done["status"] == "completed", done
    assert vertex_env.vertex.stats["token"] - tokens_before == 1


def test_a_key_the_token_endpoint_does_not_know_is_refused(app, aws, vertex_env, monkeypatch):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = json.loads(vertex_env.vertex.service_account_json)
    key["private_key"] = stranger.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    monkeypatch.setenv("VERTEX_SERVICE_ACCOUNT_JSON", json.dumps(key))
    reload_runtime()
    refused = create(app, prompt="a fox")
    assert refused.status_code == 502
    assert body(refused)["error"]["code"] == "upstream_auth_failed"
    assert jobs_stored(aws) == []


def test_the_service_account_key_can_come_from_ssm(vertex_env, aws, monkeypatch, client):
    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name="/sora-studio/test/vertex-service-account",
        Value=vertex_env.vertex.service_account_json,
        Type="SecureString",
        Tier="Advanced",
    )
    monkeypatch.delenv("VERTEX_SERVICE_ACCOUNT_JSON")
    monkeypatch.setenv("VERTEX_SERVICE_ACCOUNT_PARAM", "/sora-studio/test/vertex-service-account")
    reload_runtime()
    job = body(create(client, prompt="a paper boat"))["job"]
    assert settle(client, job["id"])["status"] == "completed"
    monkeypatch.setenv("VERTEX_SERVICE_ACCOUNT_PARAM", "/sora-studio/test/never-stored")
    reload_runtime()
    assert body(get(client, "/api/config"))["models"] == []  # a name without a value: none


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"VERTEX_LOCATION": "us central"}, "VERTEX_LOCATION"),
        ({"VERTEX_PROJECT": "Not_A_Project"}, "VERTEX_PROJECT"),
        ({"VERTEX_STORAGE_URI": "s3://bucket/x"}, "VERTEX_STORAGE_URI"),
        ({"VERTEX_API_KEY": "two words"}, "VERTEX_API_KEY"),
        ({"VERTEX_BASE_URL": "ftp://example"}, "VERTEX_BASE_URL"),
        ({"VERTEX_TOKEN_URL": "oauth2.googleapis.com"}, "VERTEX_TOKEN_URL"),
    ],
)
def test_vertex_settings_are_validated(env, fragment):
    with pytest.raises(SettingsError, match=fragment):
        load_settings(env)


def test_vertex_settings_defaults_and_secrets_out_of_repr():
    settings = load_settings(
        {"VERTEX_LOCATION": "europe-west4", "VERTEX_SERVICE_ACCOUNT_JSON": '{"private_key": "x"}'}
    )
    assert settings.vertex_base_url == "https://europe-west4-aiplatform.googleapis.com"
    assert settings.vertex_token_url == "https://oauth2.googleapis.com/token"
    assert settings.vertex_gcs_base_url == "https://storage.googleapis.com"
    assert load_settings({"VERTEX_STORAGE_URI": "gs://my-bucket/veo"}).vertex_storage_uri == (
        "gs://my-bucket/veo/"
    )
    assert "private_key" not in repr(settings)
