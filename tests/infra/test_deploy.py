"""`make deploy` / `make destroy` steps against a moto server; only Chalice is faked."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra import frontend
from infra.deploy import Deployer, DeployError, main, requested_auth_mode
from infra.iam import CallRecorder, missing
from infra.names import StageResources
from infra.policy import build_policy
from tests.support.infra import REGION, REPO, app_calls

pytestmark = pytest.mark.e2e

ACCOUNT = "123456789012"  # moto's


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


def deployed_with_a_video(
    deployer: Deployer, aws_client: Callable[[str], Any], stage: str
) -> tuple[Any, str]:
    """Deploy `stage` and store one video in its media bucket: (s3 client, bucket name)."""
    deployer.deploy(stage)
    media = f"sora-studio-{stage}-media-{ACCOUNT}-{REGION}"
    s3 = aws_client("s3")
    s3.put_object(Bucket=media, Key="videos/1/video.mp4", Body=b"x")
    return s3, media


def test_destroy_dev_removes_everything(
    deployer: Deployer, aws_client: Callable[[str], Any]
) -> None:
    s3, _ = deployed_with_a_video(deployer, aws_client, "dev")
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


def test_destroy_prod_keeps_its_media_unless_forced(
    deployer: Deployer, aws_client: Callable[[str], Any]
) -> None:
    """The kept prod table's jobs point at their videos: the media bucket stays with them."""
    s3, media = deployed_with_a_video(deployer, aws_client, "prod")
    said: list[str] = []
    deployer.say = said.append
    deployer.destroy("prod")
    assert s3.get_object(Bucket=media, Key="videos/1/video.mp4")["Body"].read() == b"x"
    assert aws_client("dynamodb").list_tables()["TableNames"] == ["sora-studio-prod-jobs"]
    assert any(media in line and "Kept" in line for line in said), said
    assert not any(line.startswith(f"Emptied s3://{media}") for line in said), said

    deployer.destroy("prod", force=True)
    assert not [b for b in s3.list_buckets()["Buckets"] if b["Name"] == media]
    assert aws_client("dynamodb").list_tables()["TableNames"] == []


class FailingBucketDelete:
    """CloudFormation as it answers a stack whose media bucket is not empty: DELETE_FAILED
    on that bucket, then deleted when told to retain it (moto deletes such stacks at once)."""

    def __init__(self, failing: str = "MediaBucket") -> None:
        self.status, self.failing, self.deletes = "CREATE_COMPLETE", failing, []

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        return {"Stacks": [{"StackName": StackName, "StackStatus": self.status}]}

    def delete_stack(self, **kwargs: Any) -> None:
        self.deletes.append(kwargs)
        self.status = "DELETE_COMPLETE" if "RetainResources" in kwargs else "DELETE_FAILED"

    def describe_stack_resources(self, StackName: str) -> dict[str, Any]:
        return {
            "StackResources": [
                {"LogicalResourceId": self.failing, "ResourceStatus": "DELETE_FAILED"}
            ]
        }

    def describe_stack_events(self, StackName: str) -> dict[str, Any]:
        return {"StackEvents": []}

    def get_waiter(self, name: str) -> Any:
        fake = self

        class Waiter:
            def wait(self, **_: Any) -> None:
                if fake.status != "DELETE_COMPLETE":
                    raise RuntimeError("Waiter StackDeleteComplete failed")

        return Waiter()


def test_a_kept_bucket_that_cannot_be_deleted_is_retained_and_the_stack_goes() -> None:
    from infra import stack

    cf = FailingBucketDelete()
    assert stack.delete(cf, "sora-studio-prod", retain=("MediaBucket",))
    assert cf.deletes == [
        {"StackName": "sora-studio-prod"},
        {"StackName": "sora-studio-prod", "RetainResources": ["MediaBucket"]},
    ]
    other = FailingBucketDelete(failing="JobsApi")  # anything else failing is an error
    with pytest.raises(stack.StackError):
        stack.delete(other, "sora-studio-prod", retain=("MediaBucket",))
    with pytest.raises(stack.StackError):
        stack.delete(FailingBucketDelete(), "sora-studio-dev")


