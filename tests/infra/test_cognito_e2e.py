"""AUTH_MODE=cognito end to end, offline.

The deploy step creates the user pool on the moto server and writes the stage environment; the
owner invites a user, who signs in (moto issues RS256 tokens from that pool); the real app,
configured with exactly the environment the deploy wrote, accepts the tokens and works on the
stack's table and bucket, and every AWS call it makes is allowed by the stage policy the
deploy wrote, which is the token-mode one: the JWKS comes over HTTPS, not an AWS API.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from infra.deploy import Deployer
from infra.iam import CallRecorder, missing, wildcard_problems
from infra.names import EXAMPLE_ACCOUNT

pytestmark = pytest.mark.e2e

EMAIL = "alice@example.com"
PASSWORD = "Correct-horse-battery-9"


@pytest.fixture
def cognito_stage(
    deployer: Deployer,
    aws_client: Callable[[str], Any],
    moto_endpoint: str,
    app_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[dict[str, Any]]:
    pytest.importorskip("app")
    from chalicelib import runtime

    deployer.deploy("dev", auth_mode="cognito")
    chalice_dir = deployer.project_dir / ".chalice"
    env = json.loads((chalice_dir / "config.json").read_text())["stages"]["dev"][
        "environment_variables"
    ]
    pool, client_id = env["COGNITO_USER_POOL_ID"], env["COGNITO_CLIENT_ID"]

    sub = deployer.invite("dev", EMAIL)
    idp = aws_client("cognito-idp")
    idp.admin_set_user_password(UserPoolId=pool, Username=EMAIL, Password=PASSWORD, Permanent=True)
    # Stands in for the hosted UI's code exchange: the same pool and client issue the tokens.
    tokens = idp.admin_initiate_auth(
        UserPoolId=pool,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": EMAIL, "PASSWORD": PASSWORD},
    )["AuthenticationResult"]

    ssm = aws_client("ssm")
    ssm.put_parameter(
        Name=env["VIDEOS_API_KEY_PARAM"], Value=app_env["VIDEOS_API_KEY"], Type="SecureString"
    )
    ssm.put_parameter(
        Name=env["VIDEOS_WEBHOOK_SECRET_PARAM"],
        Value=app_env["VIDEOS_WEBHOOK_SECRET"],
        Type="SecureString",
    )
    for name in ("VIDEOS_API_KEY", "OPENAI_API_KEY", "VIDEOS_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # In AWS the app fetches {issuer}/.well-known/jwks.json; moto serves it under its endpoint.
    monkeypatch.setenv("COGNITO_JWKS_URL", f"{moto_endpoint}/{pool}/.well-known/jwks.json")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)  # the stack's table and bucket
    runtime.init()
    yield {"env": env, "sub": sub, "tokens": tokens, "policy_dir": chalice_dir}
    runtime.init()


def test_app_accepts_the_pools_tokens_within_the_stage_policy(
    cognito_stage: dict[str, Any],
) -> None:
    from chalice.test import Client

    from app import app

    env, tokens = cognito_stage["env"], cognito_stage["tokens"]
    access = {"Authorization": f"Bearer {tokens['AccessToken']}"}
    identity = {"Authorization": f"Bearer {tokens['IdToken']}"}
    recorder = CallRecorder()
    with recorder.recording() as calls, Client(app, stage_name="dev") as client:
        config = json.loads(client.http.get("/api/config").body)
        assert config["auth"] == {
            "mode": "cognito",
            "domain": env["COGNITO_DOMAIN"],
            "client_id": env["COGNITO_CLIENT_ID"],
        }
        assert client.http.get("/api/usage").status_code == 401
        head, payload, signature = tokens["AccessToken"].split(".")
        forged = f"{head}.{payload}.{signature[::-1]}"
        forged_auth = {"Authorization": f"Bearer {forged}"}
        assert client.http.get("/api/usage", headers=forged_auth).status_code == 401
        assert client.http.get("/api/usage", headers=access).status_code == 200
        created = client.http.post(
            "/api/videos",
            body=json.dumps({"prompt": "A lighthouse at dusk", "seconds": 4}),
            headers={**access, "Content-Type": "application/json"},
        )
        assert created.status_code == 201, created.body
        job_id = json.loads(created.body)["job"]["id"]
        # the id token names the same user (`sub`): the job is theirs either way
        listed = json.loads(client.http.get("/api/videos", headers=identity).body)
        assert [job["id"] for job in listed["jobs"]] == [job_id]
        assert client.http.get(f"/api/videos/{job_id}", headers=identity).status_code == 200

    policy = json.loads((cognito_stage["policy_dir"] / "policy-dev.json").read_text())
    assert calls, "the app made no AWS call: is the recorder attached?"
    assert missing(policy, calls, EXAMPLE_ACCOUNT) == []
    assert wildcard_problems(policy) == []
    assert not [c for c in calls if c.service == "cognito-idp"]
    read = {c.params["Name"] for c in calls if c.operation == "GetParameter"}
    assert env["AUTH_TOKENS_PARAM"] not in read  # cognito mode needs no token table
