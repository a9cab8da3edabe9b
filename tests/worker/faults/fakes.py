"""Faulty stand-ins for the worker's peers, each in front of a real part so that everything else stays real.

- `ScriptedProxy`: an HTTPS proxy (HTTP level) in front of the local renderer (a faulty imgix) or of Azurite (a
  faulty target or storage). It forwards the request target unchanged, so imgix signatures and SAS still verify,
  and answers each matching request with the next `Action` of its script (then its default action). It records
  what it saw, and what it forwarded, so a test can compare bytes.
- `TcpProxy`: a TCP relay in front of Azurite's blob port that can be switched down (every connection is reset)
  and back up, so Azurite's in-memory data survives the "outage". TLS passes through it untouched.

Synchronisation is by `threading.Condition`/`Event` only: a stalled answer waits until the test releases it.
"""

from __future__ import annotations

import socket
import ssl
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import httpx

from local_platform.adobe_services import LocalHttpsServer
from local_platform.tls import TlsFiles

__all__ = [
    "PASS",
    "Action",
    "Delay",
    "Forward",
    "Reply",
    "ScriptedProxy",
    "Seen",
    "Stall",
    "TcpProxy",
    "Trickle",
    "Truncate",
]

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "proxy-connection", "te"}
_STALL_LIMIT_SECONDS = 120.0  # a stalled answer never outlives a forgotten release by more than this


@dataclass(frozen=True)
class Seen:
    """One request the proxy received: what it was, what was done with it, and when (monotonic)."""

    method: str
    path: str
    action: str
    at: float
    body_length: int


class Action:
    """What the proxy does with one request."""

    name = "action"

    def serve(self, handler: _Handler, body: bytes) -> None:
        raise NotImplementedError


class Forward(Action):
    """Forward to the upstream and relay its answer whole."""

    name = "forward"

    def serve(self, handler: _Handler, body: bytes) -> None:
        response = handler.proxy.forward(handler, body)
        handler.relay(response.status_code, response.headers, response.content)


PASS = Forward()


