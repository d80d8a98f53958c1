"""`python -m infra.deploy {deploy,destroy,package,secrets} --stage STAGE` (the Makefile targets).

deploy:  stack (template.yaml) -> .chalice stage env + policy from its outputs -> chalice deploy
         -> stack again with the API id (CloudFront /api/* origin) -> frontend upload ->
         CloudFront invalidation -> prints the site URL. Safe to re-run.
destroy: chalice delete -> empty buckets -> delete stack -> delete the dev table (the prod
         table and secrets stay unless --force).
package: one SAM template in build/package-STAGE/ (chalice package --merge-template).
secrets: put the upstream key, webhook secret and access tokens into SSM SecureStrings.
frontend: only upload frontend/ and invalidate (e.g. after deploying the packaged template:
         --stack-name NAME).

Only `chalice deploy`/`chalice delete` cannot run offline; they sit behind `ChaliceRunner`.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
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
from infra.names import APP_NAME, SECRETS, STAGES, StageResources, param_names, stack_name
from infra.package import chalice_functions, check_merged, check_runtime, write_merge_template

PROJECT_DIR = Path(__file__).resolve().parent.parent
ClientFactory = Callable[[str], Any]


class ChaliceRunner(Protocol):
    def deploy(self, stage: str) -> None: ...
    def delete(self, stage: str) -> None: ...


class DeployError(RuntimeError):
    pass


@dataclass
class Deployer:
    client: ClientFactory
    region: str
    chalice: ChaliceRunner
    project_dir: Path = PROJECT_DIR
    template_body: str | None = None  # tests swap in a moto-compatible variant
    say: Callable[[str], None] = field(default=print)

    @property
    def chalice_dir(self) -> Path:
        return self.project_dir / ".chalice"

    def account(self) -> str:
        return self.client("sts").get_caller_identity()["Account"]

    def stack_params(self, stage: str, api_id: str) -> dict[str, str]:
        names = param_names(stage)
        return {
            "AppName": APP_NAME,
            "Stage": stage,
            "ApiId": api_id,
            "MediaExpirationDays": os.environ.get("MEDIA_EXPIRATION_DAYS", "0"),
            **{s.cfn_parameter: names[s.env] for s in SECRETS},
        }

    def deploy_stack(self, stage: str, api_id: str) -> dict[str, str]:
        self.say(f"Stack {stack_name(stage)} (ApiId={api_id or '-'}) ...")
        return stack.deploy(
            self.client("cloudformation"),
            stack_name(stage),
            self.stack_params(stage, api_id),
            template_body=self.template_body,
            tags={"app": APP_NAME, "stage": stage},
        )

    def deploy(self, stage: str) -> str:
        cf = self.client("cloudformation")
        existing = stack.describe(cf, stack_name(stage))
        self.check_no_orphan_table(stage, existing)
        known_api = stack.parameters(existing).get("ApiId", "") if existing else ""
        known_api = known_api or chalice_config.deployed_rest_api_id(self.chalice_dir, stage)

        outputs = self.deploy_stack(stage, known_api)
        resources = StageResources.from_outputs(stage, outputs, self.region, self.account())
        for path in chalice_config.write_stage(self.chalice_dir, resources):
            self.say(f"Wrote {path.relative_to(self.project_dir)} from the stack outputs")

        self.chalice.deploy(stage)
        api_id = chalice_config.deployed_rest_api_id(self.chalice_dir, stage)
        if not api_id:
            raise DeployError(f"chalice deploy left no rest_api in .chalice/deployed/{stage}.json")
        if api_id != known_api:
            outputs = self.deploy_stack(stage, api_id)

        return self.publish_frontend(outputs)

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

    def destroy(self, stage: str, force: bool = False) -> None:
        cf = self.client("cloudformation")
        existing = stack.describe(cf, stack_name(stage))
        outputs = stack.outputs(existing) if existing else {}
        if (self.chalice_dir / "deployed" / f"{stage}.json").exists():
            self.chalice.delete(stage)
        s3 = self.client("s3")
        for key in ("FrontendBucketName", "MediaBucketName"):
            if outputs.get(key):
                count = frontend.empty_bucket(s3, outputs[key])
                self.say(f"Emptied s3://{outputs[key]} ({count} objects)")
        if stack.delete(cf, stack_name(stage)):
            self.say(f"Deleted stack {stack_name(stage)}")
        table = outputs.get("JobsTableName") or StageResources.for_stage(stage).table_name
        if stage == "prod" and not force:
            self.say(f"Kept table {table} and the SSM secrets (prod; FORCE=1 deletes them)")
            return
        self.delete_table(table)
        ssm = self.client("ssm")
        for name in param_names(stage).values():
            try:
                ssm.delete_parameter(Name=name)
                self.say(f"Deleted SSM parameter {name}")
            except ssm.exceptions.ParameterNotFound:
                pass

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
    (VIDEOS_API_KEY, VIDEOS_WEBHOOK_SECRET, AUTH_TOKENS) or else a hidden prompt; a blank
    answer leaves that parameter as it is. Token entries are merged into the stored ones.
    Values are never printed. Returns the names written."""
    names = param_names(stage)
    interactive = sys.stdin.isatty() or prompt is not getpass.getpass
    stored = []
    for secret in SECRETS:
        name = names[secret.env]
        value = environ.get(secret.source, "").strip()
        if not value and interactive:
            value = prompt(f"{secret.label} for {name} (blank keeps it): ").strip()
        if not value:
            say(f"{name}: unchanged")
            continue
        if secret.env == "AUTH_TOKENS_PARAM":
            value = merged_tokens(ssm, name, value)
        tier = "Standard" if len(value) <= 4096 else "Advanced"  # 4 KB, else 8 KB
        ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True, Tier=tier)
        say(f"{name}: stored (SecureString, {tier})")
        stored.append(name)
    return stored


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
    stage: str, cli: ChaliceCli, project_dir: Path = PROJECT_DIR, build: Path | None = None
) -> Path:
    """build/package-STAGE/sam.json (+ deployment.zip): one SAM template with everything."""
    config = chalice_config.load(project_dir / ".chalice")
    functions = chalice_functions(config, stage)
    retention = "log_retention_in_days" in {**config, **config["stages"].get(stage, {})}
    build = build or project_dir / "build"
    merge = write_merge_template(build / f"merge-{stage}.json", stage, functions, retention)
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
    parser.add_argument("command", choices=("deploy", "destroy", "package", "secrets", "frontend"))
    parser.add_argument("--stage", choices=STAGES, default="dev")
    parser.add_argument("--force", action="store_true", help="destroy: also the prod table")
    parser.add_argument("--stack-name", help="frontend: the stack (default sora-studio-STAGE)")
    args = parser.parse_args(argv)
    try:
        if args.command == "package":
            region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")
            cli = ChaliceCli(PROJECT_DIR, region=region or "us-east-1")
            print(f"Packaged: {package(args.stage, cli).relative_to(PROJECT_DIR)}")
            return 0
        session = boto3.Session()
        region = session_region(session)
        if args.command == "secrets":
            store_secrets(session.client("ssm"), args.stage)
            return 0
        deployer = Deployer(session.client, region, ChaliceCli(PROJECT_DIR, region=region))
        if args.command == "deploy":
            deployer.deploy(args.stage)
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
