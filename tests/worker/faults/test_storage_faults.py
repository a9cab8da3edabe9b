"""Azure Storage faults: Azurite unreachable (a TCP relay in front of its blob port, switched down, so Azurite's
in-memory data survives) and Azurite answering 5xx (a scripted HTTPS proxy in front of it).

"During staging": the worker's own blob client (imgix source container) and the job's source URL go through the
relay. "During delivery": only the targets do, on another host:port than the source, so staging and cleanup work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from imgix_worker.service import Worker
from local_platform.asset_compute_storage import TargetOptions
from local_platform.azurite import Azurite
from local_platform.tls import ensure_tls

from ..conftest import JobRunner, blob_connection_via, image_bytes
from .fakes import Reply, ScriptedProxy, TcpProxy
from .support import (
    Containers,
    assert_contained,
    assert_failed_without_blocks,
    assert_one_event_each,
    committed_blocks,
    event_delays,
    heal_after,
    run_checked,
)

RENDITIONS = [{"name": "a.png", "fmt": "png", "width": 100}, {"name": "b.jpg", "fmt": "jpg", "width": 50}]


@pytest.fixture
def relay(azurite: Azurite) -> Iterator[TcpProxy]:
    with TcpProxy(azurite.blob_port) as proxy:
        yield proxy


def via(url: str, azurite: Azurite, port: int) -> str:
    return url.replace(f"//localhost:{azurite.blob_port}/", f"//localhost:{port}/", 1)


def retarget(body: dict[str, Any], azurite: Azurite, port: int) -> None:
    """Point every rendition target of the job at `port` (the SAS does not sign the host, so it still verifies)."""
    for rendition in body["renditions"]:
        target = rendition["target"]
        if isinstance(target, str):
            rendition["target"] = via(target, azurite, port)
        else:
            target["urls"] = [via(u, azurite, port) for u in target["urls"]]


def worker_through(make_worker: Callable[..., Worker], azurite: Azurite, port: int, **settings: str) -> Worker:
    """A worker whose blob client reaches Azurite through `port`, allowed to use both ports."""
    connection = blob_connection_via(azurite, port)
    return make_worker(
        ALLOWED_HOSTS=f"localhost:{azurite.blob_port},localhost:{port}",
        IMGIX_SOURCE_CONNECTION_STRING=connection,
        **settings,
    )


def worker_allowing(make_worker: Callable[..., Worker], azurite: Azurite, port: int, **settings: str) -> Worker:
    """A worker with direct storage that also accepts source/targets on `port`."""
    return make_worker(ALLOWED_HOSTS=f"localhost:{azurite.blob_port},localhost:{port}", **settings)


def test_azurite_unreachable_during_staging(
    runner: JobRunner, make_worker: Callable[..., Worker], azurite: Azurite, relay: TcpProxy, containers: Containers
) -> None:
    worker = worker_through(make_worker, azurite, relay.port, JOB_DEADLINE_SECONDS="6")  # 1 s of work

    def source_via_relay(body: dict[str, Any]) -> None:
        body["source"] = via(str(body["source"]), azurite, relay.port)
        retarget(body, azurite, relay.port)
        relay.down()  # the job is in AEM's container; from now on storage is unreachable

    done = run_checked(
        runner,
        containers,
        image_bytes(),
        RENDITIONS,
        worker=worker,
        edit=source_via_relay,
        process=heal_after(runner, len(RENDITIONS), 6, relay.up),  # after the deadline, storage comes back
    )

    assert_one_event_each(done)
    assert done.reasons == ["GenericError"] * 2
    assert relay.refused >= 1
    assert max(event_delays(done)) < 6, event_delays(done)  # the ledger's markers cannot be read or written


def test_azurite_unreachable_during_delivery(
    runner: JobRunner, make_worker: Callable[..., Worker], azurite: Azurite, relay: TcpProxy, containers: Containers
) -> None:
    worker = worker_allowing(make_worker, azurite, relay.port, JOB_DEADLINE_SECONDS="8")
    relay.down()
    done = run_checked(
        runner,
        containers,
        image_bytes(),
        RENDITIONS,
        worker=worker,
        edit=lambda body: retarget(body, azurite, relay.port),
    )

    assert_one_event_each(done)
    assert_failed_without_blocks(done, containers, "GenericError")
    assert relay.refused >= 4  # two renditions, each tried more than once
    assert max(event_delays(done)) < 8, event_delays(done)
    assert_contained(done, containers)


def test_azurite_dropping_connections_during_delivery_then_back(
    runner: JobRunner, make_worker: Callable[..., Worker], azurite: Azurite, relay: TcpProxy, containers: Containers
) -> None:
    worker = worker_allowing(make_worker, azurite, relay.port)
    relay.fail_next(3)
    single = TargetOptions(kind="single")
    done = run_checked(
        runner,
        containers,
        image_bytes(),
        RENDITIONS[:1],
        worker=worker,
        targets=single,
        edit=lambda body: retarget(body, azurite, relay.port),
    )

    assert_one_event_each(done)
    assert done.reasons == [None]
    assert relay.refused == 3
    assert containers.aem.get_blob_client(done.targets[0]).download_blob().readall()[:8] == b"\x89PNG\r\n\x1a\n"
    assert_contained(done, containers)


@pytest.fixture
def storage_proxy(azurite: Azurite) -> Iterator[ScriptedProxy]:
    """Azurite's blob endpoint behind a scripted proxy; only the staging copy (Copy Blob From URL) is scripted."""

    def is_copy(method: str, path: str) -> bool:  # PUT <container>/tests/<job>/source.<ext>, no ?comp=
        return method == "PUT" and "/imgix/" in path and "/source." in path and "comp=" not in path

    with ScriptedProxy(f"https://localhost:{azurite.blob_port}", ensure_tls(), match=is_copy, name="storage") as proxy:
        yield proxy


