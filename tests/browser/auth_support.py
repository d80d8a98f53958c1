"""Helpers for the sign-in browser tests (test_auth_ui.py).

- `StackProcess`: `python -m devserver` in its own process, with an environment built from
  scratch, so its AUTH_MODE and spend guards never touch this process's os.environ or the
  in-process LocalStack that tests/browser/conftest.py runs for the other browser tests.
- `FakeCognito`: a stand-in for a Cognito user pool's hosted UI on loopback: /oauth2/authorize
  (redirects straight back with a code), /oauth2/token (authorization_code with the PKCE S256
  check, refresh_token), /oauth2/revoke, /logout and the pool's JWKS. It mints RS256 JWTs the
  way Cognito does (iss, token_use, client_id or aud, sub, exp), so the real backend check in
  chalicelib/auth.py verifies them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from devserver.stack import REPO_ROOT, free_port

# Only what a process needs to run; everything app-related is set explicitly.
PASSTHROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "SYSTEMROOT")


class StackProcess:
    """The whole local stack (moto, simulator, Chalice, refresher) in a child process."""

    def __init__(self, data_dir: Path, env: dict[str, str], *, speed: float = 4.0):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = Path(data_dir)
        self.env = {k: os.environ[k] for k in PASSTHROUGH if k in os.environ}
        self.env.update(
            POLL_INTERVAL_SECONDS="1",
            SIMULATOR_SPEED=str(speed),
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )
        self.env.update(env)
        self.log_path = self.data_dir / "devserver.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> StackProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("w")
        data = str(self.data_dir / "data")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devserver", "--port", str(self.port), "--data-dir", data],
            cwd=REPO_ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"devserver exited:\n{self.output()}")
            try:
                if requests.get(f"{self.url}/api/health", timeout=1).ok:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"devserver did not start:\n{self.output()}")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class FakeCognito:
    """A user pool's hosted UI, token endpoint and JWKS, on 127.0.0.1."""

    region = "us-east-1"
    pool_id = "us-east-1_StudioTest"
    client_id = "studio-web-client-test"
    sub = "5f1c0d3e-1111-4222-8333-944455556666"

    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "studio-test-key"
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        self.jwks = {"keys": [{**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}]}
        self.issuer = f"https://cognito-idp.{self.region}.amazonaws.com/{self.pool_id}"
        self.lock = threading.Lock()
        self.redirect_uri = ""  # the studio page: the registered callback and logout URL
        # Knobs for a test: access token lifetime (seconds, as expires_in and exp), whether
        # the code grant hands out an access token the backend already sees as expired
        # (while expires_in still says an hour), and whether refresh grants are refused.
        self.access_lifetime = 3600
        self.expired_on_code = False
        self.refuse_refresh = False
        # What happened, for assertions.
        self.authorize_requests: list[dict[str, str]] = []
        self.grants: list[tuple[str, int]] = []  # (grant_type, HTTP status)
        self.access_tokens: list[str] = []  # in the order they were issued
        self.revoked: list[str] = []
        self.logouts: list[dict[str, str]] = []
        self._codes: dict[str, dict[str, str]] = {}
        self._refresh_tokens: dict[str, str] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> FakeCognito:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self, redirect_uri: str) -> None:
        with self.lock:
            self.redirect_uri = redirect_uri
            self.access_lifetime = 3600
            self.expired_on_code = False
            self.refuse_refresh = False
            self.authorize_requests.clear()
            self.grants.clear()
            self.access_tokens.clear()
            self.revoked.clear()
            self.logouts.clear()

    # -- tokens ---------------------------------------------------------------------------

    def _jwt(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})

    def _mint(self, *, expired: bool) -> dict[str, Any]:
        now = int(time.time())
        lifetime = self.access_lifetime
        exp = now - 300 if expired else now + lifetime
        common = {"sub": self.sub, "iss": self.issuer, "iat": now, "auth_time": now, "exp": exp}
        access = self._jwt(
            {
                **common,
                "token_use": "access",
                "client_id": self.client_id,
                "scope": "openid",
                "username": "alice",
                "jti": secrets.token_hex(8),
            }
        )
        id_token = self._jwt(
            {**common, "token_use": "id", "aud": self.client_id, "email": "alice@example.com"}
        )
        self.access_tokens.append(access)
        return {
            "access_token": access,
            "id_token": id_token,
            "expires_in": lifetime if not expired else 3600,
            "token_type": "Bearer",
        }

    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        grant = form.get("grant_type", "")
        if form.get("client_id") != self.client_id:
            return 400, {"error": "invalid_client"}
        if grant == "authorization_code":
            entry = self._codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            if entry is None or form.get("redirect_uri") != entry["redirect_uri"]:
                return 400, {"error": "invalid_grant"}
            if not 43 <= len(verifier) <= 128:
                return 400, {"error": "invalid_grant", "error_description": "bad verifier"}
            if b64url(hashlib.sha256(verifier.encode()).digest()) != entry["challenge"]:
                return 400, {"error": "invalid_grant", "error_description": "PKCE check failed"}
            answer = self._mint(expired=self.expired_on_code)
            refresh = secrets.token_urlsafe(32)
            self._refresh_tokens[refresh] = self.sub
            return 200, {**answer, "refresh_token": refresh}
        if grant == "refresh_token":
            token = form.get("refresh_token", "")
            if self.refuse_refresh or token not in self._refresh_tokens or token in self.revoked:
                return 400, {"error": "invalid_grant", "error_description": "Token expired"}
            return 200, self._mint(expired=False)  # Cognito keeps the refresh token
        return 400, {"error": "unsupported_grant_type"}

    # -- HTTP -----------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def _send(self, status: int, body: Any = b"", headers: dict | None = None) -> None:
                data = json.dumps(body).encode() if isinstance(body, dict) else body
                self.send_response(status)
                origin = self.headers.get("Origin")
                if origin:
                    self.send_header("Access-Control-Allow-Origin", origin)
                    self.send_header("Vary", "Origin")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                if isinstance(body, dict):
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _query(self) -> dict[str, str]:
                return {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}

            def do_OPTIONS(self) -> None:
                self._send(
                    204,
                    headers={
                        "Access-Control-Allow-Methods": "POST",
                        "Access-Control-Allow-Headers": "Content-Type",
                    },
                )

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                query = self._query()
                with fake.lock:
                    if path == "/jwks.json":
                        self._send(200, fake.jwks)
                    elif path == "/oauth2/authorize":
                        self._authorize(query)
                    elif path == "/logout":
                        fake.logouts.append(query)
                        if (
                            query.get("client_id") != fake.client_id
                            or query.get("logout_uri") != fake.redirect_uri
                        ):
                            self._send(400, b"bad logout request")
                        else:
                            self._send(302, headers={"Location": fake.redirect_uri})
                    else:
                        self._send(404, b"not found")

            def _authorize(self, query: dict[str, str]) -> None:
                fake.authorize_requests.append(query)
                ok = (
                    query.get("response_type") == "code"
                    and query.get("client_id") == fake.client_id
                    and query.get("redirect_uri") == fake.redirect_uri
                    and query.get("code_challenge_method") == "S256"
                    and len(query.get("code_challenge", "")) == 43
                    and query.get("state")
                )
                if not ok:
                    self._send(400, b"bad authorize request")
                    return
                code = secrets.token_urlsafe(16)
                fake._codes[code] = {
                    "challenge": query["code_challenge"],
                    "redirect_uri": query["redirect_uri"],
                }
                back = urlencode({"code": code, "state": query["state"]})
                back = f"{query['redirect_uri']}?{back}"
                self._send(302, headers={"Location": back})

            def do_POST(self) -> None:
                path = urlsplit(self.path).path
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                form = {k: v[0] for k, v in parse_qs(raw).items()}
                with fake.lock:
                    if path == "/oauth2/token":
                        status, body = fake._token(form)
                        fake.grants.append((form.get("grant_type", ""), status))
                        self._send(status, body, {"Cache-Control": "no-store"})
                    elif path == "/oauth2/revoke":
                        fake.revoked.append(form.get("token", ""))
                        self._send(200, b"")
                    else:
                        self._send(404, b"not found")

        return Handler
