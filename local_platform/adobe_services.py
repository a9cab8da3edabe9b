"""Local stand-ins for Adobe IMS's key endpoint and Adobe I/O Events, served over HTTPS on loopback.

Routes (one server, `https://localhost:<port>`):

- `GET /ims/keys`: the `LocalIms` JWKS the worker verifies tokens against;
- `POST /api/events`: the I/O Events ingress (`eg-ingress.adobe.io/api/events`). It checks what the Asset Compute
  SDK sends (bearer token signed by the local key and not expired, `x-ims-org-id`, `x-api-key` equal to the
  token's `client_id`, JSON body `{user_guid, provider_id, event_code: "asset_compute", event: <base64 JSON>}`),
  answers 200 and files the decoded event under its `requestId`. Any other call is answered 4xx and recorded as
  a rejected call, so tests can assert that the worker made none;
- `GET /api/journal/<requestId>?count=N&timeout=S`: waits until N events of that request exist or S seconds
  pass, then returns them as a JSON list (the journal AEM polls);
- `GET /api/rejected`: the rejected ingress calls, as JSON.
"""

from __future__ import annotations

import base64
import binascii
import json
import ssl
import threading
import time
from collections import defaultdict, deque
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import jwt

from local_platform.ims import LOCAL_ORG_ID, LocalIms
from local_platform.tls import TlsFiles, server_context

__all__ = ["AdobeServices", "EventJournal", "LocalHttpsServer", "RejectedCall"]

# A journal long poll never holds a connection longer than this, whatever the caller asks.
MAX_POLL_SECONDS = 60.0
MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class RejectedCall:
    """An ingress call that did not meet the I/O Events contract; `reason` never quotes a credential."""

    status: int
    reason: str


