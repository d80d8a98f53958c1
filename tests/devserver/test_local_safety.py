"""`make run` over real HTTP, as an attacker's web page or a crowd of tabs would use it:

- the embedded store takes parallel writes as DynamoDB does (moto restores a whole-table
  snapshot when a transaction fails, undoing other requests' writes unless its requests are
  serialised): parallel creates against USER_MAX_PENDING_JOBS are admitted exactly up to it;
- `--host 0.0.0.0` still binds the embedded store and the simulator to loopback only;
- the devserver answers only its own Host names (a DNS-rebinding page gets 421), and JSON
  routes only application/json (a text/plain POST needs no CORS preflight).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import uuid
from pathlib import Path

import pytest
import requests

from tests.support.devserver import DevServer

pytestmark = pytest.mark.e2e

PARALLEL_CREATES = 12
LIMIT = 2


HISTORY_ITEMS = 500  # another user's history: without the lock, a refused create undoes writes


def seed_history(data_dir: Path) -> None:
    """A stored table (what `make run` restores from `.data/`) holding another user's jobs:
    moto copies the whole table at the start of each transaction, so a real-sized table
    widens the window in which a failed transaction's restore undoes other writes."""
    items = []
    for n in range(HISTORY_ITEMS):
        job_id = str(uuid.UUID(int=n, version=4))
        items.append(
            {
                "id": {"S": job_id},
                "owner": {"S": "someone-else"},
                "created_key": {"S": f"2026-01-01T00:00:00.{n:06d}#{job_id}"},
                "status": {"S": "completed"},
                "prompt": {"S": f"an older video {n} " + "with a long prompt " * 20},
            }
        )
    table = data_dir / "dynamodb" / "sora-studio-local-jobs.json"
    table.parent.mkdir(parents=True)
    table.write_text(json.dumps(items))


def test_parallel_creates_are_admitted_exactly_up_to_the_limit(tmp_path):
    """Each refused create is a failed DynamoDB transaction: before the embedded store was
    serialised, its snapshot restore undid other creates' writes (500s, 3-4 admitted against
    a limit of 2, lost jobs, a counter stuck at the global cap)."""
    seed_history(tmp_path / "data")
    env = {"USER_MAX_PENDING_JOBS": str(LIMIT), "SIMULATOR_SPEED": "0.05"}
    with DevServer(tmp_path, env) as stack:
        for attempt in range(3):  # three bursts: each starts from a clean slate
            answers = burst(stack.url, attempt)
            statuses = sorted(status for status, _ in answers)
            assert statuses == [201] * LIMIT + [429] * (PARALLEL_CREATES - LIMIT), (
                statuses,
                stack.output()[-3000:],
            )
            admitted = [body["job"]["id"] for status, body in answers if status == 201]
            for status, body in answers:
                if status == 429:
                    assert body["error"]["code"] in ("too_many_pending", "limit_reached"), body
            stored = requests.get(f"{stack.url}/api/videos?limit=100", timeout=10).json()["jobs"]
            pending = {job["id"] for job in stored if job["status"] in ("queued", "in_progress")}
            assert set(admitted) <= pending, (admitted, stored)
            assert pending == set(admitted), "a refused create left a job behind"
            for job_id in admitted:  # every admitted job is stored, whole
                job = requests.get(f"{stack.url}/api/videos/{job_id}", timeout=10).json()["job"]
                assert job["sora_job_id"], job
                cancelled = requests.post(
                    f"{stack.url}/api/videos/{job_id}/cancel", json={}, timeout=10
                )
                assert cancelled.status_code == 200, cancelled.text
            usage = requests.get(f"{stack.url}/api/usage", timeout=10).json()
            assert usage["pending"] == 0, usage
        assert "embedded store: a request failed" not in stack.output()