def test_destroy_asks_for_the_stage_name_when_interactive(
    deployer: Deployer, aws_client: Callable[[str], Any]
) -> None:
    deployer.deploy("dev")
    prompts: list[str] = []
    for answer in ("", "yes", "prod", "de"):
        deployer.confirm = lambda prompt, answer=answer: prompts.append(prompt) or answer
        with pytest.raises(DeployError, match="nothing was deleted"):
            deployer.destroy("dev")
        assert aws_client("dynamodb").list_tables()["TableNames"] == ["sora-studio-dev-jobs"]
    assert "dev" in prompts[0] and "media" in prompts[0]
    deployer.confirm = lambda prompt: " dev "
    deployer.destroy("dev")
    assert aws_client("dynamodb").list_tables()["TableNames"] == []


def test_destroy_from_a_terminal_asks_and_from_a_pipe_does_not(monkeypatch, capsys) -> None:
    import infra.deploy as deploy_module

    seen: list[Any] = []

    class Recording:
        def __init__(self, client, region, chalice) -> None:
            self.confirm = None

        def destroy(self, stage: str, force: bool = False) -> None:
            seen.append((stage, force, self.confirm))

    monkeypatch.setattr(deploy_module, "Deployer", Recording)
    monkeypatch.setattr(deploy_module, "ChaliceCli", lambda *a, **k: None)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for tty in (True, False):
        monkeypatch.setattr(deploy_module.sys.stdin, "isatty", lambda tty=tty: tty)
        assert main(["destroy", "--stage", "prod", "--force"]) == 0
    assert seen[0][:2] == ("prod", True) and seen[0][2] is input
    assert seen[1][2] is None


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


# --- AuthMode=cognito: user pool, app client, hosted UI domain, invitations -----------------

HOSTED_UI = f"https://sora-studio-dev-{ACCOUNT}.auth.{REGION}.amazoncognito.com"
COGNITO_ENV = ("COGNITO_USER_POOL_ID", "COGNITO_CLIENT_ID", "COGNITO_DOMAIN")


def stage_env(project: Path, stage: str = "dev") -> dict[str, str]:
    config = json.loads((project / ".chalice" / "config.json").read_text())
    return config["stages"][stage]["environment_variables"]


def pools_named(aws_client: Callable[[str], Any], name: str) -> list[str]:
    pools = aws_client("cognito-idp").list_user_pools(MaxResults=60)["UserPools"]
    return [p["Id"] for p in pools if p["Name"] == name]


