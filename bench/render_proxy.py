"""A transparent HTTPS proxy in front of the local renderer that records each render's `X-Render-Seconds`.

The worker must not carry code that only benchmarks use, and the renderer's log has no timings, so the benchmark
points `IMGIX_BASE_URL` (of the worker and of the baseline alike) at this proxy. imgix signs path and query
only, so the signed URLs stay valid. The proxy streams the renderer's answer through unchanged and keeps, per
request, the path (never the query: it holds the signature), the renderer's own figures and when the headers
came back, from which a job's render intervals are rebuilt.
"""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from local_platform.tls import TlsFiles, server_context

__all__ = ["RenderProxy", "RenderRecord", "render_union"]

_PASSED_HEADERS = ("content-type", "content-length", "vary", "x-render-seconds", "x-response-seconds")
_CHUNK = 256 * 1024


@dataclass(frozen=True)
class RenderRecord:
    """One request through the proxy."""

    path: str
    status: int
    received_at: float  # time.monotonic() when the request reached the proxy
    render_s: float  # X-Render-Seconds: time in the renderer's render()
    response_s: float  # X-Response-Seconds: all the renderer's time, incl. fetching the source blob
    headers_at: float  # time.monotonic() when the renderer's headers arrived (the render had just ended)
    body_bytes: int

    @property
    def render_interval(self) -> tuple[float, float]:
        return (self.headers_at - self.render_s, self.headers_at)

    @property
    def renderer_interval(self) -> tuple[float, float]:
        return (self.received_at, self.headers_at)


def render_union(records: list[RenderRecord], *, whole_request: bool = False) -> float:
    """Seconds during which at least one render ran (or, `whole_request`, the renderer was answering one):
    parallel renders of one job are not counted twice."""
    total, end = 0.0, float("-inf")
    intervals = [r.renderer_interval if whole_request else r.render_interval for r in records]
    for start, stop in sorted(intervals):
        if stop > end:
            total += stop - max(start, end)
            end = stop
    return total


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, proxy: RenderProxy, tls: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.proxy = proxy
        self.tls = tls

    def get_request(self) -> tuple[Any, Any]:
        sock, address = self.socket.accept()
        return self.tls.wrap_socket(sock, server_side=True), address


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # the path carries a signature: log nothing
        pass

    def do_GET(self) -> None:
        self.server.proxy.forward(self)

    do_HEAD = do_GET


class RenderProxy:
    """The proxy's server, in a background thread; `upstream` may be set after start (the renderer's origin)."""

    def __init__(self, tls: TlsFiles) -> None:
        self.upstream = ""
        self._records: list[RenderRecord] = []
        self._lock = threading.Lock()
        self._http = httpx.Client(
            verify=ssl.create_default_context(cafile=str(tls.ca_cert)),
            timeout=600.0,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
        )
        self._server = _Server(self, server_context(tls))
        self._thread = threading.Thread(target=self._server.serve_forever, name="render-proxy", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"https://localhost:{self._server.server_address[1]}"

    def forward(self, handler: _Handler) -> None:
        """Pass one request to the renderer and stream its answer back, recording its figures."""
        received_at = time.monotonic()
        with self._http.stream(handler.command, self.upstream + handler.path) as response:
            headers_at = time.monotonic()
            handler.send_response(response.status_code)
            for name in _PASSED_HEADERS:
                if name in response.headers:
                    handler.send_header(name, response.headers[name])
            handler.end_headers()
            sent = 0
            for chunk in response.iter_raw(_CHUNK):
                handler.wfile.write(chunk)
                sent += len(chunk)
        record = RenderRecord(
            path=handler.path.split("?", 1)[0],
            status=response.status_code,
            received_at=received_at,
            render_s=float(response.headers.get("x-render-seconds", 0.0)),
            response_s=float(response.headers.get("x-response-seconds", 0.0)),
            headers_at=headers_at,
            body_bytes=sent,
        )
        with self._lock:
            self._records.append(record)

    def records(self, path_contains: str) -> list[RenderRecord]:
        """The requests so far whose path contains `path_contains` (a job's id is in its staged blob's path)."""
        with self._lock:
            return [r for r in self._records if path_contains in r.path]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._http.close()
        self._thread.join(timeout=5)

    def __enter__(self) -> RenderProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
