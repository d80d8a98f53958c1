"""infra/template.yaml: cfn-lint clean, and what moto cannot show, read from the template."""

from __future__ import annotations

from typing import Any

import pytest
from cfnlint.api import lint_file

from infra import cfn_yaml
from infra.names import StageResources
from infra.stack import TEMPLATE_PATH

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https:; "
    "media-src 'self' blob: https:; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return cfn_yaml.load(TEMPLATE_PATH)


def test_cfn_lint_clean() -> None:
    matches = lint_file(TEMPLATE_PATH)
    assert not matches, "\n".join(str(m) for m in matches)


def test_jobs_table(template: dict[str, Any]) -> None:
    table = template["Resources"]["JobsTable"]
    props = table["Properties"]
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["DeletionProtectionEnabled"] == {"Fn::If": ["IsProd", True, False]}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert props["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    indexes = {i["IndexName"]: i for i in props["GlobalSecondaryIndexes"]}
    assert [k["AttributeName"] for k in indexes["history-index"]["KeySchema"]] == [
        "owner",
        "created_key",
    ]
    assert [k["AttributeName"] for k in indexes["pending-index"]["KeySchema"]] == [
        "pending",
        "created_key",
    ]
    assert all(i["Projection"] == {"ProjectionType": "ALL"} for i in indexes.values())


@pytest.mark.parametrize("bucket", ["MediaBucket", "FrontendBucket"])
def test_buckets_are_private_and_encrypted(template: dict[str, Any], bucket: str) -> None:
    props = template["Resources"][bucket]["Properties"]
    assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert "CorsConfiguration" not in props


def test_media_lifecycle_is_optional(template: dict[str, Any]) -> None:
    rules = template["Resources"]["MediaBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    condition, expire, no_value = rules[1]["Fn::If"]
    assert condition == "HasMediaExpiration"
    assert expire["ExpirationInDays"] == {"Ref": "MediaExpirationDays"}
    assert no_value == {"Ref": "AWS::NoValue"}


def test_frontend_only_readable_through_cloudfront(template: dict[str, Any]) -> None:
    statements = template["Resources"]["FrontendBucketPolicy"]["Properties"]["PolicyDocument"]
    allow = statements["Statement"][0]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    assert "Distribution" in allow["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]


def test_distribution_routes_api_uncached(template: dict[str, Any]) -> None:
    config = template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    condition, with_api, without_api = config["Origins"]["Fn::If"]
    assert condition == "HasApi"
    assert [o["Id"] for o in without_api] == ["frontend"]
    frontend, api = with_api
    assert frontend["OriginAccessControlId"] == {
        "Fn::GetAtt": ["FrontendOriginAccessControl", "Id"]
    }
    assert api["DomainName"] == {"Fn::Sub": "${ApiId}.execute-api.${AWS::Region}.amazonaws.com"}
    assert api["OriginPath"] == {"Fn::Sub": "/${ApiStageName}"}
    assert api["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    (behaviour,) = config["CacheBehaviors"]["Fn::If"][1]
    assert behaviour["PathPattern"] == "/api/*"
    assert behaviour["TargetOriginId"] == "api"
    assert behaviour["CachePolicyId"] == CACHING_DISABLED
    assert behaviour["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST
    assert set(behaviour["AllowedMethods"]) == {
        "GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE",
    }  # fmt: skip
    assert config["DefaultCacheBehavior"]["TargetOriginId"] == "frontend"
    assert "CustomErrorResponses" not in config  # would turn API errors into index.html


def test_security_headers(template: dict[str, Any]) -> None:
    config = template["Resources"]["SecurityHeadersPolicy"]["Properties"]
    headers = config["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert headers["ContentSecurityPolicy"]["ContentSecurityPolicy"] == CSP
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert headers["ContentTypeOptions"]["Override"] is True
    assert headers["FrameOptions"]["FrameOption"] == "DENY"
    assert headers["ReferrerPolicy"]["ReferrerPolicy"] == "strict-origin-when-cross-origin"
    dist = template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    api_behaviour = dist["CacheBehaviors"]["Fn::If"][1][0]
    for behaviour in (dist["DefaultCacheBehavior"], api_behaviour):
        assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "SecurityHeadersPolicy"}


def test_outputs_cover_the_app_environment(template: dict[str, Any]) -> None:
    outputs = set(template["Outputs"])
    needed = {"JobsTableName", "MediaBucketName", "VideosApiKeyParamName"}
    needed |= {"WebhookSecretParamName", "AuthTokensParamName", "FrontendBucketName"}
    needed |= {"DistributionId", "SiteUrl"}
    assert needed <= outputs
    fake = {name: name for name in outputs}
    env = StageResources.from_outputs("dev", fake, "us-east-1", "123456789012").environment()
    assert set(env) == {
        "STAGE", "JOBS_TABLE", "MEDIA_BUCKET", "VIDEOS_API_KEY_PARAM",
        "VIDEOS_WEBHOOK_SECRET_PARAM", "AUTH_TOKENS_PARAM",
    }  # fmt: skip