@dataclass(frozen=True)
class Reply(Action):
    """Answer by itself (the upstream never sees the request). `body` may be made from the request path."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | Callable[[str], bytes] = b""

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"reply {self.status}"

    def serve(self, handler: _Handler, body: bytes) -> None:
        data = self.body(handler.path) if callable(self.body) else self.body
        handler.relay(self.status, {"Content-Type": "text/plain; charset=utf-8", **self.headers}, data)


class Truncate(Action):
    """Forward, then send the real Content-Length but only half the body, and close the connection."""

    name = "truncate"

    def serve(self, handler: _Handler, body: bytes) -> None:
        response = handler.proxy.forward(handler, body)
        data = response.content
        handler.send_response(response.status_code)
        handler.send_header("Content-Type", response.headers.get("content-type", "application/octet-stream"))
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(data[: len(data) // 2])
        handler.wfile.flush()
        handler.close_connection = True  # the server then shuts the socket down: a FIN, no TLS close_notify


@dataclass(frozen=True)
class Delay(Action):
    """Wait `seconds` (a slow peer, not a stalled one: it always answers), then do `then` (forward, by default);
    `release()` ends the wait at once."""

    seconds: float
    then: Action = field(default_factory=Forward)
    name = "delay"

    def serve(self, handler: _Handler, body: bytes) -> None:
        handler.proxy.released.wait(self.seconds)  # the fault's latency, not a synchronisation
        self.then.serve(handler, body)


@dataclass(frozen=True)
class Trickle(Action):
    """Forward, then send the real Content-Length, the first `fast` bytes at once and the rest in `pieces` small
    writes spread over `seconds` (a slow source that never stalls long enough for a read timeout); `release()`
    ends the trickle (the connection is then closed with the body incomplete). A HEAD, with no body to trickle, is
    forwarded."""

    fast: int = 0
    seconds: float = 40.0
    pieces: int = 400
    name = "trickle"

    def serve(self, handler: _Handler, body: bytes) -> None:
        if handler.command == "HEAD":
            PASS.serve(handler, body)
            return
        response = handler.proxy.forward(handler, body)
        data = response.content
        handler.send_response(response.status_code)
        handler.send_header("Content-Type", response.headers.get("content-type", "application/octet-stream"))
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data[: self.fast])
        handler.wfile.flush()
        rest = data[self.fast :]
        step = max(1, -(-len(rest) // self.pieces))
        for start in range(0, len(rest), step):
            if handler.proxy.released.wait(self.seconds / self.pieces):  # the pace of the fault, not a sync
                handler.close_connection = True
                return
            handler.wfile.write(rest[start : start + step])
            handler.wfile.flush()


@dataclass(frozen=True)
class Stall(Action):
    """Answer nothing until the test calls `release()`, then do `then` (forward, by default).

    By then the worker has long given up on the exchange; `then` only tells whether it still listens.
    """

    then: Action = field(default_factory=Forward)
    name = "stall"

    def serve(self, handler: _Handler, body: bytes) -> None:
        handler.proxy.released.wait(_STALL_LIMIT_SECONDS)
        try:
            self.then.serve(handler, body)
        except OSError:
            handler.close_connection = True


class _Handler(BaseHTTPRequestHandler):
    server: _ProxyServer
    timeout = 60

    @property
    def proxy(self) -> ScriptedProxy:
        return self.server.proxy

    def log_message(self, format: str, *args: object) -> None:
        """Silent: the proxy records what it saw."""

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        body = self._read_body()
        action = self.proxy.take(self.command, self.path, body)
        try:
            action.serve(self, body)
        except (ConnectionError, ssl.SSLError, BrokenPipeError):
            self.close_connection = True  # the worker gave up on this exchange

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = do_OPTIONS = _serve

    def relay(self, status: int, headers: Mapping[str, str], data: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        if self.command == "HEAD":
            length = headers.get("content-length") or headers.get("Content-Length")
            self.send_header("Content-Length", length if length is not None else str(len(data)))
        else:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


class _ProxyServer(LocalHttpsServer):
    proxy: ScriptedProxy


class ScriptedProxy:
    """An HTTPS proxy with a script of faults, in front of `upstream` (an https origin trusted through `ca`).

    Only requests for which `match(method, path)` is true take an action from the script; the others are
    forwarded. Use as a context manager: on exit every stalled answer is released and the server stops.
    """

    def __init__(
        self,
        upstream: str,
        tls: TlsFiles,
        *,
        default: Action = PASS,
        match: Callable[[str, str], bool] | None = None,
        name: str = "scripted-proxy",
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.default = default
        self.match = match or (lambda method, path: True)
        self.released = threading.Event()
        self._script: deque[Action] = deque()
        self._seen: list[Seen] = []
        self._forwarded: list[tuple[str, bytes]] = []
        self._changed = threading.Condition()
        self._client = httpx.Client(
            verify=ssl.create_default_context(cafile=str(tls.ca_cert)),
            follow_redirects=False,
            timeout=60,
            trust_env=False,
        )
        self._server = _ProxyServer(_Handler, tls)
        self._server.proxy = self
        self._thread = self._server.serve_in_background(name)

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def script(self, *actions: Action) -> ScriptedProxy:
        """Answer the next matching requests with `actions`, in order; then the default action."""
        with self._changed:
            self._script.extend(actions)
        return self

    def take(self, method: str, path: str, body: bytes) -> Action:
        with self._changed:
            if self.match(method, path):
                action = self._script.popleft() if self._script else self.default
            else:
                action = PASS
            self._seen.append(Seen(method, path, action.name, time.monotonic(), len(body)))
            self._changed.notify_all()
            return action

    def forward(self, handler: _Handler, body: bytes) -> httpx.Response:
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP_BY_HOP}
        response = self._client.request(handler.command, self.upstream + handler.path, content=body, headers=headers)
        if handler.command == "GET" and response.status_code == 200:
            with self._changed:
                self._forwarded.append((handler.path, response.content))
        return response

    def seen(self, method: str | None = None) -> list[Seen]:
        """The requests received so far (of `method`), in arrival order."""
        with self._changed:
            return [s for s in self._seen if method is None or s.method == method]

    def forwarded(self) -> list[tuple[str, bytes]]:
        """(path, body) of every 200 GET the upstream answered, in order."""
        with self._changed:
            return list(self._forwarded)

    def wait_for_requests(self, count: int, timeout: float = 60.0, *, method: str | None = None) -> list[Seen]:
        """Block until `count` requests (of `method`) arrived; raise if they did not within `timeout`."""
        with self._changed:
            arrived = self._changed.wait_for(
                lambda: len([s for s in self._seen if method is None or s.method == method]) >= count, timeout
            )
            if not arrived:
                raise AssertionError(f"expected {count} requests at the proxy, saw {len(self._seen)}")
            return [s for s in self._seen if method is None or s.method == method]

    def release(self) -> None:
        """Let every stalled answer go."""
        self.released.set()

    def close(self) -> None:
        self.release()
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()
        self._client.close()

    def __enter__(self) -> ScriptedProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TcpProxy:
    """A TCP relay from 127.0.0.1:<port> to 127.0.0.1:`upstream_port`; `down()` resets every connection."""

    def __init__(self, upstream_port: int, *, fail_first: int = 0) -> None:
        self._upstream_port = upstream_port
        self._lock = threading.Lock()
        self._up = True
        self._fail_left = fail_first
        self._open: set[socket.socket] = set()
        self.accepted = 0
        self.refused = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept_loop, name="tcp-proxy", daemon=True)
        self._accepting.start()

    def down(self) -> None:
        """From now on reset every new connection, and reset those open now."""
        with self._lock:
            self._up = False
            open_now, self._open = self._open, set()
        for sock in open_now:
            _reset(sock)

    def up(self) -> None:
        with self._lock:
            self._up = True

    def fail_next(self, count: int) -> None:
        """Reset the next `count` new connections, then relay again."""
        with self._lock:
            self._fail_left = count

    def _accept_loop(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                self.accepted += 1
                refuse = not self._up or self._fail_left > 0
                if refuse:
                    self.refused += 1
                    self._fail_left = max(0, self._fail_left - 1)
            if refuse:
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self._upstream_port))
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self._open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                thread = threading.Thread(target=self._pump, args=(source, sink), daemon=True)
                thread.start()
                self._threads.append(thread)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            with self._lock:
                self._open.discard(source)
                self._open.discard(sink)

    def close(self) -> None:
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() (close alone does not)
        except OSError:
            pass
        self._listener.close()
        self._accepting.join()
        self.down()
        for thread in self._threads:
            thread.join(10)

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reset(sock: socket.socket) -> None:
    """Close with RST, as a host that is gone or refusing does (and wake a thread blocked reading it)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RD)
    except OSError:
        pass
    sock.close()