def test_staging_copy_answering_503_then_201(
    runner: JobRunner,
    make_worker: Callable[..., Worker],
    azurite: Azurite,
    storage_proxy: ScriptedProxy,
    containers: Containers,
) -> None:
    storage_proxy.script(Reply(503, {"x-ms-error-code": "ServerBusy"}))
    worker = worker_through(make_worker, azurite, storage_proxy.port)
    done = run_checked(runner, containers, image_bytes(), RENDITIONS, worker=worker)

    assert_one_event_each(done)
    assert done.reasons == [None, None]
    copies = [s for s in storage_proxy.seen("PUT") if "/source." in s.path and "comp=" not in s.path]
    assert [s.action for s in copies] == ["reply 503", "forward"]
    for blob in done.targets:
        assert runner.aem.commit_blocks(blob) == 1
    assert_contained(done, containers)


def test_staging_copy_always_failing_is_a_generic_error_before_the_deadline(
    runner: JobRunner,
    make_worker: Callable[..., Worker],
    azurite: Azurite,
    storage_proxy: ScriptedProxy,
    containers: Containers,
) -> None:
    storage_proxy.default = Reply(500, {"x-ms-error-code": "InternalError"})
    worker = worker_through(make_worker, azurite, storage_proxy.port, JOB_DEADLINE_SECONDS="8")

    def heal() -> None:
        storage_proxy.default = Reply(409, {"x-ms-error-code": "CannotVerifyCopySource"})  # final, not retried

    done = run_checked(
        runner, containers, image_bytes(), RENDITIONS, worker=worker, process=heal_after(runner, 2, 8, heal)
    )

    assert_one_event_each(done)
    assert_failed_without_blocks(done, containers, "GenericError")
    for blob in done.targets:
        assert committed_blocks(containers, blob) == []
    assert_contained(done, containers)
    assert max(event_delays(done)) < 8, event_delays(done)
