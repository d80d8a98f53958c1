"""The Lambda role's IAM policy: built from a stage's names, never by hand.

`build_policy` renders the document `.chalice/policy-{stage}.json` holds (concrete ARNs) and,
with CloudFormation `${...}` names, the one `make package` puts on Chalice's `DefaultRole`.
Every grant below answers an AWS call the app makes (see infra/iam.py for the check).
"""

from __future__ import annotations

from typing import Any

from infra.names import REFRESH_TICK, StageResources

# DynamoDB, on the jobs table and its two indexes: what the app's flows call (recorded by
# tests/infra/test_policy_e2e.py). PynamoDB 6 builds its table metadata from the model, so
# DescribeTable is not needed at run time; no batch or transaction calls are made.
DYNAMODB_ACTIONS = (
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
)
# S3 objects of the media bucket. Multipart upload (Create/UploadPart/Complete) is s3:PutObject;
# HeadObject and presigned GETs are s3:GetObject; DeleteObjects is s3:DeleteObject per key.
S3_OBJECT_ACTIONS = (
    "s3:AbortMultipartUpload",
    "s3:DeleteObject",
    "s3:GetObject",
    "s3:PutObject",
)
# The one bucket-level action: without it S3 answers 403 instead of 404 for a missing key,
# and the app could not tell "not archived yet" from "forbidden".
S3_BUCKET_ACTIONS = ("s3:ListBucket",)
SSM_ACTIONS = ("ssm:GetParameter",)
LOGS_ACTIONS = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
# The tick hands shards of pending jobs to the refresher's worker by asynchronous invoke;
# its role alone gets this, on that one function (.chalice/policy-{stage}-{tick}.json).
LAMBDA_ACTIONS = ("lambda:InvokeFunction",)


def build_policy(res: StageResources, function: str = "") -> dict[str, Any]:
    """The policy of every function's role; `function` REFRESH_TICK adds the worker invoke."""
    arn = f"arn:{res.partition}"
    table = f"{arn}:dynamodb:{res.region}:{res.account}:table/{res.table_name}"
    bucket = f"{arn}:s3:::{res.media_bucket}"
    ssm = f"{arn}:ssm:{res.region}:{res.account}:parameter"
    log_group = f"{arn}:logs:{res.region}:{res.account}:log-group:/aws/lambda/{res.function_prefix}"
    statements = [
        {
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": list(LOGS_ACTIONS),
            # The API handler's group, its streams, and the other functions' groups.
            "Resource": [log_group, f"{log_group}:*", f"{log_group}-*"],
        },
        {
            "Sid": "JobsTable",
            "Effect": "Allow",
            "Action": list(DYNAMODB_ACTIONS),
            "Resource": [table, f"{table}/index/*"],
        },
        {
            "Sid": "MediaObjects",
            "Effect": "Allow",
            "Action": list(S3_OBJECT_ACTIONS),
            "Resource": [f"{bucket}/*"],
        },
        {
            "Sid": "MediaBucket",
            "Effect": "Allow",
            "Action": list(S3_BUCKET_ACTIONS),
            "Resource": [bucket],
        },
        {
            "Sid": "Secrets",
            "Effect": "Allow",
            "Action": list(SSM_ACTIONS),
            "Resource": [f"{ssm}{_slash(name)}" for name in res.params.values()],
        },
    ]
    if function == REFRESH_TICK:
        statements.append(
            {
                "Sid": "InvokeRefreshWorker",
                "Effect": "Allow",
                "Action": list(LAMBDA_ACTIONS),
                "Resource": [res.refresh_worker_arn],
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def cloudformation_policy(res: StageResources, function: str = "") -> dict[str, Any]:
    """`build_policy` with every string that holds `${...}` wrapped in Fn::Sub."""
    return _sub(build_policy(res, function))


def _slash(name: str) -> str:
    return name if name.startswith(("/", "${")) else f"/{name}"


def _sub(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: _sub(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_sub(value) for value in node]
    if isinstance(node, str) and "${" in node:
        return {"Fn::Sub": node}
    return node
