"""The worker's HTTP client against a real HTTPS server on 127.0.0.1: kept-alive connections, no redirects, chunks
as they arrive, a stream left early not drained, and urllib3's failures as the worker's errors."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from imgix_worker.errors import TransientError
from imgix_worker.pooled_http import HttpClient
from imgix_worker.transport import http_client, translate_errors
from local_platform.adobe_services import LocalHttpsServer
from local_platform.tls import ensure_tls

WAIT = 10.0  # the longest a server thread waits for the test (a failing test, not a slow one)


class Server:
    """Routes of one test: path -> handler(request); records each request's client port."""

    def __init__(self) -> None:
        self.routes: dict[str, Callable[[BaseHTTPRequestHandler], None]] = {}
        self.ports: list[int] = []
        self.paths: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server.ports.append(self.client_address[1])
                server.paths.append(self.path)
                server.routes[self.path](self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.http = LocalHttpsServer(Handler, ensure_tls())

    @property
    def url(self) -> str:
        return self.http.url


def answer(request: BaseHTTPRequestHandler, body: bytes, status: int = 200, **headers: str) -> None:
    request.send_response(status)
    request.send_header("Content-Length", str(len(body)))
    for name, value in headers.items():
        request.send_header(name.replace("_", "-"), value)
    request.end_headers()
    request.wfile.write(body)


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    s.http.serve_in_background("pooled-http-test")
    yield s
    s.http.shutdown()
    s.http.server_close()


@pytest.fixture
def client() -> Iterator[HttpClient]:
    with http_client(timeout=WAIT, ca_bundle=str(ensure_tls().ca_cert)) as c:
        yield c


def test_requests_to_one_host_share_a_kept_alive_connection(server: Server, client: HttpClient) -> None:
    server.routes["/a"] = lambda r: answer(r, b"first")
    server.routes["/b"] = lambda r: answer(r, b"second", X_Thing="Yes")
    assert client.get(f"{server.url}/a").content == b"first"
    second = client.get(f"{server.url}/b")
    assert (second.status_code, second.content, second.headers.get("x-thing")) == (200, b"second", "Yes")
    assert len(set(server.ports)) == 1, "the second request opened a new connection"


def test_a_redirect_is_answered_not_followed(server: Server, client: HttpClient) -> None:
    server.routes["/moved"] = lambda r: answer(r, b"", 302, Location=f"{server.url}/elsewhere")
    response = client.get(f"{server.url}/moved")
    assert response.status_code == 302 and server.paths == ["/moved"]


def test_no_proxy_is_taken_from_the_environment(
    server: Server, client: HttpClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    server.routes["/direct"] = lambda r: answer(r, b"ok")
    assert client.get(f"{server.url}/direct").content == b"ok"


def test_chunks_come_as_they_arrive(server: Server, client: HttpClient) -> None:
    """A trickling body reaches the caller piece by piece (a deadline is checked between chunks)."""
    release = threading.Event()

    def trickle(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Length", "20")
        request.end_headers()
        request.wfile.write(b"0123456789")
        request.wfile.flush()
        release.wait(WAIT)  # the rest only once the client has the first part
        request.wfile.write(b"abcdefghij")

    server.routes["/trickle"] = trickle
    chunks = []
    with client.stream("GET", f"{server.url}/trickle") as response:
        for chunk in response.iter_bytes():
            chunks.append(chunk)
            release.set()
    assert chunks[0] == b"0123456789" and b"".join(chunks) == b"0123456789abcdefghij"


def test_a_stream_left_early_is_closed_not_drained(server: Server, client: HttpClient) -> None:
    """Leaving after the first bytes of a large body closes the connection (the rest may be a whole source); the
    next request gets a fresh one."""
    writer_stopped = threading.Event()

    def large(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Length", str(1 << 40))
        request.end_headers()
        try:
            while True:
                request.wfile.write(b"x" * 65536)
        except OSError:  # the client closed the connection
            writer_stopped.set()

    server.routes["/large"] = large
    server.routes["/small"] = lambda r: answer(r, b"small")
    with client.stream("GET", f"{server.url}/large") as response:
        assert next(response.iter_bytes(4096)) == b"x" * 4096
    assert writer_stopped.wait(WAIT), "the large body was not cut off"
    assert client.get(f"{server.url}/small").content == b"small"
    assert len(set(server.ports)) == 2


def test_a_refused_connection_is_transient(client: HttpClient) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound, never listening: connections are refused
        with (
            pytest.raises(TransientError, match="the source failed: NewConnectionError"),
            translate_errors("the source"),
        ):
            client.get(f"https://localhost:{port}/x")


def test_an_answer_slower_than_the_timeout_times_out(server: Server, client: HttpClient) -> None:
    answered = threading.Event()

    def slow(request: BaseHTTPRequestHandler) -> None:
        answered.wait(WAIT)  # never answers before the client gave up
        request.close_connection = True  # the client is gone: nothing to answer

    server.routes["/slow"] = slow
    try:
        with pytest.raises(TransientError, match="imgix timed out"), translate_errors("imgix"):
            client.get(f"{server.url}/slow", timeout=0.5)
    finally:
        answered.set()


def test_new_connections_leave_the_shared_tls_context_alone(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """urllib3 sets ALPN on the context for every new connection; CPython frees the old list while other threads'
    handshakes may read it (python/cpython#141012): the shared context takes it once."""
    changes: list[object] = []
    original = ssl.SSLContext.set_alpn_protocols
    monkeypatch.setattr(ssl.SSLContext, "set_alpn_protocols", lambda self, p: (changes.append(p), original(self, p)))
    server.routes["/x"] = lambda r: answer(r, b"ok")
    with http_client(timeout=WAIT, ca_bundle=str(ensure_tls().ca_cert)) as c:
        assert changes == [("http/1.1",)]  # set once, when the context is made
        for _ in range(3):
            with c.stream("GET", f"{server.url}/x") as response:  # left unread: a new connection each time
                assert response.status_code == 200
                next(response.iter_bytes(1))
    assert len(set(server.ports)) >= 2 and changes == [("http/1.1",)]
