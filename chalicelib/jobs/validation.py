"""Turn a create or remix request body into validated input, or a 400 naming the field.

Nothing here touches storage or the upstream: a rejected request stores nothing and
calls nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from chalicelib.catalog.spec import Catalog, ModelSpec, aspect_ratio_of
from chalicelib.errors import bad_request
from chalicelib.media.images import ImageFormatError, pixel_size
from chalicelib.upstreams.base import ReferenceImage

PROMPT_MAX_CHARS = 32_000
REFERENCE_MAX_BYTES = 8 * 1024 * 1024
CREATE_FIELDS = frozenset(
    {"prompt", "model", "size", "aspect_ratio", "seconds", "duration", "format", "input_reference"}
)
REMIX_FIELDS = frozenset({"prompt"})
REFERENCE_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
# json.loads turns "\ud800" into a lone surrogate: a str no UTF-8 encoder (boto3, requests) takes.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
DATA_URL = re.compile(r"^data:(?P<type>[\w.+-]+/[\w.+-]+)(?P<params>(;[^;,]*)*);base64,", re.I)


@dataclass(frozen=True)
class CreateInput:
    prompt: str
    model: ModelSpec
    size: str
    seconds: int
    reference: ReferenceImage | None = None

    @property
    def estimated_cost_usd(self) -> float:
        # Upstreams that can add sound do so unless told otherwise, and may charge for it.
        return self.model.estimate_cost(self.size, self.seconds, self.model.capabilities.audio)


def parse_json_object(raw_body: bytes | None) -> dict[str, Any]:
    """The body as a JSON object whose every string is Unicode text; a 400 otherwise.
    A body nested past the parser's depth is `invalid_json` (RecursionError), and a lone
    surrogate (`"\\ud800"`, valid JSON but no text: it cannot be stored or sent on) is a 400
    naming the top-level field that holds it."""
    if not raw_body:
        raise bad_request(None, "The request body must be a JSON object.", "invalid_json")
    try:
        body = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise bad_request(None, "The request body is not valid JSON.", "invalid_json") from None
    if not isinstance(body, dict):
        raise bad_request(None, "The request body must be a JSON object.", "invalid_json")
    for name, value in body.items():
        if LONE_SURROGATE.search(name):
            shown = name.encode("utf-8", "backslashreplace").decode()
            raise bad_request(shown, "A field name holds a lone surrogate: it is not text.")
        if _holds_lone_surrogate(value):
            raise bad_request(name, f"'{name}' holds a lone surrogate (\\ud800-\\udfff): not text.")
    return body


def _holds_lone_surrogate(value: Any) -> bool:
    """Whether any string in `value` (however nested; walked without recursion) holds one."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if LONE_SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def reject_unknown_fields(body: dict[str, Any], allowed: frozenset[str]) -> None:
    for name in body:
        if name not in allowed:
            allowed_list = ", ".join(sorted(allowed))
            raise bad_request(name, f"Unknown field '{name}'. Allowed fields: {allowed_list}.")


def parse_prompt(value: Any) -> str:
    if value is None:
        raise bad_request("prompt", "A prompt is required.")
    if not isinstance(value, str):
        raise bad_request("prompt", "The prompt must be a string.")
    prompt = value.strip()
    if not prompt:
        raise bad_request("prompt", "The prompt must not be blank.")
    if len(prompt) > PROMPT_MAX_CHARS:
        raise bad_request(
            "prompt", f"The prompt is {len(prompt)} characters; the limit is {PROMPT_MAX_CHARS}."
        )
    return prompt


def _parse_model(catalog: Catalog, value: Any) -> ModelSpec:
    if value is None:
        if catalog.default_model is None:
            raise bad_request("model", "No video model is available right now.")
        return catalog.default_model
    model = catalog.get(value) if isinstance(value, str) else None
    if model is None:
        known = ", ".join(m.id for m in catalog.models)
        raise bad_request("model", f"Unknown model {value!r}. Available models: {known}.")
    return model


def _parse_seconds(field: str, value: Any) -> int:
    if isinstance(value, bool):
        raise bad_request(field, f"'{field}' must be a whole number of seconds.")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,4}\s*", value):
        return int(value)
    raise bad_request(field, f"'{field}' must be a whole number of seconds, got {value!r}.")


