"""Which renditions of a job have already been reported: one empty marker blob per sent event.

A queue message comes back when an instance dies mid-job; the redelivered job skips what was already reported, so
each rendition gets one terminal event (at least once: a crash between sending and marking repeats one event).
Markers live beside the staged source (`<prefix>/<jobId>/reported/<index>`) and the lifecycle rule removes them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .blob_calls import BlobCalls
from .transport import translate_errors

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

__all__ = ["EventLedger"]


class EventLedger:
    """Reads and writes the per-job report markers."""

    def __init__(self, container: ContainerClient, calls: BlobCalls, *, prefix: str, timeout: float) -> None:
        self._container = container  # listing, on a redelivery only
        self._calls = calls  # a marker per event: a plain PUT
        self._prefix = prefix
        self._timeout = timeout

    def _folder(self, job_id: str) -> str:
        return f"{self._prefix}/{job_id}/reported/"

    def reported(self, job_id: str) -> set[int]:
        """Indexes of the renditions of `job_id` that already have their event."""
        folder = self._folder(job_id)
        with translate_errors("reading the job's report markers"):
            names = [blob.name for blob in self._container.list_blobs(name_starts_with=folder)]
        return {int(name[len(folder) :]) for name in names if name[len(folder) :].isdigit()}

    def record(self, job_id: str, index: int, *, timeout: float | None = None) -> None:
        """Mark rendition `index` of `job_id` as reported, within `timeout` seconds (the client's when None)."""
        seconds = self._timeout if timeout is None else timeout
        self._calls.put_empty(f"{self._folder(job_id)}{index}", timeout=seconds, what="writing a report marker")
