"""Step 3, deliver: upload a rendition to its AEM target.

A string target gets one PUT (with `x-ms-blob-type: BlockBlob` unless it is an Azure block URL). A multipart target
`{urls, minPartSize, maxPartSize}` is cut by AEM's part-size rule (`reference/asset-compute-contract.md` section 2):
`partSize = max(ceil(size / len(urls)), minPartSize)`, too large if above `maxPartSize`, then
`clamp(100 MiB, partSize, maxPartSize)`; part k is PUT to `urls[k]`, unused URLs are left alone. The worker never
commits the block list: AEM does after `rendition_created`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO
from urllib.parse import parse_qs, urlsplit

from .errors import GenericError, RenditionTooLarge
from .pooled_http import HttpClient
from .rendering import Rendition
from .transport import Deadline, retry, status_error, translate_errors

__all__ = ["PREFERRED_PART_SIZE", "Part", "deliver", "plan_parts"]

PREFERRED_PART_SIZE = 100 * 1024 * 1024
DEFAULT_MIN_PART_SIZE = 10  # httptransfer's default when AEM gives no minimum (bytes)
CHUNK_BYTES = 256 * 1024


@dataclass(frozen=True)
class Part:
    """One PUT: `length` bytes from `offset` to `url`."""

    url: str
    offset: int
    length: int


def plan_parts(size: int, target: object) -> list[Part]:
    """The PUTs that deliver `size` bytes to `target`.

    :raises RenditionTooLarge: the target's parts cannot hold `size` bytes.
    """
    if isinstance(target, str):
        return [Part(target, 0, size)]
    assert isinstance(target, dict)
    urls: list[str] = target["urls"]
    max_part = int(target["maxPartSize"])
    min_part = int(target.get("minPartSize") or min(DEFAULT_MIN_PART_SIZE, max_part))
    part_size = max(math.ceil(size / len(urls)), min_part)
    if part_size > max_part:
        raise RenditionTooLarge(
            f"rendition size of {size} bytes is too large for {len(urls)} parts of at most {max_part} bytes",
            size=size,
        )
    part_size = min(max(PREFERRED_PART_SIZE, part_size), max_part)
    count = max(1, math.ceil(size / part_size))
    return [Part(urls[k], k * part_size, min(part_size, size - k * part_size)) for k in range(count)]


def _is_block_url(url: str) -> bool:
    return parse_qs(urlsplit(url).query).get("comp") == ["block"]


def _body(file: IO[bytes], offset: int, length: int) -> Iterator[bytes]:
    file.seek(offset)
    left = length
    while left > 0:
        chunk = file.read(min(CHUNK_BYTES, left))
        if not chunk:
            raise GenericError("the rendition spool ended early")
        left -= len(chunk)
        yield chunk


def _put(http: HttpClient, part: Part, rendition: Rendition, timeout: float) -> None:
    headers = {"Content-Length": str(part.length), "Content-Type": rendition.mimetype}
    if not _is_block_url(part.url):
        headers["x-ms-blob-type"] = "BlockBlob"
    with translate_errors("uploading the rendition"):
        response = http.put(
            part.url, content=_body(rendition.file, part.offset, part.length), headers=headers, timeout=timeout
        )
    status = response.status_code
    if 200 <= status < 300:
        return
    if status == 413:
        raise RenditionTooLarge(
            f"rendition size of {rendition.size} bytes is too large for the target", size=rendition.size
        )
    transient = status_error(status, "the target", retry_after=response.headers.get("retry-after"))
    if transient is not None:
        raise transient
    raise GenericError(f"the target refused the upload with HTTP {status}")


def deliver(
    http: HttpClient,
    rendition: Rendition,
    target: object,
    *,
    deadline: Deadline,
    timeout: float,
    cancelled: threading.Event | None = None,
    context: dict[str, object] | None = None,
) -> int:
    """Upload `rendition` to `target`; return the number of PUTs made.

    :raises RenditionTooLarge: the target cannot take it (checked before any byte is sent, or a 413).
    :raises GenericError: the target refused the upload or retries ran out.
    """
    parts = plan_parts(rendition.size, target)
    for part in parts:
        if cancelled is not None and cancelled.is_set():
            # The job's deadline passed and this rendition was reported failed: write nothing more.
            raise GenericError("delivery stopped at the job's deadline")
        retry(
            lambda part=part: _put(http, part, rendition, min(timeout, max(1.0, deadline.remaining()))),  # type: ignore[misc]
            deadline=deadline,
            what="uploading the rendition",
            context=context,
        )
    return len(parts)
