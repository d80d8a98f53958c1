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

from chalicelib.catalog.spec import MAX_SIDE, Catalog, ModelSpec, aspect_ratio_of
from chalicelib.errors import bad_request
from chalicelib.media.images import ImageFormatError, pixel_size
from chalicelib.upstreams.base import ReferenceImage

PROMPT_MAX_CHARS = 32_000
REFERENCE_MAX_BYTES = 8 * 1024 * 1024
CREATE_FIELDS = frozenset(
    {
        "prompt",
        "model",
        "size",
        "aspect_ratio",
        "seconds",
        "duration",
        "format",
        "input_reference",
        "last_frame",
        "reference_images",
        "audio",
        "seed",
    }
)
REMIX_FIELDS = frozenset({"prompt"})
EXTEND_FIELDS = frozenset({"prompt", "seconds"})
MAX_SEED = 4_294_967_295  # an unsigned 32-bit integer, as Veo documents its seed
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
    last_frame: ReferenceImage | None = None
    reference_images: tuple[ReferenceImage, ...] = ()
    audio: bool | None = None  # None: the model has no sound switch
    seed: int | None = None

    @property
    def estimated_cost_usd(self) -> float:
        # Priced with sound when it is on (the default of a model that can make it).
        return self.model.estimate_cost(self.size, self.seconds, bool(self.audio))


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
    return parse_image(value, "input_reference", size)


def parse_image(
    value: Any, field: str, size: str | None, *, label: str | None = None, stem: str = ""
) -> ReferenceImage:
    """An image `data:` URL (JPEG, PNG or WebP by its bytes, at most 8 MB decoded) as a
    `ReferenceImage` named `{stem}.{ext}`; its pixel size must be `size` when one is given,
    else at most MAX_SIDE a side. A 400 naming `field` otherwise (`label` names the item in
    the message, `reference_images[1]` say)."""
    label = label or field
    stem = stem or ("reference" if field == "input_reference" else field)
    if not isinstance(value, str):
        raise bad_request(field, f"{label} must be a data: URL of a JPEG, PNG or WebP image.")
    match = DATA_URL.match(value)
    if not match:
        raise bad_request(field, f"{label} must be a base64 data: URL (data:image/png;base64,...).")
    encoded = value[match.end() :]
    if len(encoded) > (REFERENCE_MAX_BYTES * 4) // 3 + 8:
        raise bad_request(field, f"{label} is larger than the 8 MB limit.")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise bad_request(field, f"{label} is not valid base64.") from None
    if len(data) > REFERENCE_MAX_BYTES:
        raise bad_request(field, f"{label} is larger than the 8 MB limit.")
    try:
        kind, width, height = pixel_size(data)
    except ImageFormatError as exc:
        raise bad_request(field, f"{label} is not a JPEG, PNG or WebP image ({exc}).") from None
    if size is not None:
        expected_w, expected_h = (int(p) for p in size.split("x"))
        if (width, height) != (expected_w, expected_h):
            raise bad_request(
                field,
                f"{label} is {width}x{height} pixels; it must be exactly {size} to match "
                "the video size.",
            )
    elif not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise bad_request(
            field, f"{label} is {width}x{height} pixels; at most {MAX_SIDE} a side is taken."
        )
    return ReferenceImage(data=data, content_type=kind, filename=f"{stem}.{REFERENCE_TYPES[kind]}")


def _reference_images(model: ModelSpec, value: Any) -> tuple[ReferenceImage, ...]:
    field = "reference_images"
    most = model.capabilities.reference_images
    if not isinstance(value, list):
        raise bad_request(field, "reference_images must be a list of image data: URLs.")
    if len(value) > most:
        raise bad_request(field, f"{model.id} takes at most {most} reference images.")
    return tuple(
        parse_image(
            item, field, None, label=f"reference_images[{index}]", stem=f"reference_{index}"
        )
        for index, item in enumerate(value)
    )


def _audio(model: ModelSpec, body: dict[str, Any]) -> bool | None:
    """The sound switch: as given, else the model's default (on, for a model that makes
    sound); None for a model without one."""
    value = body.get("audio")
    if value is None:
        return True if model.capabilities.audio else None
    if not isinstance(value, bool):
        raise bad_request("audio", "audio must be true or false.")
    return value


def _seed(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        raise bad_request("seed", f"seed must be a whole number from 0 to {MAX_SEED:,}.")
    return value


def _refuse_untaken(model: ModelSpec, body: dict[str, Any]) -> None:
    """A 400 naming the first creative control given (not null) that the model does not take."""
    caps = model.capabilities
    taken = {
        "input_reference": (caps.first_frame, "a first-frame image"),
        "last_frame": (caps.last_frame, "a last-frame image"),
        "reference_images": (caps.reference_images > 0, "reference images"),
        "audio": (caps.audio, "a sound switch"),
        "seed": (caps.seed, "a seed"),
    }
    for name, (allowed, what) in taken.items():
        if body.get(name) not in (None, []) and not allowed:  # null (or no images) is none
            raise bad_request(name, f"{model.id} does not take {what}.")


def parse_create(catalog: Catalog, body: dict[str, Any]) -> CreateInput:
    reject_unknown_fields(body, CREATE_FIELDS)
    prompt = parse_prompt(body.get("prompt"))
    model = _parse_model(catalog, body.get("model"))
    size = _resolve_size(catalog, model, body)
    seconds = _resolve_seconds(model, body)
    fmt = body.get("format")
    if fmt is not None and fmt != "mp4":
        raise bad_request("format", f"Only the mp4 format is supported, not {fmt!r}.")
    _refuse_untaken(model, body)
    reference = last_frame = None
    if body.get("input_reference") is not None:
        reference = parse_reference(body["input_reference"], size)
    if body.get("last_frame") is not None:
        last_frame = parse_image(body["last_frame"], "last_frame", size)
    references = ()
    if body.get("reference_images") is not None:
        references = _reference_images(model, body["reference_images"])
    return CreateInput(
        prompt=prompt,
        model=model,
        size=size,
        seconds=seconds,
        reference=reference,
        last_frame=last_frame,
        reference_images=references,
        audio=_audio(model, body),
        seed=_seed(body["seed"]) if body.get("seed") is not None else None,
    )


def parse_remix(body: dict[str, Any]) -> str:
    reject_unknown_fields(body, REMIX_FIELDS)
    return parse_prompt(body.get("prompt"))


def parse_extend_body(body: dict[str, Any]) -> str:
    """The prompt of an extension; its `seconds` is checked against the source's model."""
    reject_unknown_fields(body, EXTEND_FIELDS)
    return parse_prompt(body.get("prompt"))


def parse_extension_seconds(model: ModelSpec, body: dict[str, Any]) -> int:
    """The new seconds an extension adds: one the model allows (its first by default)."""
    allowed = model.extension_seconds
    if body.get("seconds") is None:
        return allowed[0]
    seconds = _parse_seconds("seconds", body["seconds"])
    if seconds not in allowed:
        options = ", ".join(str(s) for s in allowed)
        raise bad_request(
            "seconds", f"{model.id} extends a video by {options} seconds, not {seconds}."
        )
    return seconds
