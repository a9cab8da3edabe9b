"""The renderer's origin: blobs of one Azure container, read with a SAS as imgix's Azure source does.

imgix is configured with the container, a read+list SAS and an optional path prefix; a request for `/<path>` reads
blob `<prefix><path>` (the URL path, percent-decoded). Here that is `GET <container-url>/<prefix><path>?<sas>`
through httpx, streamed, so that a blob over the input limit is refused from its Content-Length (413) before its
body is read. No account key is involved.

Errors never carry the blob URL: it holds the SAS.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx

from local_platform.renderer.errors import RenderError

__all__ = ["MAX_SOURCE_BYTES", "Blob", "BlobSource"]

MAX_SOURCE_BYTES = 500 * 1024 * 1024  # imgix's input limit (413 above it)
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Blob:
    """A source file: its bytes and stored Content-Type."""

    data: bytes
    content_type: str


class BlobSource:
    """Reads `<prefix><name>` from a container with a SAS; thread-safe (one pooled httpx client)."""

    def __init__(
        self,
        *,
        container_url: str,
        sas: str,
        prefix: str = "",
        ca_file: Path | None = None,
        max_bytes: int = MAX_SOURCE_BYTES,
        timeout: float = 60.0,
    ) -> None:
        self._container_url = container_url.rstrip("/")
        self._sas = sas.lstrip("?")
        self._prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.max_bytes = max_bytes
        verify = ssl.create_default_context(cafile=str(ca_file)) if ca_file else True
        self._client = httpx.Client(verify=verify, timeout=timeout, follow_redirects=False)

    def fetch(self, name: str) -> Blob:
        """The blob for a request path `name` (percent-decoded, without its leading `/`).

        Raises RenderError: 404 missing (or a name no blob can have), 403 access refused, 413 over the input
        limit, 502 storage unreachable.
        """
        if not name or any(part in ("", ".", "..") for part in name.split("/")):
            raise RenderError(404, "not found")
        url = f"{self._container_url}/{quote(self._prefix + name, safe='/')}?{self._sas}"
        try:
            with self._client.stream("GET", url) as response:
                self._check(response)
                chunks, total = [], 0
                for chunk in response.iter_bytes(_CHUNK):
                    total += len(chunk)
                    if total > self.max_bytes:
                        raise self._too_large()
                    chunks.append(chunk)
                content_type = response.headers.get("content-type", "application/octet-stream")
                return Blob(b"".join(chunks), content_type)
        except httpx.HTTPError as exc:
            raise RenderError(502, f"source storage unavailable ({type(exc).__name__})") from None

    def _check(self, response: httpx.Response) -> None:
        if response.status_code == 404:
            raise RenderError(404, "not found")
        if response.status_code in (401, 403):
            raise RenderError(403, "source storage refused access")
        if response.status_code != 200:
            raise RenderError(
                502 if response.status_code >= 500 else 404, f"source storage answered {response.status_code}"
            )
        length = response.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            raise self._too_large()

    def _too_large(self) -> RenderError:
        return RenderError(413, f"source file is over the input limit of {self.max_bytes} bytes")

    def redact(self, text: str) -> str:
        """`text` with the SAS masked (for log lines)."""
        return text.replace(self._sas, "***") if self._sas else text

    def close(self) -> None:
        self._client.close()
