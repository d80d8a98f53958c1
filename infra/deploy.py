"""`python -m infra.deploy {deploy,destroy,package,secrets} --stage STAGE` (the Makefile targets).

deploy:  stack (template.yaml) -> .chalice stage env + policy from its outputs -> chalice deploy
         -> stack again with the API id (CloudFront /api/* origin) -> frontend upload ->
         CloudFront invalidation -> prints the site URL. Safe to re-run.
         Auth mode: --auth-mode or $AUTH_MODE (token | cognito), else what the stage uses
         now (its stack, else .chalice/config.json), else token. cognito adds a user pool,
         app client and hosted UI to the stack and COGNITO_* to the stage's environment.
destroy: asks for the stage name (from a terminal) -> chalice delete -> empty buckets ->
         delete stack -> delete the dev table and user pool (prod keeps its table, media
         bucket, pool and secrets unless --force).
package: one SAM template in build/package-STAGE/ (chalice package --merge-template);
         token mode only.
secrets: put the upstream keys, webhook secrets and access tokens into SSM SecureStrings, and
         generate the media link secret once.
frontend: only upload frontend/ and invalidate (e.g. after deploying the packaged template:
         --stack-name NAME).
invite:  add a user to a cognito stage's pool (--email); Cognito emails them a temporary
         password (--resend: again, before their first sign-in).

Only `chalice deploy`/`chalice delete` cannot run offline; they sit behind `ChaliceRunner`.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from infra import chalice_config, frontend, stack
from infra.chalice_cli import ChaliceCli
from infra.names import (
    APP_NAME,
    AUTH_MODES,
    COGNITO_OUTPUTS,
    DEFAULT_AUTH_MODE,
    SECRETS,
    STAGES,
    StageResources,
    param_names,
    stack_name,
    user_pool_name,
)
from infra.package import chalice_functions, check_merged, check_runtime, write_merge_template

PROJECT_DIR = Path(__file__).resolve().parent.parent
ClientFactory = Callable[[str], Any]
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
PACKAGE_TOKEN_ONLY = (
    "`make package` builds token-mode stacks only: in one stack the API function would need "
    "the Cognito app client, whose callback URL needs CloudFront, whose /api/* origin needs "
    "the API, which needs the function (a dependency cycle). Deploy a Cognito stage with "
    "`AUTH_MODE=cognito make deploy STAGE=<stage>`."
)


class ChaliceRunner(Protocol):
    def deploy(self, stage: str) -> None: ...
    def delete(self, stage: str) -> None: ...


class DeployError(RuntimeError):
    pass


def requested_auth_mode(flag: str | None, environ: Mapping[str, str] = os.environ) -> str | None:
    """--auth-mode, else $AUTH_MODE, else None (the stage keeps its current mode)."""
    mode = (flag or environ.get("AUTH_MODE", "")).strip()
    if not mode:
        return None
    if mode not in AUTH_MODES:
        raise DeployError(
            f"AUTH_MODE={mode}: a deployed stage uses {' or '.join(AUTH_MODES)} "
            "(none is for `make run` on loopback only)"
        )
    return mode


@dataclass
class Deployer:
    client: ClientFactory
    region: str
    chalice: ChaliceRunner
    project_dir: Path = PROJECT_DIR
    template_body: str | None = None  # tests swap in a moto-compatible variant
    say: Callable[[str], None] = field(default=print)
    # destroy asks for the stage name through this (main: `input` from a terminal)
    confirm: Callable[[str], str] | None = None

    @property
    def chalice_dir(self) -> Path:
        return self.project_dir / ".chalice"

    def account(self) -> str:
        return self.client("sts").get_caller_identity()["Account"]

    def stack_params(
        self, stage: str, api_id: str, auth_mode: str = DEFAULT_AUTH_MODE
    ) -> dict[str, str]:
        names = param_names(stage)
        return {
            "AppName": APP_NAME,
            "Stage": stage,
            "ApiId": api_id,
            "MediaExpirationDays": os.environ.get("MEDIA_EXPIRATION_DAYS", "0"),
            "AuthMode": auth_mode,
            **{s.cfn_parameter: names[s.env] for s in SECRETS},
        }

    def deploy_stack(
        self, stage: str, api_id: str, auth_mode: str = DEFAULT_AUTH_MODE
    ) -> dict[str, str]:
        self.say(f"Stack {stack_name(stage)} (ApiId={api_id or '-'}, AuthMode={auth_mode}) ...")
        return stack.deploy(
            self.client("cloudformation"),
            stack_name(stage),
            self.stack_params(stage, api_id, auth_mode),
            template_body=self.template_body,
            tags={"app": APP_NAME, "stage": stage},
        )

    def resolve_auth_mode(
        self,
        stage: str,
        requested: str | None,
        existing: Mapping[str, Any] | None,
        force: bool = False,
    ) -> str:
        """The requested mode, else the stack's, else .chalice/config.json's, else token.

        A stage on Cognito is switched to token only with `force`: the switch detaches the
        user pool (kept with its users), and switching back would create a new, empty one.
        """
        current = stack.parameters(existing).get("AuthMode", "") if existing else ""
        remembered = current or chalice_config.stage_auth_mode(self.chalice_dir, stage)
        mode = requested or remembered or DEFAULT_AUTH_MODE
        if current == "cognito" and mode != "cognito" and not force:
            raise DeployError(
                f"Stack {stack_name(stage)} uses Cognito. Switching it to {mode} detaches its "
                f"user pool {user_pool_name(stage)} (kept, with its users) and a later switch "
                "back creates a new, empty pool. Unset AUTH_MODE to keep cognito, or switch "
                f"anyway with `python -m infra.deploy deploy --stage {stage} --auth-mode "
                f"{mode} --force`."
            )
        return mode

    def deploy(self, stage: str, auth_mode: str | None = None, force: bool = False) -> str:
        cf = self.client("cloudformation")
        existing = stack.describe(cf, stack_name(stage))
        self.check_no_orphan_table(stage, existing)
        mode = self.resolve_auth_mode(stage, auth_mode, existing, force)
        known_api = stack.parameters(existing).get("ApiId", "") if existing else ""
        known_api = known_api or chalice_config.deployed_rest_api_id(self.chalice_dir, stage)

        outputs = self.deploy_stack(stage, known_api, mode)
        resources = StageResources.from_outputs(stage, outputs, self.region, self.account())
        for path in chalice_config.write_stage(self.chalice_dir, resources):
            self.say(f"Wrote {path.relative_to(self.project_dir)} from the stack outputs")
        if resources.cognito:
            self.say(
                f"Cognito user pool {resources.cognito['COGNITO_USER_POOL_ID']}, hosted UI "
                f"{resources.cognito['COGNITO_DOMAIN']}; add users with "
                f"`python -m infra.deploy invite --stage {stage} --email EMAIL`"
            )

        self.chalice.deploy(stage)
        api_id = chalice_config.deployed_rest_api_id(self.chalice_dir, stage)
        if not api_id:
            raise DeployError(f"chalice deploy left no rest_api in .chalice/deployed/{stage}.json")
        if api_id != known_api:
            outputs = self.deploy_stack(stage, api_id, mode)

        return self.publish_frontend(outputs)

    def invite(self, stage: str, email: str, resend: bool = False) -> str:
        """Create a user of the stage's pool (Cognito emails a temporary password); returns
        their user id (`sub`, what the app keys their jobs by)."""
        email = email.strip()
        if not EMAIL.fullmatch(email):
            raise DeployError(f"not an email address: {email!r}")
        existing = stack.describe(self.client("cloudformation"), stack_name(stage))
        outputs = stack.outputs(existing) if existing else {}
        pool = outputs.get("CognitoUserPoolId", "")
        if not pool:
            raise DeployError(
                f"stage {stage} has no Cognito user pool: deploy it with "
                f"`AUTH_MODE=cognito make deploy STAGE={stage}` first"
            )
        idp = self.client("cognito-idp")
        args: dict[str, Any] = {
            "UserPoolId": pool,
            "Username": email,
            "DesiredDeliveryMediums": ["EMAIL"],
        }
        if resend:
            args["MessageAction"] = "RESEND"
        else:
            # The owner vouches for the address, so password resets can go to it at once.
            args["UserAttributes"] = [
                {"Name": "email", "Value": email},
                {"Name": "email_verified", "Value": "true"},
            ]
        try:
            user = idp.admin_create_user(**args)["User"]
        except idp.exceptions.UsernameExistsException:
            raise DeployError(
                f"{email} is already a user of {pool}; --resend emails a new temporary "
                "password if they have not signed in yet"
            ) from None
        attributes = {a["Name"]: a["Value"] for a in user.get("Attributes", [])}
        sub = attributes.get("sub") or user["Username"]
        site = outputs.get("SiteUrl", "")
        self.say(
            f"Invited {email} (user id {sub}): Cognito emails them a temporary password, "
            f"valid 7 days; they sign in at {site}/ and choose their own."
        )
        return sub

    def publish_frontend(self, outputs: Mapping[str, str]) -> str:
        """Upload frontend/ to the stack's bucket, invalidate CloudFront, return the site URL."""
        bucket = outputs["FrontendBucketName"]
        assets = frontend.upload(self.client("s3"), bucket, self.project_dir / "frontend")
        self.say(f"Uploaded {len(assets)} frontend files to s3://{bucket}")
        invalidation = frontend.invalidate(self.client("cloudfront"), outputs["DistributionId"])
        self.say(f"CloudFront invalidation {invalidation} requested")
        self.say(f"Site: {outputs['SiteUrl']}  (API under {outputs['SiteUrl']}/api)")
        return outputs["SiteUrl"]

    def publish_stack_frontend(self, stack_name_: str) -> str:
        """The frontend step alone, for a stack deployed from `make package`'s template."""
        existing = stack.describe(self.client("cloudformation"), stack_name_)
        if existing is None:
            raise DeployError(f"no stack {stack_name_}")
        return self.publish_frontend(stack.outputs(existing))

    def check_no_orphan_table(self, stage: str, existing: Mapping[str, Any] | None) -> None:
        # A create that rolled back keeps the table too (DeletionPolicy: Retain).
        if existing is not None and existing["StackStatus"] != "ROLLBACK_COMPLETE":
            return
        table = StageResources.for_stage(stage).table_name
        ddb = self.client("dynamodb")
        try:
            ddb.describe_table(TableName=table)
        except ddb.exceptions.ResourceNotFoundException:  # the normal first deploy
            return
        raise DeployError(
            f"Table {table} exists but stack {stack_name(stage)} does not (kept by an earlier "
            "`make destroy`). Import it into the stack (CloudFormation resource import) or "
            f"delete it (`make destroy STAGE={stage} FORCE=1`) before deploying again."
        )

    def confirm_destroy(self, stage: str, keep: bool) -> None:
        """From a terminal, the stage's name must be typed before anything is deleted."""
        if self.confirm is None:
            return
        doomed = "its API, site and stack"
        if keep:
            doomed += " (prod keeps its table, media, users and secrets; FORCE=1 deletes them)"
        else:
            doomed += ", every video in its media bucket, its jobs table, users and secrets"
        answer = self.confirm(f"This deletes stage {stage}: {doomed}. Type {stage} to go on: ")
        if answer.strip() != stage:
            raise DeployError(f"Not confirmed (typed {answer.strip()!r}): nothing was deleted.")

    def destroy(self, stage: str, force: bool = False) -> None:
        keep = stage == "prod" and not force  # the kept table's jobs point at their media
        self.confirm_destroy(stage, keep)
        cf = self.client("cloudformation")
        existing = stack.describe(cf, stack_name(stage))
        outputs = stack.outputs(existing) if existing else {}
        if (self.chalice_dir / "deployed" / f"{stage}.json").exists():
            self.chalice.delete(stage)
        s3 = self.client("s3")
        emptied = ("FrontendBucketName",) if keep else ("FrontendBucketName", "MediaBucketName")
        for key in emptied:
            if outputs.get(key):
                count = frontend.empty_bucket(s3, outputs[key])
                self.say(f"Emptied s3://{outputs[key]} ({count} objects)")
        pools = self.user_pools(stage, outputs)
        # A media bucket left full cannot be deleted: the stack goes without it.
        if stack.delete(cf, stack_name(stage), retain=("MediaBucket",) if keep else ()):
            self.say(f"Deleted stack {stack_name(stage)}")
        table = outputs.get("JobsTableName") or StageResources.for_stage(stage).table_name
        if keep:
            media = outputs.get("MediaBucketName")
            kept = f"table {table}" + (f", media bucket {media}" if media else "")
            kept += "".join(f", user pool {p}" for p in pools)
            self.say(f"Kept {kept} and the SSM secrets (prod; FORCE=1 deletes them)")
            return
        if not outputs.get("MediaBucketName"):  # the stack is gone: a bucket kept before?
            self.delete_bucket(StageResources.for_stage(stage, self.region, self.account()))
        self.delete_table(table)
        for pool in pools:
            self.delete_user_pool(pool)
        ssm = self.client("ssm")
        for name in param_names(stage).values():
            try:
                ssm.delete_parameter(Name=name)
                self.say(f"Deleted SSM parameter {name}")
            except ssm.exceptions.ParameterNotFound:
                pass

    def user_pools(self, stage: str, outputs: Mapping[str, str]) -> list[str]:
        """The stage's user pool ids: the stack's, and any other pool of the stage's name (one
        a switch to token mode detached). CloudFormation retains pools (like the table)."""
        pools = {outputs["CognitoUserPoolId"]} if outputs.get("CognitoUserPoolId") else set()
        idp = self.client("cognito-idp")
        try:
            for page in idp.get_paginator("list_user_pools").paginate(MaxResults=60):
                pools |= {p["Id"] for p in page["UserPools"] if p["Name"] == user_pool_name(stage)}
        except ClientError as exc:  # a token-only deployer may not be allowed to list pools
            if exc.response["Error"]["Code"] not in ("AccessDeniedException", "AccessDenied"):
                raise
        return sorted(pools)

    def delete_user_pool(self, pool_id: str) -> None:
        idp = self.client("cognito-idp")
        try:
            pool = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]
        except idp.exceptions.ResourceNotFoundException:
            return
        if pool.get("Domain"):
            idp.delete_user_pool_domain(Domain=pool["Domain"], UserPoolId=pool_id)
        if pool.get("DeletionProtection") == "ACTIVE":
            idp.update_user_pool(
                UserPoolId=pool_id,
                DeletionProtection="INACTIVE",
                AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
            )
        idp.delete_user_pool(UserPoolId=pool_id)
        self.say(f"Deleted user pool {pool.get('Name', '')} ({pool_id}) and its users")

    def delete_bucket(self, names: StageResources) -> None:
        """The media bucket an earlier destroy of prod kept (with --force now), if any."""
        s3 = self.client("s3")
        try:
            s3.head_bucket(Bucket=names.media_bucket)
        except ClientError:
            return
        count = frontend.empty_bucket(s3, names.media_bucket)
        s3.delete_bucket(Bucket=names.media_bucket)
        self.say(f"Deleted s3://{names.media_bucket} ({count} objects), kept by an earlier destroy")

    def delete_table(self, table: str) -> None:
        ddb = self.client("dynamodb")
        try:
            ddb.update_table(TableName=table, DeletionProtectionEnabled=False)
            ddb.get_waiter("table_exists").wait(TableName=table)
            ddb.delete_table(TableName=table)
        except ddb.exceptions.ResourceNotFoundException:
            return
        ddb.get_waiter("table_not_exists").wait(TableName=table)
        self.say(f"Deleted table {table}")


