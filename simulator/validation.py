"""Request validation for the Videos API: the model catalog and every 400 it implies.

Where the official ``openai`` SDK and OpenAI's published spec say so: ``limit`` is 0 to 100;
the dated ids ``sora-2-2025-10-06``, ``sora-2-2025-12-08`` (as ``sora-2``) and
``sora-2-pro-2025-10-06`` (as ``sora-2-pro``) take their base model's sizes and seconds; a remix
body may be JSON or ``multipart/form-data``; ``POST /videos/extensions`` takes ``prompt``,
``seconds`` (the new segment: 4, 8, 12, 16 or 20) and ``video`` (``{"id": ...}``, in a
multipart body the field ``video[id]``, as the SDK sends it), JSON or multipart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import ApiError, bad_request
from .images import ImageError, ImageInfo, identify
from .multipart import Part

MAX_PROMPT_CHARS = 32_000
DEFAULT_MODEL = "sora-2"
DEFAULT_SIZE = "720x1280"
DEFAULT_SECONDS = "4"
SORA_SECONDS = ("4", "8", "12")
SORA_2_SIZES = ("720x1280", "1280x720")
SORA_2_PRO_SIZES = ("720x1280", "1280x720", "1024x1792", "1792x1024")
SORA_SIZES: dict[str, tuple[str, ...]] = {
    "sora-2": SORA_2_SIZES,
    "sora-2-2025-10-06": SORA_2_SIZES,
    "sora-2-2025-12-08": SORA_2_SIZES,
    "sora-2-pro": SORA_2_PRO_SIZES,
    "sora-2-pro-2025-10-06": SORA_2_PRO_SIZES,
}
EXTENSION_SECONDS = ("4", "8", "12", "16", "20")
MAX_EXTENDED_SECONDS = 120  # assumed: OpenAI documents no limit on a stitched total
# Models a gateway may serve (Veo, Runway...): any even WxH within these bounds, 1-20 s.
OTHER_MIN_SIDE, OTHER_MAX_SIDE = 16, 1920
OTHER_MIN_SECONDS, OTHER_MAX_SECONDS = 1, 20

CREATE_FIELDS = ("prompt", "model", "size", "seconds", "input_reference")
REFERENCE_TYPES = ("image/jpeg", "image/png", "image/webp")
_MODEL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}")
_SIZE_RE = re.compile(r"([1-9][0-9]{0,3})x([1-9][0-9]{0,3})")


@dataclass(frozen=True)
class Reference:
    data: bytes
    info: ImageInfo


@dataclass(frozen=True)
class Continuation:
    """The clip an extension continues: its MP4 and its length in seconds."""

    video: Path
    seconds: int


@dataclass(frozen=True)
class CreateParams:
    """A job to create. ``seconds`` is the job's whole length: for an extension (``extends``)
    that is the source's seconds plus the new segment's."""

    prompt: str
    model: str
    size: str
    seconds: str
    reference: Reference | None = None
    last_frame: Reference | None = None
    references: tuple[Reference, ...] = ()
    audio: bool = False
    seed: int | None = None
    extends: Continuation | None = None


@dataclass(frozen=True)
class ExtendParams:
    prompt: str
    seconds: str
    video_id: str


@dataclass(frozen=True)
class ListParams:
    limit: int
    after: str | None
    order: str


def create_from_json(body: object) -> CreateParams:
    fields = _object(body)
    _reject_unknown(fields, CREATE_FIELDS)
    if "input_reference" in fields:
        raise bad_request(
            "'input_reference' must be uploaded as a file in a multipart/form-data request.",
            param="input_reference",
        )
    return _create(fields, None)


def create_from_form(parts: list[Part]) -> CreateParams:
    fields: dict[str, object] = {}
    reference: Part | None = None
    for part in parts:
        if part.name in fields or (part.name == "input_reference" and reference is not None):
            raise bad_request(f"Duplicate parameter: '{part.name}'.", param=part.name)
        if part.name == "input_reference":
            reference = part
        else:
            fields[part.name] = part.text()
    _reject_unknown(fields, CREATE_FIELDS)
    return _create(fields, reference)


def remix_from_json(body: object) -> str:
    fields = _object(body)
    _reject_unknown(fields, ("prompt",))
    return _prompt(fields)


def remix_from_form(parts: list[Part]) -> str:
    return remix_from_json(_text_fields(parts))


def extend_from_json(body: object) -> ExtendParams:
    fields = _object(body)
    _reject_unknown(fields, ("prompt", "seconds", "video"))
    video = fields.get("video")
    if video is None:
        raise _missing("video")
    if not isinstance(video, dict):
        raise ApiError(
            400,
            f"Invalid type for 'video': expected an object, but got {_kind(video)} instead.",
            param="video",
            code="invalid_type",
        )
    _reject_unknown({f"video.{k}": v for k, v in video.items()}, ("video.id",))
    if video.get("id") is None:
        raise _missing("video.id")
    video_id = _string(video, "id", "")
    prompt = _prompt(fields)
    if fields.get("seconds") is None:
        raise _missing("seconds")
    return ExtendParams(prompt, _string(fields, "seconds", "", allowed=EXTENSION_SECONDS), video_id)


def extend_from_form(parts: list[Part]) -> ExtendParams:
    if any(part.name == "video" and part.filename is not None for part in parts):
        raise bad_request(
            "This simulator extends its own videos only: send 'video[id]', not an upload.",
            param="video",
        )
    fields: dict[str, object] = dict(_text_fields(parts))
    video_id = fields.pop("video[id]", None)
    if video_id is not None:
        fields["video"] = {"id": video_id}
    return extend_from_json(fields)


def list_from_query(query: Mapping[str, list[str]]) -> ListParams:
    _reject_unknown(query, ("limit", "after", "order"))
    limit_text = _single(query, "limit") or "20"
    if not limit_text.isdigit() or not 0 <= int(limit_text) <= 100:
        raise bad_request(
            f"Invalid 'limit': expected an integer between 0 and 100, but got '{limit_text}'.",
            param="limit",
        )
    order = _single(query, "order") or "desc"
    if order not in ("asc", "desc"):
        raise bad_request(_enum_message(order, ("asc", "desc")), param="order")
    return ListParams(limit=int(limit_text), after=_single(query, "after") or None, order=order)


def parse_size(size: str) -> tuple[int, int]:
    width, height = size.split("x")
    return int(width), int(height)


def _create(fields: Mapping[str, object], reference: Part | None) -> CreateParams:
    prompt = _prompt(fields)
    model = _string(fields, "model", DEFAULT_MODEL)
    if not _MODEL_RE.fullmatch(model):
        raise bad_request(f"Invalid value for 'model': '{model[:64]}'.", param="model")
    seconds = _string(fields, "seconds", DEFAULT_SECONDS, allowed=_allowed_seconds(model))
    size = _string(fields, "size", DEFAULT_SIZE, allowed=SORA_SIZES.get(model))
    if model not in SORA_SIZES:
        _check_free_size(size)
        _check_free_seconds(seconds)
    return CreateParams(prompt, model, size, seconds, _reference(reference, size))


def _allowed_seconds(model: str) -> tuple[str, ...] | None:
    return SORA_SECONDS if model in SORA_SIZES else None


def _missing(name: str) -> ApiError:
    return ApiError(
        400,
        f"Missing required parameter: '{name}'.",
        param=name,
        code="missing_required_parameter",
    )


def _text_fields(parts: list[Part]) -> dict[str, object]:
    """The text fields of a multipart body (a duplicate is a 400)."""
    fields: dict[str, object] = {}
    for part in parts:
        if part.name in fields:
            raise bad_request(f"Duplicate parameter: '{part.name}'.", param=part.name)
        fields[part.name] = part.text()
    return fields


def _prompt(fields: Mapping[str, object]) -> str:
    if "prompt" not in fields or fields["prompt"] is None:
        raise _missing("prompt")
    prompt = _string(fields, "prompt", "")
    if not prompt.strip():
        raise ApiError(
            400,
            "Invalid 'prompt': string too short. Expected a string with minimum length 1, "
            "but got an empty string instead.",
            param="prompt",
            code="string_below_min_length",
        )
    if len(prompt) > MAX_PROMPT_CHARS:
        raise ApiError(
            400,
            f"Invalid 'prompt': string too long. Expected a string with maximum length "
            f"{MAX_PROMPT_CHARS}, but got a string with length {len(prompt)} instead.",
            param="prompt",
            code="string_above_max_length",
        )
    return prompt


def _string(
    fields: Mapping[str, object],
    name: str,
    default: str,
    *,
    allowed: tuple[str, ...] | None = None,
) -> str:
    value = fields.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        expected = f"one of {_quoted(allowed)}" if allowed else "a string"
        raise ApiError(
            400,
            f"Invalid type for '{name}': expected {expected}, but got {_kind(value)} instead.",
            param=name,
            code="invalid_type",
        )
    if allowed is not None and value not in allowed:
        raise bad_request(_enum_message(value, allowed), param=name)
    return value


def _check_free_size(size: str) -> None:
    match = _SIZE_RE.fullmatch(size)
    sides = (int(match[1]), int(match[2])) if match else ()
    if not sides or any(side % 2 or not OTHER_MIN_SIDE <= side <= OTHER_MAX_SIDE for side in sides):
        raise bad_request(
            f"Invalid value for 'size': '{size[:32]}'. Expected WIDTHxHEIGHT with even sides "
            f"between {OTHER_MIN_SIDE} and {OTHER_MAX_SIDE} pixels.",
            param="size",
        )


def _check_free_seconds(seconds: str) -> None:
    if not (seconds.isdigit() and OTHER_MIN_SECONDS <= int(seconds) <= OTHER_MAX_SECONDS):
        raise bad_request(
            f"Invalid value for 'seconds': '{seconds[:32]}'. Expected a whole number of seconds "
            f"between {OTHER_MIN_SECONDS} and {OTHER_MAX_SECONDS}, as a string.",
            param="seconds",
        )


def _reference(part: Part | None, size: str) -> Reference | None:
    if part is None:
        return None
    if part.filename is None:
        raise bad_request(
            "'input_reference' must be a file part of the multipart/form-data request.",
            param="input_reference",
        )
    try:
        info = identify(part.data)
    except ImageError:
        info = None
    declared = part.content_type
    if info is None or (declared not in (None, "application/octet-stream", info.mime)):
        raise ApiError(
            400,
            "Invalid file format for 'input_reference'. Supported formats are "
            f"{_quoted(REFERENCE_TYPES)}.",
            param="input_reference",
            code="invalid_image_format",
        )
    if (info.width, info.height) != parse_size(size):
        raise ApiError(
            400,
            "Inpaint image must match the requested width and height",
            param="input_reference",
            code="invalid_value",
        )
    return Reference(part.data, info)


def _object(body: object) -> Mapping[str, object]:
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.", code="invalid_body")
    return body


def _reject_unknown(fields: Mapping[str, object], known: tuple[str, ...]) -> None:
    for name in fields:
        if name not in known:
            raise ApiError(
                400,
                f"Unknown parameter: '{name[:64]}'.",
                param=name[:64],
                code="unknown_parameter",
            )


def _single(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise bad_request(f"Duplicate parameter: '{name}'.", param=name)
    return values[0]


def _enum_message(value: str, allowed: tuple[str, ...]) -> str:
    return f"Invalid value: '{value[:64]}'. Supported values are: {_quoted(allowed)}."


def _quoted(values: tuple[str, ...] | None) -> str:
    items = [f"'{v}'" for v in values or ()]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "a value"
