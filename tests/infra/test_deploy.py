"""`make deploy` / `make destroy` steps against a moto server; only Chalice is faked."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from infra_testing import REGION, app_calls, create_distribution, moto_template

from infra import frontend
from infra.deploy import Deployer, DeployError
from infra.iam import missing
from infra.names import StageResources

ACCOUNT = "123456789012"  # moto's


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


@pytest.fixture
def deployer(aws_client: Callable[[str], Any], project: Path) -> Deployer:
    dist_id, domain = create_distribution(aws_client("cloudfront"))
    return Deployer(
        client=aws_client,
        region=REGION,
        chalice=FakeChalice(project / ".chalice"),
        project_dir=project,
        template_body=moto_template(dist_id, domain),
        say=lambda _: None,
    )


def stack_params(aws_client: Callable[[str], Any], stage: str) -> dict[str, str]:
    (stack,) = aws_client("cloudformation").describe_stacks(StackName=f"sora-studio-{stage}")[
        "Stacks"
    ]
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}


def test_deploy_end_to_end(deployer: Deployer, aws_client: Callable[[str], Any]) -> None:
    project = deployer.project_dir
    old_key = ("frontend", "old.js")
    site = deployer.deploy("dev")
    assert site.startswith("https://") and site.endswith(".cloudfront.net")

    # stack: table with both indexes, buckets; second update gave CloudFront the API id
    table = aws_client("dynamodb").describe_table(TableName="sora-studio-dev-jobs")["Table"]
    assert {i["IndexName"] for i in table["GlobalSecondaryIndexes"]} == {
        "history-index",
        "pending-index",
    }
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert stack_params(aws_client, "dev")["ApiId"] == "a1b2c3d4e5"

    # chalice saw the stage environment from the stack outputs, and a policy that covers it
    (call,) = deployer.chalice.calls
    res = StageResources.for_stage("dev", REGION, ACCOUNT)
    assert call[:2] == ("deploy", "dev")
    assert call[2] == {**call[2], **res.environment()}
    policy = json.loads((project / ".chalice" / "policy-dev.json").read_text())
    assert missing(policy, app_calls(res), ACCOUNT) == []
    config = json.loads((project / ".chalice" / "config.json").read_text())
    assert config["stages"]["prod"]["environment_variables"]["STAGE"] == "prod"  # untouched

    # frontend: content types and cache headers
    s3 = aws_client("s3")
    bucket = f"sora-studio-dev-web-{ACCOUNT}-{REGION}"
    expected = {
        "index.html": ("text/html; charset=utf-8", "no-cache"),
        "app.js": ("text/javascript; charset=utf-8", "public, max-age=300"),
        "style.css": ("text/css; charset=utf-8", "public, max-age=300"),
        "assets/logo.svg": ("image/svg+xml; charset=utf-8", "public, max-age=300"),
        "assets/app.3f9a2c1b7e.js": (
            "text/javascript; charset=utf-8",
            "public, max-age=31536000, immutable",
        ),
    }
    assert sorted(frontend.list_keys(s3, bucket)) == sorted(expected)
    for key, (content_type, cache) in expected.items():
        head = s3.head_object(Bucket=bucket, Key=key)
        assert (head["ContentType"], head["CacheControl"]) == (content_type, cache), key

    # invalidation of every path
    dist_id = aws_client("cloudformation").describe_stacks(StackName="sora-studio-dev")["Stacks"][
        0
    ]["Outputs"]
    dist_id = next(o["OutputValue"] for o in dist_id if o["OutputKey"] == "DistributionId")
    cloudfront = aws_client("cloudfront")
    invalidations = cloudfront.list_invalidations(DistributionId=dist_id)["InvalidationList"]
    assert invalidations["Quantity"] == 1
    inv_id = invalidations["Items"][0]["Id"]
    batch = cloudfront.get_invalidation(DistributionId=dist_id, Id=inv_id)["Invalidation"]
    assert batch["InvalidationBatch"]["Paths"]["Items"] == ["/*"]

    # re-run: safe, same stack, removed files disappear from the bucket
    s3.put_object(Bucket=bucket, Key="/".join(old_key), Body=b"stale")
    (project / "frontend" / "style.css").unlink()
    config_before = (project / ".chalice" / "config.json").read_text()
    assert deployer.deploy("dev") == site
    assert (project / ".chalice" / "config.json").read_text() == config_before
    assert "style.css" not in frontend.list_keys(s3, bucket)
    assert "frontend/old.js" not in frontend.list_keys(s3, bucket)
    assert [c[0] for c in deployer.chalice.calls] == ["deploy", "deploy"]


def test_destroy_dev_removes_everything(
    deployer: Deployer, aws_client: Callable[[str], Any]
) -> None:
    deployer.deploy("dev")
    media = f"sora-studio-dev-media-{ACCOUNT}-{REGION}"
    s3 = aws_client("s3")
    s3.put_object(Bucket=media, Key="videos/1/video.mp4", Body=b"x")
    ssm = aws_client("ssm")
    ssm.put_parameter(Name="/sora-studio/dev/videos-api-key", Value="k", Type="SecureString")

    deployer.destroy("dev")

    assert [c[0] for c in deployer.chalice.calls] == ["deploy", "delete"]
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert not [n for n in names if n.startswith("sora-studio-dev-")]
    assert aws_client("dynamodb").list_tables()["TableNames"] == []
    assert (
        aws_client("cloudformation").list_stacks(StackStatusFilter=["CREATE_COMPLETE"])[
            "StackSummaries"
        ]
        == []
    )
    assert ssm.describe_parameters()["Parameters"] == []
    deployer.destroy("dev")  # nothing left: still fine


def test_destroy_prod_keeps_the_table_unless_forced(
    deployer: Deployer, aws_client: Callable[[str], Any]
) -> None:
    deployer.deploy("prod")
    ddb = aws_client("dynamodb")
    assert ddb.describe_table(TableName="sora-studio-prod-jobs")["Table"]["TableName"]
    deployer.destroy("prod")
    assert ddb.list_tables()["TableNames"] == ["sora-studio-prod-jobs"]

    with pytest.raises(DeployError, match="exists but stack sora-studio-prod does not"):
        deployer.deploy("prod")

    deployer.destroy("prod", force=True)
    assert ddb.list_tables()["TableNames"] == []


def test_deploy_needs_the_frontend(deployer: Deployer) -> None:
    (deployer.project_dir / "frontend" / "index.html").unlink()
    with pytest.raises(FileNotFoundError, match=r"index\.html"):
        deployer.deploy("dev")


def test_frontend_alone_for_a_packaged_stack(
    deployer: Deployer, aws_client: Callable[[str], Any]
) -> None:
    deployer.deploy_stack("dev", "")  # as a pipeline would have deployed it
    site = deployer.publish_stack_frontend("sora-studio-dev")
    assert site.startswith("https://")
    bucket = f"sora-studio-dev-web-{ACCOUNT}-{REGION}"
    assert "index.html" in frontend.list_keys(aws_client("s3"), bucket)
    with pytest.raises(DeployError, match="no stack"):
        deployer.publish_stack_frontend("other-stack")