def burst(url: str, attempt: int) -> list[tuple[int, dict]]:
    start = threading.Barrier(PARALLEL_CREATES)
    answers: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def create(n: int) -> None:
        start.wait()
        try:  # a loaded machine makes these slow (one DynamoDB request at a time)
            response = requests.post(
                f"{url}/api/videos", json={"prompt": f"burst {attempt} clip {n}"}, timeout=150
            )
            answer = (response.status_code, response.json())
        except Exception as exc:  # reported below with the others
            answer = (0, {"error": repr(exc)})
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(PARALLEL_CREATES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert len(answers) == PARALLEL_CREATES, answers
    assert all(100 <= status < 500 for status, _ in answers), answers
    return answers


# -- what listens where -----------------------------------------------------------------------


def listening(pid: int) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket process `pid` listens on (Linux /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A" or fields[9] not in inodes:  # 0A: LISTEN
                continue
            raw_address, raw_port = fields[1].split(":")
            packed = bytes.fromhex(raw_address)
            if family == socket.AF_INET:
                packed = packed[::-1]
            else:  # four little-endian 32-bit words
                packed = b"".join(packed[i : i + 4][::-1] for i in range(0, 16, 4))
            found.append((socket.inet_ntop(family, packed), int(raw_port, 16)))
    return found


TOKEN = "sst_local-safety-token-0123456789"


def token_env() -> dict[str, str]:
    from chalicelib.auth.access import token_hash

    return {"AUTH_MODE": "token", "AUTH_TOKENS": json.dumps({token_hash(TOKEN): "alice"})}


@pytest.mark.skipif(not Path("/proc/self/net/tcp").exists(), reason="reads Linux /proc")
def test_host_0000_binds_only_the_studio_beyond_loopback(tmp_path):
    with DevServer(tmp_path, token_env(), host="0.0.0.0") as stack:
        assert stack.process is not None
        sockets = listening(stack.process.pid)
        assert ("0.0.0.0", stack.port) in sockets, sockets
        others = [(address, port) for address, port in sockets if port != stack.port]
        assert len(others) >= 2, sockets  # the embedded store and the simulator
        assert all(address in ("127.0.0.1", "::1") for address, _ in others), sockets
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert requests.get(f"{stack.url}/api/usage", headers=auth, timeout=10).ok


# -- who may call -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory):
    with DevServer(tmp_path_factory.mktemp("local-safety")) as running:
        yield running


def raw_get(port: int, path: str, host: str | None) -> int:
    """The status of a GET sent with exactly this Host header (None: none at all)."""
    lines = [f"GET {path} HTTP/1.1", "Connection: close"]
    if host is not None:
        lines.append(f"Host: {host}")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        reply = conn.makefile("rb").readline().decode()
    return int(reply.split()[1])


@pytest.mark.parametrize("path", ["/api/health", "/api/videos", "/", "/index.html"])
def test_only_the_devservers_own_host_names_are_answered(stack, path):
    port = stack.port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}", f"[::1]:{port}"):
        assert raw_get(port, path, host) == 200, host
    # A page on attacker.example whose name the attacker re-pointed at 127.0.0.1.
    for host in (
        f"attacker.example:{port}",
        "attacker.example",
        f"localhost.attacker.example:{port}",
        f"127.0.0.1.nip.io:{port}",
        "localhost",
        f"localhost:{port + 1}",
        "",
        None,
    ):
        assert raw_get(port, path, host) in (400, 421), host


def test_a_rebinding_page_cannot_start_a_render(stack):
    response = requests.post(
        f"{stack.url}/api/videos",
        data=json.dumps({"prompt": "a paid render"}),
        headers={"Host": "attacker.example", "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 421
    assert response.json()["error"]["code"] == "misdirected_request"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "text/plain;application/json", "multipart/form-data", None]
)
def test_a_cross_site_simple_post_starts_no_render(stack, content_type):
    headers = {"Origin": "https://attacker.example"}
    if content_type:
        headers["Content-Type"] = content_type
    before = requests.get(f"{stack.url}/api/videos", timeout=10).json()["jobs"]
    response = requests.post(
        f"{stack.url}/api/videos", data=b'{"prompt": "a paid render"}', headers=headers, timeout=10
    )
    assert response.status_code == 415, response.text
    assert requests.get(f"{stack.url}/api/videos", timeout=10).json()["jobs"] == before
