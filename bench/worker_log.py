"""Follows the worker host's log file for a job's `job finished` line (the worker's own lines there are
`worker: <LEVEL> imgix_worker <JSON object>`, one record a line).

Events reach AEM before the worker has deleted the staged source; the job's CPU time is read once the worker
says it is done, from what the worker already logs, so no benchmark-only signal is needed in the worker.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

__all__ = ["WorkerLog"]

POLL_SECONDS = 0.02
WORKER_LOGGER = b"imgix_worker"


class WorkerLog:
    """Reads new lines of the worker's log as they come."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._offset = path.stat().st_size if path.exists() else 0
        self._partial = b""
        self._seen: list[dict[str, Any]] = []

    def _read_new(self) -> None:
        if not self._path.exists():
            return
        with self._path.open("rb") as log:
            log.seek(self._offset)
            data = self._partial + log.read()
            self._offset = log.tell()
        *lines, self._partial = data.split(b"\n")
        for line in lines:
            fields = line.split(b" ", 3)
            if len(fields) < 4 or fields[0] != b"worker:" or fields[2] != WORKER_LOGGER:
                continue  # the host's own line, or another library's record
            try:
                entry = json.loads(fields[3])
            except ValueError:
                continue
            if isinstance(entry, dict):
                self._seen.append(entry)

    def wait_for(self, message: str, request_id: str, timeout: float) -> dict[str, Any]:
        """The first line with `msg == message` for `request_id`; raises TimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            self._read_new()
            for entry in self._seen:
                if entry.get("msg") == message and entry.get("request_id") == request_id:
                    return entry
            if time.monotonic() > deadline:
                raise TimeoutError(f"the worker did not log {message!r} within {timeout:.0f}s")
            time.sleep(POLL_SECONDS)
