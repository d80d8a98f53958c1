"""Single-stack path: `chalice package --merge-template` with infra/template.yaml's resources.

The merge template is generated from infra/template.yaml (one source for the resources):
the API origin points at Chalice's own `RestAPI` resource, the Lambda environment and the
role policy reference the stack's resources instead of the names in `.chalice/`.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from infra import cfn_yaml
from infra.chalice_cli import SUPPORTED_RUNTIMES
from infra.names import API_GATEWAY_STAGE, StageResources, param_names
from infra.policy import cloudformation_policy
from infra.stack import TEMPLATE_PATH

API_HANDLER = "APIHandler"


def function_logical_ids(chalice_config: dict[str, Any], stage: str) -> list[str]:
    """Chalice's logical ids: APIHandler, plus CamelCase of each configured function name."""
    names: set[str] = set(chalice_config.get("lambda_functions", {}))
    names |= set(chalice_config.get("stages", {}).get(stage, {}).get("lambda_functions", {}))
    names.discard("api_handler")
    ids = [API_HANDLER]
    ids += sorted("".join(part.title() for part in n.split("_") if part) for n in names)
    return ids


def merge_template(stage: str, function_ids: list[str]) -> dict[str, Any]:
    template = copy.deepcopy(cfn_yaml.load(TEMPLATE_PATH))
    params = template["Parameters"]
    del params["ApiId"]
    del template["Conditions"]["HasApi"]
    del template["Outputs"]["ApiId"]
    key_param, webhook_param = param_names(stage)
    params["Stage"]["Default"] = stage
    params["VideosApiKeyParamName"]["Default"] = key_param
    params["WebhookSecretParamName"]["Default"] = webhook_param
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
        key_param="${VideosApiKeyParamName}",
        webhook_param="${WebhookSecretParamName}",
        function_prefix="${AWS::StackName}",
        partition="${AWS::Partition}",
    )
    environment = {
        "STAGE": {"Ref": "Stage"},
        "JOBS_TABLE": {"Ref": "JobsTable"},
        "MEDIA_BUCKET": {"Ref": "MediaBucket"},
        "VIDEOS_API_KEY_PARAM": {"Ref": "VideosApiKeyParamName"},
        "VIDEOS_WEBHOOK_SECRET_PARAM": {"Ref": "WebhookSecretParamName"},
    }
    assert set(environment) == set(resources.environment()), "keep both lists in step"
    for logical_id in function_ids:
        template["Resources"][logical_id] = {
            "Properties": {"Environment": {"Variables": environment}}
        }
    template["Resources"]["DefaultRole"] = {
        "Properties": {
            "Policies": [
                {
                    "PolicyName": "DefaultRolePolicy",
                    "PolicyDocument": cloudformation_policy(resources),
                }
            ]
        }
    }
    return template


def write_merge_template(path: Path, stage: str, function_ids: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(merge_template(stage, function_ids), indent=2) + "\n")
    return path


class PackageError(RuntimeError):
    pass


def check_packaged(template: dict[str, Any], function_ids: list[str]) -> None:
    """Fail when the merge hit a function Chalice did not generate or the runtime is wrong."""
    resources = template["Resources"]
    typeless = sorted(name for name, body in resources.items() if "Type" not in body)
    if typeless:
        raise PackageError(f"merge template names resources Chalice did not generate: {typeless}")
    functions = {k: v for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"}
    not_covered = sorted(set(functions) - set(function_ids))
    if not_covered:
        raise PackageError(f"functions without the stack environment: {not_covered}")
    for name, body in functions.items():
        runtime = body["Properties"].get("Runtime")
        if runtime not in SUPPORTED_RUNTIMES:
            raise PackageError(
                f"{name} has Runtime {runtime}; run Chalice from python3.12/3.13 "
                "(`make package` does, through .venv-deploy)"
            )
