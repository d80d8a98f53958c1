"""The shipped model presets: what a configured upstream offers before (or without) its own
listing. Only ids the live services still serve are offered by default.

* `/v1/videos` (OpenAI's protocol): the Sora 2 ids as OpenAI published them. OpenAI switched
  its own service off on 2026-09-24; gateways (LiteLLM) and the simulator still answer to
  these ids, and `MODEL_CATALOG_JSON` names a gateway's other models.
* Veo on the Gemini API: Google shut the `veo-3.1-*-preview` ids down on 2026-10-22, so with
  only a Gemini key nothing is offered by default. `VEO_SIMULATED` keeps their shape for the
  simulator's Veo protocol (`UPSTREAM_PROTOCOL=veo make run`); a Gemini id Google still
  serves can be offered through `MODEL_CATALOG_JSON` with `"provider": "veo"`.
"""

from __future__ import annotations

from typing import Any

OPENAI_PRESETS: list[dict[str, Any]] = [
    {
        "id": "sora-2",
        "label": "Sora 2",
        "sizes": ["1280x720", "720x1280"],
        "seconds": [4, 8, 12],
        "price_per_second_usd": 0.10,
    },
    {
        "id": "sora-2-pro",
        "label": "Sora 2 Pro",
        "sizes": ["1280x720", "720x1280", "1792x1024", "1024x1792"],
        "seconds": [4, 8, 12],
        "price_per_second_usd": 0.30,
        "price_per_second_by_size": {"1792x1024": 0.50, "1024x1792": 0.50},
    },
]

# Veo 3.1 as the Gemini API described it (16:9 or 9:16 at 720p or 1080p, 1080p only for 8 s,
# which the Veo client checks before paying; 4, 6 or 8 s; audio included; USD per second).
VEO_SIZES = ["1280x720", "720x1280", "1920x1080", "1080x1920"]
_VEO_CAPABILITIES = {"first_frame": True, "remix": False, "audio": True}
VEO_SIMULATED: list[dict[str, Any]] = [
    {
        "id": "veo-3.1-generate-preview",
        "label": "Veo 3.1",
        "sizes": VEO_SIZES,
        "seconds": [4, 6, 8],
        "price_per_second_usd": 0.40,
        "provider": "veo",
        "capabilities": _VEO_CAPABILITIES,
    },
    {
        "id": "veo-3.1-fast-generate-preview",
        "label": "Veo 3.1 Fast",
        "sizes": VEO_SIZES,
        "seconds": [4, 6, 8],
        "price_per_second_usd": 0.10,
        "price_per_second_by_size": {"1920x1080": 0.12, "1080x1920": 0.12},
        "provider": "veo",
        "capabilities": _VEO_CAPABILITIES,
    },
]