def test_deploy_with_cognito(deployer: Deployer, aws_client: Callable[[str], Any]) -> None:
    project = deployer.project_dir
    site = deployer.deploy("dev", auth_mode="cognito")
    assert stack_params(aws_client, "dev")["AuthMode"] == "cognito"

    # the stack made one pool, its client and its domain; the stage environment names them
    (pool_id,) = pools_named(aws_client, "sora-studio-dev-users")
    idp = aws_client("cognito-idp")
    (client,) = idp.list_user_pool_clients(UserPoolId=pool_id)["UserPoolClients"]
    env = stage_env(project)
    assert {k: env[k] for k in ("AUTH_MODE", *COGNITO_ENV)} == {
        "AUTH_MODE": "cognito",
        "COGNITO_USER_POOL_ID": pool_id,
        "COGNITO_CLIENT_ID": client["ClientId"],
        "COGNITO_DOMAIN": HOSTED_UI,
    }
    domain = idp.describe_user_pool_domain(Domain=f"sora-studio-dev-{ACCOUNT}")
    assert domain["DomainDescription"]["UserPoolId"] == pool_id
    (call,) = deployer.chalice.calls  # chalice deploy saw them
    assert call[2]["COGNITO_CLIENT_ID"] == client["ClientId"]

    # the app accepts that environment and checks tokens against this pool
    from chalicelib.config import load_settings

    settings = load_settings({**env, "AWS_REGION": REGION})
    assert settings.auth_mode == "cognito"
    assert settings.cognito_issuer == f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}"
    assert settings.cognito_domain == HOSTED_UI

    # invite-only pool, strict passwords, optional TOTP, recovery by verified email
    pool = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert f"{site}/" in pool["AdminCreateUserConfig"]["InviteMessageTemplate"]["EmailMessage"]
    assert pool["UsernameAttributes"] == ["email"]
    assert pool["DeletionProtection"] == "INACTIVE"  # dev
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] == 12
    assert pool["AccountRecoverySetting"]["RecoveryMechanisms"] == [
        {"Name": "verified_email", "Priority": 1}
    ]
    mfa = idp.get_user_pool_mfa_config(UserPoolId=pool_id)
    assert mfa["MfaConfiguration"] == "OPTIONAL"
    assert mfa["SoftwareTokenMfaConfiguration"] == {"Enabled": True}

    # public client: code grant back to the site, no secret
    details = idp.describe_user_pool_client(UserPoolId=pool_id, ClientId=client["ClientId"])
    details = details["UserPoolClient"]
    assert "ClientSecret" not in details
    assert details["AllowedOAuthFlows"] == ["code"]
    assert details["AllowedOAuthScopes"] == ["openid", "email"]
    assert details["CallbackURLs"] == details["LogoutURLs"] == [f"{site}/"]
    assert details["SupportedIdentityProviders"] == ["COGNITO"]
    assert details["PreventUserExistenceErrors"] == "ENABLED"
    assert (details["AccessTokenValidity"], details["RefreshTokenValidity"]) == (60, 30)

    # the Lambda policy is the token-mode one: token checks need no AWS permission
    policy = json.loads((project / ".chalice" / "policy-dev.json").read_text())
    assert policy == build_policy(StageResources.for_stage("dev", REGION, ACCOUNT))

    # a fresh checkout (committed config says token) keeps the stack's choice and its pool
    shutil.copy(REPO / ".chalice" / "config.json", project / ".chalice" / "config.json")
    deployer.deploy("dev")
    assert stage_env(project) == env
    assert pools_named(aws_client, "sora-studio-dev-users") == [pool_id]


def test_token_mode_writes_nothing_cognito(
    deployer: Deployer, aws_client: Callable[[str], Any]
) -> None:
    project = deployer.project_dir
    config = json.loads((project / ".chalice" / "config.json").read_text())
    stale = {"COGNITO_USER_POOL_ID": "us-east-1_old", "COGNITO_CLIENT_ID": "old"}
    config["stages"]["dev"]["environment_variables"].update(stale)
    (project / ".chalice" / "config.json").write_text(json.dumps(config))

    deployer.deploy("dev")

    env = stage_env(project)
    assert env["AUTH_MODE"] == "token"
    assert not [k for k in env if k.startswith("COGNITO_")]
    assert stack_params(aws_client, "dev")["AuthMode"] == "token"
    outputs = aws_client("cloudformation").describe_stacks(StackName="sora-studio-dev")
    keys = {o["OutputKey"] for o in outputs["Stacks"][0]["Outputs"]}
    assert not keys & {"CognitoUserPoolId", "CognitoClientId", "CognitoDomain"}
    assert aws_client("cognito-idp").list_user_pools(MaxResults=60)["UserPools"] == []
    with pytest.raises(DeployError, match="no Cognito user pool"):
        deployer.invite("dev", "alice@example.com")


def test_mode_remembered_from_the_config(
    deployer: Deployer, aws_client: Callable[[str], Any]
) -> None:
    project = deployer.project_dir
    config = json.loads((project / ".chalice" / "config.json").read_text())
    config["stages"]["dev"]["environment_variables"]["AUTH_MODE"] = "cognito"
    (project / ".chalice" / "config.json").write_text(json.dumps(config))
    deployer.deploy("dev")
    assert stack_params(aws_client, "dev")["AuthMode"] == "cognito"
    assert stage_env(project)["COGNITO_DOMAIN"] == HOSTED_UI

    config["stages"]["dev"]["environment_variables"]["AUTH_MODE"] = "none"
    (project / ".chalice" / "config.json").write_text(json.dumps(config))
    with pytest.raises(RuntimeError, match="AUTH_MODE=none"):
        deployer.resolve_auth_mode("dev", requested=None, existing=None)  # no stack yet


