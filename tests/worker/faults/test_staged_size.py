"""The staged blob's own size is what counts, and an asynchronous copy never outlives the deadline.

A source that grows between the worker's HEAD and the copy (the proxy in front of Azurite replaces it just before
it forwards the copy) must still be refused as too large; a copy that stays pending (the proxy reports Azurite's
finished copy as pending) is aborted at the deadline, and nothing is left staged.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from imgix_worker.blob_calls import BlobCalls
from imgix_worker.errors import GenericError, SourceUnsupported
from imgix_worker.jobs import Job, decode_message
from imgix_worker.service import Worker
from imgix_worker.staging import Stager
from imgix_worker.transport import Deadline
from local_platform.azurite import Azurite
from local_platform.platform import IMGIX_CONTAINER
from local_platform.tls import ensure_tls

from ..conftest import JobRunner, blob_connection_via, image_bytes
from .fakes import PASS, Action, ScriptedProxy
from .support import STAGING_PREFIX, Containers, assert_contained, assert_one_event_each, run_checked

SMALL = image_bytes()
GROWN = SMALL + b"\0" * 200_000  # still a JPEG to the sniffer, and over the limit below
LIMIT = str(len(SMALL) + 50_000)


@dataclass(frozen=True)
class ThenForward(Action):
    """Run `before()` (the source changes under the worker's feet), then forward as usual."""

    before: Callable[[], None]
    name = "change-then-forward"

    def serve(self, handler: Any, body: bytes) -> None:
        self.before()
        PASS.serve(handler, body)


class AsPending(Action):
    """Forward, and report the blob's copy as still pending whatever Azurite says."""

    name = "as-pending"

    def serve(self, handler: Any, body: bytes) -> None:
        response = handler.proxy.forward(handler, body)
        headers = {**response.headers, "x-ms-copy-status": "pending", "x-ms-copy-progress": "1/2"}
        handler.relay(response.status_code, headers, response.content)


def is_staging_copy(method: str, path: str) -> bool:  # PUT imgix/tests/<job>/source.<ext>, no ?comp=
    return method == "PUT" and f"/{IMGIX_CONTAINER}/" in path and "/source." in path and "comp=" not in path


@pytest.fixture
def storage_proxy(azurite: Azurite) -> Iterator[ScriptedProxy]:
    with ScriptedProxy(
        f"https://localhost:{azurite.blob_port}", ensure_tls(), match=is_staging_copy, name="storage"
    ) as proxy:
        yield proxy


def grow(containers: Containers, body: dict[str, Any]) -> Callable[[], None]:
    source_blob = str(body["source"]).split("/aem/", 1)[1].split("?", 1)[0]

    def replace() -> None:
        containers.aem.get_blob_client(source_blob).upload_blob(GROWN, overwrite=True)

    return replace


def test_a_source_that_grew_after_its_head_is_refused_as_too_large(
    runner: JobRunner,
    make_worker: Callable[..., Worker],
    azurite: Azurite,
    storage_proxy: ScriptedProxy,
    containers: Containers,
) -> None:
    worker = make_worker(
        IMGIX_SOURCE_CONNECTION_STRING=blob_connection_via(azurite, storage_proxy.port), MAX_SOURCE_BYTES=LIMIT
    )
    renditions: list[dict[str, object]] = [{"name": "a.png", "fmt": "png"}, {"name": "b.jpg", "fmt": "jpg"}]

    def arm(body: dict[str, Any]) -> None:
        storage_proxy.script(ThenForward(grow(containers, body)))

    done = run_checked(runner, containers, SMALL, renditions, worker=worker, edit=arm)
    assert_one_event_each(done)
    assert [(e["type"], e["errorReason"]) for e in done.events] == [("rendition_failed", "SourceUnsupported")] * 2
    assert [s.action for s in storage_proxy.seen("PUT") if is_staging_copy("PUT", s.path)] == ["change-then-forward"]
    assert_contained(done, containers)


def staged_job(runner: JobRunner, source: bytes) -> tuple[Job, dict[str, Any]]:
    body, _ = runner.job(source, [{"name": "x.png", "fmt": "png"}])
    result = runner.worker.intake.handle("POST", runner.headers(), json.dumps(body).encode())
    assert result.message is not None
    return decode_message(result.message), body


def async_stager(runner: JobRunner, azurite: Azurite, proxy: ScriptedProxy) -> Stager:
    """The worker's Stager on a container reached through `proxy`, taking the asynchronous Copy Blob path."""
    from azure.storage.blob import ContainerClient

    container = ContainerClient.from_connection_string(
        blob_connection_via(azurite, proxy.port),
        IMGIX_CONTAINER,
        connection_verify=str(azurite.tls.ca_cert),
        retry_total=0,
    )
    http = runner.worker.processor._stager._http
    return Stager(
        container,
        BlobCalls(container, http),
        http,
        prefix=STAGING_PREFIX,
        allowed_types=("image/jpeg",),
        max_source_bytes=int(LIMIT),
        copy_poll_seconds=0.05,
        sync_copy_max_bytes=100,  # every test source is larger: Copy Blob, polled
    )


def test_an_asynchronous_copy_is_checked_by_its_staged_size(
    runner: JobRunner, azurite: Azurite, storage_proxy: ScriptedProxy, containers: Containers
) -> None:
    job, body = staged_job(runner, SMALL)
    stager = async_stager(runner, azurite, storage_proxy)
    storage_proxy.script(ThenForward(grow(containers, body)))
    with pytest.raises(SourceUnsupported, match="at most"):
        stager.stage(job, Deadline.after(30))
    stager.remove(job)
    assert list(containers.imgix.list_blobs(name_starts_with=f"{STAGING_PREFIX}/{job.job_id}/")) == []


def test_an_asynchronous_copy_pending_at_the_deadline_is_aborted(
    runner: JobRunner, azurite: Azurite, containers: Containers
) -> None:
    job, _ = staged_job(runner, SMALL)

    def is_status_poll(method: str, path: str) -> bool:  # Get Blob Properties of the staged blob
        return method == "HEAD" and f"/{IMGIX_CONTAINER}/{STAGING_PREFIX}/{job.job_id}/source." in path

    with ScriptedProxy(
        f"https://localhost:{azurite.blob_port}", ensure_tls(), match=is_status_poll, default=AsPending()
    ) as proxy:
        stager = async_stager(runner, azurite, proxy)
        with pytest.raises(GenericError, match="did not finish before the deadline"):
            stager.stage(job, Deadline.after(1.5))
        aborts = [s for s in proxy.seen("PUT") if "comp=copy" in s.path and "copyid=" in s.path.lower()]
        assert len(aborts) == 1, proxy.seen()
        stager.remove(job)
    assert list(containers.imgix.list_blobs(name_starts_with=f"{STAGING_PREFIX}/{job.job_id}/")) == []
