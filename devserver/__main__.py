"""`python -m devserver` (what `make run` starts): the studio at http://127.0.0.1:8000/."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading

from .stack import REPO_ROOT, LocalStack


def main() -> None:
    parser = argparse.ArgumentParser(description="Run sora-studio locally on one origin.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--data-dir", default=os.environ.get("DATA_DIR", str(REPO_ROOT / ".data")))
    parser.add_argument(
        "--simulator-speed", type=float, default=float(os.environ.get("SIMULATOR_SPEED", "1.0"))
    )
    parser.add_argument(
        "--simulator-expiry-seconds",
        type=int,
        default=int(os.environ["SIMULATOR_EXPIRY_SECONDS"])
        if os.environ.get("SIMULATOR_EXPIRY_SECONDS")
        else None,
    )
    args = parser.parse_args()
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("werkzeug", "botocore", "pynamodb", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if os.environ.get("AUTH_MODE", "none") == "none" and args.host not in (
        "127.0.0.1",
        "localhost",
    ):
        parser.error(
            "AUTH_MODE=none serves only on loopback; set AUTH_MODE=token to bind elsewhere"
        )
    stack = LocalStack(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        simulator_speed=args.simulator_speed,
        simulator_expiry_seconds=args.simulator_expiry_seconds,
    )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stack.start()
    upstream = "built-in simulator" if stack.simulator else os.environ.get("VIDEOS_API_BASE_URL")
    print(
        f"sora-studio is running at {stack.url}/  (upstream: {upstream}; Ctrl-C stops)", flush=True
    )
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping…", flush=True)
        stack.stop()


if __name__ == "__main__":
    main()
