"""``python -m simulator``: run the Videos API simulator until Ctrl-C (or SIGTERM)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from .server import SimulatorServer


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or default


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description="Serve the OpenAI Videos API protocol (and the Veo, Vertex AI, OpenRouter "
        "and fal.ai video protocols) locally, rendering real MP4s.",
    )
    add = parser.add_argument
    add("--host", default=_env("SIMULATOR_HOST", "127.0.0.1"), help="env SIMULATOR_HOST")
    add("--port", type=int, default=_env("SIMULATOR_PORT", "8100"), help="env SIMULATOR_PORT")
    add(
        "--speed",
        type=float,
        default=_env("SIMULATOR_SPEED", "1.0"),
        help="time multiplier: 10 renders ten times faster (env SIMULATOR_SPEED)",
    )
    add(
        "--api-key",
        default=_env("SIMULATOR_API_KEY"),
        help="require this bearer key; default: any non-empty key (env SIMULATOR_API_KEY)",
    )
    add(
        "--expiry-seconds",
        type=int,
        default=_env("SIMULATOR_EXPIRY_SECONDS", "3600"),
        help="content lifetime after completion (env SIMULATOR_EXPIRY_SECONDS)",
    )
    add(
        "--latency-ms",
        type=int,
        default=_env("SIMULATOR_LATENCY_MS", "0"),
        help="delay added to every request (env SIMULATOR_LATENCY_MS)",
    )
    add("--webhook-url", default=_env("VIDEOS_WEBHOOK_URL"), help="env VIDEOS_WEBHOOK_URL")
    add(
        "--webhook-secret",
        default=_env("VIDEOS_WEBHOOK_SECRET"),
        help="whsec_<base64> signing secret (env VIDEOS_WEBHOOK_SECRET)",
    )
    add(
        "--openrouter-webhook-url",
        default=_env("OPENROUTER_WEBHOOK_URL"),
        help="default callback URL of OpenRouter jobs without callback_url "
        "(env OPENROUTER_WEBHOOK_URL)",
    )
    add(
        "--openrouter-webhook-secret",
        default=_env("OPENROUTER_WEBHOOK_SECRET"),
        help="OpenRouter webhook signing secret; unsigned without one "
        "(env OPENROUTER_WEBHOOK_SECRET)",
    )
    add(
        "--vertex-key-out",
        default=_env("SIMULATOR_VERTEX_KEY_OUT"),
        help="write the simulator's test service-account key (JSON, for "
        "VERTEX_SERVICE_ACCOUNT_JSON) to this file (env SIMULATOR_VERTEX_KEY_OUT)",
    )
    add(
        "--cache-dir",
        default=_env("SIMULATOR_CACHE_DIR"),
        help="keep rendered media here; default: a temporary directory (env SIMULATOR_CACHE_DIR)",
    )
    add("--log-level", default=_env("SIMULATOR_LOG_LEVEL", "INFO"), help="env SIMULATOR_LOG_LEVEL")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        simulator = SimulatorServer(
            host=args.host,
            port=args.port,
            speed=args.speed,
            api_key=args.api_key,
            expiry_seconds=args.expiry_seconds,
            latency_ms=args.latency_ms,
            webhook_url=args.webhook_url,
            webhook_secret=args.webhook_secret,
            openrouter_webhook_url=args.openrouter_webhook_url,
            openrouter_webhook_secret=args.openrouter_webhook_secret,
            cache_dir=args.cache_dir,
        ).start()
    except (ValueError, OSError) as exc:
        print(f"simulator: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    print(f"Videos API simulator listening on {simulator.url} (speed {args.speed})", flush=True)
    print(f"OpenRouter Video API on {simulator.openrouter_url}", flush=True)
    print(f"fal.ai queue on {simulator.fal_url}", flush=True)
    print(
        f"Veo on Vertex AI on {simulator.vertex_url} (token endpoint {simulator.vertex_token_url})",
        flush=True,
    )
    if args.vertex_key_out:
        assert simulator.vertex is not None
        key_file = Path(args.vertex_key_out)
        key_file.write_text(simulator.vertex.service_account_json)
        key_file.chmod(0o600)
        print(f"test service-account key written to {key_file}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
    print("simulator stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
