"""Step 1, stage: copy the job's source into the imgix source container, server-side, and check what it is.

The source never passes through the worker: Azure copies it (Copy Blob From URL, synchronous up to 256 MiB;
asynchronous Copy Blob above, polled to completion). Only `data:` sources, which have no URL to copy from, and
sources with `source.headers`, which a server-side copy cannot send, are written by the worker (the latter streamed
block by block, `streamed_copy.py`). The staged name is deterministic under the job id, so a retried message
overwrites. The source's first bytes are judged (`source_checks.py`): type, header, pixels. The usual case (a
source up to 256 MiB with an ETag) is judged from one ranged GET of the source, before anything is copied, and then
copied only in that version (If-Match), so a bad source costs no copy and nothing is read back. Otherwise the first
bytes are read back from the staged blob after the copy, and its own size is checked against `MAX_SOURCE_BYTES`
again: the source's first answer is only an estimate then (a source can grow before the copy). A failed status poll
is retried as a poll (never by starting another copy); an asynchronous copy that cannot be confirmed finished by the
deadline is aborted.
"""

from __future__ import annotations

import base64
import binascii
import logging
import posixpath
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from .blob_calls import UNCOPYABLE, BlobCalls, RangeRead
from .errors import GenericError, SourceCorrupt, SourceUnsupported, TransientError
from .jobs import Job
from .logs import log
from .pooled_http import HttpClient, Response
from .sniff import HEAD_BYTES, extension_for
from .source_checks import ReadAt, check_source, declared_type
from .source_headers import reveal
from .streamed_copy import stream_copy
from .transport import (
    Deadline,
    call_timeout,
    retry,
    status_error,
    storage_limits,
    translate_errors,
)

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
        calls: BlobCalls,
        http: HttpClient,
        *,
        prefix: str,
        allowed_types: tuple[str, ...],
        max_source_bytes: int,
        copy_poll_seconds: float = 1.0,
        sync_copy_max_bytes: int = SYNC_COPY_MAX_BYTES,
    ) -> None:
        self._container = container  # the SDK's client, for what a job needs rarely (see blob_calls.py)
        self._calls = calls
        self._http = http
        self._prefix = prefix
        self._allowed_types = allowed_types
        self._max_source_bytes = max_source_bytes
        self._copy_poll_seconds = copy_poll_seconds
        self._sync_copy_max_bytes = sync_copy_max_bytes
        # Each call waits at most this, and never past the deadline (`call_timeout`): the host's shutdown reserve
        # is shorter than one HTTP timeout.
        self._http_timeout = http.timeout

    def blob_name(self, job: Job) -> str:
        """`<prefix>/<jobId>/source<.ext>`: one name per job, whatever the attempt."""
        return f"{self._prefix}/{job.job_id}/source{_extension(job)}"

    def stage(self, job: Job, deadline: Deadline) -> StagedSource:
        """Copy the source into the container and check its type.

        :raises SourceCorrupt: empty, or its header does not decode as the image it is or is declared to be.
        :raises SourceUnsupported: too large for imgix (bytes, or pixels its header declares).
        :raises SourceFormatUnsupported: its bytes are a type the profile does not accept.
        :raises GenericError: the source could not be read.
        """
        name = self.blob_name(job)
        url = job.source_url.reveal()
        if url.startswith("data:"):
            blob = self._container.get_blob_client(name)
            data = _decode_data_url(url)
            size = len(data)
            self._check_size(size)
            retry(
                lambda: blob.upload_blob(data, overwrite=True, **storage_limits(deadline, self._http_timeout)),
                deadline=deadline,
                what="staging the source",
            )
        elif job.source_headers:
            # A server-side copy cannot send the caller's headers: the worker streams the source itself.
            headers = reveal(job.source_headers)
            blob = self._container.get_blob_client(name)
            size = retry(
                lambda: self._source_size(url, deadline, headers), deadline=deadline, what="reading the source"
            )
            self._check_size(size)
            size = retry(
                lambda: stream_copy(
                    self._http,
                    blob,
                    url=url,
                    headers=headers,
                    max_bytes=self._max_source_bytes,
                    deadline=deadline,
                    timeout=self._http_timeout,
                ),
                deadline=deadline,
                what="copying the source",
            )
        else:
            probe = retry(lambda: self._probe(url, deadline), deadline=deadline, what="reading the source")
            self._check_size(probe.size)
            if probe.etag and probe.size <= self._sync_copy_max_bytes:
                # Judged before copying, and copied only if unchanged since (If-Match on the ETag read): what is
                # staged is exactly what was judged, so nothing needs reading back. A retry reads the source again.
                first_probe = [probe]
                return retry(
                    lambda: self._judge_then_copy(
                        job, name, url, first_probe.pop() if first_probe else self._probe(url, deadline), deadline
                    ),
                    deadline=deadline,
                    what="copying the source",
                )
            retry(lambda: self._copy(name, url, probe.size, deadline), deadline=deadline, what="copying the source")
        what = "reading the staged source"

        def staged(offset: int, length: int) -> RangeRead:
            return retry(
                lambda: self._calls.read_range(name, offset, length, timeout=self._call_timeout(deadline), what=what),
                deadline=deadline,
                what=what,
            )

        first = staged(0, HEAD_BYTES)
        self._check_size(first.size)  # what was copied, not what the source's first answer promised
        kind = self._judge(job, url, first, lambda offset, length: staged(offset, length).data)
        self._label(name, first.content_type, kind, deadline)
        return StagedSource(blob_name=name, mimetype=kind, size=first.size)

    def _judge(self, job: Job, url: str, first: RangeRead, read_at: ReadAt) -> str:
        """The source's type, from its first bytes (`read_at` for headers that lie beyond them)."""
        return check_source(
            first.data,
            first.size,
            allowed_types=self._allowed_types,
            declared=declared_type(job.source_mimetype, name=job.source_name, url=url),
            read_at=read_at,
        ).mimetype

    def _label(self, name: str, stored_type: str | None, kind: str, deadline: Deadline) -> None:
        if stored_type == kind:
            return
        # imgix serves Azure sources with the blob's content type: make it match the bytes.
        from azure.storage.blob import ContentSettings

        blob = self._container.get_blob_client(name)
        retry(
            lambda: blob.set_http_headers(
                content_settings=ContentSettings(content_type=kind), **storage_limits(deadline, self._http_timeout)
            ),
            deadline=deadline,
            what="labelling the staged source",
        )

    def _judge_then_copy(self, job: Job, name: str, url: str, probe: _Probe, deadline: Deadline) -> StagedSource:
        """Judge the source from `probe`, then copy that very version (Copy Blob From URL with If-Match).

        :raises TransientError: the source changed in between (412): the caller's `retry` reads it again.
        """
        self._check_size(probe.size)
        first = RangeRead(probe.head, probe.content_type, probe.size)
        kind = self._judge(job, url, first, lambda offset, length: self._source_range(url, offset, length, deadline))
        self._calls.copy_from_url(name, url, timeout=self._call_timeout(deadline), if_match=probe.etag)
        self._label(name, probe.content_type, kind, deadline)  # a copy keeps the source's content type
        return StagedSource(blob_name=name, mimetype=kind, size=probe.size)

    def remove(self, job: Job, *, timeout: float | None = None) -> None:
        """Delete the job's staged source within `timeout` seconds (the client's when None); a missing blob is fine
        (the lifecycle rule is the backstop)."""
        seconds = self._http_timeout if timeout is None else timeout
        self._calls.delete(self.blob_name(job), timeout=seconds, what="deleting the staged source")

    def _call_timeout(self, deadline: Deadline) -> float:
        return call_timeout(deadline, self._http_timeout)

    def _check_size(self, size: int) -> None:
        if size <= 0:
            raise SourceCorrupt("the source is empty")
        if size > self._max_source_bytes:
            raise SourceUnsupported(f"the source is {size} bytes; at most {self._max_source_bytes} can be rendered")

    def _source_size(self, url: str, deadline: Deadline, headers: dict[str, str] | None = None) -> int:
        with translate_errors("reading the source"):
            response = self._http.head(url, headers=headers, timeout=call_timeout(deadline, self._http_timeout))
        _check_source_answer(response, ok=(200,))
        try:
            return int(response.headers["content-length"])
        except (KeyError, ValueError):
            raise GenericError("the source did not say its size") from None

    def _probe(self, url: str, deadline: Deadline) -> _Probe:
        """The source's first bytes, content type, whole size and ETag, from one ranged GET (instead of a HEAD)."""
        headers = {"Range": f"bytes=0-{HEAD_BYTES - 1}"}
        with (
            translate_errors("reading the source"),
            self._http.stream("GET", url, headers=headers, timeout=self._call_timeout(deadline)) as response,
        ):
            status = response.status_code
            if status == 416:  # no byte at 0: an empty source
                return _Probe(b"", response.headers.get("content-type"), 0, None)
            _check_source_answer(response, ok=(200, 206))
            # 200: a server that ignores ranges sends everything; only the first bytes are read.
            head = _read_at_most(response, HEAD_BYTES)
            _, _, total = response.headers.get("content-range", "").rpartition("/")
            size = total if status == 206 else response.headers.get("content-length", "")
            if not size.isdigit():
                raise GenericError("the source did not say its size")
            return _Probe(head, response.headers.get("content-type"), int(size), response.headers.get("etag"))

    def _source_range(self, url: str, offset: int, length: int, deadline: Deadline) -> bytes:
        """`length` bytes of the source from `offset` (a header that lies past the first bytes)."""
        headers = {"Range": f"bytes={offset}-{offset + length - 1}"}
        with translate_errors("reading the source"):
            response = self._http.get(url, headers=headers, timeout=self._call_timeout(deadline))
        _check_source_answer(response, ok=(206,))
        return response.content

    def _copy(self, name: str, url: str, size: int, deadline: Deadline) -> None:
        """Start the copy, then wait for it; the caller's `retry` runs this again when the start fails transiently.

        :raises TransientError: the copy ended as failed or aborted (worth starting again).
        :raises GenericError: the source could not be copied, or the copy could not be confirmed (then aborted).
        """
        from azure.core.exceptions import HttpResponseError

        if size <= self._sync_copy_max_bytes:
            self._calls.copy_from_url(name, url, timeout=self._call_timeout(deadline))
            return
        blob = self._container.get_blob_client(name)
        try:
            started = blob.start_copy_from_url(url, **storage_limits(deadline, self._http_timeout))  # type: ignore[attr-defined]
        except HttpResponseError as exc:
            if exc.status_code in UNCOPYABLE:
                raise GenericError(f"the source could not be copied: HTTP {exc.status_code}") from exc
            raise
        self._await_copy(name, blob, str(started.get("copy_id") or ""), deadline=deadline)

    def _await_copy(self, name: str, blob: object, copy_id: str, *, deadline: Deadline) -> None:
        """Poll an asynchronous copy until it ends; abort it when that cannot be confirmed within the deadline.

        Each poll is retried on its own: retrying the whole `_copy` would start a second copy on a blob whose
        copy is still pending, which Azure refuses (409 PendingCopyOperation), leaving the first one running.
        """
        what = "checking the copy of the source"
        while True:
            try:
                status, polled_id = retry(
                    lambda: self._calls.copy_status(name, timeout=self._call_timeout(deadline), what=what),
                    deadline=deadline,
                    what=what,
                )
            except Exception:
                _abort_copy(blob, copy_id)
                raise
            copy_id = copy_id or polled_id
            if status == "success":
                return
            if status in ("failed", "aborted"):
                raise TransientError(f"the copy of the source ended as {status}")
            if deadline.remaining() < self._copy_poll_seconds:
                _abort_copy(blob, copy_id)
                raise GenericError("the copy of the source did not finish before the deadline")
            time.sleep(self._copy_poll_seconds)  # Azure copies on its side; we poll its status


def _check_source_answer(response: Response, *, ok: tuple[int, ...]) -> None:
    """:raises TransientError: the source answered 429/5xx. :raises GenericError: any other status not in `ok`."""
    status = response.status_code
    transient = status_error(status, "the source", retry_after=response.headers.get("retry-after"))
    if transient is not None:
        raise transient
    if status not in ok:
        raise GenericError(f"the source could not be read: HTTP {status}")


@dataclass(frozen=True)
class _Probe:
    head: bytes
    content_type: str | None
    size: int
    etag: str | None


def _read_at_most(response: Response, limit: int) -> bytes:
    data = bytearray()
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) >= limit:
            break
    return bytes(data[:limit])


def _abort_copy(blob: object, copy_id: str | None) -> None:
    """Stop a pending copy so that nothing keeps writing the staged blob (which the processor then deletes)."""
    from azure.core.exceptions import AzureError

    if not copy_id:
        return
    try:
        blob.abort_copy(copy_id)  # type: ignore[attr-defined]
    except AzureError as exc:  # e.g. 409 NoPendingCopyOperation: it finished meanwhile; the blob is deleted anyway
        log("copy not aborted", level=logging.WARNING, error=type(exc).__name__)


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
