"""The local relay end to end: real HTTPS on loopback, a LocalIms token, the deployable action code."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from imgix_worker.errors import RequestRejected
from imgix_worker.redaction import Secret
from imgix_worker.relay_auth import ReplayCache, verify_relay_signature
from local_platform.ims import LOCAL_ORG_ID, LocalIms
from local_platform.relay import RelayProcess
from local_platform.tls import TlsFiles, ensure_tls, server_context

HMAC_KEY = "local-relay-test-key-0123456789abcdef"


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class IntakeStandIn:
    """An HTTPS server serving the local IMS JWKS at /jwks and recording POSTs to /api/worker (answers 202)."""

    jwks: dict[str, object]
    tls: TlsFiles
    received: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/jwks":
                    self.send_error(404)
                    return
                self._send(200, json.dumps(stand_in.jwks).encode())

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                stand_in.received.append(Recorded(self.path, headers, body))
                self._send(202, b'{"accepted":true}')

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = server_context(self.tls).wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        return f"https://localhost:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture(scope="module")
def tls() -> TlsFiles:
    return ensure_tls()


@pytest.fixture(scope="module")
def ims(tmp_path_factory: pytest.TempPathFactory) -> LocalIms:
    return LocalIms.load(tmp_path_factory.mktemp("ims"))


@pytest.fixture(scope="module")
def intake(tls: TlsFiles, ims: LocalIms) -> Iterator[IntakeStandIn]:
    stand_in = IntakeStandIn(ims.jwks(), tls)
    yield stand_in
    stand_in.close()


@pytest.fixture(scope="module")
def relay(intake: IntakeStandIn, tls: TlsFiles, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RelayProcess]:
    log_file = tmp_path_factory.mktemp("relay") / "relay.log"
    with RelayProcess.start(
        worker_url=f"{intake.origin}/api/worker",
        org_id=LOCAL_ORG_ID,
        hmac_key=HMAC_KEY,
        jwks_url=f"{intake.origin}/jwks",
        tls=tls,
        log_file=log_file,
    ) as process:
        yield process
    assert HMAC_KEY not in log_file.read_text()


@pytest.fixture
def client(tls: TlsFiles) -> Iterator[httpx.Client]:
    with httpx.Client(verify=ssl.create_default_context(cafile=str(tls.ca_cert)), timeout=30.0) as http:
        yield http


@pytest.fixture(autouse=True)
def _fresh_intake(intake: IntakeStandIn) -> None:
    intake.received.clear()


JOB = {
    "source": "https://devstoreaccount1.blob.core.windows.net/aem/source.jpg",
    "renditions": [{"fmt": "png", "name": "circle.png", "recipe": "circle", "size": "400"}],
    "userData": {"path": "/content/dam/Bücher.jpg"},
}


def headers(token: str, **extra: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}", "x-gw-ims-org-id": LOCAL_ORG_ID, "x-request-id": "req-1", **extra}


def test_url_shape(relay: RelayProcess) -> None:
    assert relay.url == f"https://localhost:{relay.port}/api/v1/web/dx-asset-compute-worker-1/relay"


def test_valid_token_forwards_a_signed_allow_listed_job(
    relay: RelayProcess, intake: IntakeStandIn, ims: LocalIms, client: httpx.Client
) -> None:
    token = ims.token()
    body = {**JOB, "newRelicApiKey": "nr", "WORKER_URL": "https://evil.example/", "RELAY_HMAC_KEY_X": "x"}
    response = client.post(relay.url, json=body, headers=headers(token, **{"x-app-name": "aem"}))

    assert response.status_code == 200, response.text
    activation_id = response.json()["activationId"]
    assert len(activation_id) == 32
    assert len(intake.received) == 1
    got = intake.received[0]
    assert got.path == "/api/worker"
    assert json.loads(got.body) == JOB
    assert got.headers["authorization"] == f"Bearer {token}"
    assert got.headers["x-gw-ims-org-id"] == LOCAL_ORG_ID
    assert got.headers["x-request-id"] == "req-1"
    assert got.headers["x-app-name"] == "aem"
    assert got.headers["x-relay-activation-id"] == activation_id
    assert got.headers["content-type"] == "application/json"
    # The relay's real clock against ours: same machine, well inside the 300 s window.
    verify_relay_signature(Secret(HMAC_KEY), got.headers, got.body, now=time.time(), replays=ReplayCache())
    with pytest.raises(RequestRejected):
        verify_relay_signature(
            Secret("another-key-0123456789abcdef0123"), got.headers, got.body, now=time.time(), replays=ReplayCache()
        )


@pytest.mark.parametrize("case", ["missing", "garbage", "expired", "foreign-key"])
def test_bad_token_is_401_and_nothing_is_forwarded(
    relay: RelayProcess, intake: IntakeStandIn, ims: LocalIms, client: httpx.Client, tmp_path: Path, case: str
) -> None:
    request_headers = {"x-gw-ims-org-id": LOCAL_ORG_ID, "x-request-id": "req-2"}
    if case == "garbage":
        request_headers["authorization"] = "Bearer not.a.token"
    elif case == "expired":
        request_headers["authorization"] = f"Bearer {ims.token(expires_in_seconds=1, created_at=time.time() - 3600)}"
    elif case == "foreign-key":
        request_headers["authorization"] = f"Bearer {LocalIms.load(tmp_path).token()}"
    response = client.post(relay.url, json=JOB, headers=request_headers)
    assert response.status_code == 401
    # The relay answered after deciding; a forward could only have happened before the answer.
    assert intake.received == []


def test_other_org_is_403_and_nothing_is_forwarded(
    relay: RelayProcess, intake: IntakeStandIn, ims: LocalIms, client: httpx.Client
) -> None:
    response = client.post(
        relay.url, json=JOB, headers=headers(ims.token(), **{"x-gw-ims-org-id": "OTHER000000000000000000@AdobeOrg"})
    )
    assert response.status_code == 403
    assert intake.received == []


def test_get_is_405(relay: RelayProcess, ims: LocalIms, client: httpx.Client, intake: IntakeStandIn) -> None:
    response = client.get(relay.url, headers=headers(ims.token()))
    assert response.status_code == 405
    assert response.json() == {"message": "Supported HTTP methods: OPTIONS, POST"}
    assert intake.received == []


def test_reserved_params_from_the_caller_are_refused(
    relay: RelayProcess, ims: LocalIms, client: httpx.Client, intake: IntakeStandIn
) -> None:
    response = client.post(relay.url, json={**JOB, "__ow_headers": {}}, headers=headers(ims.token()))
    assert response.status_code == 400
    assert intake.received == []


def test_start_fails_clearly_with_bad_pins(tls: TlsFiles) -> None:
    with pytest.raises(RuntimeError, match="WORKER_URL must be an https"):
        RelayProcess.start(
            worker_url="http://localhost:1/api/worker",
            org_id=LOCAL_ORG_ID,
            hmac_key=HMAC_KEY,
            jwks_url="https://localhost:1/jwks",
            tls=tls,
        )
