"""`make package`: chalice package --merge-template gives one SAM template, cfn-lint clean."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_file

from infra.chalice_cli import SUPPORTED_RUNTIMES, ChaliceCli
from infra.deploy import DeployError, package
from infra.names import StageResources
from infra.package import PackageError, check_runtime, resolve_condition
from tests.support.infra import REPO

RUNTIME = f"python{sys.version_info[0]}.{sys.version_info[1]}"


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The dev stage packaged by this interpreter's Chalice from a copy of the app (with no
    third-party requirements, so nothing is downloaded)."""
    if not (REPO / "app.py").exists():
        pytest.skip("app.py is not there yet")
    root = tmp_path_factory.mktemp("package")
    shutil.copy(REPO / "app.py", root / "app.py")
    shutil.copytree(REPO / "chalicelib", root / "chalicelib")
    (root / ".chalice").mkdir()
    for path in [REPO / ".chalice" / "config.json", *(REPO / ".chalice").glob("policy-*.json")]:
        shutil.copy(path, root / ".chalice" / path.name)
    (root / "requirements.txt").write_text("")
    cli = ChaliceCli(root, python=sys.executable, region="us-east-1")
    if RUNTIME in SUPPORTED_RUNTIMES:
        path = package("dev", cli, project_dir=root)
    else:
        with pytest.raises(PackageError, match=re.escape(f"Runtime {RUNTIME}")):
            package("dev", cli, project_dir=root)
        path = root / "build" / "package-dev" / "sam.json"
    return {"path": path, "template": json.loads(path.read_text())}


def test_merged_template_is_cfn_lint_clean(packaged: dict[str, Any]) -> None:
    matches = lint_file(packaged["path"])
    assert not matches, "\n".join(str(m) for m in matches)


def test_one_stack_holds_app_and_resources(packaged: dict[str, Any]) -> None:
    resources = packaged["template"]["Resources"]
    types = {name: body["Type"] for name, body in resources.items()}
    for name in ("JobsTable", "MediaBucket", "FrontendBucket", "Distribution", "RestAPI"):
        assert name in types
    assert types["APIHandler"] == types["RefreshPendingJobs"] == "AWS::Serverless::Function"
    assert "Parameters" in packaged["template"]
    assert "ApiId" not in packaged["template"]["Parameters"]


