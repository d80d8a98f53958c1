"""Structured (JSON) log lines in Lambda; secrets never reach a log call in the first place
(keys live only in headers, and prompts are not logged above DEBUG)."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime

from chalicelib.config import get_settings


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "aws_request_id", None)
        if request_id:
            line["aws_request_id"] = request_id
        if record.exc_info and record.levelno >= logging.ERROR:
            line["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(line, ensure_ascii=False)


def configure_logging() -> None:
    level = get_settings().log_level
    root = logging.getLogger()
    root.setLevel(level)
    logging.getLogger("chalicelib").setLevel(level)
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        for handler in root.handlers:
            handler.setFormatter(JsonFormatter())