def store_secrets(
    ssm: Any,
    stage: str,
    environ: Mapping[str, str] = os.environ,
    prompt: Callable[[str], str] = getpass.getpass,
    say: Callable[[str], None] = print,
) -> list[str]:
    """Put the stage's secrets into SSM SecureStrings (--overwrite), each from its variable
    (VIDEOS_API_KEY, VIDEOS_WEBHOOK_SECRET, AUTH_TOKENS, ...) or else a hidden prompt; a blank
    answer leaves that parameter as it is. Token entries are merged into the stored ones. A
    generated secret (the media link secret) is never asked for: made once when none is stored,
    kept after that unless its variable gives a new one. Values are never printed. Returns the
    names written."""
    names = param_names(stage)
    interactive = sys.stdin.isatty() or prompt is not getpass.getpass
    stored = []
    for secret in SECRETS:
        name = names[secret.env]
        value = environ.get(secret.source, "").strip()
        if not value and secret.generated:
            if _parameter_exists(ssm, name):
                say(f"{name}: unchanged (set {secret.source} to replace it)")
                continue
            value = secrets.token_urlsafe(32)
        if not value and interactive:
            value = prompt(f"{secret.label} for {name} (blank keeps it): ").strip()
        if not value:
            say(f"{name}: unchanged")
            continue
        if secret.env == "AUTH_TOKENS_PARAM":
            value = merged_tokens(ssm, name, value)
        if secret.env == "VERTEX_SERVICE_ACCOUNT_PARAM":
            value = compact_service_account(value)
        tier = "Standard" if len(value) <= 4096 else "Advanced"  # 4 KB, else 8 KB
        ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True, Tier=tier)
        say(f"{name}: stored (SecureString, {tier})")
        stored.append(name)
    return stored


