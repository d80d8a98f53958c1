"""The shipped model presets: what a configured upstream offers before (or without) its own
listing. Only ids the live services still serve are offered by default.

* `/v1/videos` (OpenAI's protocol): the Sora 2 ids as OpenAI published them. OpenAI switched
  its own service off on 2026-09-24; gateways (LiteLLM) and the simulator still answer to
  these ids, and `MODEL_CATALOG_JSON` names a gateway's other models.
* Veo on the Gemini API: Google shut the `veo-3.1-*-preview` ids down on 2026-10-22, so with
  only a Gemini key nothing is offered by default. `VEO_SIMULATED` keeps their shape for the
  simulator's Veo protocol (`UPSTREAM_PROTOCOL=veo make run`); a Gemini id Google still
  serves can be offered through `MODEL_CATALOG_JSON` with `"provider": "veo"`.
* Veo on Vertex AI: the GA ids `veo-3.1-generate-001` and `veo-3.1-fast-generate-001`
  (`VERTEX_PRESETS`), offered when a Google Cloud service account (or a Vertex API key) is
  configured. This is Veo's default path now; the Gemini `veo` provider stays for the ids
  Google still serves there, which none of the presets name.
* fal.ai's queue: a curated list of current models (`FAL_PRESETS`: Veo 3.1, Kling, Seedance,
  Wan, MiniMax), each with its own input names, offered when a fal key is configured.
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

# Veo 3.1 on Vertex AI (docs/upstreams/vertex.md, "Models" and "Prices"): 16:9 or 9:16 at 720p
# or 1080p, 4, 6 or 8 s; USD per second without sound, and with it (the default, so estimates
# err high). Reference images are for the full model only (16:9, 8 s; the client checks).
VERTEX_SIZES = ["1280x720", "720x1280", "1920x1080", "1080x1920"]


def _vertex_veo(
    model_id: str, label: str, silent: float, audio: float, references: int
) -> dict[str, Any]:
    return {
        "id": model_id,
        "label": label,
        "provider": "vertex",
        "sizes": VERTEX_SIZES,
        "seconds": [4, 6, 8],
        "price_per_second_usd": silent,
        "price_per_second_with_audio_by_size": dict.fromkeys(VERTEX_SIZES, audio),
        "capabilities": {
            "first_frame": True,
            "last_frame": True,
            "reference_images": references,
            "audio": True,
            "seed": True,
            "remix": False,
            "extend": False,
        },
    }


VERTEX_PRESETS: list[dict[str, Any]] = [
    _vertex_veo("veo-3.1-generate-001", "Veo 3.1", 0.20, 0.40, references=3),
    _vertex_veo("veo-3.1-fast-generate-001", "Veo 3.1 Fast", 0.10, 0.15, references=0),
]
