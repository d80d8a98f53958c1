"""Direct HTTP access to a local stack's API, for setting up and checking state in browser
tests (the shared stack's `api` fixture, and tests that start a stack of their own)."""

from __future__ import annotations

import time

import requests


class Api:
    """Direct HTTP access to the API, for setting up and checking state."""

    def __init__(self, base: str):
        self.base = base
        self.http = requests.Session()

    def create(self, prompt: str, **params) -> dict:
        """POST /api/videos; waits for a free slot when the per-user pending quota is full."""
        body = {"prompt": prompt, "model": "sora-2", "size": "1280x720", "seconds": 4, **params}
        deadline = time.monotonic() + 90
        while True:
            r = self.http.post(f"{self.base}/api/videos", json=body, timeout=30)
            if r.status_code == 429 and r.json()["error"]["code"] == "too_many_pending":
                assert time.monotonic() < deadline, r.text
                time.sleep(0.5)
                continue
            assert r.status_code == 201, r.text
            return r.json()["job"]

    def pending(self) -> list[dict]:
        return self.list(status="queued") + self.list(status="in_progress")

    def wait_idle(self, timeout: float = 90) -> None:
        """Until no job is pending, so a test starts with its whole pending quota."""
        deadline = time.monotonic() + timeout
        while jobs := self.pending():
            assert time.monotonic() < deadline, f"jobs still pending: {jobs}"
            for job in jobs:
                self.get(job["id"])  # refreshes a stale pending job inline
            time.sleep(0.5)

    def cancel_pending(self) -> None:
        """Cancels what earlier tests left rendering, so the next starts with nothing pending."""
        for job in self.pending():
            r = self.http.post(f"{self.base}/api/videos/{job['id']}/cancel", json={}, timeout=30)
            assert r.status_code in (200, 409), r.text  # 409: it finished meanwhile
        self.wait_idle()

    def get(self, job_id: str) -> dict | None:
        r = self.http.get(f"{self.base}/api/videos/{job_id}", timeout=30)
        if r.status_code == 404:
            return None
        r.raise_for_status()
        return r.json()["job"]

    def list(self, **query) -> list[dict]:
        jobs, cursor = [], None
        while True:
            params = {"limit": 100, **query}
            if cursor:
                params["cursor"] = cursor
            r = self.http.get(f"{self.base}/api/videos", params=params, timeout=30)
            r.raise_for_status()
            data = r.json()
            jobs += data["jobs"]
            cursor = data["next_cursor"]
            if not cursor:
                return jobs

    def wait(self, job_id: str, status: str = "completed", timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if job and job["status"] == status:
                return job
            assert job and job["status"] not in {"completed", "failed"} - {status}, job
            assert time.monotonic() < deadline, f"timed out waiting for {status}: {job}"
            time.sleep(0.3)