def _parameter_exists(ssm: Any, name: str) -> bool:
    try:
        ssm.get_parameter(Name=name)
    except ssm.exceptions.ParameterNotFound:
        return False
    return True


def compact_service_account(text: str) -> str:
    """A Google service-account key file as one compact JSON line (a pretty-printed key can
    pass SSM's 4 KB Standard tier); refused unless it is one. Its values are never quoted."""
    try:
        key = json.loads(text)
    except json.JSONDecodeError:
        raise DeployError(
            "VERTEX_SERVICE_ACCOUNT_JSON is not JSON: give the whole key file, e.g. "
            'VERTEX_SERVICE_ACCOUNT_JSON="$(cat key.json)" make secrets STAGE=<stage>'
        ) from None
    if not isinstance(key, dict) or key.get("type") != "service_account":
        raise DeployError('VERTEX_SERVICE_ACCOUNT_JSON must be a "type": "service_account" key')
    if not key.get("client_email") or not key.get("private_key"):
        raise DeployError("VERTEX_SERVICE_ACCOUNT_JSON lacks client_email or private_key")
    return json.dumps(key, separators=(",", ":"))


def merged_tokens(ssm: Any, name: str, new_entries: str) -> str:
    """The stored token table plus `new_entries` (JSON object of hash -> user entry)."""
    try:
        entries = json.loads(new_entries)
    except json.JSONDecodeError as exc:
        raise DeployError(f"AUTH_TOKENS is not JSON ({exc.msg}); paste the entry line") from None
    if not isinstance(entries, dict) or not entries:
        raise DeployError("AUTH_TOKENS must be a JSON object of token hash -> user entry")
    try:
        current = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        current = "{}"
    return json.dumps({**json.loads(current), **entries}, separators=(",", ":"))


