"""`python -m devserver` (what `make run` starts): the studio at http://127.0.0.1:8000/."""

from __future__ import annotations

import argparse
import errno
import logging
import os
import signal
import socket
import sys
import threading

from .stack import REPO_ROOT, LocalStack, free_port

AUTH_WORDS = {
    "none": "none, every caller is the local user (loopback only)",
    "token": "access tokens (AUTH_TOKENS)",
    "cognito": "Cognito user pool",
}


def port_taken(host: str, port: int) -> bool:
    """Whether another process listens on host:port (probed as the web server binds)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def port_advice(host: str, port: int) -> str:
    other = port + 1 if port and not port_taken(host, port + 1) else free_port(host)
    return f"port {port} is taken; try PORT={other} make run (or stop what is using it)"


class OneLineStoreErrors(logging.Filter):
    """The embedded store's (moto's) failed requests are answered 500 and retried by the
    client: one line each at WARNING instead of werkzeug's traceback (kept at DEBUG)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.levelno >= logging.ERROR and message.startswith("Error on request:"):
            lines = [line for line in message.splitlines() if line.strip()]
            logging.getLogger("devserver.store").debug("%s", message)
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg = f"embedded store: a request failed ({lines[-1].strip()}); retried"
            record.args = ()
        return True


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
    logging.getLogger("werkzeug").addFilter(OneLineStoreErrors())
    if os.environ.get("AUTH_MODE", "none") == "none" and args.host not in (
        "127.0.0.1",
        "localhost",
    ):
        parser.error(
            "AUTH_MODE=none serves only on loopback; set AUTH_MODE=token to bind elsewhere"
        )
    if port_taken(args.host, args.port):
        sys.exit(port_advice(args.host, args.port))
    stack = LocalStack(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        simulator_speed=args.simulator_speed,
        simulator_expiry_seconds=args.simulator_expiry_seconds,
    )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stack.start()
    except OSError as exc:  # the port was taken between the check and the bind
        stack.stop()
        if exc.errno != errno.EADDRINUSE:
            raise
        sys.exit(port_advice(args.host, args.port))
    print(f"sora-studio is running at {stack.url}/  ({banner(stack)}; Ctrl-C stops)", flush=True)
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping…", flush=True)
        stack.stop()


def banner(stack: LocalStack) -> str:
    protocol = os.environ.get("UPSTREAM_PROTOCOL") or "openai"
    if stack.simulator:
        upstream = "built-in simulator" + (f", {protocol} protocol" if protocol != "openai" else "")
    elif protocol == "veo":
        upstream = os.environ.get("GEMINI_API_BASE_URL") or "Gemini API"
    elif protocol == "openrouter" or os.environ.get("OPENROUTER_API_KEY"):
        upstream = os.environ.get("OPENROUTER_BASE_URL") or "OpenRouter"
    else:
        upstream = os.environ.get("VIDEOS_API_BASE_URL") or "https://api.openai.com/v1"
    mode = os.environ.get("AUTH_MODE") or "none"
    return f"upstream: {upstream}; sign-in: {AUTH_WORDS.get(mode, mode)}"


if __name__ == "__main__":
    main()
