"""A streamed copy of the source into the staged blob, for sources that need request headers (`source.headers`).

Azure's server-side copies cannot carry arbitrary headers (Copy Blob From URL takes only a bearer
`x-ms-copy-source-authorization`), so the worker reads the source itself with the caller's headers and writes it
with Put Block / Put Block List: memory stays at one block whatever the source's size. A retried copy stages the
same block ids again and commits only its own list, so nothing half-written is ever visible. The copy ends by the
job's deadline: each read waits at most what is left of it, and a source that trickles is given up between chunks;
blocks staged by a copy that failed are discarded (they would otherwise hold part of the source for a week).
"""

from __future__ import annotations

import base64
import logging
from typing import TYPE_CHECKING

from .errors import GenericError, SourceCorrupt, SourceUnsupported
from .logs import log
from .pooled_http import HttpClient
from .transport import Deadline, call_timeout, sdk_timeouts, status_error, storage_limits, translate_errors

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient

__all__ = ["BLOCK_BYTES", "stream_copy"]

BLOCK_BYTES = 4 * 1024 * 1024
# What discarding the staged blocks of a failed copy may take (it runs when the deadline may already be over).
DISCARD_SECONDS = 5.0


def _block_id(index: int) -> str:
    return base64.b64encode(f"{index:08d}".encode()).decode()  # ids of one blob must have equal lengths


def stream_copy(
    http: HttpClient,
    blob: BlobClient,
    *,
    url: str,
    headers: dict[str, str],
    max_bytes: int,
    deadline: Deadline,
    timeout: float,
) -> int:
    """GET `url` with `headers` and write the body to `blob` block by block, by `deadline`; return the bytes
    written. Each HTTP exchange waits at most `timeout` seconds (and never past the deadline).

    :raises TransientError: 429/5xx or a network failure (the caller retries the whole copy).
    :raises SourceCorrupt: the body is empty.
    :raises SourceUnsupported: the body is larger than `max_bytes`.
    :raises GenericError: the source refused the read, or could not be read whole by the deadline.
    """
    blocks: list[str] = []
    buffer = bytearray()
    total = 0

    def flush() -> None:
        block = _block_id(len(blocks))
        with translate_errors("staging the source"):
            blob.stage_block(block, bytes(buffer), **storage_limits(deadline, timeout))
        blocks.append(block)
        buffer.clear()

    try:
        with (
            translate_errors("reading the source"),
            http.stream("GET", url, headers=headers, timeout=call_timeout(deadline, timeout)) as resp,
        ):
            transient = status_error(resp.status_code, "the source", retry_after=resp.headers.get("retry-after"))
            if transient is not None:
                raise transient
            if resp.status_code != 200:
                raise GenericError(f"the source could not be read: HTTP {resp.status_code}")
            # Chunks as they arrive (no chunk size: a read would wait for it to fill), so that a trickling source
            # meets the deadline check soon after the deadline.
            for chunk in resp.iter_bytes():
                if deadline.expired:
                    raise GenericError("reading the source timed out: it was not read whole by the job's deadline")
                total += len(chunk)
                if total > max_bytes:
                    raise SourceUnsupported(f"the source exceeds {max_bytes} bytes, the most that can be rendered")
                buffer += chunk
                if len(buffer) >= BLOCK_BYTES:
                    flush()
        if total == 0:
            raise SourceCorrupt("the source is empty")
        if buffer:
            flush()
        from azure.storage.blob import BlobBlock

        with translate_errors("staging the source"):
            blob.commit_block_list([BlobBlock(block_id=b) for b in blocks], **storage_limits(deadline, timeout))
    except BaseException:
        if blocks:
            _discard(blob)
        raise
    return total


def _discard(blob: BlobClient) -> None:
    """Drop the uncommitted blocks of a failed copy: committing an empty list discards them, leaving an empty
    blob that the processor's cleanup deletes with the job (never a partial source: nothing of it is committed)."""
    from azure.core.exceptions import AzureError

    try:
        blob.commit_block_list([], **sdk_timeouts(DISCARD_SECONDS))
    except AzureError as exc:  # the blocks expire on their own; the staged name is deleted with the job
        log("staged blocks not discarded", level=logging.WARNING, error=type(exc).__name__)
