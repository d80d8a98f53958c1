"""The real app, driven through chalice.test.Client under moto, against the stage policy.

Every AWS call it makes (boto3, PynamoDB, presigned URLs) is recorded and must be allowed by
the policy `make deploy` writes; every action the policy grants must be used by these flows
or be listed in GRANTED_FOR_FAILURES with its reason.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devtools.tokens import mint
from infra.iam import Call, CallRecorder, missing, required_permissions, wildcard_problems
from infra.names import EXAMPLE_ACCOUNT, StageResources
from infra.policy import build_policy
from tests.support.images import data_url, solid_png
from tests.support.infra import REGION
from tests.support.jobs import settle

pytestmark = pytest.mark.e2e

RES = StageResources.for_stage("dev", REGION, EXAMPLE_ACCOUNT)  # moto's account
API_KEY = "sk-test-from-ssm-0000"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"webhook-secret-from-ssm-000000").decode()
TOKEN, TOKEN_ENTRY = mint("alice", None)
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# Granted although a passing flow never calls them:
GRANTED_FOR_FAILURES = {
    # boto3's transfer manager aborts a multipart upload that failed half-way
    "s3:AbortMultipartUpload",
    # no call of its own: lets S3 answer 404 (not 403) for a media object not archived yet
    "s3:ListBucket",
    # the Lambda runtime writes the logs, not the app
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
}


@pytest.fixture
def stage_app(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The app as the dev stage runs it: stage names, secrets from SSM, simulator upstream."""
    pytest.importorskip("app")
    from chalice.test import Client

    from app import app
    from chalicelib import runtime
    from chalicelib.config import get_settings
    from devtools.tables import create_table

    for name in ("VIDEOS_API_KEY", "OPENAI_API_KEY", "VIDEOS_WEBHOOK_SECRET", "MEDIA_LINK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {**RES.environment(), "AUTH_MODE": "token"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        runtime.init()
        create_table(get_settings())
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=RES.media_bucket)
        ssm = boto3.client("ssm", region_name=REGION)
        values = {
            "MEDIA_LINK_SECRET_PARAM": "media-link-secret-from-ssm",
            "VIDEOS_API_KEY_PARAM": API_KEY,
            "VIDEOS_WEBHOOK_SECRET_PARAM": WEBHOOK_SECRET,
            "AUTH_TOKENS_PARAM": json.dumps(TOKEN_ENTRY),
            "OPENROUTER_API_KEY_PARAM": "sk-or-test-from-ssm-0000",
            "OPENROUTER_WEBHOOK_SECRET_PARAM": "openrouter-signing-secret-from-ssm",
        }
        # FAL_KEY_PARAM and VERTEX_SERVICE_ACCOUNT_PARAM are named but never stored: a stage
        # without a fal key or a Google service account offers neither's models (and this
        # test reaches no real upstream); reading the unstored names is within the policy.
        for env, name in RES.params.items():
            if env in values:
                ssm.put_parameter(Name=name, Value=values[env], Type="SecureString")
        with Client(app, stage_name="dev") as client:
            yield client
        runtime.init()
    runtime.init()


def _json(response: Any) -> Any:
    return json.loads(response.body) if response.body else None


def _post(client: Any, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    headers = {"Content-Type": "application/json", **AUTH, **(headers or {})}
    return client.http.post(path, body=json.dumps(body), headers=headers)


def _get(client: Any, path: str) -> Any:
    return client.http.get(path, headers=AUTH)


def _until_done(client: Any, job_id: str) -> dict[str, Any]:
    # Renders are real ffmpeg runs: slow on a busy machine.
    return settle(client, job_id, headers=AUTH, timeout=120)


def drive_every_flow(client: Any) -> None:
    from chalicelib.webhooks.signature import sign

    assert _get(client, "/api/health").status_code == 200
    assert _get(client, "/api/config").status_code == 200
    image = data_url(solid_png(1280, 720, (0, 0, 0)))
    body = {"prompt": "A cozy campfire", "seconds": 4, "size": "1280x720"}
    created = _post(
        client, "/api/videos", {**body, "input_reference": image}, {"Idempotency-Key": "k1"}
    )
    assert created.status_code == 201, created.body
    job = _json(created)["job"]
    again = _post(
        client, "/api/videos", {**body, "input_reference": image}, {"Idempotency-Key": "k1"}
    )
    assert _json(again)["job"]["id"] == job["id"]
    assert _get(client, "/api/videos?status=queued&q=campfire&limit=5").status_code == 200

    # the scheduled function, as Lambda invokes it
    event = client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )
    client.lambda_.invoke("refresh_pending_jobs", event)
    assert _until_done(client, job["id"])["status"] == "completed"
    for query in (
        "",
        "?variant=thumbnail",
        "?variant=spritesheet&download=1",
        "?variant=reference",
    ):
        media = _get(client, f"/api/videos/{job['id']}/media{query}")
        assert media.status_code in (200, 206, 302), (query, media.status_code, media.body)

    remix = _post(client, f"/api/videos/{job['id']}/remix", {"prompt": "Now at dawn"})
    assert remix.status_code == 201, remix.body
    remixed = _json(remix)["job"]
    event_body = json.dumps(
        {"id": "evt_1", "type": "video.completed", "data": {"id": remixed["sora_job_id"]}}
    ).encode()
    now = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "webhook-id": "msg_1",
        "webhook-timestamp": str(now),
        "webhook-signature": sign(WEBHOOK_SECRET, "msg_1", now, event_body),
    }
    hook = client.http.post("/api/webhooks/videos", body=event_body, headers=headers)
    assert hook.status_code == 200, hook.body
    assert (
        client.http.post("/api/webhooks/videos", body=event_body, headers=headers).status_code
        == 200
    )

    failing = _post(client, "/api/videos", {"prompt": "x [fail:moderation]", "seconds": 4})
    assert _until_done(client, _json(failing)["job"]["id"])["status"] == "failed"
    assert _get(client, "/api/videos").status_code == 200
    assert client.http.delete(f"/api/videos/{job['id']}", headers=AUTH).status_code == 204


def test_policy_covers_every_call_of_the_app(stage_app: Any) -> None:
    recorder = CallRecorder()
    with recorder.recording() as calls:
        drive_every_flow(stage_app)
    policy = build_policy(RES)
    assert calls, "the flows made no AWS call: is the recorder attached?"
    assert missing(policy, calls, EXAMPLE_ACCOUNT) == []
    assert wildcard_problems(policy) == []

    used = {p.action for c in calls for p in required_permissions(c, EXAMPLE_ACCOUNT)}
    granted = {a for s in policy["Statement"] for a in s["Action"]}
    assert granted - used <= GRANTED_FOR_FAILURES, f"granted, never used: {granted - used}"
    reads = _secrets_read(calls)
    assert len(reads) == len(set(reads)), reads  # each secret read once per process
    assert set(reads) <= set(RES.params.values())
    needed = ("MEDIA_LINK_SECRET_PARAM", "VIDEOS_API_KEY_PARAM", "VIDEOS_WEBHOOK_SECRET_PARAM")
    assert {RES.params[env] for env in (*needed, "AUTH_TOKENS_PARAM")} <= set(reads)


def _secrets_read(calls: list[Call]) -> list[str]:
    """Each secret is read from SSM once, however many requests needed it."""
    return sorted(c.params["Name"] for c in calls if c.operation == "GetParameter")
