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

# The `/v1/videos` protocol takes a first frame (`input_reference`), remixes, and extends a
# completed video (`POST /videos/extensions`: 4 to 20 new seconds, one stitched clip back).
_SORA_CAPABILITIES = {"first_frame": True, "remix": True, "extend": True}
SORA_EXTENSION_SECONDS = [4, 8, 12, 16, 20]
OPENAI_PRESETS: list[dict[str, Any]] = [
    {
        "id": "sora-2",
        "label": "Sora 2",
        "sizes": ["1280x720", "720x1280"],
        "seconds": [4, 8, 12],
        "price_per_second_usd": 0.10,
        "capabilities": _SORA_CAPABILITIES,
        "extend_seconds": SORA_EXTENSION_SECONDS,
    },
    {
        "id": "sora-2-pro",
        "label": "Sora 2 Pro",
        "sizes": ["1280x720", "720x1280", "1792x1024", "1024x1792"],
        "seconds": [4, 8, 12],
        "price_per_second_usd": 0.30,
        "price_per_second_by_size": {"1792x1024": 0.50, "1024x1792": 0.50},
        "capabilities": _SORA_CAPABILITIES,
        "extend_seconds": SORA_EXTENSION_SECONDS,
    },
]

# Veo 3.1 as the Gemini API described it (16:9 or 9:16 at 720p or 1080p, 1080p only for 8 s,
# which the Veo client checks before paying; 4, 6 or 8 s; audio included; USD per second).
# First and last frame, up to 3 asset reference images, and an extension of a 720p video by
# 7 s. Sound is always on and there is no seed: Google's SDK refuses `generate_audio` and
# `seed` for the Gemini API (they are Vertex AI parameters), so neither is offered here.
VEO_SIZES = ["1280x720", "720x1280", "1920x1080", "1080x1920"]
_VEO_CAPABILITIES = {
    "first_frame": True,
    "last_frame": True,
    "reference_images": 3,
    "remix": False,
    "extend": True,
}
VEO_EXTENSION_SECONDS = [7]
VEO_SIMULATED: list[dict[str, Any]] = [
    {
        "id": "veo-3.1-generate-preview",
        "label": "Veo 3.1",
        "sizes": VEO_SIZES,
        "seconds": [4, 6, 8],
        "price_per_second_usd": 0.40,
        "provider": "veo",
        "capabilities": _VEO_CAPABILITIES,
        "extend_seconds": VEO_EXTENSION_SECONDS,
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
        "extend_seconds": VEO_EXTENSION_SECONDS,
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

# fal.ai's queue (docs/upstreams/fal.md, "Models"): current video models, each with its own
# input names (`wire`, read by upstreams/fal.py) and the prices on its fal page (USD per second;
# a per-clip price is spread at its dearest per-second rate, so the estimate errs high).
# Offered when FAL_KEY is set; FAL_MODELS_JSON adds or replaces entries by id.
_FAL_INPUTS = {
    "prompt": "prompt",
    "seconds": "duration",
    "aspect_ratio": "aspect_ratio",
    "resolution": "resolution",
    "first_frame": "image_url",
}
# Sound and seed where a model's schema has them (`generate_audio`, `seed`); a last frame
# only on the image endpoints that take one (Kling `tail_image_url`, others `end_image_url`).
_FAL_SOUND_AND_SEED = {**_FAL_INPUTS, "audio": "generate_audio", "seed": "seed"}
_FAL_SHAPES = {
    "1280x720": ["720p", "16:9"],
    "720x1280": ["720p", "9:16"],
    "1920x1080": ["1080p", "16:9"],
    "1080x1920": ["1080p", "9:16"],
}


def _fal_veo(model_id: str, label: str, silent: float, audio: float) -> dict[str, Any]:
    return {
        "id": model_id,
        "label": label,
        "provider": "fal",
        "sizes": list(_FAL_SHAPES),
        "seconds": [4, 6, 8],
        "price_per_second_usd": silent,
        "price_per_second_with_audio_by_size": dict.fromkeys(_FAL_SHAPES, audio),
        # Veo makes sound unless told not to (`generate_audio` defaults to true).
        "capabilities": {"first_frame": True, "audio": True, "seed": True},
        "wire": {
            "image_endpoint": f"{model_id}/image-to-video",
            "inputs": _FAL_SOUND_AND_SEED,
            "seconds_format": "5s",
            "resolution_by_size": _FAL_SHAPES,
        },
    }


FAL_PRESETS: list[dict[str, Any]] = [
    _fal_veo("fal-ai/veo3.1/fast", "Veo 3.1 Fast (fal)", 0.10, 0.15),
    _fal_veo("fal-ai/veo3.1", "Veo 3.1 (fal)", 0.20, 0.40),
    {
        "id": "fal-ai/kling-video/v2.5-turbo/pro/text-to-video",
        "label": "Kling 2.5 Turbo Pro (fal)",
        "provider": "fal",
        # 1080p output; the pixel size per aspect ratio is not documented (assumed).
        "sizes": ["1920x1080", "1080x1920", "1080x1080"],
        "seconds": [5, 10],
        "price_per_second_usd": 0.07,
        "capabilities": {"first_frame": True, "last_frame": True},
        "wire": {
            "image_endpoint": "fal-ai/kling-video/v2.5-turbo/pro/image-to-video",
            "inputs": {"prompt": "prompt", "seconds": "duration", "aspect_ratio": "aspect_ratio"},
            # The image endpoint takes the image's own aspect ratio.
            "image_inputs": {
                "prompt": "prompt",
                "seconds": "duration",
                "first_frame": "image_url",
                "last_frame": "tail_image_url",
            },
        },
    },
    {
        "id": "fal-ai/bytedance/seedance/v1.5/pro/text-to-video",
        "label": "Seedance 1.5 Pro (fal)",
        "provider": "fal",
        "sizes": list(_FAL_SHAPES),
        "seconds": list(range(4, 13)),
        # Tokens (h x w x 24 fps x s / 1024) at $1.2 per million silent, $2.4 with sound.
        "price_per_second_usd": 0.026,
        "price_per_second_by_size": {
            "1280x720": 0.026,
            "720x1280": 0.026,
            "1920x1080": 0.059,
            "1080x1920": 0.059,
        },
        "price_per_second_with_audio_by_size": {
            "1280x720": 0.052,
            "720x1280": 0.052,
            "1920x1080": 0.117,
            "1080x1920": 0.117,
        },
        "capabilities": {"first_frame": True, "last_frame": True, "audio": True, "seed": True},
        "wire": {
            "image_endpoint": "fal-ai/bytedance/seedance/v1.5/pro/image-to-video",
            "inputs": _FAL_SOUND_AND_SEED,
            "image_inputs": {**_FAL_SOUND_AND_SEED, "last_frame": "end_image_url"},
            "resolution_by_size": _FAL_SHAPES,
        },
    },
    {
        "id": "fal-ai/wan/v2.7/text-to-video",
        "label": "Wan 2.7 (fal)",
        "provider": "fal",
        "sizes": list(_FAL_SHAPES),
        "seconds": [5, 10, 15],
        "price_per_second_usd": 0.10,
        "price_per_second_by_size": {"1920x1080": 0.15, "1080x1920": 0.15},
        "capabilities": {"first_frame": True, "last_frame": True, "seed": True},
        "wire": {
            "image_endpoint": "fal-ai/wan/v2.7/image-to-video",
            "inputs": {**_FAL_INPUTS, "seed": "seed"},
            # From a first frame, the video takes the image's aspect ratio.
            "image_inputs": {
                **{k: v for k, v in _FAL_INPUTS.items() if k != "aspect_ratio"},
                "seed": "seed",
                "last_frame": "end_image_url",
            },
            "seconds_format": "int",
            "resolution_by_size": _FAL_SHAPES,
        },
    },
    {
        "id": "fal-ai/minimax/hailuo-2.3/standard/text-to-video",
        "label": "MiniMax Hailuo 2.3 (fal)",
        "provider": "fal",
        "sizes": ["1366x768"],  # 768p; its pixel size is not documented (assumed)
        "seconds": [6, 10],
        "price_per_second_usd": 0.056,  # $0.28 per 6 s, $0.56 per 10 s
        "capabilities": {"first_frame": True},
        "wire": {
            "image_endpoint": "fal-ai/minimax/hailuo-2.3/standard/image-to-video",
            "inputs": {"prompt": "prompt", "seconds": "duration", "first_frame": "image_url"},
        },
    },
]
