"""One logging set-up for the API, each of its workers and the evaluation child.

Everything bike-api says goes through the `bike-api` logger: a line with time, level, logger
and process (`LOG_FORMAT=text`, the default) or one JSON object per line (`LOG_FORMAT=json`),
at `LOG_LEVEL` (default INFO). Uvicorn's own loggers are left as uvicorn configures them.

Example:
    >>> configure("INFO", "text")
    >>> logging.getLogger("bike-api.retraining").info("decided")  # doctest: +SKIP
    2026-11-30T10:00:00+0000 INFO bike-api.retraining [1234] decided
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Literal

__all__ = ["LOGGER", "LogFormat", "configure", "get"]

LOGGER = "bike-api"
LogFormat = Literal["text", "json"]
_TEXT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"
_MARK = "_bikewatch_handler"


class _JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, pid, message."""

    def format(self, record: logging.LogRecord) -> str:
        document = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, ensure_ascii=False)


def configure(level: str = "INFO", fmt: LogFormat = "text") -> None:
    """Give the `bike-api` logger its one handler (stderr) and level; idempotent."""
    logger = logging.getLogger(LOGGER)
    logger.handlers = [h for h in logger.handlers if not getattr(h, _MARK, False)]
    handler = logging.StreamHandler(sys.stderr)
    setattr(handler, _MARK, True)
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        formatter = logging.Formatter(_TEXT, datefmt="%Y-%m-%dT%H:%M:%S%z")
        formatter.converter = time.gmtime
        handler.setFormatter(formatter)
    logger.addHandler(handler)
    logger.setLevel(level.upper())


def get(name: str) -> logging.Logger:
    """`bike-api.<name>`: every module logs under the one configured logger."""
    return logging.getLogger(f"{LOGGER}.{name}")
