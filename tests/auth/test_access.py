"""Access control: per-user scoping (IDOR), token and Cognito sign-in, signed media links,
deployed-stage refusal of AUTH_MODE=none, and no secrets leaking."""

from __future__ import annotations

import json
import logging
import time

import jwt
import pytest
import responses
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib import runtime
from chalicelib.auth.access import token_hash
from chalicelib.config import PUBLIC_OVERRIDE, SettingsError, load_settings
from tests.support import jobs as support_jobs
from tests.support.api import body, post_json

ALICE, BOB, OLD = "sst_alice-token-0123456789", "sst_bob-token-9876543210", "sst_old-token-000000"
TOKENS = {
    token_hash(ALICE): "alice",
    token_hash(BOB): {"user": "bob"},
    token_hash(OLD): {"user": "carol", "expires_at": "2020-01-01T00:00:00Z"},
}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def call(client, method: str, path: str, token: str | None, payload=None):
    headers = {
        "Accept": "*/*",
        "Content-Type": "application/json",
        **(auth(token) if token else {}),
    }
    raw = json.dumps(payload) if payload is not None else None
    return getattr(client.http, method)(path, headers=headers, body=raw)


@pytest.fixture
def token_mode(monkeypatch, aws):
    monkeypatch.setenv("AUTH_MODE", "token")
    monkeypatch.setenv("AUTH_TOKENS", json.dumps(TOKENS))
    runtime.init()
    yield
    runtime.init()


def completed_job(client, token: str) -> dict:
    return support_jobs.completed_job(client, {"prompt": "alice's secret garden"}, auth(token))


def test_other_users_jobs_answer_404_and_stay_untouched(client, token_mode):
    job = completed_job(client, ALICE)
    jid = job["id"]
    assert body(call(client, "get", "/api/videos", BOB, None))["jobs"] == []
    for method, path, payload in [
        ("get", f"/api/videos/{jid}", None),
        ("get", f"/api/videos/{jid}/media", None),
        ("get", f"/api/videos/{jid}/media?variant=thumbnail", None),
        ("delete", f"/api/videos/{jid}", None),
        ("post", f"/api/videos/{jid}/remix", {"prompt": "mine now"}),
    ]:
        response = call(client, method, path, BOB, payload)
        assert response.status_code == 404, (method, path, response.body)
        assert "Location" not in response.headers
    mine = body(call(client, "get", f"/api/videos/{jid}", ALICE))["job"]
    assert mine["status"] == "completed" and mine["updated_at"] == job["updated_at"]
    assert [j["id"] for j in body(call(client, "get", "/api/videos", ALICE))["jobs"]] == [jid]
    assert call(client, "get", f"/api/videos/{jid}/media", ALICE).status_code == 302


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Basic YWxpY2U6cHc=",
        "Bearer wrong-token",
        f"Bearer {OLD}",
        f"bearer  {ALICE} x",
    ],
    ids=["missing", "empty", "basic", "wrong", "expired", "malformed"],
)
def test_bad_tokens_are_401(client, token_mode, header):
    headers = {"Accept": "*/*"} | ({"Authorization": header} if header else {})
    for path in ("/api/videos", "/api/usage"):
        response = client.http.get(path, headers=headers)
        assert response.status_code == 401
        assert body(response)["error"]["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.http.get("/api/config", headers=headers).status_code == 200


def test_deployed_stage_refuses_auth_none():
    with pytest.raises(SettingsError, match="AUTH_MODE=none"):
        load_settings({"STAGE": "prod"})
    with pytest.raises(SettingsError):
        load_settings({"AWS_LAMBDA_FUNCTION_NAME": "sora-studio-dev"})
    assert load_settings({"STAGE": "dev", PUBLIC_OVERRIDE: "yes"}).auth_mode == "none"
    deployed = {"STAGE": "dev", "AUTH_MODE": "token", "AUTH_TOKENS_PARAM": "/x"}
    assert load_settings({**deployed, "MEDIA_LINK_SECRET_PARAM": "/y"}).stage == "dev"
    with pytest.raises(SettingsError, match="AUTH_TOKENS"):
        load_settings({"AUTH_MODE": "token"})
    # Signed media links have their own secret, never an upstream key's.
    with pytest.raises(SettingsError, match="MEDIA_LINK_SECRET"):
        load_settings({**deployed, "VIDEOS_API_KEY": "sk-test"})


# -- Cognito ----------------------------------------------------------------------------------

POOL = "us-east-1_TestPool1"
CLIENT_ID = "test-client-id"
ISSUER = f"https://cognito-idp.us-east-1.amazonaws.com/{POOL}"


@pytest.fixture(scope="module")
def signing_keys():
    good = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rogue = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return good, rogue


def make_jwt(
    key, *, kid="k1", sub="user-sub-1", exp_in=600, client_id=CLIENT_ID, use="access", iss=ISSUER
):
    now = int(time.time())
    claims = {"sub": sub, "iss": iss, "exp": now + exp_in, "iat": now, "token_use": use}
    claims["client_id" if use == "access" else "aud"] = client_id
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def cognito_mode(monkeypatch, aws, signing_keys, simulator):
    monkeypatch.setenv("AUTH_MODE", "cognito")
    monkeypatch.setenv("COGNITO_USER_POOL_ID", POOL)
    monkeypatch.setenv("COGNITO_CLIENT_ID", CLIENT_ID)
    runtime.init()
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing_keys[0].public_key()))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mocked.add_passthru(simulator.url.rsplit("/v1", 1)[0])
        mocked.get(
            f"{ISSUER}/.well-known/jwks.json",
            json={"keys": [{**public, "kid": "k1", "alg": "RS256"}]},
        )
        yield mocked
    runtime.init()


