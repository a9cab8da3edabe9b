"""Structured logs: one JSON object a line, redacted as a whole.

Each line carries the request id, job id and rendition name when known, so one AEM upload can be followed through
intake, queue and processor. The JSON is the log message itself, so the Functions host (Application Insights) and
the local runner's stderr both receive the same line.
"""

from __future__ import annotations

import json
import logging
import sys
import time

from .redaction import redact

__all__ = ["LOGGER", "configure", "log"]

LOGGER = logging.getLogger("imgix_worker")


def configure(level: int = logging.INFO) -> None:
    """Send the worker's log lines to stderr (local runs; under the Functions host its handlers take them)."""
    if not LOGGER.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        LOGGER.addHandler(handler)
        LOGGER.propagate = False
    LOGGER.setLevel(level)


def log(message: str, *, level: int = logging.INFO, **fields: object) -> None:
    """Log `message` with structured `fields` (request_id, job_id, rendition, ...) as one redacted JSON line."""
    if not LOGGER.isEnabledFor(level):
        return
    payload: dict[str, object] = {
        "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "level": logging.getLevelName(level).lower(),
        "msg": message,
    }
    payload.update((k, v) for k, v in fields.items() if v is not None)
    LOGGER.log(level, redact(json.dumps(payload, default=str, ensure_ascii=False)))
