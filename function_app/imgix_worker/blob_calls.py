"""The blob calls every job makes, as plain signed REST calls through the worker's one HTTP client.

Per job the worker copies the source (and polls a large one's copy), writes a report marker per event and deletes
the staged source. Through the Storage SDK each of these costs about twice the CPU of the same call made directly
(its pipeline of policies, its `requests` transport and a second connection pool); they are the hot path, so they
go straight to the REST API here. What a job needs rarely (asynchronous copies of large sources, `data:` and
header-carrying sources, relabelling, listing markers on a redelivery) stays on the SDK's client.

Authorisation comes from that same SDK client, so both always reach the same account as the same principal: an
Entra token of its credential in Azure (the app's managed identity, scope `https://storage.azure.com/.default`),
or locally, from the connection string's account key, a container SAS renewed well before it expires.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from .errors import GenericError, TransientError
from .pooled_http import HttpClient, Response
from .redaction import Secret
from .transport import status_error, translate_errors

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

__all__ = ["API_VERSION", "UNCOPYABLE", "BlobCalls", "RangeRead"]

# A REST version every Azure region and Azurite serve (bearer tokens need 2017-11-09 or later).
API_VERSION = "2024-11-04"
STORAGE_SCOPE = "https://storage.azure.com/.default"
# Tokens and SAS are renewed this long before they expire, so no call carries one that lapses in flight.
RENEW_BEFORE_SECONDS = 300.0
LOCAL_SAS_HOURS = 12
# A copy refused with these is not retried: the source is gone, forbidden or changed, or the request is wrong.
UNCOPYABLE = (400, 403, 404, 409, 412)


@dataclass(frozen=True)
class RangeRead:
    """The first bytes of a blob, its content type and its whole size, from one ranged GET."""

    data: bytes
    content_type: str | None
    size: int


class _Authorization:
    """Headers and query for one call; renewed under a lock when due."""

    def __init__(self, container: ContainerClient) -> None:
        self._credential = container.credential
        self._account = container.account_name
        self._container = container.container_name
        self._lock = threading.Lock()
        self._value: Secret | None = None
        self._renew_at = 0.0

    def _renew(self) -> tuple[Secret, float]:
        key = getattr(self._credential, "account_key", None)
        if key is not None:  # local runs: the connection string's key
            from azure.storage.blob import ContainerSasPermissions, generate_container_sas

            expiry = dt.datetime.now(dt.UTC) + dt.timedelta(hours=LOCAL_SAS_HOURS)
            sas = generate_container_sas(
                self._account,
                self._container,
                account_key=key,
                permission=ContainerSasPermissions(read=True, write=True, create=True, delete=True),
                expiry=expiry,
                protocol="https",
            )
            return Secret(sas), time.monotonic() + LOCAL_SAS_HOURS * 3600 - RENEW_BEFORE_SECONDS
        token = self._credential.get_token(STORAGE_SCOPE)  # type: ignore[union-attr]
        left = token.expires_on - time.time()
        return Secret(f"Bearer {token.token}"), time.monotonic() + max(0.0, left - RENEW_BEFORE_SECONDS)

    def apply(self, headers: dict[str, str]) -> str:
        """Add the authorisation to `headers`; the query string to append (a SAS locally, else empty)."""
        with self._lock:
            if self._value is None or time.monotonic() >= self._renew_at:
                self._value, self._renew_at = self._renew()
            value = self._value.reveal()
        if value.startswith("Bearer "):
            headers["Authorization"] = value
            return ""
        return value


class BlobCalls:
    """Copy, read, write empty and delete blobs of one container with plain REST calls."""

    def __init__(self, container: ContainerClient, http: HttpClient) -> None:
        self._base = container.url.split("?", 1)[0].rstrip("/")
        self._http = http
        self._auth = _Authorization(container)

    def _call(
        self,
        method: str,
        name: str,
        what: str,
        *,
        timeout: float,
        headers: dict[str, str] | None = None,
        query: str = "",
    ) -> Response:
        sent = {"x-ms-version": API_VERSION, "x-ms-date": email.utils.formatdate(usegmt=True), **(headers or {})}
        query = "&".join(q for q in (query, self._auth.apply(sent)) if q)
        url = f"{self._base}/{quote(name)}" + (f"?{query}" if query else "")
        with translate_errors(what):
            return self._http.request(method, url, headers=sent, timeout=timeout)

    @staticmethod
    def _refused(response: Response, what: str) -> Exception:
        """The error for a non-2xx answer: transient for 429/5xx, else final."""
        status = response.status_code
        transient = status_error(status, what, retry_after=response.headers.get("retry-after"))
        if transient is not None:
            return transient
        code = response.headers.get("x-ms-error-code", "")
        return GenericError(f"{what} failed with HTTP {status} {code}".rstrip())

    def copy_from_url(self, name: str, source_url: str, *, timeout: float, if_match: str | None = None) -> None:
        """Copy Blob From URL (synchronous, sources up to 256 MiB) into `name`; with `if_match`, only the source's
        version with that ETag.

        :raises TransientError: storage was busy or failing, or the source is no longer the `if_match` version.
        :raises GenericError: the source could not be copied (`UNCOPYABLE`: not worth retrying).
        """
        # `timeout` is also the service's: Azure stops the copy itself when the call is given up.
        headers = {"x-ms-copy-source": source_url, "x-ms-requires-sync": "true", "Content-Length": "0"}
        if if_match is not None:
            headers["x-ms-source-if-match"] = if_match
        what = "copying the source"
        query = f"timeout={max(1, int(timeout))}"
        response = self._call("PUT", name, what, timeout=timeout, headers=headers, query=query)
        if response.status_code == 412 and if_match is not None:
            raise TransientError("the source changed while it was being staged", status=412)
        if response.status_code in UNCOPYABLE:
            raise GenericError(f"the source could not be copied: HTTP {response.status_code}")
        if not 200 <= response.status_code < 300:
            raise self._refused(response, what)

    def read_range(self, name: str, offset: int, length: int, *, timeout: float, what: str) -> RangeRead:
        """`length` bytes of `name` from `offset`, its content type and its whole size."""
        headers = {"x-ms-range": f"bytes={offset}-{offset + length - 1}"}
        response = self._call("GET", name, what, timeout=timeout, headers=headers)
        if response.status_code == 416 and offset == 0:  # an empty blob has no byte at 0
            return RangeRead(b"", response.headers.get("content-type"), 0)
        if response.status_code not in (200, 206):
            raise self._refused(response, what)
        # A ranged read says the whole size in Content-Range ("bytes 0-4095/123456").
        _, _, total = response.headers.get("content-range", "").rpartition("/")
        data = response.content
        return RangeRead(data, response.headers.get("content-type"), int(total) if total.isdigit() else len(data))

    def copy_status(self, name: str, *, timeout: float, what: str) -> tuple[str, str]:
        """The status (`pending`, `success`, `failed`, `aborted`, or empty) and id of the copy into `name`."""
        response = self._call("HEAD", name, what, timeout=timeout)
        if response.status_code != 200:
            raise self._refused(response, what)
        return response.headers.get("x-ms-copy-status", ""), response.headers.get("x-ms-copy-id", "")

    def create_empty(self, name: str, *, timeout: float, what: str) -> str:
        """Create an empty block blob at `name` unless one exists (`If-None-Match: *`: of two racing callers, the
        service lets exactly one create it). `created`, `exists`, or `no container`.

        :raises TransientError: storage was busy or failing, or unreachable.
        :raises GenericError: refused otherwise.
        """
        headers = {"x-ms-blob-type": "BlockBlob", "Content-Length": "0", "If-None-Match": "*"}
        response = self._call("PUT", name, what, timeout=timeout, headers=headers)
        if response.status_code == 201:
            return "created"
        if response.status_code in (409, 412):
            return "exists"
        if response.status_code == 404 and response.headers.get("x-ms-error-code") == "ContainerNotFound":
            return "no container"
        raise self._refused(response, what)

    def put_empty(self, name: str, *, timeout: float, what: str) -> None:
        """Write an empty block blob at `name` (overwriting)."""
        headers = {"x-ms-blob-type": "BlockBlob", "Content-Length": "0"}
        response = self._call("PUT", name, what, timeout=timeout, headers=headers)
        if response.status_code != 201:
            raise self._refused(response, what)

    def delete(self, name: str, *, timeout: float, what: str) -> None:
        """Delete `name` with its snapshots; a missing blob is fine."""
        response = self._call("DELETE", name, what, timeout=timeout, headers={"x-ms-delete-snapshots": "include"})
        if response.status_code not in (202, 404):
            raise self._refused(response, what)