def test_cloudfront_api_origin_is_the_chalice_rest_api(packaged: dict[str, Any]) -> None:
    dist = packaged["template"]["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    (api,) = [o for o in dist["Origins"] if o["Id"] == "api"]
    assert api["DomainName"] == {"Fn::Sub": "${RestAPI}.execute-api.${AWS::Region}.amazonaws.com"}
    assert [b["PathPattern"] for b in dist["CacheBehaviors"]] == ["/api/*"]


def test_functions_get_stack_names_and_policy(packaged: dict[str, Any]) -> None:
    resources = packaged["template"]["Resources"]
    for name in ("APIHandler", "RefreshPendingJobs", "RefreshShard"):
        env = resources[name]["Properties"]["Environment"]["Variables"]
        assert set(StageResources.for_stage("dev").environment()) <= set(env)
        assert env["JOBS_TABLE"] == {"Ref": "JobsTable"}
        assert env["MEDIA_BUCKET"] == {"Ref": "MediaBucket"}
        assert env["VIDEOS_API_KEY_PARAM"] == {"Ref": "VideosApiKeyParamName"}
        role = resources[name]["Properties"]["Role"]["Fn::GetAtt"][0]
        (policy,) = resources[role]["Properties"]["Policies"]
        text = json.dumps(policy["PolicyDocument"])
        assert "123456789012" not in text  # no name from .chalice/ leaks into the stack
        assert "${JobsTable}" in text and "${MediaBucket}" in text
    refresher = resources["RefreshPendingJobs"]["Properties"]
    assert refresher["ReservedConcurrentExecutions"] == 1
    assert resources["APIHandler"]["Properties"]["Timeout"] <= 29


def test_the_tick_hands_shards_to_its_worker_alone(packaged: dict[str, Any]) -> None:
    """The refresher's worker is in the stack with bounded concurrency; the tick gets its
    name and the one grant to invoke it, the other functions neither."""
    resources = packaged["template"]["Resources"]
    worker = resources["RefreshShard"]
    assert worker["Type"] == "AWS::Serverless::Function"
    assert worker["Properties"]["ReservedConcurrentExecutions"] == 20
    assert worker["Properties"]["Timeout"] <= 60
    assert worker["Properties"]["Handler"] == "chalicelib.routes.schedule.refresh_shard"
    assert "Events" not in worker["Properties"]  # invoked by the tick only, never scheduled

    def invoke_grants(name: str) -> list[Any]:
        role = resources[name]["Properties"]["Role"]["Fn::GetAtt"][0]
        (policy,) = resources[role]["Properties"]["Policies"]
        statements = policy["PolicyDocument"]["Statement"]
        return [s for s in statements if any(a.startswith("lambda:") for a in s["Action"])]

    tick = resources["RefreshPendingJobs"]["Properties"]
    env = tick["Environment"]["Variables"]
    assert env["REFRESH_WORKER_FUNCTION"] == {"Ref": "RefreshShard"}
    assert env["REFRESH_WORKERS"] == "20"
    (grant,) = invoke_grants("RefreshPendingJobs")
    assert grant["Action"] == ["lambda:InvokeFunction"]
    assert grant["Resource"] == [{"Fn::Sub": "${RefreshShard.Arn}"}]
    for name in ("APIHandler", "RefreshShard"):
        assert invoke_grants(name) == []
        assert (
            "REFRESH_WORKER_FUNCTION"
            not in resources[name]["Properties"]["Environment"]["Variables"]
        )


def test_runtime_must_be_pinned() -> None:
    template = {"Resources": {"F": {"Type": "AWS::Serverless::Function",
                                    "Properties": {"Runtime": "python3.11"}}}}  # fmt: skip
    with pytest.raises(PackageError, match=r"python3\.11"):
        check_runtime(template)
    template["Resources"]["F"]["Properties"]["Runtime"] = "python3.12"
    check_runtime(template)


def test_deploy_python_is_a_supported_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    from infra import chalice_cli

    python312 = shutil.which("python3.12") or shutil.which("python3.13")
    if python312 is None:
        pytest.skip("no python3.12/3.13 on PATH")
    monkeypatch.delenv("DEPLOY_PYTHON", raising=False)
    assert chalice_cli.runtime_of(chalice_cli.find_base_python()) in SUPPORTED_RUNTIMES
    monkeypatch.setenv("DEPLOY_PYTHON", sys.executable)
    if RUNTIME not in SUPPORTED_RUNTIMES:
        with pytest.raises(chalice_cli.RuntimeNotSupported, match="DEPLOY_PYTHON"):
            chalice_cli.find_base_python()


def test_packaged_path_is_under_build(packaged: dict[str, Any]) -> None:
    assert Path(packaged["path"]).parts[-3:] == ("build", "package-dev", "sam.json")


def test_packaged_stack_is_token_mode(packaged: dict[str, Any]) -> None:
    """The single stack carries no Cognito (see infra/package.py: it would be a cycle)."""
    template = packaged["template"]
    assert not [r for r in template["Resources"].values() if r["Type"].startswith("AWS::Cognito")]
    assert "AuthMode" not in template["Parameters"]
    assert "UseCognito" not in json.dumps(template)
    assert not [o for o in template["Outputs"] if o.startswith("Cognito")]
    for name in ("APIHandler", "RefreshPendingJobs"):
        env = template["Resources"][name]["Properties"]["Environment"]["Variables"]
        assert env["AUTH_MODE"] == "token"
        assert not [k for k in env if k.startswith("COGNITO_")]
    headers = template["Resources"]["SecurityHeadersPolicy"]["Properties"]
    csp = headers["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]["ContentSecurityPolicy"]
    assert "connect-src 'self';" in csp["ContentSecurityPolicy"]


class _Stop(Exception):
    pass


class MergeOnlyCli:
    """Stands in for `chalice package`: keeps the merge template it was given, then stops."""

    merge: dict[str, Any] | None = None

    def package(self, stage: str, merge_template: Path, outdir: Path) -> None:
        self.merge = json.loads(merge_template.read_text())
        raise _Stop


@pytest.fixture
def chalice_project(tmp_path: Path) -> Path:
    (tmp_path / ".chalice").mkdir()
    shutil.copy(REPO / ".chalice" / "config.json", tmp_path / ".chalice" / "config.json")
    return tmp_path


def set_stage_env(project: Path, **values: str) -> None:
    path = project / ".chalice" / "config.json"
    config = json.loads(path.read_text())
    config["stages"]["dev"]["environment_variables"].update(values)
    path.write_text(json.dumps(config))


def test_package_refuses_cognito(chalice_project: Path) -> None:
    cli = MergeOnlyCli()
    with pytest.raises(DeployError, match="token-mode stacks only"):
        package("dev", cli, project_dir=chalice_project, auth_mode="cognito")  # type: ignore[arg-type]
    set_stage_env(chalice_project, AUTH_MODE="cognito")  # left by `AUTH_MODE=cognito make deploy`
    with pytest.raises(DeployError, match=r"AUTH_MODE=cognito set in \.chalice/config\.json"):
        package("dev", cli, project_dir=chalice_project)  # type: ignore[arg-type]
    assert cli.merge is None  # refused before Chalice ran


def test_package_in_token_mode_empties_cognito_settings_left_in_the_stage(
    chalice_project: Path,
) -> None:
    set_stage_env(
        chalice_project,
        AUTH_MODE="cognito",
        COGNITO_USER_POOL_ID="us-east-1_abc",
        COGNITO_CLIENT_ID="client",
        COGNITO_DOMAIN="https://x.auth.us-east-1.amazoncognito.com",
    )
    cli = MergeOnlyCli()
    with pytest.raises(_Stop):
        package("dev", cli, project_dir=chalice_project, auth_mode="token")  # type: ignore[arg-type]
    assert cli.merge is not None
    env = cli.merge["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert env["AUTH_MODE"] == "token"
    assert {k: env[k] for k in env if k.startswith("COGNITO_")} == {
        "COGNITO_USER_POOL_ID": "",
        "COGNITO_CLIENT_ID": "",
        "COGNITO_DOMAIN": "",
    }


def test_resolve_condition_keeps_other_conditions() -> None:
    template = {
        "Conditions": {"A": {"Fn::Equals": ["x", "y"]}, "B": {"Fn::Equals": ["x", "x"]}},
        "Resources": {
            "Only": {"Type": "T", "Condition": "A"},
            "Both": {
                "Type": "T",
                "Properties": {
                    "P": {"Fn::If": ["A", "yes", {"Ref": "AWS::NoValue"}]},
                    "Q": {"Fn::If": ["A", "yes", "no"]},
                    "L": [1, {"Fn::If": ["A", 2, {"Ref": "AWS::NoValue"}]}],
                    "Other": {"Fn::If": ["B", 1, {"Ref": "AWS::NoValue"}]},
                },
            },
        },
        "Outputs": {"O": {"Condition": "A", "Value": "v"}},
    }
    off = resolve_condition(json.loads(json.dumps(template)), "A", False)
    assert off["Conditions"] == {"B": {"Fn::Equals": ["x", "x"]}}
    assert list(off["Resources"]) == ["Both"] and off["Outputs"] == {}
    assert off["Resources"]["Both"]["Properties"] == {
        "Q": "no",
        "L": [1],
        "Other": {"Fn::If": ["B", 1, {"Ref": "AWS::NoValue"}]},
    }
    on = resolve_condition(json.loads(json.dumps(template)), "A", True)
    assert on["Resources"]["Only"] == {"Type": "T"}
    assert on["Resources"]["Both"]["Properties"]["L"] == [1, 2]
    assert on["Outputs"] == {"O": {"Value": "v"}}


DEV_ONLY = ("devtools", "devserver", "simulator", "tests", "bench", "moto", "pytest")


def test_the_lambda_bundle_imports_no_dev_only_code() -> None:
    """Chalice bundles app.py and chalicelib/ only: what they import must not live elsewhere
    in the repository (the tokens CLI and create_table are in devtools/)."""
    import ast

    root = Path(__file__).resolve().parents[2]
    for path in [root / "app.py", *sorted((root / "chalicelib").rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in DEV_ONLY, f"{path.relative_to(root)}: {name}"
