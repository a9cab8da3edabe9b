"""A streamed copy of the source into the staged blob, for sources that need request headers (`source.headers`).

Azure's server-side copies cannot carry arbitrary headers (Copy Blob From URL takes only a bearer
`x-ms-copy-source-authorization`), so the worker reads the source itself with the caller's headers and writes it
with Put Block / Put Block List: memory stays at one block whatever the source's size. A retried copy stages the
same block ids again and commits only its own list, so nothing half-written is ever visible.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

import httpx

from .errors import GenericError, SourceCorrupt, SourceUnsupported
from .transport import status_error, translate_errors

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient

__all__ = ["BLOCK_BYTES", "stream_copy"]

BLOCK_BYTES = 4 * 1024 * 1024
_READ_BYTES = 256 * 1024


def _block_id(index: int) -> str:
    return base64.b64encode(f"{index:08d}".encode()).decode()  # ids of one blob must have equal lengths


def stream_copy(http: httpx.Client, blob: BlobClient, *, url: str, headers: dict[str, str], max_bytes: int) -> int:
    """GET `url` with `headers` and write the body to `blob` block by block; return the bytes written.

    :raises TransientError: 429/5xx or a network failure (the caller retries the whole copy).
    :raises SourceCorrupt: the body is empty.
    :raises SourceUnsupported: the body is larger than `max_bytes`.
    :raises GenericError: the source refused the read.
    """
    blocks: list[str] = []
    buffer = bytearray()
    total = 0

    def flush() -> None:
        block = _block_id(len(blocks))
        with translate_errors("staging the source"):
            blob.stage_block(block, bytes(buffer))
        blocks.append(block)
        buffer.clear()

    with translate_errors("reading the source"), http.stream("GET", url, headers=headers) as resp:
        transient = status_error(resp.status_code, "the source", retry_after=resp.headers.get("retry-after"))
        if transient is not None:
            raise transient
        if resp.status_code != 200:
            raise GenericError(f"the source could not be read: HTTP {resp.status_code}")
        for chunk in resp.iter_bytes(_READ_BYTES):
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
        blob.commit_block_list([BlobBlock(block_id=b) for b in blocks])
    return total
