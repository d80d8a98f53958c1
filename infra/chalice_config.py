"""Write a stage's environment and IAM policy into `.chalice/` (what `chalice deploy` reads)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infra.names import AUTH_MODES, COGNITO_OUTPUTS, REFRESH_TICK, REFRESH_WORKER, StageResources
from infra.policy import build_policy


class ConfigError(RuntimeError):
    pass


def policy_path(chalice_dir: Path, stage: str, function: str = "") -> Path:
    """policy-STAGE.json (every function's role), or one function's own policy-STAGE-NAME.json."""
    return chalice_dir / (f"policy-{stage}-{function}.json" if function else f"policy-{stage}.json")


def load(chalice_dir: Path) -> dict[str, Any]:
    return json.loads((chalice_dir / "config.json").read_text())


def _write_json(path: Path, data: Any) -> bool:
    text = json.dumps(data, indent=2) + "\n"
    if path.exists() and path.read_text() == text:
        return False
    path.write_text(text)
    return True


def write_stage(chalice_dir: Path, res: StageResources) -> list[Path]:
    """Update only this stage's environment keys in config.json and its policy file.

    Returns the files that changed (none when the stage is already written this way).
    """
    config = load(chalice_dir)
    stage = config.setdefault("stages", {}).setdefault(res.stage, {})
    env = stage.setdefault("environment_variables", {})
    env.update(res.environment())
    # AUTH_MODE is the stack's AuthMode (deployed stages refuse none); only a cognito stage
    # carries Cognito settings, so a stage switched back to token loses them.
    for name in COGNITO_OUTPUTS:
        if name not in res.cognito:
            env.pop(name, None)
    stage["iam_policy_file"] = policy_path(chalice_dir, res.stage).name
    _write_refresher(chalice_dir, stage, res)
    changed = []
    if _write_json(chalice_dir / "config.json", config):
        changed.append(chalice_dir / "config.json")
    for function in ("", REFRESH_TICK):
        path = policy_path(chalice_dir, res.stage, function)
        if _write_json(path, build_policy(res, function)):
            changed.append(path)
    return changed


def _write_refresher(chalice_dir: Path, stage: dict[str, Any], res: StageResources) -> None:
    """The tick's own policy file and the worker it hands shards to: its name, and its
    reserved concurrency as REFRESH_WORKERS (how many shards a tick makes at most)."""
    functions = stage.setdefault("lambda_functions", {})
    reserved = functions.get(REFRESH_WORKER, {}).get("reserved_concurrency")
    if not isinstance(reserved, int) or reserved < 1:
        raise ConfigError(
            f"stage {res.stage}: lambda_functions.{REFRESH_WORKER}.reserved_concurrency must be "
            "set in .chalice/config.json (it bounds the refresher's parallel workers)"
        )
    tick = functions.setdefault(REFRESH_TICK, {})
    tick["iam_policy_file"] = policy_path(chalice_dir, res.stage, REFRESH_TICK).name
    env = tick.setdefault("environment_variables", {})
    env["REFRESH_WORKER_FUNCTION"] = res.refresh_worker_name
    env["REFRESH_WORKERS"] = str(reserved)


def stage_auth_mode(chalice_dir: Path, stage: str) -> str:
    """The AUTH_MODE the stage's environment holds (what its last deploy chose), or ""."""
    config = load(chalice_dir)
    env = config.get("stages", {}).get(stage, {}).get("environment_variables", {})
    mode = str(env.get("AUTH_MODE", "")).strip()
    if mode and mode not in AUTH_MODES:
        raise ConfigError(
            f".chalice/config.json gives stage {stage} AUTH_MODE={mode}; a deployed stage "
            f"uses one of {', '.join(AUTH_MODES)}"
        )
    return mode


def deployed_rest_api_id(chalice_dir: Path, stage: str) -> str:
    """The REST API id `chalice deploy` recorded for the stage, or ""."""
    path = chalice_dir / "deployed" / f"{stage}.json"
    if not path.exists():
        return ""
    for resource in json.loads(path.read_text()).get("resources", []):
        if resource.get("resource_type") == "rest_api":
            return str(resource.get("rest_api_id", ""))
    return ""