def test_cognito_tokens(client, cognito_mode, signing_keys):
    good, rogue = signing_keys
    ok = client.http.get("/api/usage", headers=auth(make_jwt(good)))
    assert ok.status_code == 200, ok.body
    assert client.http.get("/api/usage", headers=auth(make_jwt(good, use="id"))).status_code == 200
    for bad in (
        make_jwt(rogue),
        make_jwt(good, exp_in=-120),
        make_jwt(good, client_id="someone-else"),
        make_jwt(good, iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"),
        make_jwt(good, kid="unknown"),
        make_jwt(good)[:-4] + "AAAA",
        "not.a.jwt",
    ):
        assert client.http.get("/api/usage", headers=auth(bad)).status_code == 401
    job = body(post_json(client, "/api/videos", {"prompt": "cognito"}, auth(make_jwt(good))))["job"]
    other = client.http.get(
        f"/api/videos/{job['id']}", headers=auth(make_jwt(good, sub="user-sub-2"))
    )
    assert other.status_code == 404


# -- Nothing secret leaks -----------------------------------------------------------------------


def test_no_key_secret_or_token_in_any_response_or_log(client, token_mode, app_env, caplog):
    caplog.set_level(logging.DEBUG)
    secrets = [
        app_env["VIDEOS_API_KEY"],
        app_env["VIDEOS_WEBHOOK_SECRET"].removeprefix("whsec_"),
        ALICE,
        BOB,
    ]
    seen: list[str] = []

    def record(response) -> None:
        seen.append(
            str(response.status_code)
            + json.dumps(dict(response.headers))
            + response.body.decode("latin-1")
        )

    job = completed_job(client, ALICE)
    for method, path, payload, token in [
        ("get", "/api/config", None, None),
        ("get", "/api/usage", None, ALICE),
        ("get", "/api/videos", None, ALICE),
        ("get", f"/api/videos/{job['id']}", None, ALICE),
        ("get", f"/api/videos/{job['id']}/media?download=1", None, ALICE),
        ("post", f"/api/videos/{job['id']}/remix", {"prompt": "again"}, ALICE),
        ("post", "/api/videos", {"prompt": "x [fail:create]"}, ALICE),
        ("post", "/api/videos", {"prompt": ""}, ALICE),
        ("get", "/api/videos", None, "sst_wrong"),
        ("post", "/api/webhooks/videos", {"type": "video.completed"}, None),
        ("delete", f"/api/videos/{job['id']}", None, ALICE),
    ]:
        record(call(client, method, path, token, payload))
    haystack = "\n".join(seen) + caplog.text
    for secret in secrets:
        assert secret not in haystack
    assert "Traceback" not in "\n".join(seen)


def test_signed_media_links_play_without_a_header(client, token_mode, monkeypatch):
    job = completed_job(client, ALICE)
    assert "?sig=" in job["media_url"] and "&variant=thumbnail" in job["thumbnail_url"]
    plain = {"Accept": "*/*"}
    for url in (job["media_url"], job["thumbnail_url"], job["media_url"] + "&download=1"):
        response = client.http.get(url, headers=plain)
        assert response.status_code == 302, (url, response.body)
    signature = job["media_url"].split("sig=", 1)[1]
    tampered = job["media_url"].replace(
        signature, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    )
    assert client.http.get(tampered, headers=plain).status_code == 401
    # A link for one job does not open another.
    other = completed_job(client, ALICE)
    assert (
        client.http.get(
            f"/api/videos/{other['id']}/media?sig={signature}", headers=plain
        ).status_code
        == 401
    )
    # Links expire.
    from chalicelib import clock

    later = clock.now() + 3601
    monkeypatch.setattr(clock, "now", lambda: later)
    assert client.http.get(job["media_url"], headers=plain).status_code == 401


def test_a_media_link_opens_only_the_variant_it_was_made_for(client, token_mode):
    job = completed_job(client, ALICE)
    plain = {"Accept": "*/*"}
    video_sig = job["media_url"].split("sig=", 1)[1]
    thumbnail_sig = job["thumbnail_url"].split("sig=", 1)[1].split("&", 1)[0]
    assert video_sig != thumbnail_sig
    base = f"/api/videos/{job['id']}/media"
    opens = {
        f"{base}?sig={video_sig}": 302,
        f"{base}?sig={video_sig}&variant=source": 302,  # the seed's alias of the video
        f"{base}?sig={thumbnail_sig}&variant=thumbnail": 302,
        f"{base}?sig={thumbnail_sig}&variant=preview": 302,
        f"{base}?sig={thumbnail_sig}": 401,  # a thumbnail link does not fetch the video
        f"{base}?sig={thumbnail_sig}&variant=video": 401,
        f"{base}?sig={video_sig}&variant=thumbnail": 401,
        f"{base}?sig={video_sig}&variant=spritesheet": 401,
        f"{base}?sig={video_sig}&variant=reference": 401,
    }
    for url, status in opens.items():
        assert client.http.get(url, headers=plain).status_code == status, url


# -- token lifetime -----------------------------------------------------------------------------


def test_a_revoked_token_stops_working_within_five_minutes(client, aws, monkeypatch, app_env):
    from chalicelib import clock

    ssm = __import__("boto3").client("ssm", region_name=app_env["AWS_REGION"])
    ssm.put_parameter(
        Name="/test/tokens", Value=json.dumps(TOKENS), Type="SecureString", Overwrite=True
    )
    monkeypatch.setenv("AUTH_MODE", "token")
    monkeypatch.setenv("AUTH_TOKENS_PARAM", "/test/tokens")
    monkeypatch.delenv("AUTH_TOKENS", raising=False)
    runtime.init()
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start)
    assert client.http.get("/api/usage", headers=auth(BOB)).status_code == 200
    revoked = {k: v for k, v in TOKENS.items() if k != token_hash(BOB)}
    ssm.put_parameter(
        Name="/test/tokens", Value=json.dumps(revoked), Type="SecureString", Overwrite=True
    )
    monkeypatch.setattr(clock, "now", lambda: start + 299)
    assert client.http.get("/api/usage", headers=auth(BOB)).status_code == 200  # cached
    monkeypatch.setattr(clock, "now", lambda: start + 301)
    assert client.http.get("/api/usage", headers=auth(BOB)).status_code == 401
    assert client.http.get("/api/usage", headers=auth(ALICE)).status_code == 200
    runtime.init()


