"""A requests session bound to one simulator, for the simulator's own tests."""

from __future__ import annotations

from typing import Any

import requests

from tests.support.wait import wait_until

API_KEY = "sk-sim-test"
PROMPT = "A cozy campfire at night in the forest"


class Client(requests.Session):
    """A session bound to one simulator: ``api.get("/videos")`` hits ``{sim.url}/videos``."""

    def __init__(self, base_url: str, key: str | None = API_KEY) -> None:
        super().__init__()
        self.base_url = base_url
        if key is not None:
            self.headers["Authorization"] = f"Bearer {key}"

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", 10)
        return super().request(method, self.base_url + url, *args, **kwargs)

    def create(self, **body: Any) -> dict[str, Any]:
        body.setdefault("prompt", PROMPT)
        response = self.post("/videos", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def wait_for(self, video_id: str, *statuses: str, timeout: float = 15) -> dict[str, Any]:
        """The video once its status is one of `statuses`."""

        def reached() -> dict[str, Any] | None:
            video = self.get(f"/videos/{video_id}").json()
            return video if video["status"] in statuses else None

        return wait_until(reached, timeout=timeout, what=f"{video_id} {'/'.join(statuses)}")

    def completed(self, **body: Any) -> dict[str, Any]:
        return self.wait_for(self.create(**body)["id"], "completed", "failed")
