"""Fixtures for the infra tests: a moto server, clients on it, a scratch project directory."""

from __future__ import annotations

import shutil
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from infra.deploy import Deployer
from tests.support import moto_cognito
from tests.support.infra import (
    CREDENTIALS,
    REGION,
    REPO,
    FakeChalice,
    create_distribution,
    moto_template,
)

# moto's CloudFormation lacks the Cognito types: give the (in-process) server handlers.
moto_cognito.install()


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never reach a real account, whatever the developer's shell has."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _reset_moto(endpoint: str) -> None:
    """Empty every moto backend (the server shares them with in-process moto)."""
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=30).read()


@pytest.fixture
def aws_client(moto_endpoint: str) -> Iterator[Callable[[str], Any]]:
    """boto3 clients on the moto server, empty when the test starts (and after it)."""

    def make(service: str) -> Any:
        return boto3.client(service, endpoint_url=moto_endpoint, region_name=REGION, **CREDENTIALS)

    _reset_moto(moto_endpoint)
    yield make
    _reset_moto(moto_endpoint)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A scratch copy of what deploy reads and writes: .chalice/ and a small frontend/."""
    root = tmp_path / "project"
    (root / ".chalice").mkdir(parents=True)
    for name in ("config.json", "policy-dev.json", "policy-prod.json"):
        shutil.copy(REPO / ".chalice" / name, root / ".chalice" / name)
    web = root / "frontend"
    (web / "assets").mkdir(parents=True)
    (web / "index.html").write_text("<!doctype html><title>sora</title>")
    (web / "app.js").write_text("console.log('hi')")
    (web / "style.css").write_text("body{}")
    (web / "assets" / "logo.svg").write_text("<svg/>")
    (web / "assets" / "app.3f9a2c1b7e.js").write_text("// hashed")
    (web / ".DS_Store").write_bytes(b"\0")
    (root / "requirements.txt").write_text("")
    return root


@pytest.fixture
def deployer(aws_client: Callable[[str], Any], project: Path) -> Deployer:
    """The deploy tool on the moto server, on `project`; only Chalice is faked."""
    dist_id, domain = create_distribution(aws_client("cloudfront"))
    return Deployer(
        client=aws_client,
        region=REGION,
        chalice=FakeChalice(project / ".chalice"),
        project_dir=project,
        template_body=moto_template(dist_id, domain),
        say=lambda _: None,
    )
