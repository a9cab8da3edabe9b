"""The HTTPS server: `GET|HEAD /<path>?<params>` → signature check → blob → `render()` → response.

Responses: the rendered image with its Content-Type, Content-Length, `X-Render-Seconds` (time spent in `render()`
for this request, so benchmarks can tell render time from everything else) and `Vary: Accept` with `auto=format`.
Errors are one short `text/plain` line with imgix's status code: 400 bad parameter, 403 bad or missing signature
(when a secure token is configured), 404 missing blob, 405 other methods, 413 source over the input limit,
414 URI over 8000 characters, 421 corrupt image, 422 image over the pixel limit, 502 storage unreachable,
500 anything unexpected (details go to the server log, scrubbed of secrets, never to the client).

Renders run at most `os.cpu_count()` at a time; TLS handshakes happen in the request's thread, so a slow or
non-TLS client never blocks the accept loop.
"""

from __future__ import annotations

import os
import re
import ssl
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote_to_bytes

from local_platform.renderer import signature
from local_platform.renderer.errors import RenderError
from local_platform.renderer.params import parse_query
from local_platform.renderer.render import MAX_PIXELS, render
from local_platform.renderer.source import BlobSource

__all__ = ["RendererConfig", "RendererServer"]

MAX_URI = 8000  # imgix answers 414 above this
_HANDSHAKE_TIMEOUT = 10.0
_LOG_LINE = 600
_SIGNATURE_IN_LOG = re.compile(r"([?&](?:s|sig)=)[^&\s\"]+")  # imgix `s` and SAS `sig`


@dataclass(frozen=True)
class RendererConfig:
    """What a renderer serves: its source, the secure token (None: signatures not enforced), the pixel limit."""

    source: BlobSource
    secure_token: str | None = None
    max_pixels: int = MAX_PIXELS

    def __repr__(self) -> str:
        return f"RendererConfig(secure_token={'***' if self.secure_token else None}, max_pixels={self.max_pixels})"


class RendererServer(ThreadingHTTPServer):
    """A threading HTTPS server for `RendererHandler`."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], config: RendererConfig, tls: ssl.SSLContext) -> None:
        super().__init__(address, RendererHandler)
        self.config = config
        self.tls = tls
        self.render_slots = threading.BoundedSemaphore(os.cpu_count() or 2)

    def get_request(self) -> tuple[Any, Any]:
        sock, address = self.socket.accept()
        return self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            request.settimeout(_HANDSHAKE_TIMEOUT)
            request.do_handshake()
        except (OSError, ValueError):
            return  # not TLS, or the client went away: nothing to answer
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        log(self, f"connection error from {client_address[0]}: {type(exc).__name__}")


def log(server: RendererServer, message: str) -> None:
    """One line on stderr, with signatures and configured secrets masked, and long lines shortened."""
    message = server.config.source.redact(_SIGNATURE_IN_LOG.sub(r"\1***", message))
    if server.config.secure_token:
        message = message.replace(server.config.secure_token, "***")
    if len(message) > _LOG_LINE:  # after masking: a cut must not leave half a secret behind
        message = message[: _LOG_LINE - 3] + "..."
    sys.stderr.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} renderer: {message}\n")


class RendererHandler(BaseHTTPRequestHandler):
    """Serves imgix-style requests; only GET and HEAD."""

    server: RendererServer
    protocol_version = "HTTP/1.1"
    server_version = "local-imgix-renderer"
    sys_version = ""
    timeout = 120

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _refuse_method(self) -> None:
        self._send(405, b"405 only GET and HEAD are allowed\n", "text/plain; charset=utf-8", {"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse_method

    def handle(self) -> None:
        try:
            super().handle()
        except (OSError, ValueError):
            self.close_connection = True  # the client went away mid-request: drop it quietly

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (bad request line, unknown method, ...) as short text, like ours."""
        self.close_connection = True
        self._send(code, f"{code} {message or self.responses.get(code, ('error',))[0]}\n".encode(), "text/plain")

    def log_message(self, format: str, *args: Any) -> None:
        log(self.server, f"{self.address_string()} {format % args}")

    def _serve(self, *, send_body: bool) -> None:
        started = time.perf_counter()
        try:
            body, content_type, headers = self._render()
            status = 200
        except RenderError as exc:
            status, content_type, headers = exc.status, "text/plain; charset=utf-8", {}
            body = f"{exc.status} {exc.message}\n".encode()
        except Exception as exc:
            log(self.server, f"internal error on {self.path}: {type(exc).__name__}: {exc}")
            status, content_type, headers = 500, "text/plain; charset=utf-8", {}
            body = b"500 internal error in the local renderer\n"
        headers["X-Response-Seconds"] = f"{time.perf_counter() - started:.6f}"
        self._send(status, body, content_type, headers, send_body=send_body)

    def _render(self) -> tuple[bytes, str, dict[str, str]]:
        target = self.path.encode("latin-1")  # http.server decoded the request line as latin-1: these are its bytes
        if len(target) > MAX_URI:
            raise RenderError(414, f"URI longer than {MAX_URI} characters")
        if not target.startswith(b"/"):
            raise RenderError(400, "request target must be a path")
        token = self.server.config.secure_token
        if token is not None and not signature.verify(token, target):
            raise RenderError(403, "signature missing or invalid")
        raw_path, _, raw_query = signature.split_signature(target)[0].partition(b"?")
        try:
            name = unquote_to_bytes(raw_path[1:]).decode("utf-8")
            params = parse_query(raw_query.decode("utf-8"))
        except UnicodeDecodeError:
            raise RenderError(400, "path and query must be UTF-8") from None
        params.pop("s", None)  # unsigned mode: a signature, if any, is not a parameter
        blob = self.server.config.source.fetch(name)
        with self.server.render_slots:
            started = time.perf_counter()
            rendered = render(
                blob.data,
                params,
                accept=self.headers.get("Accept", ""),
                content_type=blob.content_type,
                max_pixels=self.server.config.max_pixels,
                fetch=lambda path: self.server.config.source.fetch(path).data,
            )
            seconds = time.perf_counter() - started
        headers = {"X-Render-Seconds": f"{seconds:.6f}"}
        if rendered.vary_accept:
            headers["Vary"] = "Accept"
        return rendered.body, rendered.content_type, headers

    def _has_body(self) -> bool:
        headers = getattr(self, "headers", None)
        if headers is None:
            return False
        return headers.get("Content-Length", "0").strip() not in ("", "0") or "Transfer-Encoding" in headers

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        *,
        send_body: bool = True,
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if self._has_body():
                self.send_header("Connection", "close")  # the body is never read: it cannot precede a next request
                self.close_connection = True
            self.end_headers()
            if send_body and self.command != "HEAD":
                self.wfile.write(body)
        except (OSError, ValueError):
            self.close_connection = True  # client disconnected while we answered


def serve(config: RendererConfig, tls: ssl.SSLContext, *, port: int, host: str = "127.0.0.1") -> None:
    """Serve until interrupted."""
    with RendererServer((host, port), config, tls) as server:
        log(server, f"serving on https://localhost:{server.server_address[1]}")
        try:
            server.serve_forever()
        finally:
            config.source.close()
