"""The Lambda policy against the AWS calls the app makes (a fixed list; see test_policy_e2e)."""

from __future__ import annotations

import copy
import json
import re
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
from infra.names import REFRESH_TICK, REFRESH_WORKER, SECRETS, STAGES, StageResources
from infra.policy import build_policy
from tests.support.infra import KEY, REPO, app_calls, tick_calls

ACCOUNT = "123456789012"
RES = StageResources.for_stage("dev", "eu-west-1", ACCOUNT)
TABLE, BUCKET = RES.table_name, RES.media_bucket


def test_policy_allows_every_call_and_no_more_wildcards() -> None:
    policy = build_policy(RES)
    assert missing(policy, app_calls(RES), ACCOUNT) == []
    assert wildcard_problems(policy) == []


@pytest.mark.parametrize("sid", ["Logs", "JobsTable", "MediaObjects", "MediaBucket", "Secrets"])
def test_every_statement_is_needed(sid: str) -> None:
    policy = build_policy(RES)
    policy["Statement"] = [s for s in policy["Statement"] if s["Sid"] != sid]
    assert missing(policy, app_calls(RES), ACCOUNT), f"{sid} grants nothing the app uses"


def test_only_the_tick_may_invoke_the_worker_and_only_it() -> None:
    tick = build_policy(RES, REFRESH_TICK)
    assert missing(tick, tick_calls(RES), ACCOUNT) == []
    assert wildcard_problems(tick) == []
    (grant,) = [s for s in tick["Statement"] if s["Sid"] == "InvokeRefreshWorker"]
    assert grant["Action"] == ["lambda:InvokeFunction"]
    assert grant["Resource"] == [
        f"arn:aws:lambda:{RES.region}:{ACCOUNT}:function:sora-studio-dev-{REFRESH_WORKER}"
    ]
    without = copy.deepcopy(tick)
    without["Statement"] = [s for s in tick["Statement"] if s["Sid"] != "InvokeRefreshWorker"]
    assert without == build_policy(RES)  # the other functions' policy: no invoke at all
    assert missing(build_policy(RES), tick_calls(RES), ACCOUNT) == [
        f"lambda:Invoke needs lambda:InvokeFunction on {grant['Resource'][0]}"
    ]
    others = [
        Call("lambda", "Invoke", {"FunctionName": "sora-studio-dev-refresh_pending_jobs"}),
        Call("lambda", "Invoke", {"FunctionName": "sora-studio-prod-refresh_shard"}),
        Call("lambda", "Invoke", {"FunctionName": RES.refresh_worker_name}, "us-west-2"),
        Call("lambda", "Invoke", {"FunctionName": RES.refresh_worker_name, "Qualifier": "1"}),
    ]
    assert len(missing(tick, others, ACCOUNT)) == len(others)


def test_a_missing_action_is_named() -> None:
    policy = build_policy(RES)
    table = next(s for s in policy["Statement"] if s["Sid"] == "JobsTable")
    table["Action"].remove("dynamodb:UpdateItem")
    table["Resource"] = table["Resource"][:1]  # the indexes too
    problems = missing(policy, app_calls(RES), ACCOUNT)
    assert any("UpdateItem needs dynamodb:UpdateItem on arn:aws:dynamodb:" in p for p in problems)
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
        params={s.env: env[s.env] for s in SECRETS},
    )
    assert env["STAGE"] == stage
    assert env["AUTH_MODE"] in ("token", "cognito")  # deployed stages refuse "none"
    assert policy == build_policy(res)
    assert missing(policy, app_calls(res), account) == []
    assert wildcard_problems(policy) == []
    assert config["autogen_policy"] is False
    refresher = stage_config["lambda_functions"][REFRESH_TICK]
    assert refresher["reserved_concurrency"] == 1
    assert refresher["lambda_timeout"] <= 60  # one run per minute tick, no throttled backlog
    # The tick's own role may also invoke its worker, whose reserved concurrency bounds the
    # parallel workers; the tick makes at most that many shards.
    tick_policy = json.loads((REPO / ".chalice" / refresher["iam_policy_file"]).read_text())
    assert tick_policy == build_policy(res, REFRESH_TICK)
    assert missing(tick_policy, tick_calls(res), account) == []
    assert wildcard_problems(tick_policy) == []
    worker = stage_config["lambda_functions"][REFRESH_WORKER]
    assert "iam_policy_file" not in worker  # the stage's policy: no invoke
    assert refresher["environment_variables"] == {
        "REFRESH_WORKER_FUNCTION": f"sora-studio-{stage}-{REFRESH_WORKER}",
        "REFRESH_WORKERS": str(worker["reserved_concurrency"]),
    }
    assert 1 <= worker["reserved_concurrency"] <= 100
    assert worker["lambda_timeout"] <= 60  # done before the next tick re-reads the index
    assert config["lambda_timeout"] <= 29  # API Gateway's integration limit
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


def test_batch_and_transaction_calls_map_to_per_item_actions() -> None:
    items = [
        {"Put": {"TableName": TABLE}},
        {"Update": {"TableName": TABLE}},
        {"ConditionCheck": {"TableName": TABLE}},
    ]
    transact = Call("dynamodb", "TransactWriteItems", {"TransactItems": items}, RES.region)
    actions = [p.action for p in required_permissions(transact, ACCOUNT)]
    assert actions == ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"]
    batch = Call("dynamodb", "BatchGetItem", {"RequestItems": {TABLE: {}}}, RES.region)
    (perm,) = required_permissions(batch, ACCOUNT)
    assert perm.resource.endswith(f":table/{TABLE}")
    # neither is granted: the app makes no batch or transaction call today
    assert len(missing(build_policy(RES), [transact, batch], ACCOUNT)) == 2
