"""The local IMS key endpoint and I/O Events ingress + journal, over real HTTPS."""

from __future__ import annotations

import base64
import json
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from local_platform.adobe_services import AdobeServices
from local_platform.azurite import Azurite
from local_platform.ims import LOCAL_CLIENT_ID, LOCAL_ORG_ID, LocalIms
from local_platform.tls import ensure_tls


@pytest.fixture
def services(ims: LocalIms) -> Iterator[AdobeServices]:
    """A private instance: these tests make rejected calls on purpose."""
    with AdobeServices.start(ensure_tls(), ims) as s:
        yield s


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(verify=ssl.create_default_context(cafile=str(ensure_tls().ca_cert)), timeout=30) as c:
        yield c


def ingress_call(
    ims: LocalIms, request_id: str, *, token: str | None = None, event_type: str = "rendition_created"
) -> dict[str, Any]:
    token = token or ims.token()
    event = {"type": event_type, "requestId": request_id, "rendition": {"name": "a.png"}}
    return {
        "headers": {"Authorization": f"Bearer {token}", "x-ims-org-id": LOCAL_ORG_ID, "x-api-key": LOCAL_CLIENT_ID},
        "json": {
            "user_guid": LOCAL_ORG_ID,
            "provider_id": f"asset_compute_{LOCAL_ORG_ID}_{LOCAL_CLIENT_ID}",
            "event_code": "asset_compute",
            "event": base64.b64encode(json.dumps(event).encode()).decode(),
        },
    }


def test_serves_the_local_jwks(services: AdobeServices, http: httpx.Client, ims: LocalIms) -> None:
    assert http.get(services.jwks_url).json() == ims.jwks()


def test_a_valid_event_is_filed_under_its_request_id(
    services: AdobeServices, http: httpx.Client, ims: LocalIms
) -> None:
    request_id = str(uuid.uuid4())
    response = http.post(services.events_url, **ingress_call(ims, request_id))
    assert response.status_code == 200
    assert [e["type"] for e in services.events(request_id)] == ["rendition_created"]
    journal = http.get(f"{services.journal_url}/{request_id}", params={"count": 1, "timeout": 5})
    assert journal.json() == services.events(request_id)
    assert services.rejected_calls() == []


def test_journal_long_poll_returns_when_the_event_arrives(
    services: AdobeServices, http: httpx.Client, ims: LocalIms
) -> None:
    request_id = str(uuid.uuid4())
    polled: list[Any] = []
    poll = threading.Thread(
        target=lambda: polled.append(
            http.get(f"{services.journal_url}/{request_id}", params={"count": 2, "timeout": 60}).json()
        )
    )
    poll.start()
    http.post(services.events_url, **ingress_call(ims, request_id))
    http.post(services.events_url, **ingress_call(ims, request_id, event_type="rendition_failed"))
    poll.join()
    assert [e["type"] for e in polled[0]] == ["rendition_created", "rendition_failed"]


def test_wait_returns_what_exists_when_the_timeout_passes(services: AdobeServices) -> None:
    assert services.wait_for_events("nothing-here", 1, timeout=0) == []


@pytest.mark.parametrize(
    ("change", "status", "reason"),
    [
        (lambda call, ims, foreign: call["headers"].pop("Authorization"), 401, "missing bearer token"),
        (
            lambda call, ims, foreign: call["headers"].update(
                Authorization=f"Bearer {ims.token(created_at=time.time() - 7200, expires_in_seconds=60)}"
            ),
            401,
            "token expired",
        ),
        (
            lambda call, ims, foreign: call["headers"].update(Authorization=f"Bearer {foreign.token()}"),
            401,
            "invalid token",
        ),
        (lambda call, ims, foreign: call["headers"].update({"x-api-key": "someone-else"}), 400, "x-api-key"),
        (lambda call, ims, foreign: call["headers"].pop("x-ims-org-id"), 400, "x-ims-org-id"),
        (lambda call, ims, foreign: call["json"].update(event_code="other"), 400, "event_code"),
        (lambda call, ims, foreign: call["json"].update(event="not base64!"), 400, "base64"),
    ],
    ids=["no-token", "expired", "foreign-key", "api-key", "org", "event-code", "event-encoding"],
)
def test_malformed_ingress_calls_are_refused_and_recorded(
    services: AdobeServices,
    http: httpx.Client,
    ims: LocalIms,
    tmp_path: Path,
    change: Any,
    status: int,
    reason: str,
) -> None:
    call = ingress_call(ims, "r1")
    change(call, ims, LocalIms.load(tmp_path))  # a key of its own: not the one the services trust
    assert http.post(services.events_url, **call).status_code == status
    [rejected] = services.rejected_calls()
    assert rejected.status == status and reason in rejected.reason
    assert "eyJ" not in rejected.reason  # never the token
    assert services.events("r1") == []


def test_injected_faults_drop_events(services: AdobeServices, http: httpx.Client, ims: LocalIms) -> None:
    services.fail_next_ingress(503)
    services.fail_next_ingress(204)
    assert http.post(services.events_url, **ingress_call(ims, "r2")).status_code == 503
    assert http.post(services.events_url, **ingress_call(ims, "r2")).status_code == 204
    assert http.post(services.events_url, **ingress_call(ims, "r2")).status_code == 200
    assert len(services.events("r2")) == 1


def test_stop_releases_waiting_polls(ims: LocalIms) -> None:
    services = AdobeServices.start(ensure_tls(), ims)
    waiting = threading.Event()
    result: list[Any] = []

    def wait() -> None:
        waiting.set()
        result.append(services.wait_for_events("r3", 1, timeout=600))

    thread = threading.Thread(target=wait)
    thread.start()
    waiting.wait()
    services.stop()
    thread.join()
    assert result == [[]]


def test_shares_azurite_tls(azurite: Azurite, adobe_services: AdobeServices) -> None:
    """The session instance serves with the same local CA Azurite uses, on localhost."""
    assert adobe_services.url.startswith("https://localhost:")
    with httpx.Client(verify=ssl.create_default_context(cafile=str(azurite.tls.ca_cert))) as c:
        assert c.get(adobe_services.jwks_url).status_code == 200
