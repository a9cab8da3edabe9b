"""Step 2, render: fetch one rendition from imgix through its signed URL, streamed into a spool file.

The response is read once, in chunks, into a `SpooledTemporaryFile` (memory up to a few MiB, then disk), while
its size and SHA-1 are computed and its head is kept for sniffing. Delivery then reads the spool, so a retried
upload part never needs imgix again and the rendition is never held whole in memory.
imgix's answers map to the contract's reasons: 400/414 bad instructions, 413 source too large, 421 corrupt source,
422 unsupported source, 429/5xx transient (retried), anything else a `GenericError`.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from typing import IO

from .errors import (
    GenericError,
    RenditionError,
    RenditionInstructionsError,
    RenditionTooLarge,
    SourceCorrupt,
    SourceFormatUnsupported,
    SourceUnsupported,
)
from .pooled_http import HttpClient, Response
from .redaction import Secret
from .sniff import HEAD_BYTES, dimensions, mime_type
from .transport import Deadline, call_timeout, retry, status_error, translate_errors

__all__ = ["Rendition", "fetch_rendition", "fetch_rendition_retried"]

SPOOL_MEMORY_BYTES = 4 * 1024 * 1024
CHUNK_BYTES = 256 * 1024

_STATUS_ERRORS: dict[int, type[RenditionError]] = {
    400: RenditionInstructionsError,
    413: SourceUnsupported,
    414: RenditionInstructionsError,
    421: SourceCorrupt,
    422: SourceFormatUnsupported,
}


@dataclass
class Rendition:
    """A rendered file in a spool, with the metadata the `rendition_created` event reports."""

    file: IO[bytes]
    size: int
    sha1: str
    mimetype: str
    width: int | None
    height: int | None

    def metadata(self) -> dict[str, object]:
        meta: dict[str, object] = {"repo:size": self.size, "repo:sha1": self.sha1, "dc:format": self.mimetype}
        if self.width is not None and self.height is not None:
            meta["tiff:imageWidth"] = self.width
            meta["tiff:imageHeight"] = self.height
        return meta

    def close(self) -> None:
        self.file.close()


def fetch_rendition(http: HttpClient, url: Secret, *, max_bytes: int, timeout: float) -> Rendition:
    """GET the signed imgix URL and spool the body.

    :raises TransientError: 429/5xx or a network failure (the caller retries).
    :raises RenditionError: the contract reason for imgix's answer, or `RenditionTooLarge` past `max_bytes`.
    """
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)
    try:
        with translate_errors("imgix"), http.stream("GET", url.reveal(), timeout=timeout) as response:
            _check_status(response)
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise RenditionTooLarge(
                    f"the rendition is {declared} bytes; at most {max_bytes} are accepted", size=int(declared)
                )
            sha1 = hashlib.sha1()
            head = bytearray()
            size = 0
            for chunk in response.iter_bytes(CHUNK_BYTES):
                size += len(chunk)
                if size > max_bytes:
                    raise RenditionTooLarge(f"the rendition exceeds {max_bytes} bytes")
                if len(head) < HEAD_BYTES:
                    head += chunk[: HEAD_BYTES - len(head)]
                sha1.update(chunk)
                spool.write(chunk)
            if declared is not None and declared.isdigit() and int(declared) != size:
                raise GenericError("imgix's response ended early")
        if size == 0:
            raise GenericError("imgix returned an empty rendition")
        spool.seek(0)
        size_wh = dimensions(bytes(head))
        return Rendition(
            file=spool,
            size=size,
            sha1=sha1.hexdigest(),
            mimetype=mime_type(bytes(head)),
            width=size_wh[0] if size_wh else None,
            height=size_wh[1] if size_wh else None,
        )
    except BaseException:
        spool.close()
        raise


def fetch_rendition_retried(
    http: HttpClient,
    url: Secret,
    *,
    max_bytes: int,
    deadline: Deadline,
    http_timeout: float,
    context: dict[str, object] | None = None,
) -> Rendition:
    """`fetch_rendition`, retried on transient failures until `deadline`, each attempt waiting at most what is left
    of it (`call_timeout`)."""
    return retry(
        lambda: fetch_rendition(http, url, max_bytes=max_bytes, timeout=call_timeout(deadline, http_timeout)),
        deadline=deadline,
        what="imgix",
        context=context,
    )


def _check_status(response: Response) -> None:
    status = response.status_code
    if status == 200:
        return
    transient = status_error(status, "imgix", retry_after=response.headers.get("retry-after"))
    if transient is not None:
        raise transient
    error = _STATUS_ERRORS.get(status)
    if error is not None:
        detail = _detail(response.read()[:_DETAIL_BYTES])
        raise error(f"imgix refused the rendition (HTTP {status}){': ' + detail if detail else ''}")
    raise GenericError(f"imgix answered HTTP {status}")


_DETAIL_BYTES = 512
_TRACE_MARKERS = ("Traceback", 'File "', "\tat ", "    at ")


def _detail(body: bytes) -> str:
    """imgix's one-line reason for a refusal (e.g. which parameter), fit for an event; never a stack trace."""
    text = body.decode("utf-8", "replace")
    lines = text.strip().splitlines()
    if not lines or len(lines) > 3 or any(marker in text for marker in _TRACE_MARKERS):
        return ""
    line = "".join(c for c in lines[0] if c.isprintable()).strip()
    return line[:120]
