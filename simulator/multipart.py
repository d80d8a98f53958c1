"""A small, strict ``multipart/form-data`` parser (the stdlib ``cgi`` module is gone)."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message


class MultipartError(ValueError):
    """The body is not well-formed ``multipart/form-data``."""


@dataclass(frozen=True)
class Part:
    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None

    def text(self) -> str:
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MultipartError(f"field '{self.name}' is not UTF-8 text") from exc


def parse_header(value: str) -> tuple[str, dict[str, str]]:
    """Split ``type/sub; a=1; b="2"`` into the lower-cased value and its parameters."""
    message = Message()
    message["content-type"] = value
    params = {k.lower(): v for k, v in message.get_params(header="content-type")[1:]}
    main = value.split(";", 1)[0].strip().lower()
    return main, params


def parse(body: bytes, content_type: str) -> list[Part]:
    """Return the parts of a ``multipart/form-data`` body, in order."""
    _, params = parse_header(content_type)
    boundary = params.get("boundary")
    if not boundary:
        raise MultipartError("multipart/form-data without a boundary")
    try:
        delimiter = b"\r\n--" + boundary.encode("ascii")
    except UnicodeEncodeError as exc:
        raise MultipartError("multipart boundary is not ASCII") from exc
    chunks = (b"\r\n" + body).split(delimiter)
    if len(chunks) < 2 or not chunks[-1].startswith(b"--"):
        raise MultipartError("multipart body is not terminated by its closing boundary")
    parts: list[Part] = []
    for chunk in chunks[1:-1]:
        _padding, newline, rest = chunk.partition(b"\r\n")
        head, blank, data = rest.partition(b"\r\n\r\n")
        if not newline or not blank:
            raise MultipartError("malformed multipart part")
        parts.append(_part(head, data))
    return parts


def _part(head: bytes, data: bytes) -> Part:
    headers: dict[str, str] = {}
    for line in head.decode("utf-8", "replace").split("\r\n"):
        if not line.strip():
            continue
        key, colon, value = line.partition(":")
        if not colon:
            raise MultipartError("malformed multipart header line")
        headers[key.strip().lower()] = value.strip()
    disposition, params = parse_header(headers.get("content-disposition", ""))
    if disposition != "form-data" or "name" not in params:
        raise MultipartError("multipart part without a form-data name")
    content_type = headers.get("content-type")
    return Part(
        name=params["name"],
        data=data,
        filename=params.get("filename"),
        content_type=parse_header(content_type)[0] if content_type else None,
    )
