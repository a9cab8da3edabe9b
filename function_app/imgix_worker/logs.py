"""Structured logs: one JSON object a line, redacted as a whole; and the process's logging made safe for secrets.

Each line carries the request id, job id and rendition name when known, so one AEM upload can be followed through
intake, queue and processor. The JSON is the log message itself, so the Functions host (Application Insights) and
the local worker host's stderr both receive the same line; neither needs anything configured here.

Under Azure, the Functions Python worker sets the *root* logger to INFO and forwards every record of every library
to Application Insights. httpx logs each request's full URL at INFO (the source SAS, write SAS of the targets,
signed imgix URLs); azure-core's and urllib3's loggers print URLs too. So importing this module (every worker module
does, before any client exists) calls `protect()`: those libraries are quieted to WARNING and every record of every
logger is redacted when it is made, whichever handler later receives it. The worker's own lines are redacted once,
in `log()`, and marked so that the record factory does not redact them a second time.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable

from .redaction import redact

__all__ = ["LIBRARY_LOGGERS", "LOGGER", "URL_WARNING_LOGGERS", "log", "protect"]

LOGGER = logging.getLogger("imgix_worker")

# Libraries whose INFO/DEBUG records carry request URLs (with their SAS or imgix signature) or headers.
LIBRARY_LOGGERS = ("httpx", "httpcore", "azure.core.pipeline.policies.http_logging_policy", "azure.identity", "urllib3")
# Libraries whose WARNINGs quote a request's path and query: urllib3.connection's "Failed to parse headers (url=...)"
# when a server's answer does not parse. Quieted to ERROR.
URL_WARNING_LOGGERS = ("urllib3.connection",)

_protected = False
_protect_lock = threading.Lock()

# The JSON encoder `log()` uses: `json.dumps` with these options would build an identical one on every call.
_ENCODER = json.JSONEncoder(default=str, ensure_ascii=False)
_clock: tuple[int, str] = (-1, "")  # (second, its "ts" text): many lines share a second


class _Redacted(str):
    """A message `log()` has already redacted as a whole. Private: a library cannot make one without importing it,
    and any str operation on it (concatenation, formatting) returns a plain str, which the factory redacts."""

    __slots__ = ()


def _redacting_factory(base: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def make(*args: object, **kwargs: object) -> logging.LogRecord:
        record = base(*args, **kwargs)
        # `log()`'s own line, redacted there as a whole; exactly the marker type and no args, so nothing was added.
        if type(record.msg) is not _Redacted or record.args:
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
        for name in URL_WARNING_LOGGERS:
            library = logging.getLogger(name)
            if library.level == logging.NOTSET or library.level < logging.ERROR:
                library.setLevel(logging.ERROR)
        factory = logging.getLogRecordFactory()
        if not getattr(factory, "imgix_redacting", False):
            logging.setLogRecordFactory(_redacting_factory(factory))
        _protected = True


def log(message: str, *, level: int = logging.INFO, **fields: object) -> None:
    """Log `message` with structured `fields` (request_id, job_id, rendition, ...) as one redacted JSON line."""
    global _clock
    if not LOGGER.isEnabledFor(level):
        return
    second, ts = _clock  # one read of the pair: another thread may replace it meanwhile
    now = int(time.time())
    if now != second:
        ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        _clock = (now, ts)
    payload: dict[str, object] = {"ts": ts, "level": logging.getLevelName(level).lower(), "msg": message}
    payload.update((k, v) for k, v in fields.items() if v is not None)
    LOGGER.log(level, _Redacted(redact(_ENCODER.encode(payload))))


protect()
