"""The Lambda policy against the AWS calls the app makes (a fixed list; see test_policy_e2e)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.iam import (
    Call,
    CallRecorder,
    UnmappedCall,
    missing,
    required_permissions,
    wildcard_problems,
)
from infra.names import STAGES, StageResources
from infra.policy import build_policy

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
RES = StageResources.for_stage("dev", "eu-west-1", ACCOUNT)
TABLE, BUCKET = RES.table_name, RES.media_bucket
KEY = "videos/3f2c/video.mp4"


def app_calls(res: StageResources = RES) -> list[Call]:
    """Every kind of call the app and the Lambda runtime make, one example each."""
    t, b, r, fn = res.table_name, res.media_bucket, res.region, res.function_prefix

    def c(service: str, operation: str, **params: Any) -> Call:
        return Call(service, operation, params, r)

    return [
        c("dynamodb", "GetItem", TableName=t),
        c("dynamodb", "PutItem", TableName=t),
        c("dynamodb", "UpdateItem", TableName=t),
        c("dynamodb", "DeleteItem", TableName=t),
        c("dynamodb", "Query", TableName=t, IndexName="history-index"),
        c("dynamodb", "Query", TableName=t, IndexName="pending-index"),
        c("dynamodb", "BatchGetItem", RequestItems={t: {}}),
        c(
            "dynamodb",
            "TransactWriteItems",
            TransactItems=[
                {"Put": {"TableName": t}},
                {"Update": {"TableName": t}},
                {"Delete": {"TableName": t}},
                {"ConditionCheck": {"TableName": t}},
            ],
        ),
        c("s3", "PutObject", Bucket=b, Key=KEY),
        c("s3", "CreateMultipartUpload", Bucket=b, Key=KEY),
        c("s3", "UploadPart", Bucket=b, Key=KEY),
        c("s3", "CompleteMultipartUpload", Bucket=b, Key=KEY),
        c("s3", "AbortMultipartUpload", Bucket=b, Key=KEY),
        c("s3", "GetObject", Bucket=b, Key=KEY),
        c("s3", "HeadObject", Bucket=b, Key="videos/3f2c/thumbnail.webp"),
        c("s3", "DeleteObject", Bucket=b, Key=KEY),
        c("s3", "DeleteObjects", Bucket=b, Delete={"Objects": [{"Key": KEY}]}),
        c("s3", "ListObjectsV2", Bucket=b, Prefix="videos/3f2c/"),
        c("ssm", "GetParameter", Name=res.key_param, WithDecryption=True),
        c("ssm", "GetParameter", Name=res.webhook_param, WithDecryption=True),
        c("logs", "CreateLogGroup", logGroupName=f"/aws/lambda/{fn}"),
        c(
            "logs",
            "PutLogEvents",
            logGroupName=f"/aws/lambda/{fn}",
            logStreamName="2026/11/24/[$LATEST]abc",
        ),
        c(
            "logs",
            "CreateLogStream",
            logGroupName=f"/aws/lambda/{fn}-refresh_pending_jobs",
            logStreamName="2026/11/24/[$LATEST]def",
        ),
    ]


def test_policy_allows_every_call_and_no_more_wildcards() -> None:
    policy = build_policy(RES)
    assert missing(policy, app_calls(), ACCOUNT) == []
    assert wildcard_problems(policy) == []


@pytest.mark.parametrize("sid", ["Logs", "JobsTable", "MediaObjects", "MediaBucket", "Secrets"])
def test_every_statement_is_needed(sid: str) -> None:
    policy = build_policy(RES)
    policy["Statement"] = [s for s in policy["Statement"] if s["Sid"] != sid]
    assert missing(policy, app_calls(), ACCOUNT), f"{sid} grants nothing the app uses"


def test_a_missing_action_is_named() -> None:
    policy = build_policy(RES)
    table = next(s for s in policy["Statement"] if s["Sid"] == "JobsTable")
    table["Action"].remove("dynamodb:ConditionCheckItem")
    table["Resource"] = table["Resource"][:1]  # the indexes too
    problems = missing(policy, app_calls(), ACCOUNT)
    assert any("TransactWriteItems needs dynamodb:ConditionCheckItem" in p for p in problems)
    assert any("/index/history-index" in p for p in problems)


def test_calls_on_other_resources_are_refused() -> None:
    policy = build_policy(RES)
    others = [
        Call("dynamodb", "GetItem", {"TableName": "other-table"}, RES.region),
        Call("dynamodb", "GetItem", {"TableName": TABLE}, "us-west-2"),  # other region
        Call("s3", "GetObject", {"Bucket": "other-bucket", "Key": KEY}, RES.region),
        Call("ssm", "GetParameter", {"Name": "/sora-studio/prod/videos-api-key"}, RES.region),
        Call("dynamodb", "Scan", {"TableName": TABLE}, RES.region),  # not granted
    ]
    assert len(missing(policy, others, ACCOUNT)) == len(others)


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ({"Action": "s3:*", "Resource": f"arn:aws:s3:::{BUCKET}/*"}, "wildcard action s3:*"),
        ({"Action": "dynamodb:Get*", "Resource": "x"}, "wildcard action dynamodb:Get*"),
        ({"Action": "s3:GetObject", "Resource": "*"}, "wildcard resource *"),
        ({"Action": "s3:GetObject", "Resource": "arn:aws:s3:::*"}, "wildcard resource"),
        ({"Action": "s3:ListBucket", "Resource": "arn:aws:s3:::sora-*"}, "wildcard resource"),
        (
            {"Action": "dynamodb:Query", "Resource": f"arn:aws:dynamodb:*:*:table/{TABLE}"},
            "wildcard resource",
        ),
        ({"Action": "ssm:GetParameter", "Resource": "arn:aws:ssm:eu-west-1:1:parameter/*"}, "wild"),
        ({"NotAction": "iam:*", "Resource": "x"}, "NotAction"),
    ],
)
def test_wildcards_beyond_the_justified_fail(statement: dict[str, Any], expected: str) -> None:
    policy = {"Statement": [{"Sid": "Bad", "Effect": "Allow", **statement}]}
    problems = wildcard_problems(policy)
    assert problems and expected in problems[0]


def test_deny_wins_and_conditions_are_not_guessed() -> None:
    policy = build_policy(RES)
    call = Call("s3", "GetObject", {"Bucket": BUCKET, "Key": KEY}, RES.region)
    denied = copy.deepcopy(policy)
    denied["Statement"].append(
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}
    )
    assert missing(denied, [call], ACCOUNT)
    conditional = copy.deepcopy(policy)
    conditional["Statement"][0]["Condition"] = {"Bool": {"aws:SecureTransport": "true"}}
    with pytest.raises(ValueError, match="condition"):
        missing(conditional, [call], ACCOUNT)


def test_unknown_calls_are_not_waved_through() -> None:
    with pytest.raises(UnmappedCall, match="sqs:SendMessage"):
        required_permissions(Call("sqs", "SendMessage", {}, "us-east-1"), ACCOUNT)


@pytest.mark.parametrize("stage", STAGES)
def test_committed_policy_files(stage: str) -> None:
    """.chalice/policy-STAGE.json covers the calls for the names .chalice/config.json gives
    the stage (whatever account `make deploy` last wrote them for)."""
    config = json.loads((REPO / ".chalice" / "config.json").read_text())
    stage_config = config["stages"][stage]
    policy = json.loads((REPO / ".chalice" / stage_config["iam_policy_file"]).read_text())
    env = stage_config["environment_variables"]
    table_arn = next(r for s in policy["Statement"] for r in s["Resource"] if ":table/" in r)
    region, account = re.match(r"arn:aws:dynamodb:([^:]+):(\d{12}):", table_arn).groups()
    res = StageResources(
        stage=stage,
        region=region,
        account=account,
        table_name=env["JOBS_TABLE"],
        media_bucket=env["MEDIA_BUCKET"],
        key_param=env["VIDEOS_API_KEY_PARAM"],
        webhook_param=env["VIDEOS_WEBHOOK_SECRET_PARAM"],
    )
    assert env["STAGE"] == stage
    assert policy == build_policy(res)
    assert missing(policy, app_calls(res), account) == []
    assert wildcard_problems(policy) == []
    assert config["autogen_policy"] is False
    refresher = stage_config["lambda_functions"]["refresh_pending_jobs"]
    assert refresher["reserved_concurrency"] == 1
    assert stage_config["api_gateway_stage"] == "api"


def test_recorder_sees_boto3_pynamodb_and_presigned_calls() -> None:
    from pynamodb.attributes import UnicodeAttribute
    from pynamodb.models import Model

    class Thing(Model):
        class Meta:
            table_name = "things"
            region = "us-east-1"

        id = UnicodeAttribute(hash_key=True)

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="media-bucket")
        Thing.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
        recorder = CallRecorder()
        with recorder.recording() as calls:
            s3.put_object(Bucket="media-bucket", Key="k", Body=b"x")
            s3.generate_presigned_url("get_object", Params={"Bucket": "media-bucket", "Key": "k"})
            Thing("1").save()
            Thing.get("1")
        s3.head_object(Bucket="media-bucket", Key="k")  # after recording: not seen
    assert [(c.service, c.operation) for c in calls] == [
        ("s3", "PutObject"),
        ("s3", "GetObject"),
        ("dynamodb", "PutItem"),
        ("dynamodb", "GetItem"),
    ]
    assert calls[0].params["Bucket"] == "media-bucket"
    assert calls[2].params["TableName"] == "things"
