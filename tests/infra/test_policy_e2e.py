"""The real app, driven through chalice.test.Client under moto, against the stage policy.

Every AWS call it makes (boto3, PynamoDB, presigned URLs) is recorded and must be allowed by
the policy `make deploy` writes; every action the policy grants must be used by these flows
or be listed in GRANTED_FOR_FAILURES with its reason.
"""

from __future__ import annotations

import base64
import json
import struct
import time
import zlib
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from infra_testing import REGION
from moto import mock_aws

from devtools.tokens import mint
from infra.iam import Call, CallRecorder, missing, required_permissions, wildcard_problems
from infra.names import EXAMPLE_ACCOUNT, StageResources
from infra.policy import build_policy

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


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\0" + b"\0" * (width * 3) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def stage_app(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The app as the dev stage runs it: stage names, secrets from SSM, simulator upstream."""
    pytest.importorskip("app")
    from chalice.test import Client

    from app import app
    from chalicelib import runtime
    from chalicelib.config import get_settings
    from devtools.tables import create_table

    for name in ("VIDEOS_API_KEY", "OPENAI_API_KEY", "VIDEOS_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {**RES.environment(), "AUTH_MODE": "token"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        runtime.init()
        create_table(get_settings())
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=RES.media_bucket)
        ssm = boto3.client("ssm", region_name=REGION)
        values = {
            "VIDEOS_API_KEY_PARAM": API_KEY,
            "VIDEOS_WEBHOOK_SECRET_PARAM": WEBHOOK_SECRET,
            "AUTH_TOKENS_PARAM": json.dumps(TOKEN_ENTRY),
        }
        for env, name in RES.params.items():
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
    from chalicelib.jobs import refresher

    deadline = time.monotonic() + 120  # renders are real ffmpeg runs: slow on a busy machine
    while time.monotonic() < deadline:
        refresher.refresh_pending()
        job = _json(_get(client, f"/api/videos/{job_id}"))["job"]
        if job["status"] in ("completed", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still pending")


def drive_every_flow(client: Any) -> None:
    from chalicelib.webhooks.signature import sign

    assert _get(client, "/api/health").status_code == 200
    assert _get(client, "/api/config").status_code == 200
    image = "data:image/png;base64," + base64.b64encode(png(1280, 720)).decode()
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
    assert _secrets_read(calls) == sorted(RES.params.values())


def _secrets_read(calls: list[Call]) -> list[str]:
    """Each secret is read from SSM once, however many requests needed it."""
    return sorted(c.params["Name"] for c in calls if c.operation == "GetParameter")
