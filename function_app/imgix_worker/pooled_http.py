"""The worker's HTTP client: a thin layer over urllib3's connection pools, one kept-alive pool per host.

A job makes about fifteen HTTP exchanges (staging, imgix, the targets, events, ledger markers), so the client's own
CPU per request is a fixed cost of every job. Measured on keep-alive HTTPS to 127.0.0.1, urllib3 spends about 40%
less CPU per request than httpx, which the worker used before, and the worker needs none of httpx's extras
(cookies, redirects, content decoding, HTTP/2). What it needs is here: a request whose body is read whole, a
streamed GET, and a response with `status_code`, case-insensitive `headers`, `content` and `iter_bytes`.

Never retried, never redirected (a redirect could lead anywhere; `transport.retry` decides what is retried), no
proxy from the environment, bodies never decoded (the worker wants the bytes as sent; `Accept-Encoding` stays
`identity`). Exceptions are urllib3's own (`HTTP_ERRORS`); `transport.translate_errors` turns them into the
worker's.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType

import urllib3
from urllib3.exceptions import HTTPError

__all__ = ["ALPN_PROTOCOLS", "HTTP_ERRORS", "HttpClient", "Response", "TlsContext"]

# What a failed exchange raises: connection, TLS, timeout and protocol errors (urllib3 wraps OSError and
# http.client's errors, and with retries off raises them as they are rather than as a MaxRetryError).
HTTP_ERRORS = (HTTPError,)

_CONNECT_SECONDS = 10.0
# Distinct hosts one process talks to (imgix source account, imgix, AEM's targets and sources, the ingress); a pool
# evicted past this is closed and reopened on next use.
_HOSTS = 32


ALPN_PROTOCOLS = ("http/1.1",)  # what urllib3 offers on every connection


class TlsContext(ssl.SSLContext):
    """The one TLS context every connection of the process shares.

    urllib3 sets ALPN on the context for each new connection, and CPython's `set_alpn_protocols` frees the list a
    handshake in another thread may be reading (python/cpython#141012, a crash under concurrent connects): the list
    is set once, and setting the same list again does nothing.
    """

    _alpn: tuple[str, ...] = ()

    def set_alpn_protocols(self, alpn_protocols: Iterable[str]) -> None:
        protocols = tuple(alpn_protocols)
        if protocols != self._alpn:
            super().set_alpn_protocols(protocols)
            self._alpn = protocols


class Response:
    """One answer. Streamed answers are read through `iter_bytes`; others arrive with their body read whole."""

    __slots__ = ("_body", "_raw", "headers", "status_code")

    def __init__(self, raw: urllib3.BaseHTTPResponse, body: bytes | None) -> None:
        self._raw = raw
        self._body = body
        self.status_code = raw.status
        self.headers = raw.headers  # urllib3's HTTPHeaderDict: case-insensitive

    def read(self) -> bytes:
        """The whole body (what is left of it, on a streamed answer)."""
        if self._body is None:
            self._body = self._raw.read()
        return self._body

    @property
    def content(self) -> bytes:
        return self.read()

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """The body in chunks of `chunk_size` bytes (the last shorter); without one, each chunk as it arrives, so
        that a caller checking a deadline between chunks is not held until a large chunk fills."""
        if self._body is not None:
            if self._body:
                yield self._body
            return
        raw = self._raw
        if chunk_size is not None:
            yield from raw.stream(chunk_size)
            return
        while chunk := raw.read1(65536):
            yield chunk


class HttpClient:
    """Keep-alive connection pools per host, TLS verified with `ssl_context`.

    `timeout` is the longest one exchange waits (connect at most 10 s of it); each call may pass a shorter one.
    """

    def __init__(self, *, timeout: float, ssl_context: ssl.SSLContext, max_connections: int) -> None:
        self.timeout = timeout
        # block=False: a burst past `max_connections` to one host opens extra connections instead of waiting for
        # one (they are closed after use), so load never turns into pool waits reported as timeouts.
        self._pools = urllib3.PoolManager(
            num_pools=_HOSTS, maxsize=max_connections, block=False, ssl_context=ssl_context, retries=False
        )

    def _timeout(self, seconds: float | None, *, body: bool = False) -> urllib3.Timeout:
        """urllib3 sends a request under its connect timeout: one with a body gets the whole timeout for that (a
        target may pause reading an upload), one without connects within 10 s at most."""
        seconds = self.timeout if seconds is None else seconds
        return urllib3.Timeout(connect=seconds if body else min(seconds, _CONNECT_SECONDS), read=seconds)

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | Iterable[bytes] | None = None,
        timeout: float | None = None,
    ) -> Response:
        """One exchange, the answer's body read whole. An iterable `content` is sent as it is produced, framed by
        the `Content-Length` the caller sets."""
        raw = self._pools.urlopen(
            method,
            url,
            body=content,
            headers=headers,
            timeout=self._timeout(timeout, body=content is not None),
            redirect=False,
            retries=False,
            preload_content=True,
            decode_content=False,
        )
        return Response(raw, raw.data)

    def get(self, url: str, **kwargs: object) -> Response:
        return self.request("GET", url, **kwargs)  # type: ignore[arg-type]

    def head(self, url: str, **kwargs: object) -> Response:
        return self.request("HEAD", url, **kwargs)  # type: ignore[arg-type]

    def put(self, url: str, **kwargs: object) -> Response:
        return self.request("PUT", url, **kwargs)  # type: ignore[arg-type]

    def post(self, url: str, **kwargs: object) -> Response:
        return self.request("POST", url, **kwargs)  # type: ignore[arg-type]

    @contextmanager
    def stream(
        self, method: str, url: str, *, headers: Mapping[str, str] | None = None, timeout: float | None = None
    ) -> Iterator[Response]:
        """An exchange whose body the caller reads. Left before the end, the connection is closed rather than
        drained (the rest may be a whole large source)."""
        raw = self._pools.urlopen(
            method,
            url,
            headers=headers,
            timeout=self._timeout(timeout),
            redirect=False,
            retries=False,
            preload_content=False,
            decode_content=False,
        )
        try:
            yield Response(raw, None)
        finally:
            if not raw.isclosed():  # not read to the end
                raw.close()
            raw.release_conn()

    def close(self) -> None:
        self._pools.clear()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
