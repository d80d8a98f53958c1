"""Check an IAM policy against the AWS calls the app really makes.

`CallRecorder` hooks every botocore client (boto3's and PynamoDB's alike, presigned URLs
included) and records `Call(service, operation, params, region)`. `required_permissions` maps
each call to the IAM (action, resource ARN) pairs AWS authorises it against, `missing` lists
those a policy does not allow, and `wildcard_problems` lists grants broader than the few
wildcards the app needs (objects of one bucket, indexes of one table, one function's logs).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from botocore.client import BaseClient


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    params: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    region: str = "us-east-1"


@dataclass(frozen=True)
class Permission:
    action: str
    resource: str

    def __str__(self) -> str:
        return f"{self.action} on {self.resource}"


class UnmappedCall(ValueError):
    """A call this module does not know how to authorise: add it to the tables below."""


S3_OBJECT_OPERATIONS = {
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "DeleteObject": "s3:DeleteObject",
    "ListParts": "s3:ListMultipartUploadParts",
    "GetObjectTagging": "s3:GetObjectTagging",
    "PutObjectTagging": "s3:PutObjectTagging",
}
S3_BUCKET_OPERATIONS = {
    "ListObjects": "s3:ListBucket",
    "ListObjectsV2": "s3:ListBucket",
    "HeadBucket": "s3:ListBucket",
    "ListMultipartUploads": "s3:ListBucketMultipartUploads",
}
DYNAMODB_TABLE_OPERATIONS = {
    "GetItem": "dynamodb:GetItem",
    "PutItem": "dynamodb:PutItem",
    "UpdateItem": "dynamodb:UpdateItem",
    "DeleteItem": "dynamodb:DeleteItem",
    "Query": "dynamodb:Query",
    "Scan": "dynamodb:Scan",
    "DescribeTable": "dynamodb:DescribeTable",
    "DescribeTimeToLive": "dynamodb:DescribeTimeToLive",
}
TRANSACT_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Get": "dynamodb:GetItem",
}
SSM_OPERATIONS = {
    "GetParameter": "ssm:GetParameter",
    "GetParameters": "ssm:GetParameters",
}


def required_permissions(call: Call, account: str, partition: str = "aws") -> list[Permission]:
    """The (action, resource) pairs IAM checks for one call."""
    p, op, region = call.params, call.operation, call.region
    if call.service == "s3":
        bucket = f"arn:{partition}:s3:::{p.get('Bucket', '')}"
        if op in S3_OBJECT_OPERATIONS:
            return [Permission(S3_OBJECT_OPERATIONS[op], f"{bucket}/{p['Key']}")]
        if op == "DeleteObjects":
            objects = p["Delete"]["Objects"]
            return [Permission("s3:DeleteObject", f"{bucket}/{o['Key']}") for o in objects]
        if op == "CopyObject":
            source = p["CopySource"]
            if isinstance(source, str):
                source_arn = f"arn:{partition}:s3:::{source.lstrip('/').split('?')[0]}"
            else:
                source_arn = f"arn:{partition}:s3:::{source['Bucket']}/{source['Key']}"
            return [
                Permission("s3:GetObject", source_arn),
                Permission("s3:PutObject", f"{bucket}/{p['Key']}"),
            ]
        if op in S3_BUCKET_OPERATIONS:
            return [Permission(S3_BUCKET_OPERATIONS[op], bucket)]
    if call.service == "dynamodb":

        def table(name: str) -> str:
            return f"arn:{partition}:dynamodb:{region}:{account}:table/{name}"

        if op in DYNAMODB_TABLE_OPERATIONS:
            arn = table(p["TableName"])
            if p.get("IndexName"):
                arn = f"{arn}/index/{p['IndexName']}"
            return [Permission(DYNAMODB_TABLE_OPERATIONS[op], arn)]
        if op in ("BatchGetItem", "BatchWriteItem"):
            return [Permission(f"dynamodb:{op}", table(name)) for name in p["RequestItems"]]
        if op in ("TransactWriteItems", "TransactGetItems"):
            perms = []
            for item in p["TransactItems"]:
                ((kind, body),) = item.items()
                perms.append(Permission(TRANSACT_ACTIONS[kind], table(body["TableName"])))
            return perms
    if call.service == "ssm" and op in SSM_OPERATIONS:
        names = p["Names"] if op == "GetParameters" else [p["Name"]]
        prefix = f"arn:{partition}:ssm:{region}:{account}:parameter"
        return [
            Permission(SSM_OPERATIONS[op], f"{prefix}{n if n.startswith('/') else '/' + n}")
            for n in names
        ]
    if call.service == "logs" and op in ("CreateLogGroup", "CreateLogStream", "PutLogEvents"):
        group = f"arn:{partition}:logs:{region}:{account}:log-group:{p['logGroupName']}"
        if op == "CreateLogGroup":
            return [Permission("logs:CreateLogGroup", group)]
        return [Permission(f"logs:{op}", f"{group}:log-stream:{p['logStreamName']}")]
    if call.service == "lambda" and op == "Invoke":
        name = p["FunctionName"]  # a name, a partial ARN (account:function:name) or an ARN
        if not name.startswith("arn:"):
            name = name.rsplit(":function:", 1)[-1]
            name = f"arn:{partition}:lambda:{region}:{account}:function:{name}"
        if p.get("Qualifier"):
            name = f"{name}:{p['Qualifier']}"
        return [Permission("lambda:InvokeFunction", name)]
    raise UnmappedCall(f"no IAM mapping for {call.service}:{op}; add one to infra/iam.py")


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def allows(policy: Mapping[str, Any], perm: Permission) -> bool:
    """True when an Allow statement covers the permission and no Deny does (no conditions)."""
    allowed = False
    for statement in policy["Statement"]:
        if statement.get("Condition"):
            raise ValueError(f"statement {statement.get('Sid')!r} has a condition: not modelled")
        actions = [a.lower() for a in _as_list(statement.get("Action", []))]
        resources = _as_list(statement.get("Resource", []))
        hit = any(fnmatchcase(perm.action.lower(), a) for a in actions) and any(
            fnmatchcase(perm.resource, r) for r in resources
        )
        if hit and statement["Effect"] == "Deny":
            return False
        allowed = allowed or (hit and statement["Effect"] == "Allow")
    return allowed


def missing(policy: Mapping[str, Any], calls: Iterable[Call], account: str) -> list[str]:
    """Every call the policy does not authorise, as readable lines (empty when all pass)."""
    problems = []
    for call in calls:
        for perm in required_permissions(call, account):
            if not allows(policy, perm):
                problems.append(f"{call.service}:{call.operation} needs {perm}")
    return sorted(set(problems))


# The only wildcards a grant may hold: every object of one bucket, every index of one table,
# the log groups and streams of this app's Lambda functions. Region and account are concrete.
JUSTIFIED_WILDCARDS = (
    re.compile(r"^arn:aws:s3:::[a-z0-9][a-z0-9.-]+/\*$"),
    re.compile(r"^arn:aws:dynamodb:[a-z0-9-]+:\d{12}:table/[A-Za-z0-9_.-]+/index/\*$"),
    re.compile(r"^arn:aws:logs:[a-z0-9-]+:\d{12}:log-group:/aws/lambda/[A-Za-z0-9_-]+(:\*|-\*)$"),
)


def wildcard_problems(policy: Mapping[str, Any]) -> list[str]:
    problems = []
    for statement in policy["Statement"]:
        sid = statement.get("Sid", "?")
        if "NotAction" in statement or "NotResource" in statement:
            problems.append(f"{sid}: NotAction/NotResource grant everything else")
        for action in _as_list(statement.get("Action", [])):
            if "*" in action or "?" in action:
                problems.append(f"{sid}: wildcard action {action}")
        for resource in _as_list(statement.get("Resource", [])):
            if ("*" in resource or "?" in resource) and not any(
                pattern.match(resource) for pattern in JUSTIFIED_WILDCARDS
            ):
                problems.append(f"{sid}: wildcard resource {resource}")
    return problems


class CallRecorder:
    """Records every botocore API call and presigned URL made while `recording()` is open."""

    def __init__(self) -> None:
        self.calls: list[Call] = []

    @contextmanager
    def recording(self) -> Iterator[list[Call]]:
        original = BaseClient._emit_api_params
        recorder = self

        def emit_api_params(
            client: BaseClient, api_params: Any, operation_model: Any, context: Any
        ):
            recorder.calls.append(
                Call(
                    service=client.meta.service_model.endpoint_prefix,
                    operation=operation_model.name,
                    params=dict(api_params),
                    region=client.meta.region_name or "us-east-1",
                )
            )
            return original(client, api_params, operation_model, context)

        BaseClient._emit_api_params = emit_api_params  # type: ignore[method-assign]
        try:
            yield self.calls
        finally:
            BaseClient._emit_api_params = original  # type: ignore[method-assign]