def _resolve_seconds(model: ModelSpec, body: dict[str, Any]) -> int:
    seconds = _parse_seconds("seconds", body["seconds"]) if "seconds" in body else None
    duration = _parse_seconds("duration", body["duration"]) if "duration" in body else None
    if seconds is not None and duration is not None and seconds != duration:
        raise bad_request("duration", f"'duration' ({duration}) disagrees with 'seconds'.")
    field = "seconds" if seconds is not None else "duration"
    value = seconds if seconds is not None else duration
    if value is None:
        return model.seconds[0]
    if value not in model.seconds:
        allowed = ", ".join(str(s) for s in model.seconds)
        raise bad_request(field, f"{model.id} makes videos of {allowed} seconds, not {value}.")
    return value


def _resolve_size(catalog: Catalog, model: ModelSpec, body: dict[str, Any]) -> str:
    size = body.get("size")
    ratio = body.get("aspect_ratio")
    if size is not None and (not isinstance(size, str) or size not in model.sizes):
        allowed = ", ".join(model.sizes)
        raise bad_request("size", f"{model.id} supports sizes {allowed}, not {size!r}.")
    if ratio is not None:
        if not isinstance(ratio, str) or ratio not in catalog.aspect_ratios():
            known = ", ".join(sorted(catalog.aspect_ratios()))
            raise bad_request("aspect_ratio", f"Unknown aspect ratio {ratio!r}. Use {known}.")
        if size is not None:
            if aspect_ratio_of(size) != ratio:
                raise bad_request(
                    "aspect_ratio", f"aspect_ratio {ratio} disagrees with size {size}."
                )
            return size
        matched = model.size_for_aspect(ratio)
        if matched is None:
            raise bad_request("aspect_ratio", f"{model.id} has no size with aspect ratio {ratio}.")
        return matched
    return size if size is not None else model.sizes[0]


def parse_reference(value: Any, size: str) -> ReferenceImage:
    field = "input_reference"
    if not isinstance(value, str):
        raise bad_request(
            field, "input_reference must be a data: URL of a JPEG, PNG or WebP image."
        )
    match = DATA_URL.match(value)
    if not match:
        raise bad_request(
            field, "input_reference must be a base64 data: URL (data:image/png;base64,...)."
        )
    encoded = value[match.end() :]
    if len(encoded) > (REFERENCE_MAX_BYTES * 4) // 3 + 8:
        raise bad_request(field, "input_reference is larger than the 8 MB limit.")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise bad_request(field, "input_reference is not valid base64.") from None
    if len(data) > REFERENCE_MAX_BYTES:
        raise bad_request(field, "input_reference is larger than the 8 MB limit.")
    try:
        kind, width, height = pixel_size(data)
    except ImageFormatError as exc:
        raise bad_request(
            field, f"input_reference is not a JPEG, PNG or WebP image ({exc})."
        ) from None
    expected_w, expected_h = (int(p) for p in size.split("x"))
    if (width, height) != (expected_w, expected_h):
        raise bad_request(
            field,
            f"input_reference is {width}x{height} pixels; it must be exactly {size} to match "
            "the video size.",
        )
    return ReferenceImage(
        data=data, content_type=kind, filename=f"reference.{REFERENCE_TYPES[kind]}"
    )


def parse_create(catalog: Catalog, body: dict[str, Any]) -> CreateInput:
    reject_unknown_fields(body, CREATE_FIELDS)
    prompt = parse_prompt(body.get("prompt"))
    model = _parse_model(catalog, body.get("model"))
    size = _resolve_size(catalog, model, body)
    seconds = _resolve_seconds(model, body)
    fmt = body.get("format")
    if fmt is not None and fmt != "mp4":
        raise bad_request("format", f"Only the mp4 format is supported, not {fmt!r}.")
    reference = None
    if body.get("input_reference") is not None:
        if not model.supports_reference:
            raise bad_request("input_reference", f"{model.id} does not take a reference image.")
        reference = parse_reference(body["input_reference"], size)
    return CreateInput(prompt=prompt, model=model, size=size, seconds=seconds, reference=reference)


def parse_remix(body: dict[str, Any]) -> str:
    reject_unknown_fields(body, REMIX_FIELDS)
    return parse_prompt(body.get("prompt"))
