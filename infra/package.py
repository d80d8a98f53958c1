"""Single-stack path: `chalice package --merge-template` with infra/template.yaml's resources.

The merge template is generated from infra/template.yaml (one source for the resources):
the API origin points at Chalice's own `RestAPI` resource, the Lambda environment and the
role policy reference the stack's resources instead of the names in `.chalice/`; the refresher's
tick alone gets the worker's name (`Ref: RefreshShard`) and the grant to invoke it (its ARN).

Token mode only: the template's Cognito resources (AuthMode=cognito) are left out. In one
stack the function's COGNITO_CLIENT_ID would need the app client, whose callback URL needs the
distribution, whose API origin needs the API, which needs the function: a cycle.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra import cfn_yaml
from infra.chalice_cli import SUPPORTED_RUNTIMES
from infra.names import (
    API_GATEWAY_STAGE,
    REFRESH_TICK,
    REFRESH_WORKER,
    SECRETS,
    StageResources,
    param_names,
)
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


_NO_VALUE = {"Ref": "AWS::NoValue"}
_DROPPED = object()


def resolve_condition(template: dict[str, Any], name: str, value: bool) -> dict[str, Any]:
    """The template as CloudFormation deploys it when condition `name` is `value`, without
    that condition: its resources and outputs kept or dropped, each `Fn::If` on it replaced
    by the chosen branch (AWS::NoValue drops the key or item)."""

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Fn::If"} and node["Fn::If"][0] == name:
                chosen = node["Fn::If"][1 if value else 2]
                return _DROPPED if chosen == _NO_VALUE else resolve(chosen)
            resolved = {k: resolve(v) for k, v in node.items()}
            return {k: v for k, v in resolved.items() if v is not _DROPPED}
        if isinstance(node, list):
            return [item for item in map(resolve, node) if item is not _DROPPED]
        return node

    for section in ("Resources", "Outputs"):
        for key, body in list(template.get(section, {}).items()):
            if body.get("Condition") == name:
                if value:
                    del body["Condition"]
                else:
                    del template[section][key]
    del template["Conditions"][name]
    return resolve(template)


def merge_template(
    stage: str,
    functions: list[ChaliceFunction],
    log_retention: bool,
    clear_env: Iterable[str] = (),
) -> dict[str, Any]:
    template = cfn_yaml.load(TEMPLATE_PATH)
    template = resolve_condition(template, "HasApi", True)
    template = resolve_condition(template, "UseCognito", False)
    params = template["Parameters"]
    del params["ApiId"]
    del params["AuthMode"]
    del template["Outputs"]["ApiId"]
    template["Outputs"]["AuthMode"]["Value"] = "token"
    params["Stage"]["Default"] = stage
    names = param_names(stage)
    for secret in SECRETS:
        params[secret.cfn_parameter]["Default"] = names[secret.env]
    params["ApiStageName"]["Default"] = API_GATEWAY_STAGE

    config = template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    (api_origin,) = [o for o in config["Origins"] if o["Id"] == "api"]
    api_origin["DomainName"] = {"Fn::Sub": "${RestAPI}.execute-api.${AWS::Region}.amazonaws.com"}

    worker = ChaliceFunction(REFRESH_WORKER).logical_id  # RefreshShard
    resources = StageResources(
        stage="${Stage}",
        region="${AWS::Region}",
        account="${AWS::AccountId}",
        table_name="${JobsTable}",
        media_bucket="${MediaBucket}",
        params={s.env: f"${{{s.cfn_parameter}}}" for s in SECRETS},
        function_prefix="${AWS::StackName}",
        partition="${AWS::Partition}",
        refresh_worker_name=f"${{{worker}}}",
        refresh_worker_arn=f"${{{worker}.Arn}}",
    )
    environment: dict[str, Any] = {
        "STAGE": {"Ref": "Stage"},
        "JOBS_TABLE": {"Ref": "JobsTable"},
        "MEDIA_BUCKET": {"Ref": "MediaBucket"},
        **{s.env: {"Ref": s.cfn_parameter} for s in SECRETS},
        "AUTH_MODE": "token",
        # Chalice merges the stage's environment in and a merge cannot remove keys.
        **dict.fromkeys(clear_env, ""),
    }
    for fn in functions:
        variables = environment
        if fn.name == REFRESH_TICK:  # the one function that hands shards to the worker
            variables = {**environment, "REFRESH_WORKER_FUNCTION": {"Ref": worker}}
        policy = cloudformation_policy(resources, fn.name)
        template["Resources"][fn.logical_id] = {
            "Properties": {"Environment": {"Variables": variables}}
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
    path: Path,
    stage: str,
    functions: list[ChaliceFunction],
    log_retention: bool,
    clear_env: Iterable[str] = (),
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    template = merge_template(stage, functions, log_retention, clear_env)
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
