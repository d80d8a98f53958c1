"""Start and stop the whole local stack in one process (threads plus ffmpeg children)."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import secrets
import socket
import threading
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("devserver")
# The embedded store and the simulator listen here whatever --host is: only the studio
# (with sign-in, see __main__) is ever served beyond this machine.
LOOPBACK = "127.0.0.1"
# UPSTREAM_PROTOCOL: the wire protocol `make run` speaks
PROTOCOLS = ("openai", "veo", "openrouter", "vertex", "fal")
# Google Cloud credentials for Veo on Vertex AI: with one, `make run` calls the real Vertex
VERTEX_CREDENTIALS = (
    "VERTEX_SERVICE_ACCOUNT_JSON",
    "VERTEX_SERVICE_ACCOUNT_PARAM",
    "VERTEX_API_KEY",
)

LOCAL_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "JOBS_TABLE": "sora-studio-local-jobs",
    "MEDIA_BUCKET": "sora-studio-local-media",
    "STAGE": "local",
}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class LocalStack:
    def __init__(
        self,
        *,
        port: int = 8000,
        host: str = "127.0.0.1",
        data_dir: Path | str = REPO_ROOT / ".data",
        simulator_speed: float = 1.0,
        simulator_expiry_seconds: int | None = None,
        refresh_interval: float | None = None,
        snapshot_interval: float = 10.0,
        env: dict[str, str] | None = None,
        webhooks: bool = True,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.data_dir = Path(data_dir)
        self.simulator_speed = simulator_speed
        self.simulator_expiry_seconds = simulator_expiry_seconds
        self.refresh_interval = refresh_interval
        self.snapshot_interval = snapshot_interval
        self.extra_env = env or {}
        self.webhooks = webhooks
        self.simulator: Any = None
        self._moto: Any = None
        self._web: Any = None
        self._snapshot: Any = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._held = contextlib.ExitStack()  # what start() holds until stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LocalStack:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._start_moto()
        self._configure_upstream()
        self._media_link_secret()
        self._prepare_storage()
        self._fetch_model_lists()
        self._start_web()
        interval = self.refresh_interval or float(os.environ.get("POLL_INTERVAL_SECONDS", "5"))
        self._loop("refresher", interval, self._refresh_once)
        self._loop("snapshot", self.snapshot_interval, self._snapshot.save)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        if self._web is not None:
            self._web.shutdown()
            self._web.server.server_close()
        if self._snapshot is not None:
            try:
                self._snapshot.save()
            except Exception:
                log.exception("final snapshot failed")
        if self.simulator is not None:
            self.simulator.stop()
        if self._moto is not None:
            self._moto.stop()
        self._held.close()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- parts --------------------------------------------------------------------------------

    def _start_moto(self) -> None:
        """The embedded store: moto's server in this process, on loopback, handling one
        DynamoDB request at a time (devtools/moto_lock.py: a failed transaction in moto puts
        back a copy of the whole table, undoing other requests' writes made meanwhile)."""
        from moto.server import ThreadedMotoServer

        from devtools.moto_lock import serialised_dynamodb

        self._held.enter_context(serialised_dynamodb())
        moto_port = free_port(LOOPBACK)
        self._moto = ThreadedMotoServer(ip_address=LOOPBACK, port=moto_port, verbose=False)
        self._moto.start()
        os.environ.update(LOCAL_AWS_ENV)
        os.environ.update(self.extra_env)
        os.environ["AWS_ENDPOINT_URL"] = f"http://{LOOPBACK}:{moto_port}"

    def _media_link_secret(self) -> None:
        """Signed media links have their own secret: unless MEDIA_LINK_SECRET(_PARAM) is set,
        one made for this data directory and kept in it, so links survive a restart."""
        if os.environ.get("MEDIA_LINK_SECRET") or os.environ.get("MEDIA_LINK_SECRET_PARAM"):
            return
        path = self.data_dir / "media-link-secret"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(32))
        os.environ["MEDIA_LINK_SECRET"] = path.read_text().strip()

    def _configure_upstream(self) -> None:
        default = "openrouter" if os.environ.get("OPENROUTER_API_KEY") else "openai"
        if default == "openai" and any(os.environ.get(name) for name in VERTEX_CREDENTIALS):
            default = "vertex"
        if default == "openai" and (os.environ.get("FAL_KEY") or os.environ.get("FAL_KEY_PARAM")):
            default = "fal"
        protocol = os.environ.get("UPSTREAM_PROTOCOL", "").strip() or default
        if protocol not in PROTOCOLS:
            raise ValueError(f"UPSTREAM_PROTOCOL must be one of {', '.join(PROTOCOLS)}")
        if protocol == "veo":
            self._configure_veo()
            return
        if protocol == "openrouter":
            self._configure_openrouter()
            return
        if protocol == "vertex":
            self._configure_vertex()
            return
        if protocol == "fal":
            self._configure_fal()
            return
        if os.environ.get("VIDEOS_API_KEY") or os.environ.get("OPENAI_API_KEY"):
            os.environ.setdefault("VIDEOS_UPSTREAM", "remote")
            log.info("upstream: %s", os.environ.get("VIDEOS_API_BASE_URL", "default"))
            return
        webhook: dict[str, Any] = {}
        if self.webhooks:
            secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
            webhook = {"webhook_url": f"{self.url}/api/webhooks/videos", "webhook_secret": secret}
            os.environ["VIDEOS_WEBHOOK_SECRET"] = secret
        self._start_simulator(**webhook)

    def _configure_veo(self) -> None:
        """UPSTREAM_PROTOCOL=veo: the Veo models through the Gemini API protocol, served by
        the simulator unless GEMINI_API_KEY names a real upstream."""
        from chalicelib.catalog.presets import VEO_SIMULATED

        os.environ.setdefault("MODEL_CATALOG_JSON", json.dumps(VEO_SIMULATED))
        if os.environ.get("GEMINI_API_KEY"):
            os.environ.setdefault("VIDEOS_UPSTREAM", "remote")
            log.info("upstream: Veo at %s", os.environ.get("GEMINI_API_BASE_URL", "default"))
            return
        self._start_simulator()  # Veo sends no webhooks
        os.environ["GEMINI_API_BASE_URL"] = self.simulator.url.removesuffix("/v1")
        os.environ["GEMINI_API_KEY"] = "simulator-local-key"

    def _configure_openrouter(self) -> None:
        """OpenRouter's Video API: the account's live models with OPENROUTER_API_KEY, else the
        simulator's OpenRouter protocol with its signed webhooks."""
        if os.environ.get("OPENROUTER_API_KEY"):
            os.environ.setdefault("VIDEOS_UPSTREAM", "remote")
            log.info("upstream: OpenRouter at %s", os.environ.get("OPENROUTER_BASE_URL", "default"))
            return
        webhook: dict[str, Any] = {}
        if self.webhooks:
            secret = secrets.token_urlsafe(32)
            webhook = {
                "openrouter_webhook_url": f"{self.url}/api/webhooks/openrouter",
                "openrouter_webhook_secret": secret,
            }
            os.environ["OPENROUTER_WEBHOOK_SECRET"] = secret
        self._start_simulator(openai=False, **webhook)
        os.environ["OPENROUTER_BASE_URL"] = self.simulator.openrouter_url
        os.environ["OPENROUTER_API_KEY"] = "simulator-local-key"
        # What the listing cannot say: the simulator's models take 4 reference images and
        # `previous_job_id`, so every control shows offline.
        os.environ.setdefault(
            "OPENROUTER_CAPABILITIES_JSON", '{"*": {"reference_images": 4, "extend": true}}'
        )

    def _configure_vertex(self) -> None:
        """UPSTREAM_PROTOCOL=vertex: Veo 3.1 on Vertex AI with the Google Cloud credentials
        set (VERTEX_SERVICE_ACCOUNT_JSON, ..._PARAM or VERTEX_API_KEY), else the simulator's
        Vertex protocol, signed in with the simulator's own test service account."""
        if any(os.environ.get(name) for name in VERTEX_CREDENTIALS):
            os.environ.setdefault("VIDEOS_UPSTREAM", "remote")
            log.info(
                "upstream: Veo on Vertex AI in %s", os.environ.get("VERTEX_LOCATION", "us-central1")
            )
            return
        self._start_simulator(openai=False)  # Vertex sends no webhooks
        os.environ["VERTEX_BASE_URL"] = self.simulator.vertex_url
        os.environ["VERTEX_GCS_BASE_URL"] = self.simulator.vertex_url
        os.environ["VERTEX_TOKEN_URL"] = self.simulator.vertex_token_url
        os.environ["VERTEX_SERVICE_ACCOUNT_JSON"] = self.simulator.vertex.service_account_json
        os.environ.pop("VERTEX_PROJECT", None)  # the test key's own project

    def _configure_fal(self) -> None:
        """fal.ai's queue with the preset models: the real one with FAL_KEY (or FAL_KEY_PARAM),
        else the simulator's, which signs its webhooks with a test key it publishes."""
        if os.environ.get("FAL_KEY") or os.environ.get("FAL_KEY_PARAM"):
            os.environ.setdefault("VIDEOS_UPSTREAM", "remote")
            log.info("upstream: fal.ai at %s", os.environ.get("FAL_QUEUE_BASE_URL", "default"))
            return
        self._start_simulator(openai=False)
        os.environ["FAL_QUEUE_BASE_URL"] = self.simulator.fal_url
        os.environ["FAL_JWKS_URL"] = self.simulator.fal_jwks_url
        os.environ["FAL_KEY"] = "simulator-local-key"
        if self.webhooks:
            os.environ["FAL_WEBHOOK_URL"] = f"{self.url}/api/webhooks/fal"

    def _start_simulator(self, openai: bool = True, **webhook: Any) -> None:
        """The built-in simulator as the upstream, for either protocol (it speaks both)."""
        from simulator import SimulatorServer

        options: dict[str, Any] = {"host": LOOPBACK, "port": 0, "speed": self.simulator_speed}
        if self.simulator_expiry_seconds is not None:
            options["expiry_seconds"] = self.simulator_expiry_seconds
        options["cache_dir"] = str(self.data_dir / "simulator-cache")
        self.simulator = SimulatorServer(**options, **webhook).start()
        if openai:
            os.environ["VIDEOS_API_BASE_URL"] = self.simulator.url
            os.environ["VIDEOS_API_KEY"] = "simulator-local-key"
        os.environ["VIDEOS_UPSTREAM"] = "simulator"
        # Simulated renders cost nothing: roomy spend guards unless the user set their own.
        os.environ.setdefault("USER_MAX_PENDING_JOBS", "50")
        os.environ.setdefault("USER_DAILY_BUDGET_USD", "1000")

    def _prepare_storage(self) -> None:
        import boto3

        from chalicelib import runtime
        from chalicelib.config import get_settings
        from devtools.tables import create_table

        from .snapshot import Snapshot

        runtime.init()
        settings = get_settings()
        create_table(settings)
        s3 = boto3.client("s3", region_name=settings.region)
        s3.create_bucket(Bucket=settings.media_bucket)
        dynamodb = boto3.client("dynamodb", region_name=settings.region)
        self._snapshot = Snapshot(
            self.data_dir, settings.jobs_table, settings.media_bucket, dynamodb, s3
        )
        restored = self._snapshot.restore()
        if restored:
            log.info("restored %d stored items from %s", restored, self.data_dir)

    def _start_web(self) -> None:
        from chalice.config import Config
        from chalice.local import CustomLocalChalice, LocalChalice, LocalDevServer

        from app import app

        from .web import StudioRequestHandler, own_host_names

        if not isinstance(app, LocalChalice):
            # As `chalice local` does: thread-local current_request for a threaded server.
            CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
            app.__class__ = CustomLocalChalice
        handler = type(
            "Handler",
            (StudioRequestHandler,),
            {
                "frontend_dir": REPO_ROOT / "frontend",
                "host_names": own_host_names(self.host, self.port),
                "port": self.port,
            },
        )
        config = Config.create(chalice_stage="local", app_name=app.app_name, chalice_app=app)
        self._web = LocalDevServer(app, config, self.host, self.port, handler_cls=handler)
        self._spawn("web", self._web.server.serve_forever)

    def _fetch_model_lists(self) -> None:
        """The first listing before the UI opens, so its models show at once (then hourly)."""
        from chalicelib.catalog.refresh import refresh_listings

        try:
            outcome = refresh_listings()
        except Exception:
            log.exception("model list fetch failed; the refresher tries again")
            return
        for provider, result in outcome.items():
            log.info("%s model list: %s", provider, result)

    def _refresh_once(self) -> None:
        from chalicelib.routes.schedule import tick

        tick()

    def _loop(self, name: str, interval: float, work: Any) -> None:
        def run() -> None:
            while not self._stop.wait(interval):
                try:
                    work()
                except Exception:
                    log.exception("%s loop failed; trying again next time", name)

        self._spawn(name, run)

    def _spawn(self, name: str, target: Any) -> None:
        thread = threading.Thread(target=target, name=f"devserver-{name}", daemon=True)
        thread.start()
        if name != "web":
            self._threads.append(thread)
