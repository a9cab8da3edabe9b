"""A signed relay call is accepted once by all instances together: replay markers in the host's storage (Azurite)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from imgix_worker.blob_calls import BlobCalls
from imgix_worker.errors import RequestRejected
from imgix_worker.redaction import Secret
from imgix_worker.relay_auth import relay_signature
from imgix_worker.replay_markers import REPLAY_CONTAINER, SharedReplayGuard
from imgix_worker.service import Worker
from imgix_worker.transport import http_client
from local_platform.azurite import Azurite

from .conftest import JobRunner, blob_connection_via, build_worker, image_bytes
from .faults.fakes import TcpProxy

RELAY_KEY = "fake-relay-key-for-replay-tests-0123456789ab"  # a test fixture, not a real credential


@pytest.fixture(scope="module")
def host_blobs(azurite: Azurite) -> Iterator[Any]:
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(
        azurite.connection_string, connection_verify=str(azurite.tls.ca_cert)
    )
    yield service
    service.close()


@pytest.fixture(scope="module")
def instances(worker_env: dict[str, str]) -> tuple[Worker, Worker]:
    """Two instances of the same app: same settings, separate processes' worth of state."""
    env = {**worker_env, "RELAY_HMAC_KEY": RELAY_KEY}
    return build_worker(env), build_worker(env)


def signed_job(runner: JobRunner) -> tuple[dict[str, str], bytes, str]:
    body, _ = runner.job(image_bytes(), [{"name": "x.png", "fmt": "png"}])
    data = json.dumps(body).encode()
    headers = runner.headers()
    stamp = str(int(time.time()))
    signature = relay_signature(Secret(RELAY_KEY), stamp, headers["x-request-id"], data)
    return {**headers, "x-relay-timestamp": stamp, "x-relay-signature": signature}, data, signature


def markers(host_blobs: Any) -> set[str]:
    container = host_blobs.get_container_client(REPLAY_CONTAINER)
    return {b.name for b in container.list_blobs()} if container.exists() else set()


def test_a_request_replayed_to_another_instance_is_refused(
    runner: JobRunner, instances: tuple[Worker, Worker], host_blobs: Any
) -> None:
    first, second = instances
    headers, data, signature = signed_job(runner)
    accepted = first.intake.handle("POST", headers, data)
    assert accepted.status == 200 and accepted.message is not None
    replayed = second.intake.handle("POST", headers, data)  # another instance, which never saw it
    assert replayed.status == 401 and replayed.body == {"message": "unauthorized"} and replayed.message is None
    assert first.intake.handle("POST", headers, data).status == 401  # and the first one, from its memory
    marker = host_blobs.get_blob_client(REPLAY_CONTAINER, signature.removeprefix("sha256="))
    assert marker.get_blob_properties().size == 0


def test_only_verified_signatures_leave_a_marker(
    runner: JobRunner, instances: tuple[Worker, Worker], host_blobs: Any
) -> None:
    first, _ = instances
    headers, data, _ = signed_job(runner)
    before = markers(host_blobs)
    for forged in (
        {**headers, "x-relay-signature": "sha256=" + "0" * 64},
        {**headers, "x-relay-timestamp": str(int(time.time()) - 301)},
    ):
        assert first.intake.handle("POST", forged, data).status == 401
    assert markers(host_blobs) == before


def test_a_local_run_creates_the_marker_container(
    runner: JobRunner, worker_env: dict[str, str], host_blobs: Any
) -> None:
    container = host_blobs.get_container_client(REPLAY_CONTAINER)
    if container.exists():
        container.delete_container()
    worker = build_worker({**worker_env, "RELAY_HMAC_KEY": RELAY_KEY})
    headers, data, signature = signed_job(runner)
    assert worker.intake.handle("POST", headers, data).status == 200
    assert signature.removeprefix("sha256=") in markers(host_blobs)


def test_outside_local_runs_a_missing_container_is_a_503_not_a_pass(host_blobs: Any, azurite: Azurite) -> None:
    container = host_blobs.get_container_client("relay-replays-missing")
    http = http_client(timeout=10, ca_bundle=str(azurite.tls.ca_cert))
    guard = SharedReplayGuard(container, BlobCalls(container, http), create_container=False)
    with pytest.raises(RequestRejected) as info:
        guard.seen_before("sha256=" + "a" * 64, time.time())
    assert info.value.status == 503
    assert not host_blobs.get_container_client("relay-replays-missing").exists()


def test_unreachable_marker_storage_is_a_503_and_nothing_is_queued(
    runner: JobRunner, worker_env: dict[str, str], azurite: Azurite
) -> None:
    with TcpProxy(azurite.blob_port) as proxy:
        connection = blob_connection_via(azurite, proxy.port)
        w = build_worker({**worker_env, "RELAY_HMAC_KEY": RELAY_KEY, "AzureWebJobsStorage": connection})
        proxy.down()
        headers, data, _ = signed_job(runner)
        result = w.intake.handle("POST", headers, data)
    assert result.status == 503 and result.message is None
    assert result.body == {"message": "the request could not be checked; try again"}