def test_minted_tokens_expire_by_default(capsys):
    from datetime import UTC, datetime

    from devtools import tokens

    _, entry = tokens.mint("alice")
    (record,) = entry.values()
    expires = datetime.fromisoformat(record["expires_at"].replace("Z", "+00:00"))
    days = (expires - datetime.now(tz=UTC)).total_seconds() / 86400
    assert record["user"] == "alice" and 89.9 < days <= 90
    _, short = tokens.mint("bob", days=7)
    assert "expires_at" in next(iter(short.values()))
    tokens.main(["carol"])
    printed = capsys.readouterr().out
    assert '"expires_at"' in printed and "expires" in printed.splitlines()[0]
    with pytest.raises(SystemExit):
        tokens.main(["dave", "--days", "0"])


def test_random_kids_fetch_the_jwks_at_most_once_a_minute(
    client, cognito_mode, signing_keys, monkeypatch
):
    from chalicelib import clock

    good, _ = signing_keys
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start)

    def fetches() -> int:
        return sum(1 for call in cognito_mode.calls if call.request.url.endswith("jwks.json"))

    assert client.http.get("/api/usage", headers=auth(make_jwt(good))).status_code == 200
    assert fetches() == 1
    for n in range(30):
        token = make_jwt(good, kid=f"random-{n}")
        assert client.http.get("/api/usage", headers=auth(token)).status_code == 401
    assert fetches() == 1  # the misses are remembered, the keys not fetched again
    # A minute later a key the pool rotated in is found (one fetch), and random kids
    # still cost at most one fetch a minute.
    monkeypatch.setattr(clock, "now", lambda: start + 61)
    for n in range(10):
        token = make_jwt(good, kid=f"later-{n}")
        assert client.http.get("/api/usage", headers=auth(token)).status_code == 401
    assert fetches() == 2
    assert client.http.get("/api/usage", headers=auth(make_jwt(good))).status_code == 200
    assert fetches() == 2