def package(
    stage: str,
    cli: ChaliceCli,
    project_dir: Path = PROJECT_DIR,
    build: Path | None = None,
    auth_mode: str | None = None,
) -> Path:
    """build/package-STAGE/sam.json (+ deployment.zip): one SAM template with everything.

    Token mode only (see PACKAGE_TOKEN_ONLY); `auth_mode` as for deploy, else the stage's
    AUTH_MODE in .chalice/config.json."""
    chalice_dir = project_dir / ".chalice"
    mode = auth_mode or chalice_config.stage_auth_mode(chalice_dir, stage) or DEFAULT_AUTH_MODE
    if mode != "token":
        source = "requested" if auth_mode else "set in .chalice/config.json"
        raise DeployError(f"Stage {stage}: AUTH_MODE={mode} {source}. {PACKAGE_TOKEN_ONLY}")
    config = chalice_config.load(chalice_dir)
    functions = chalice_functions(config, stage)
    stage_config = config["stages"].get(stage, {})
    retention = "log_retention_in_days" in {**config, **stage_config}
    # Cognito settings a `make deploy` in cognito mode left in the stage (Chalice merges the
    # stage's environment in): emptied, the packaged stack has no pool.
    stale = [k for k in COGNITO_OUTPUTS if k in stage_config.get("environment_variables", {})]
    build = build or project_dir / "build"
    merge = write_merge_template(
        build / f"merge-{stage}.json", stage, functions, retention, clear_env=stale
    )
    outdir = build / f"package-{stage}"
    if outdir.exists():
        shutil.rmtree(outdir)
    cli.package(stage, merge, outdir)
    template = outdir / "sam.json"
    packaged = json.loads(template.read_text())
    check_merged(packaged, functions)
    check_runtime(packaged)
    return template


