"""Step 1, stage: copy the job's source into the imgix source container, server-side, and check what it is.

The source never passes through the worker: Azure copies it (Copy Blob From URL, synchronous up to 256 MiB;
asynchronous Copy Blob above, polled to completion). Only `data:` sources, which have no URL to copy from, are
written by the worker. The staged name is deterministic under the job id, so a retried message overwrites.
After the copy, the first bytes are read back to sniff the MIME type against the allowed list.
"""

from __future__ import annotations

import base64
import binascii
import posixpath
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote, unquote_to_bytes, urlsplit

import httpx

from .errors import GenericError, SourceCorrupt, SourceFormatUnsupported, SourceUnsupported, TransientError
from .jobs import Job
from .sniff import HEAD_BYTES, extension_for, mime_type
from .transport import Deadline, retry, status_error, translate_errors

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

__all__ = ["SYNC_COPY_MAX_BYTES", "StagedSource", "Stager"]

SYNC_COPY_MAX_BYTES = 256 * 1024 * 1024  # Copy Blob From URL's limit; larger sources use the asynchronous Copy Blob
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,8}$")


@dataclass(frozen=True)
class StagedSource:
    """The job's source as the imgix source sees it."""

    blob_name: str
    mimetype: str
    size: int


class Stager:
    """Stages sources into the imgix source container and removes them again."""

    def __init__(
        self,
        container: ContainerClient,
        http: httpx.Client,
        *,
        prefix: str,
        allowed_types: tuple[str, ...],
        max_source_bytes: int,
        copy_poll_seconds: float = 1.0,
        sync_copy_max_bytes: int = SYNC_COPY_MAX_BYTES,
    ) -> None:
        self._container = container
        self._http = http
        self._prefix = prefix
        self._allowed_types = allowed_types
        self._max_source_bytes = max_source_bytes
        self._copy_poll_seconds = copy_poll_seconds
        self._sync_copy_max_bytes = sync_copy_max_bytes

    def blob_name(self, job: Job) -> str:
        """`<prefix>/<jobId>/source<.ext>`: one name per job, whatever the attempt."""
        return f"{self._prefix}/{job.job_id}/source{_extension(job)}"

    def stage(self, job: Job, deadline: Deadline) -> StagedSource:
        """Copy the source into the container and check its type.

        :raises SourceCorrupt: empty or undecodable source.
        :raises SourceUnsupported: too large for imgix.
        :raises SourceFormatUnsupported: its bytes are not an allowed type.
        :raises GenericError: the source could not be read.
        """
        name = self.blob_name(job)
        blob = self._container.get_blob_client(name)
        url = job.source_url.reveal()
        if url.startswith("data:"):
            data = _decode_data_url(url)
            size = len(data)
            self._check_size(size)
            retry(lambda: blob.upload_blob(data, overwrite=True), deadline=deadline, what="staging the source")
        else:
            size = retry(lambda: self._source_size(url), deadline=deadline, what="reading the source")
            self._check_size(size)
            retry(lambda: self._copy(blob, url, size, deadline), deadline=deadline, what="copying the source")
        head, stored_type = retry(lambda: _read_head(blob), deadline=deadline, what="reading the staged source")
        kind = mime_type(head)
        if kind not in self._allowed_types:
            if kind == "application/octet-stream":
                raise SourceFormatUnsupported("the source is not a recognised image format")
            raise SourceFormatUnsupported(f"source type {kind} is not accepted by this profile")
        if stored_type != kind:
            # imgix serves Azure sources with the blob's content type: make it match the bytes.
            from azure.storage.blob import ContentSettings

            retry(
                lambda: blob.set_http_headers(content_settings=ContentSettings(content_type=kind)),
                deadline=deadline,
                what="labelling the staged source",
            )
        return StagedSource(blob_name=name, mimetype=kind, size=size)

    def remove(self, job: Job, *, timeout: float | None = None) -> None:
        """Delete the job's staged source within `timeout` seconds (the client's when None); a missing blob is fine
        (the lifecycle rule is the backstop)."""
        from azure.core.exceptions import ResourceNotFoundError

        limits = {} if timeout is None else {"connection_timeout": min(10.0, timeout), "read_timeout": timeout}
        with translate_errors("deleting the staged source"):
            try:
                self._container.delete_blob(self.blob_name(job), delete_snapshots="include", **limits)
            except ResourceNotFoundError:
                pass

    def _check_size(self, size: int) -> None:
        if size <= 0:
            raise SourceCorrupt("the source is empty")
        if size > self._max_source_bytes:
            raise SourceUnsupported(f"the source is {size} bytes; at most {self._max_source_bytes} can be rendered")

    def _source_size(self, url: str) -> int:
        with translate_errors("reading the source"):
            response = self._http.head(url)
        transient = status_error(response.status_code, "the source", retry_after=response.headers.get("retry-after"))
        if transient is not None:
            raise transient
        if response.status_code != 200:
            raise GenericError(f"the source could not be read: HTTP {response.status_code}")
        try:
            return int(response.headers["content-length"])
        except (KeyError, ValueError):
            raise GenericError("the source did not say its size") from None

    def _copy(self, blob: object, url: str, size: int, deadline: Deadline) -> None:
        from azure.core.exceptions import HttpResponseError

        try:
            if size <= self._sync_copy_max_bytes:
                blob.start_copy_from_url(url, requires_sync=True)  # type: ignore[attr-defined]
                return
            blob.start_copy_from_url(url)  # type: ignore[attr-defined]
        except HttpResponseError as exc:
            if exc.status_code in (400, 403, 404, 409, 412):
                raise GenericError(f"the source could not be copied: HTTP {exc.status_code}") from exc
            raise
        while True:
            copy = blob.get_blob_properties().copy  # type: ignore[attr-defined]
            if copy.status == "success":
                return
            if copy.status in ("failed", "aborted"):
                raise TransientError(f"the copy of the source ended as {copy.status}")
            if deadline.remaining() < self._copy_poll_seconds:
                raise GenericError("the copy of the source did not finish before the deadline")
            time.sleep(self._copy_poll_seconds)  # Azure copies on its side; we poll its status


def _read_head(blob: object) -> tuple[bytes, str | None]:
    """The first bytes of the staged blob, and the content type it carries (from the same response)."""
    with translate_errors("reading the staged source"):
        download = blob.download_blob(offset=0, length=HEAD_BYTES)  # type: ignore[attr-defined]
        return download.readall(), download.properties.content_settings.content_type


def _extension(job: Job) -> str:
    """An extension for the staged blob from the source's name, its URL path, or its declared type."""
    candidates = [job.source_name or ""]
    url = job.source_url.reveal()
    if not url.startswith("data:"):
        candidates.append(posixpath.basename(unquote(urlsplit(url).path)))
    for candidate in candidates:
        match = _EXTENSION.search(candidate)
        if match:
            return match.group(0).lower()
    return extension_for(job.source_mimetype or "")


def _decode_data_url(url: str) -> bytes:
    header, sep, payload = url.partition(",")
    if not sep:
        raise SourceCorrupt("the data: source is malformed")
    try:
        if header.endswith(";base64"):
            return base64.b64decode(unquote(payload), validate=False)
        return unquote_to_bytes(payload)
    except (binascii.Error, ValueError):
        raise SourceCorrupt("the data: source is not valid base64") from None
