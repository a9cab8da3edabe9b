"""Structured logs: one JSON object a line, redacted as a whole; and the process's logging made safe for secrets.

Each line carries the request id, job id and rendition name when known, so one AEM upload can be followed through
intake, queue and processor. The JSON is the log message itself, so the Functions host (Application Insights) and
the local worker host's stderr both receive the same line; neither needs anything configured here.

Under Azure, the Functions Python worker sets the *root* logger to INFO and forwards every record of every library
to Application Insights. httpx logs each request's full URL at INFO (the source SAS, write SAS of the targets,
signed imgix URLs); azure-core's and urllib3's loggers print URLs too. So importing this module (every worker module
does, before any client exists) calls `protect()`: those libraries are quieted to WARNING and every record of every
logger is redacted when it is made, whichever handler later receives it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable

from .redaction import redact

__all__ = ["LIBRARY_LOGGERS", "LOGGER", "log", "protect"]

LOGGER = logging.getLogger("imgix_worker")

# Libraries whose INFO/DEBUG records carry request URLs (with their SAS or imgix signature) or headers.
LIBRARY_LOGGERS = ("httpx", "httpcore", "azure.core.pipeline.policies.http_logging_policy", "azure.identity", "urllib3")

_protected = False
_protect_lock = threading.Lock()


def _redacting_factory(base: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def make(*args: object, **kwargs: object) -> logging.LogRecord:
        record = base(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a library's bad format string: keep what it gave, redacted
            message = f"{record.msg} {record.args}"
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return record

    make.imgix_redacting = True  # type: ignore[attr-defined]
    return make


def protect() -> None:
    """Quiet the URL-logging libraries to WARNING and redact every log record of the process (idempotent).

    Defense in depth: the levels keep the volume (and most URLs) out; the redaction catches what still comes,
    e.g. urllib3's retry warnings or an exception text quoting a URL.
    """
    global _protected
    with _protect_lock:
        if _protected:
            return
        for name in LIBRARY_LOGGERS:
            library = logging.getLogger(name)
            if library.level == logging.NOTSET or library.level < logging.WARNING:
                library.setLevel(logging.WARNING)
        factory = logging.getLogRecordFactory()
        if not getattr(factory, "imgix_redacting", False):
            logging.setLogRecordFactory(_redacting_factory(factory))
        _protected = True


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


protect()