def test_switching_a_cognito_stage_to_token_needs_force(
    deployer: Deployer, aws_client: Callable[[str], Any]
) -> None:
    deployer.deploy("dev", auth_mode="cognito")
    with pytest.raises(DeployError, match="--force"):
        deployer.deploy("dev", auth_mode="token")
    assert stage_env(deployer.project_dir)["AUTH_MODE"] == "cognito"

    deployer.deploy("dev", auth_mode="token", force=True)
    env = stage_env(deployer.project_dir)
    assert env["AUTH_MODE"] == "token"
    assert not [k for k in env if k.startswith("COGNITO_")]
    assert stack_params(aws_client, "dev")["AuthMode"] == "token"


def test_invite(deployer: Deployer, aws_client: Callable[[str], Any]) -> None:
    deployer.deploy("dev", auth_mode="cognito")
    pool_id = stage_env(deployer.project_dir)["COGNITO_USER_POOL_ID"]
    idp = aws_client("cognito-idp")

    sub = deployer.invite("dev", "alice@example.com")

    (user,) = idp.list_users(UserPoolId=pool_id)["Users"]
    attributes = {a["Name"]: a["Value"] for a in user["Attributes"]}
    assert attributes == {"email": "alice@example.com", "email_verified": "true", "sub": sub}
    assert user["UserStatus"] == "FORCE_CHANGE_PASSWORD"  # the emailed temporary password
    with pytest.raises(DeployError, match="already a user"):
        deployer.invite("dev", "alice@example.com")
    with pytest.raises(DeployError, match="not an email"):
        deployer.invite("dev", "alice")

    # the pool holds users to its password policy
    weak, strong = "Sh0rt!pw", "Long-enough-passw0rd"
    with pytest.raises(idp.exceptions.InvalidPasswordException):
        idp.admin_set_user_password(UserPoolId=pool_id, Username=sub, Password=weak, Permanent=True)
    idp.admin_set_user_password(UserPoolId=pool_id, Username=sub, Password=strong, Permanent=True)

    # --resend asks Cognito to email the invitation again (moto 5.2 then adds a second user
    # instead of answering with the first, so only the request is checked)
    recorder = CallRecorder()
    with recorder.recording() as calls:
        deployer.invite("dev", "alice@example.com", resend=True)
    (create,) = [c for c in calls if c.operation == "AdminCreateUser"]
    assert create.params == {
        "UserPoolId": pool_id,
        "Username": "alice@example.com",
        "DesiredDeliveryMediums": ["EMAIL"],
        "MessageAction": "RESEND",
    }


def test_destroy_deletes_the_dev_pool_and_keeps_prod_unless_forced(
    deployer: Deployer, aws_client: Callable[[str], Any]
) -> None:
    deployer.deploy("dev", auth_mode="cognito")
    deployer.invite("dev", "alice@example.com")
    deployer.destroy("dev")
    assert pools_named(aws_client, "sora-studio-dev-users") == []

    deployer.deploy("prod", auth_mode="cognito")
    (pool_id,) = pools_named(aws_client, "sora-studio-prod-users")
    idp = aws_client("cognito-idp")
    assert idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["DeletionProtection"] == (
        "ACTIVE"
    )
    deployer.destroy("prod")
    assert pools_named(aws_client, "sora-studio-prod-users") == [pool_id]  # users kept
    deployer.destroy("prod", force=True)
    assert pools_named(aws_client, "sora-studio-prod-users") == []


def test_requested_auth_mode() -> None:
    assert requested_auth_mode(None, {}) is None
    assert requested_auth_mode(None, {"AUTH_MODE": " "}) is None
    assert requested_auth_mode(None, {"AUTH_MODE": "cognito"}) == "cognito"
    assert requested_auth_mode("token", {"AUTH_MODE": "cognito"}) == "token"
    with pytest.raises(DeployError, match="none is for `make run`"):
        requested_auth_mode(None, {"AUTH_MODE": "none"})


def test_invite_needs_an_email(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["invite", "--stage", "dev"])
    assert exit_.value.code == 2
    assert "invite needs --email" in capsys.readouterr().err
