"""chalicelib.secrets (read once, cached, clear errors) and `make secrets` (store_secrets)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib import runtime, secrets
from chalicelib.secrets import SecretError, SecretMissing, read_secret, resolve
from infra.deploy import DeployError, store_secrets
from infra.iam import CallRecorder

NAME = "/sora-studio/dev/videos-api-key"
SERVICE_ACCOUNT = {
    "type": "service_account",
    "project_id": "my-veo-project",
    "private_key_id": "0123abcd",
    "private_key": "-----BEGIN PRIVATE KEY-----\nnot-a-real-key\n-----END PRIVATE KEY-----\n",
    "client_email": "veo@my-veo-project.iam.gserviceaccount.com",
}
VALUE = "sk-test-not-a-real-key-0000"


@pytest.fixture
def ssm() -> Iterator[Any]:
    runtime.init()
    with mock_aws():
        yield boto3.client("ssm", region_name="us-east-1")
    runtime.init()


def test_reads_once_per_name_and_caches(ssm: Any) -> None:
    ssm.put_parameter(Name=NAME, Value=VALUE, Type="SecureString")
    ssm.put_parameter(Name="/other", Value="two", Type="SecureString")
    recorder = CallRecorder()
    with recorder.recording() as calls:
        assert read_secret(NAME) == VALUE
        assert read_secret(NAME) == VALUE
        assert read_secret("/other") == "two"
        assert read_secret(NAME) == VALUE
    gets = [c for c in calls if c.operation == "GetParameter"]
    assert [c.params["Name"] for c in gets] == [NAME, "/other"]
    assert all(c.params["WithDecryption"] is True for c in gets)


def test_cache_survives_a_changed_parameter_until_cleared(ssm: Any) -> None:
    ssm.put_parameter(Name=NAME, Value=VALUE, Type="SecureString")
    assert read_secret(NAME) == VALUE
    ssm.put_parameter(Name=NAME, Value="rotated", Type="SecureString", Overwrite=True)
    assert read_secret(NAME) == VALUE
    runtime.init()
    assert read_secret(NAME) == "rotated"


def test_client_is_created_lazily(ssm: Any) -> None:
    assert secrets._client is None
    ssm.put_parameter(Name=NAME, Value=VALUE, Type="SecureString")
    read_secret(NAME)
    assert secrets._client is not None


def test_missing_parameter_names_it_and_the_fix(ssm: Any) -> None:
    with pytest.raises(SecretError) as info:
        read_secret(NAME)
    assert NAME in str(info.value)
    assert "make secrets" in str(info.value)


def test_blank_parameter_is_an_error_and_not_cached(ssm: Any) -> None:
    ssm.put_parameter(Name=NAME, Value="   ", Type="SecureString")
    with pytest.raises(SecretError, match="is empty"):
        read_secret(NAME)
    ssm.put_parameter(Name=NAME, Value=VALUE, Type="SecureString", Overwrite=True)
    assert read_secret(NAME) == VALUE


def test_no_name_is_an_error(ssm: Any) -> None:
    with pytest.raises(SecretError, match="_PARAM"):
        read_secret("")


def test_resolve_prefers_the_value_then_reads_the_parameter(ssm: Any) -> None:
    ssm.put_parameter(Name=NAME, Value=VALUE, Type="SecureString")
    assert resolve("given", NAME) == "given"
    assert resolve("", NAME) == VALUE
    assert resolve("", NAME, required="set X") == VALUE


def test_resolve_missing_is_empty_when_optional_and_an_error_when_required(ssm: Any) -> None:
    assert resolve("", "") == ""
    assert resolve("", NAME) == ""  # named by the stage, never stored by `make secrets`
    with pytest.raises(SecretMissing, match="set VIDEOS_API_KEY"):
        resolve("", "", required="set VIDEOS_API_KEY")
    with pytest.raises(SecretMissing, match="make secrets"):
        resolve("", NAME, required="set VIDEOS_API_KEY")


def test_value_never_logged_or_in_errors(ssm: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    ssm.put_parameter(Name=NAME, Value=VALUE, Type="SecureString")
    read_secret(NAME)
    ours = [r for r in caplog.records if r.name.startswith("chalicelib")]
    assert all(VALUE not in r.getMessage() for r in ours)


def test_store_secrets_from_environment(ssm: Any) -> None:
    entry = {"ab" * 32: {"user": "alice"}}
    env = {
        "VIDEOS_API_KEY": VALUE,
        "VIDEOS_WEBHOOK_SECRET": "whsec_test",
        "AUTH_TOKENS": json.dumps(entry),
        "OPENROUTER_API_KEY": "sk-or-test-openrouter-key",
        "OPENROUTER_WEBHOOK_SECRET": "openrouter-signing-secret",
        "FAL_KEY": "fal-key-id:fal-key-secret",
        "VERTEX_SERVICE_ACCOUNT_JSON": json.dumps(SERVICE_ACCOUNT, indent=2),
    }
    said: list[str] = []
    stored = store_secrets(ssm, "dev", environ=env, prompt=_no_prompt, say=said.append)
    assert stored == [
        NAME,
        "/sora-studio/dev/webhook-secret",
        "/sora-studio/dev/auth-tokens",
        "/sora-studio/dev/openrouter-api-key",
        "/sora-studio/dev/openrouter-webhook-secret",
        "/sora-studio/dev/media-link-secret",  # generated: never in the environment
        "/sora-studio/dev/vertex-service-account",
        "/sora-studio/dev/fal-key",
    ]
    vertex = ssm.get_parameter(Name="/sora-studio/dev/vertex-service-account", WithDecryption=True)
    assert vertex["Parameter"]["Value"] == json.dumps(SERVICE_ACCOUNT, separators=(",", ":"))
    assert all(SERVICE_ACCOUNT["private_key"] not in line for line in said)
    fal = ssm.get_parameter(Name="/sora-studio/dev/fal-key", WithDecryption=True)
    assert fal["Parameter"]["Value"] == "fal-key-id:fal-key-secret"
    assert all("fal-key-secret" not in line for line in said)
    openrouter = ssm.get_parameter(Name="/sora-studio/dev/openrouter-api-key", WithDecryption=True)
    assert openrouter["Parameter"]["Value"] == "sk-or-test-openrouter-key"
    assert all("sk-or-test-openrouter-key" not in line for line in said)
    param = ssm.get_parameter(Name=NAME, WithDecryption=True)["Parameter"]
    assert (param["Type"], param["Value"]) == ("SecureString", VALUE)
    assert all(VALUE not in line and "whsec_test" not in line for line in said)
    # --overwrite: running it again replaces the values; token entries are added
    more = {"cd" * 32: {"user": "bob", "expires_at": "2030-01-01T00:00:00Z"}}
    env = {"VIDEOS_API_KEY": "new", "AUTH_TOKENS": json.dumps(more)}
    store_secrets(ssm, "dev", environ=env, prompt=lambda _: "", say=print)
    assert ssm.get_parameter(Name=NAME, WithDecryption=True)["Parameter"]["Value"] == "new"
    tokens = ssm.get_parameter(Name="/sora-studio/dev/auth-tokens", WithDecryption=True)
    assert json.loads(tokens["Parameter"]["Value"]) == {**entry, **more}


def test_store_secrets_prompts_and_blank_keeps(ssm: Any) -> None:
    answers = iter(["prompted-key"])  # then blank answers: keep what is stored
    asked: list[str] = []

    def prompt(question: str) -> str:
        asked.append(question)
        return next(answers, "")

    stored = store_secrets(ssm, "prod", environ={}, prompt=prompt, say=lambda _: None)
    assert stored == ["/sora-studio/prod/videos-api-key", "/sora-studio/prod/media-link-secret"]
    assert "/sora-studio/prod/webhook-secret" in asked[1]
    assert "/sora-studio/prod/auth-tokens" in asked[2]
    assert "/sora-studio/prod/openrouter-api-key" in asked[3]
    assert "/sora-studio/prod/openrouter-webhook-secret" in asked[4]
    assert any("/sora-studio/prod/fal-key" in question for question in asked)
    assert any("/sora-studio/prod/vertex-service-account" in question for question in asked)
    names = sorted(p["Name"] for p in ssm.describe_parameters()["Parameters"])
    assert names == ["/sora-studio/prod/media-link-secret", "/sora-studio/prod/videos-api-key"]


def test_store_secrets_refuses_tokens_that_are_not_an_object(ssm: Any) -> None:
    with pytest.raises(DeployError, match="AUTH_TOKENS"):
        store_secrets(ssm, "dev", environ={"AUTH_TOKENS": "sst_raw-token"}, say=lambda _: None)
    assert ssm.describe_parameters()["Parameters"] == []


def test_store_secrets_generates_the_media_link_secret_once(ssm: Any) -> None:
    name = "/sora-studio/dev/media-link-secret"
    said: list[str] = []
    assert name in store_secrets(ssm, "dev", environ={}, prompt=lambda _: "", say=said.append)
    first = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
    assert first["Type"] == "SecureString" and len(first["Value"]) >= 32
    assert all(first["Value"] not in line for line in said)
    # Kept on later runs (links signed with it stay valid), replaced only when given.
    assert name not in store_secrets(ssm, "dev", environ={}, prompt=lambda _: "", say=print)
    assert ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"] == first["Value"]
    store_secrets(ssm, "dev", environ={"MEDIA_LINK_SECRET": "chosen"}, prompt=lambda _: "")
    assert ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"] == "chosen"


def test_store_secrets_checks_the_service_account_key_and_picks_its_tier(ssm: Any) -> None:
    name = "/sora-studio/dev/vertex-service-account"
    big = {**SERVICE_ACCOUNT, "private_key": "-----BEGIN PRIVATE KEY-----" + "A" * 5000}
    env = {"VERTEX_SERVICE_ACCOUNT_JSON": json.dumps(big)}
    said: list[str] = []
    assert name in store_secrets(ssm, "dev", environ=env, prompt=lambda _: "", say=said.append)
    assert f"{name}: stored (SecureString, Advanced)" in said  # over 4 KB: SSM's Advanced tier
    for broken in ("{first line of a pasted key", json.dumps({"type": "authorized_user"})):
        with pytest.raises(DeployError, match="VERTEX_SERVICE_ACCOUNT_JSON") as refused:
            store_secrets(ssm, "dev", environ={"VERTEX_SERVICE_ACCOUNT_JSON": broken}, say=print)
        assert broken not in str(refused.value)


def _no_prompt(question: str) -> str:
    raise AssertionError(f"prompted although the environment had the value: {question}")
