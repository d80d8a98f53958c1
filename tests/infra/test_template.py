"""infra/template.yaml: cfn-lint clean, and what moto cannot show, read from the template."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_file

from infra import cfn_yaml
from infra.names import COGNITO_OUTPUTS, StageResources
from infra.package import resolve_condition
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


HOSTED_UI = "https://${AppName}-${Stage}-${AWS::AccountId}.auth.${AWS::Region}.amazoncognito.com"
SITE = "https://${Distribution.DomainName}/"


def test_cfn_lint_clean() -> None:
    matches = lint_file(TEMPLATE_PATH)
    assert not matches, "\n".join(str(m) for m in matches)


@pytest.mark.parametrize("mode", ["token", "cognito"])
def test_cfn_lint_clean_in_each_auth_mode(mode: str, tmp_path: Path) -> None:
    """The template as CloudFormation sees it with AuthMode fixed (conditions resolved)."""
    template = resolve_condition(cfn_yaml.load(TEMPLATE_PATH), "UseCognito", mode == "cognito")
    del template["Parameters"]["AuthMode"]
    template["Outputs"]["AuthMode"]["Value"] = mode
    assert "UseCognito" not in json.dumps(template)
    types = {body["Type"] for body in template["Resources"].values()}
    assert ("AWS::Cognito::UserPool" in types) is (mode == "cognito")
    path = tmp_path / f"template-{mode}.json"
    path.write_text(json.dumps(template))
    matches = lint_file(path)
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
    if bucket == "MediaBucket":
        # Read-only CORS so the UI can read a reference image back through a presigned URL.
        (cors,) = props["CorsConfiguration"]["CorsRules"]
        assert sorted(cors["AllowedMethods"]) == ["GET", "HEAD"]
    else:
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
    condition, cognito_csp, token_csp = headers["ContentSecurityPolicy"]["ContentSecurityPolicy"][
        "Fn::If"
    ]
    assert condition == "UseCognito"
    assert token_csp == CSP
    # with Cognito the UI may also call the hosted UI (token endpoint), and nothing else
    connect = "connect-src 'self';"
    assert cognito_csp == {"Fn::Sub": CSP.replace(connect, f"connect-src 'self' {HOSTED_UI};")}
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
    needed |= {"OpenRouterApiKeyParamName", "OpenRouterWebhookSecretParamName"}
    needed |= {"MediaLinkSecretParamName", "FalKeyParamName", "VertexServiceAccountParamName"}
    assert needed <= outputs
    fake = {name: name for name in outputs}
    app_env = {
        "STAGE", "JOBS_TABLE", "MEDIA_BUCKET", "VIDEOS_API_KEY_PARAM",
        "VIDEOS_WEBHOOK_SECRET_PARAM", "AUTH_TOKENS_PARAM", "AUTH_MODE",
        "OPENROUTER_API_KEY_PARAM", "OPENROUTER_WEBHOOK_SECRET_PARAM",
        "MEDIA_LINK_SECRET_PARAM", "FAL_KEY_PARAM", "VERTEX_SERVICE_ACCOUNT_PARAM",
    }  # fmt: skip
    token = StageResources.from_outputs(
        "dev", {**fake, "AuthMode": "token"}, "us-east-1", "123456789012"
    )
    assert set(token.environment()) == app_env
    assert token.environment()["AUTH_MODE"] == "token"
    cognito = StageResources.from_outputs(
        "dev", {**fake, "AuthMode": "cognito"}, "us-east-1", "123456789012"
    )
    assert set(cognito.environment()) == app_env | set(COGNITO_OUTPUTS)
    assert cognito.environment()["COGNITO_CLIENT_ID"] == "CognitoClientId"


def test_auth_mode_parameter(template: dict[str, Any]) -> None:
    param = template["Parameters"]["AuthMode"]
    assert param["Default"] == "token"
    assert param["AllowedValues"] == ["token", "cognito"]
    assert template["Conditions"]["UseCognito"] == {"Fn::Equals": [{"Ref": "AuthMode"}, "cognito"]}
    cognito = [n for n, r in template["Resources"].items() if r["Type"].startswith("AWS::Cognito")]
    assert sorted(cognito) == ["UserPool", "UserPoolClient", "UserPoolDomain"]
    for name in cognito:
        assert template["Resources"][name]["Condition"] == "UseCognito", name
    for output in COGNITO_OUTPUTS.values():
        assert template["Outputs"][output]["Condition"] == "UseCognito", output
    assert template["Outputs"]["AuthMode"] == {"Value": {"Ref": "AuthMode"}}


def test_user_pool_is_invite_only_and_strict(template: dict[str, Any]) -> None:
    pool = template["Resources"]["UserPool"]
    props = pool["Properties"]
    # jobs are keyed by `sub`: the pool outlives the stack and replacements, like the table
    assert pool["DeletionPolicy"] == pool["UpdateReplacePolicy"] == "Retain"
    assert props["DeletionProtection"] == {"Fn::If": ["IsProd", "ACTIVE", "INACTIVE"]}
    assert props["UsernameAttributes"] == ["email"]
    assert props["UsernameConfiguration"] == {"CaseSensitive": False}
    assert props["AutoVerifiedAttributes"] == ["email"]
    admin_only = props["AdminCreateUserConfig"]
    assert admin_only["AllowAdminCreateUserOnly"] is True
    message = admin_only["InviteMessageTemplate"]["EmailMessage"]["Fn::Sub"]
    assert "{username}" in message and "{####}" in message and SITE in message
    password = props["Policies"]["PasswordPolicy"]
    assert password["MinimumLength"] >= 12
    assert all(password[f"Require{kind}"] for kind in ("Lowercase", "Uppercase", "Numbers"))
    assert password["RequireSymbols"] is True
    assert password["TemporaryPasswordValidityDays"] <= 7
    assert props["MfaConfiguration"] == "OPTIONAL"
    assert props["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert props["AccountRecoverySetting"] == {
        "RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]
    }
    assert "LambdaConfig" not in props  # no trigger could open sign-up again


def test_app_client_is_public_code_grant_to_the_site(template: dict[str, Any]) -> None:
    props = template["Resources"]["UserPoolClient"]["Properties"]
    assert props["UserPoolId"] == {"Ref": "UserPool"}
    assert props["GenerateSecret"] is False
    assert props["AllowedOAuthFlowsUserPoolClient"] is True
    assert props["AllowedOAuthFlows"] == ["code"]
    assert props["AllowedOAuthScopes"] == ["openid", "email"]
    assert props["SupportedIdentityProviders"] == ["COGNITO"]
    assert props["CallbackURLs"] == props["LogoutURLs"] == [{"Fn::Sub": SITE}]
    assert props["PreventUserExistenceErrors"] == "ENABLED"
    assert set(props["ExplicitAuthFlows"]) == {"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
    assert props["EnableTokenRevocation"] is True
    validity = {
        kind: (props[f"{kind}Validity"], props["TokenValidityUnits"][kind])
        for kind in ("AccessToken", "IdToken", "RefreshToken")
    }
    assert validity == {
        "AccessToken": (60, "minutes"),
        "IdToken": (60, "minutes"),
        "RefreshToken": (30, "days"),
    }


def test_hosted_ui_domain_is_the_one_output_and_allowed(template: dict[str, Any]) -> None:
    domain = template["Resources"]["UserPoolDomain"]["Properties"]
    assert domain["UserPoolId"] == {"Ref": "UserPool"}
    assert domain["Domain"] == {"Fn::Sub": "${AppName}-${Stage}-${AWS::AccountId}"}
    prefix = domain["Domain"]["Fn::Sub"]
    assert f"https://{prefix}.auth.${{AWS::Region}}.amazoncognito.com" == HOSTED_UI
    assert template["Outputs"]["CognitoDomain"]["Value"] == {"Fn::Sub": HOSTED_UI}
    assert template["Outputs"]["CognitoUserPoolId"]["Value"] == {"Ref": "UserPool"}
    assert template["Outputs"]["CognitoClientId"]["Value"] == {"Ref": "UserPoolClient"}
    # Cognito refuses prefixes with these words; the longest default prefix fits 63 chars
    longest = prefix.replace("${AppName}", "a" * 21).replace("${Stage}", "prod")
    longest = longest.replace("${AWS::AccountId}", "0" * 12)
    assert len(longest) <= 63
    for reserved in ("aws", "amazon", "cognito"):
        assert reserved not in template["Parameters"]["AppName"]["Default"]
