"""Helpers for the infra tests: the calls the app makes (for policy checks), the template as
moto's CloudFormation can create it, and a stand-in for the Chalice CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infra import cfn_yaml
from infra.iam import Call
from infra.names import StageResources
from infra.stack import TEMPLATE_PATH

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
KEY = "videos/3f2c/video.mp4"


def app_calls(res: StageResources) -> list[Call]:
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
        *(c("ssm", "GetParameter", Name=name, WithDecryption=True) for name in res.params.values()),
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


def tick_calls(res: StageResources) -> list[Call]:
    """The refresher's tick: every call the app makes, and the hand-off of a shard to the
    worker by asynchronous invoke (by name, as chalicelib/jobs/refresher.py does)."""
    invoke = Call(
        "lambda",
        "Invoke",
        {"FunctionName": res.refresh_worker_name, "InvocationType": "Event"},
        res.region,
    )
    return [*app_calls(res), invoke]


def moto_template(distribution_id: str, domain: str) -> str:
    """infra/template.yaml minus what moto's CloudFormation cannot create (CloudFront and
    bucket policies); the distribution, made through moto's CloudFront API, is given as
    literal outputs and as the `${Distribution.DomainName}` the Cognito resources use.
    Everything else is the real template (the Cognito types through moto_cognito.py)."""
    template = cfn_yaml.load(TEMPLATE_PATH)
    resources = template["Resources"]
    for name in [n for n, r in resources.items() if r["Type"].startswith("AWS::CloudFront::")]:
        del resources[name]
    del resources["FrontendBucketPolicy"]
    template["Outputs"]["DistributionId"] = {"Value": distribution_id}
    template["Outputs"]["DistributionDomainName"] = {"Value": domain}
    template["Outputs"]["SiteUrl"] = {"Value": f"https://{domain}"}
    text = json.dumps(template)
    assert "${Distribution." in text  # the Cognito invitation and the client's URLs
    text = text.replace("${Distribution.DomainName}", domain)
    assert "Distribution" not in text.replace("DistributionId", "").replace(
        "DistributionDomainName", ""
    ), "the template refers to the distribution in a way this helper does not replace"
    return text


def create_distribution(cloudfront: Any) -> tuple[str, str]:
    config = {
        "CallerReference": "tests",
        "Comment": "",
        "Enabled": True,
        "Origins": {
            "Quantity": 1,
            "Items": [{"Id": "frontend", "DomainName": "frontend.s3.amazonaws.com",
                       "S3OriginConfig": {"OriginAccessIdentity": ""}}],
        },
        "DefaultCacheBehavior": {"TargetOriginId": "frontend",
                                 "ViewerProtocolPolicy": "redirect-to-https",
                                 "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"},
    }  # fmt: skip
    dist = cloudfront.create_distribution(DistributionConfig=config)["Distribution"]
    return dist["Id"], dist["DomainName"]


class FakeChalice:
    """Stands in for `chalice deploy/delete`: records the state file Chalice would write."""

    def __init__(self, chalice_dir: Path, rest_api_id: str = "a1b2c3d4e5") -> None:
        self.chalice_dir = chalice_dir
        self.rest_api_id = rest_api_id
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def deploy(self, stage: str) -> None:
        config = json.loads((self.chalice_dir / "config.json").read_text())
        self.calls.append(("deploy", stage, config["stages"][stage]["environment_variables"]))
        deployed = self.chalice_dir / "deployed"
        deployed.mkdir(exist_ok=True)
        state = {"resources": [{"name": "rest_api", "resource_type": "rest_api",
                                "rest_api_id": self.rest_api_id}]}  # fmt: skip
        (deployed / f"{stage}.json").write_text(json.dumps(state))

    def delete(self, stage: str) -> None:
        self.calls.append(("delete", stage, {}))
        (self.chalice_dir / "deployed" / f"{stage}.json").unlink()