class _Refused(ValueError):
    """An ingress call breaks the contract: 401 for the token, 400 for the rest."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.status = status


class EventJournal:
    """Events by request id, with waits that wake when an event arrives (no polling on time)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._events: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._rejected: list[RejectedCall] = []
        self._closed = False

    def add(self, request_id: str, event: dict[str, Any]) -> None:
        with self._changed:
            self._events[request_id].append(event)
            self._changed.notify_all()

    def reject(self, call: RejectedCall) -> None:
        with self._changed:
            self._rejected.append(call)

    def events(self, request_id: str) -> list[dict[str, Any]]:
        with self._changed:
            return list(self._events.get(request_id, ()))

    def rejected(self) -> list[RejectedCall]:
        with self._changed:
            return list(self._rejected)

    def wait_for(self, request_id: str, count: int, timeout: float) -> list[dict[str, Any]]:
        """The request's events once there are `count` of them, or whatever exists after `timeout` seconds."""
        with self._changed:
            self._changed.wait_for(
                lambda: self._closed or len(self._events.get(request_id, ())) >= count, timeout=max(timeout, 0.0)
            )
            return list(self._events.get(request_id, ()))

    def close(self) -> None:
        """Release every waiter (the server is stopping)."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()


class LocalHttpsServer(ThreadingHTTPServer):
    """A threaded HTTPS server on 127.0.0.1 with an OS-chosen port, reached as `https://localhost:<port>`."""

    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler], tls: TlsFiles) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self._tls_context = server_context(tls)

    def get_request(self) -> tuple[ssl.SSLSocket, Any]:  # type: ignore[override]
        sock, address = super().get_request()
        # The handshake runs on first read, in the connection's own thread, so a slow client never blocks accept().
        return self._tls_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    @property
    def url(self) -> str:
        return f"https://localhost:{self.server_address[1]}"

    def serve_in_background(self, name: str) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name=name, daemon=True)
        thread.start()
        return thread


class _IngressCheck:
    """Validates one I/O Events ingress call against the local IMS key and org."""

    def __init__(self, ims: LocalIms, org_id: str) -> None:
        self._keys = {k["kid"]: jwt.PyJWK(k).key for k in ims.jwks()["keys"]}  # type: ignore[index, union-attr]
        self._org_id = org_id

    def token_claims(self, authorization: str | None) -> dict[str, Any]:
        """The claims of a valid, unexpired local IMS token; raises _Refused naming what is wrong."""
        if not authorization or not authorization.startswith("Bearer "):
            raise _Refused("missing bearer token", 401)
        token = authorization.removeprefix("Bearer ").strip()
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self._keys.get(kid)
            if key is None:
                raise _Refused("token signed by an unknown key", 401)
            claims: dict[str, Any] = jwt.decode(token, key, algorithms=["RS256"], options={"verify_aud": False})
        except jwt.PyJWTError as exc:
            raise _Refused(f"invalid token ({type(exc).__name__})", 401) from None
        try:
            # IMS tokens carry milliseconds as strings instead of `exp`.
            expires_ms = int(claims["created_at"]) + int(claims["expires_in"])
        except (KeyError, TypeError, ValueError):
            raise _Refused("token without created_at/expires_in", 401) from None
        if expires_ms <= time.time() * 1000:
            raise _Refused("token expired", 401)
        if not isinstance(claims.get("client_id"), str):
            raise _Refused("token without client_id", 401)
        return claims

    def event(self, headers: Any, body: bytes) -> tuple[str, dict[str, Any]]:
        """(requestId, decoded event) of a well-formed ingress call; raises _Refused naming what is wrong."""
        claims = self.token_claims(headers.get("Authorization"))
        client_id = claims["client_id"]
        if headers.get("x-ims-org-id") != self._org_id:
            raise _Refused("x-ims-org-id missing or not the local org")
        if headers.get("x-api-key") != client_id:
            raise _Refused("x-api-key is not the token's client_id")
        if not (headers.get("Content-Type") or "").startswith("application/json"):
            raise _Refused("Content-Type is not application/json")
        try:
            envelope = json.loads(body)
        except ValueError:
            raise _Refused("body is not JSON") from None
        if not isinstance(envelope, dict):
            raise _Refused("body is not a JSON object")
        expected = {
            "user_guid": self._org_id,
            "provider_id": f"asset_compute_{self._org_id}_{client_id}",
            "event_code": "asset_compute",
        }
        for key, value in expected.items():
            if envelope.get(key) != value:
                raise _Refused(f"{key} is not {value!r}")
        try:
            event = json.loads(base64.b64decode(envelope.get("event", ""), validate=True))
        except (binascii.Error, ValueError, TypeError):
            raise _Refused("event is not base64 of JSON") from None
        if not isinstance(event, dict) or not isinstance(event.get("requestId"), str) or not event["requestId"]:
            raise _Refused("event has no requestId")
        if event.get("type") not in ("rendition_created", "rendition_failed"):
            raise _Refused("event type is not rendition_created or rendition_failed")
        return event["requestId"], event


class _AdobeServer(LocalHttpsServer):
    services: AdobeServices


class _Handler(BaseHTTPRequestHandler):
    server: _AdobeServer
    server_version = "local-adobe-services"
    # Keep-alive, as the real ingress: the worker's client reuses one TLS connection for a job's events.
    protocol_version = "HTTP/1.1"
    timeout = MAX_POLL_SECONDS + 30  # socket timeout: a stalled client cannot hold a thread forever

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines would only repeat what the journal records."""

    def _send_json(self, status: int, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        services = self.server.services
        parts = urlsplit(self.path)
        if parts.path == "/ims/keys":
            self._send_json(200, services.ims.jwks())
        elif parts.path.startswith("/api/journal/"):
            request_id = unquote(parts.path.removeprefix("/api/journal/"))
            query = parse_qs(parts.query)
            try:
                count = int(query.get("count", ["1"])[0])
                timeout = min(float(query.get("timeout", ["0"])[0]), MAX_POLL_SECONDS)
            except ValueError:
                self._send_json(400, {"message": "count and timeout must be numbers"})
                return
            self._send_json(200, services.journal.wait_for(request_id, count, timeout))
        elif parts.path == "/api/rejected":
            self._send_json(200, [asdict(c) for c in services.journal.rejected()])
        else:
            self._send_json(404, {"message": "not found"})

    def do_POST(self) -> None:
        services = self.server.services
        if urlsplit(self.path).path != "/api/events":
            self._send_json(404, {"message": "not found"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            services.journal.reject(RejectedCall(413, "body too large"))
            self.close_connection = True  # the unread body would be taken for the next request
            self._send_json(413, {"message": "body too large"})
            return
        body = self.rfile.read(length)
        try:
            request_id, event = services.ingress_check.event(self.headers, body)
        except _Refused as exc:
            services.journal.reject(RejectedCall(exc.status, str(exc)))
            self._send_json(exc.status, {"message": str(exc)})
            return
        fault = services.take_ingress_fault()
        if fault is not None:
            # An injected answer: the event is lost, as when I/O Events answers 204 or 5xx.
            self.send_response(fault)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        services.journal.add(request_id, event)
        self._send_json(200, {})


class AdobeServices:
    """The running local IMS key endpoint and I/O Events ingress + journal."""

    def __init__(self, server: _AdobeServer, ims: LocalIms, org_id: str) -> None:
        self.ims = ims
        self.org_id = org_id
        self.journal = EventJournal()
        self.ingress_check = _IngressCheck(ims, org_id)
        self._server = server
        self._faults: deque[int] = deque()
        self._faults_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @classmethod
    def start(cls, tls: TlsFiles, ims: LocalIms, *, org_id: str = LOCAL_ORG_ID) -> AdobeServices:
        """Serve on a free loopback port in a background thread; return once it accepts connections."""
        server = _AdobeServer(_Handler, tls)
        services = cls(server, ims, org_id)
        server.services = services
        services._thread = server.serve_in_background("adobe-services")
        return services

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/ims/keys"

    @property
    def events_url(self) -> str:
        return f"{self.url}/api/events"

    @property
    def journal_url(self) -> str:
        """Base URL of the journal; append `/<requestId>?count=N&timeout=S`."""
        return f"{self.url}/api/journal"

    def events(self, request_id: str) -> list[dict[str, Any]]:
        """The events received so far for `request_id`, in arrival order."""
        return self.journal.events(request_id)

    def wait_for_events(self, request_id: str, count: int, timeout: float) -> list[dict[str, Any]]:
        """The events of `request_id` once `count` exist, or those that arrived within `timeout` seconds."""
        return self.journal.wait_for(request_id, count, timeout)

    def rejected_calls(self) -> list[RejectedCall]:
        """Ingress calls that broke the contract (expected to stay empty)."""
        return self.journal.rejected()

    def fail_next_ingress(self, status: int, count: int = 1) -> None:
        """Answer the next `count` well-formed ingress calls with `status` (e.g. 503 or 204) and drop their events."""
        with self._faults_lock:
            self._faults.extend([status] * count)

    def take_ingress_fault(self) -> int | None:
        with self._faults_lock:
            return self._faults.popleft() if self._faults else None

    def stop(self) -> None:
        """Release long polls, stop serving and close the socket."""
        self.journal.close()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> AdobeServices:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