def session_region(session: boto3.Session) -> str:
    region = session.region_name
    if not region:
        raise DeployError("No AWS region: set AWS_REGION (or AWS_DEFAULT_REGION / a profile).")
    return region


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.deploy",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "command", choices=("deploy", "destroy", "package", "secrets", "frontend", "invite")
    )
    parser.add_argument("--stage", choices=STAGES, default="dev")
    parser.add_argument(
        "--force",
        action="store_true",
        help="destroy: also the prod table, media, user pool and secrets; "
        "deploy: switch a cognito stage to token",
    )
    parser.add_argument("--stack-name", help="frontend: the stack (default sora-studio-STAGE)")
    parser.add_argument(
        "--auth-mode",
        choices=AUTH_MODES,
        help="deploy/package: token or cognito (default: $AUTH_MODE, else the stage's current)",
    )
    parser.add_argument("--email", help="invite: the new user's email address")
    parser.add_argument("--resend", action="store_true", help="invite: email the invitation again")
    args = parser.parse_args(argv)
    try:
        if args.command == "invite" and not args.email:
            parser.error("invite needs --email")
        if args.command == "package":
            region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")
            cli = ChaliceCli(PROJECT_DIR, region=region or "us-east-1")
            mode = requested_auth_mode(args.auth_mode)
            template = package(args.stage, cli, auth_mode=mode)
            print(f"Packaged: {template.relative_to(PROJECT_DIR)}")
            return 0
        session = boto3.Session()
        region = session_region(session)
        if args.command == "secrets":
            store_secrets(session.client("ssm"), args.stage)
            return 0
        deployer = Deployer(session.client, region, ChaliceCli(PROJECT_DIR, region=region))
        if args.command == "destroy" and sys.stdin.isatty():
            deployer.confirm = input
        if args.command == "deploy":
            deployer.deploy(args.stage, requested_auth_mode(args.auth_mode), force=args.force)
        elif args.command == "invite":
            deployer.invite(args.stage, args.email, resend=args.resend)
        elif args.command == "frontend":
            deployer.publish_stack_frontend(args.stack_name or stack_name(args.stage))
        else:
            deployer.destroy(args.stage, force=args.force)
    except (
        RuntimeError,
        OSError,
        BotoCoreError,
        ClientError,
        subprocess.CalledProcessError,
    ) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
