"""Single-stack path: `chalice package --merge-template` with infra/template.yaml's resources.

The merge template is generated from infra/template.yaml (one source for the resources):
the API origin points at Chalice's own `RestAPI` resource, the Lambda environment and the
role policy reference the stack's resources instead of the names in `.chalice/`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra import cfn_yaml
from infra.chalice_cli import SUPPORTED_RUNTIMES
from infra.names import API_GATEWAY_STAGE, SECRETS, StageResources, param_names
from infra.policy import cloudformation_policy
from infra.stack import TEMPLATE_PATH


@dataclass(frozen=True)
class ChaliceFunction:
    """How `chalice package` names one Lambda function's resources."""

    name: str  # api_handler, refresh_pending_jobs

    @property
    def camel(self) -> str:
        return "".join(part.title() for part in self.name.split("_") if part)

    @property
    def logical_id(self) -> str:
        return "APIHandler" if self.name == "api_handler" else self.camel

    @property
    def role(self) -> str:
        return f"{self.camel}Role"

    @property
    def log_group(self) -> str:
        return f"{self.camel}LogGroup"


def chalice_functions(chalice_config: dict[str, Any], stage: str) -> list[ChaliceFunction]:
    """The API handler plus every function `.chalice/config.json` configures for the stage."""
    names = set(chalice_config.get("lambda_functions", {}))
    names |= set(chalice_config.get("stages", {}).get(stage, {}).get("lambda_functions", {}))
    names.discard("api_handler")
    return [ChaliceFunction("api_handler"), *(ChaliceFunction(n) for n in sorted(names))]


def merge_template(
    stage: str, functions: list[ChaliceFunction], log_retention: bool
) -> dict[str, Any]:
    template = cfn_yaml.load(TEMPLATE_PATH)
    params = template["Parameters"]
    del params["ApiId"]
    del template["Conditions"]["HasApi"]
    del template["Outputs"]["ApiId"]
    params["Stage"]["Default"] = stage
    names = param_names(stage)
    for secret in SECRETS:
        params[secret.cfn_parameter]["Default"] = names[secret.env]
    params["ApiStageName"]["Default"] = API_GATEWAY_STAGE

    config = template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    config["Origins"] = config["Origins"]["Fn::If"][1]
    config["CacheBehaviors"] = config["CacheBehaviors"]["Fn::If"][1]
    (api_origin,) = [o for o in config["Origins"] if o["Id"] == "api"]
    api_origin["DomainName"] = {"Fn::Sub": "${RestAPI}.execute-api.${AWS::Region}.amazonaws.com"}

    resources = StageResources(
        stage="${Stage}",
        region="${AWS::Region}",
        account="${AWS::AccountId}",
        table_name="${JobsTable}",
        media_bucket="${MediaBucket}",
        params={s.env: f"${{{s.cfn_parameter}}}" for s in SECRETS},
        function_prefix="${AWS::StackName}",
        partition="${AWS::Partition}",
    )
    environment = {
        "STAGE": {"Ref": "Stage"},
        "JOBS_TABLE": {"Ref": "JobsTable"},
        "MEDIA_BUCKET": {"Ref": "MediaBucket"},
        **{s.env: {"Ref": s.cfn_parameter} for s in SECRETS},
    }
    policy = cloudformation_policy(resources)
    for fn in functions:
        template["Resources"][fn.logical_id] = {
            "Properties": {"Environment": {"Variables": environment}}
        }
        template["Resources"][fn.role] = {
            "Properties": {
                "Policies": [{"PolicyName": f"{fn.role}Policy", "PolicyDocument": policy}]
            }
        }
        if log_retention:
            # Chalice 1.34 names the API handler's group after `${ApiHandler}`, a resource
            # it renamed to APIHandler: point each group at its function.
            template["Resources"][fn.log_group] = {
                "Properties": {"LogGroupName": {"Fn::Sub": f"/aws/lambda/${{{fn.logical_id}}}"}}
            }
    return template


def write_merge_template(
    path: Path, stage: str, functions: list[ChaliceFunction], log_retention: bool
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    template = merge_template(stage, functions, log_retention)
    path.write_text(json.dumps(template, indent=2) + "\n")
    return path


class PackageError(RuntimeError):
    pass


def check_merged(template: dict[str, Any], functions: list[ChaliceFunction]) -> None:
    """Fail when the merge named a resource Chalice did not generate, or missed a function."""
    resources = template["Resources"]
    typeless = sorted(name for name, body in resources.items() if "Type" not in body)
    if typeless:
        raise PackageError(f"merge template names resources Chalice did not generate: {typeless}")
    lambdas = {k for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"}
    not_covered = sorted(lambdas - {fn.logical_id for fn in functions})
    if not_covered:
        raise PackageError(f"functions without the stack environment and policy: {not_covered}")


def check_runtime(template: dict[str, Any]) -> None:
    for name, body in template["Resources"].items():
        if body["Type"] != "AWS::Serverless::Function":
            continue
        runtime = body["Properties"].get("Runtime")
        if runtime not in SUPPORTED_RUNTIMES:
            raise PackageError(
                f"{name} has Runtime {runtime}; run Chalice from python3.12/3.13 "
                "(`make package` does, through .venv-deploy)"
            )
