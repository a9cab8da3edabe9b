"""Follows the worker host's log file (one JSON object a line) for a job's `job finished` line.

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
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # not one of the worker's JSON lines
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
