"""A tiny custom worker for tests: the contract's HTTP side and nothing else.

An HTTPS server that takes a job the way a custom worker's web action does, checks the request against the
contract (reference §1.2-1.5), and in a background thread downloads the source, uploads the rendition to its
target (block parts or one PUT) and posts one I/O Event per rendition with the forwarded token. What it renders is
the source's bytes unchanged (as `worker-basic` does); an instruction `fake` selects a misbehaviour: `fail`,
`fail-leaky` (error message quotes the pre-signed source URL), `no-upload`, `silent`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import math
import ssl
import threading
import uuid
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import jwt

from imgix_worker.redaction import strip_query
from local_platform.adobe_services import LocalHttpsServer
from local_platform.asset_compute_storage import TargetOptions
from local_platform.ims import LocalIms
from local_platform.tls import TlsFiles

__all__ = ["SMALL_PARTS", "FakeWorker"]

# Small parts so that a few KiB make several blocks: 16 URLs of at least 1 KiB, at most 4 KiB each.
SMALL_PARTS = TargetOptions(estimated_size=16 * 1024, min_part_size=1024, max_part_size=4096)


class _FakeServer(LocalHttpsServer):
    worker: FakeWorker


class _FakeHandler(BaseHTTPRequestHandler):
    server: _FakeServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        worker = self.server.worker
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, answer = worker.accept(headers, body)
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class FakeWorker:
    """A custom worker reduced to the contract: accept, upload, report."""

    def __init__(self, tls: TlsFiles, ims: LocalIms, events_url: str) -> None:
        self._keys = {k["kid"]: jwt.PyJWK(k).key for k in ims.jwks()["keys"]}  # type: ignore[index, union-attr]
        self._events_url = events_url
        self._http = httpx.Client(verify=ssl.create_default_context(cafile=str(tls.ca_cert)), timeout=30.0)
        self._server = _FakeServer(_FakeHandler, tls)
        self._server.worker = self
        self._thread = self._server.serve_in_background("fake-worker")
        self._jobs: list[threading.Thread] = []
        self.requests: list[dict[str, Any]] = []
        self.violations: list[str] = []
        self.refuse_with: int | None = None

    @property
    def url(self) -> str:
        return f"{self._server.url}/api/worker"

    def accept(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        self.requests.append({"headers": headers, "body": json.loads(body)})
        if self.refuse_with:
            return self.refuse_with, {"message": "refused by the test"}
        job = self.requests[-1]["body"]
        self._check(headers, job)
        thread = threading.Thread(target=self._process, args=(headers, job), daemon=True)
        self._jobs.append(thread)
        thread.start()
        return 200, {"activationId": uuid.uuid4().hex}

    def _check(self, headers: dict[str, str], job: dict[str, Any]) -> None:
        token = headers.get("authorization", "").removeprefix("Bearer ")
        try:
            jwt.decode(token, self._keys[jwt.get_unverified_header(token)["kid"]], algorithms=["RS256"])
        except (jwt.PyJWTError, KeyError):
            self.violations.append("authorization is not a bearer token signed by the local IMS key")
        for name in ("x-gw-ims-org-id", "x-gw-ims-org-name", "x-app-name", "x-request-id"):
            if not headers.get(name):
                self.violations.append(f"missing header {name}")
        if headers.get("content-type") != "application/json":
            self.violations.append("content-type is not application/json")
        if not isinstance(job.get("source"), str) or not job["source"].startswith("https://"):
            self.violations.append("source is not an https URL string")
        if not isinstance(job.get("renditions"), list) or not job["renditions"]:
            self.violations.append("renditions is not a non-empty list")
        for i, rendition in enumerate(job.get("renditions") or []):
            if rendition.get("worker") != self.url:
                self.violations.append(f"renditions[{i}].worker is not this worker's URL")
            target = rendition.get("target")
            urls = [target] if isinstance(target, str) else (target or {}).get("urls", [])
            if not urls or not all(isinstance(u, str) and u.startswith("https://") for u in urls):
                self.violations.append(f"renditions[{i}].target has no https URL")

    def _process(self, headers: dict[str, str], job: dict[str, Any]) -> None:
        source = self._http.get(job["source"])
        source.raise_for_status()
        for rendition in job["renditions"]:
            behaviour = rendition.get("fake")
            if behaviour == "silent":
                continue
            event: dict[str, Any] = {
                "date": dt.datetime.now(dt.UTC).isoformat(),
                "requestId": headers["x-request-id"],
                "source": strip_query(job["source"]),
                "userData": job.get("userData"),
                "rendition": {k: v for k, v in rendition.items() if k != "target"},
            }
            if behaviour in ("fail", "fail-leaky"):
                where = job["source"] if behaviour == "fail-leaky" else "the source"
                event |= {"type": "rendition_failed", "errorReason": "SourceCorrupt", "errorMessage": f"bad {where}"}
            else:
                data = source.content
                if behaviour != "no-upload":
                    self._upload(rendition["target"], data)
                event |= {
                    "type": "rendition_created",
                    "metadata": {
                        "repo:size": len(data),
                        "repo:sha1": hashlib.sha1(data).hexdigest(),
                        "dc:format": "image/jpeg",
                    },
                }
            self._send_event(headers, event)

    def _upload(self, target: str | dict[str, Any], data: bytes) -> None:
        if isinstance(target, str):
            self._http.put(target, content=data, headers={"x-ms-blob-type": "BlockBlob"}).raise_for_status()
            return
        urls = target["urls"]
        part = max(math.ceil(len(data) / len(urls)), target["minPartSize"])
        assert part <= target["maxPartSize"]
        for k in range(math.ceil(len(data) / part)):
            chunk = data[k * part : (k + 1) * part]
            self._http.put(urls[k], content=chunk, headers={"Content-Type": "image/jpeg"}).raise_for_status()

    def _send_event(self, headers: dict[str, str], event: dict[str, Any]) -> None:
        token = headers["authorization"].removeprefix("Bearer ")
        client_id = jwt.decode(token, options={"verify_signature": False})["client_id"]
        org_id = headers["x-gw-ims-org-id"]
        body = {
            "user_guid": org_id,
            "provider_id": f"asset_compute_{org_id}_{client_id}",
            "event_code": "asset_compute",
            "event": base64.b64encode(json.dumps(event).encode()).decode(),
        }
        response = self._http.post(
            self._events_url,
            json=body,
            headers={"Authorization": f"Bearer {token}", "x-ims-org-id": org_id, "x-api-key": client_id},
        )
        response.raise_for_status()

    def stop(self) -> None:
        for thread in self._jobs:
            thread.join()
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()
        self._http.close()
