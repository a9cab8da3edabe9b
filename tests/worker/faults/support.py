"""Running one job with everything checked around it: what it reported, and what it wrote (and left) in storage.

`run_checked` takes a snapshot of both containers (AEM's and the imgix source's, uncommitted blobs included), runs
the job through the intake and the processor, and snapshots again, so `assert_contained` can prove that nothing
was written outside the job's own names and that no staged source is left behind (report markers are allowed:
the ledger keeps them, the lifecycle rule removes them).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from imgix_worker.jobs import decode_message
from imgix_worker.service import Worker
from local_platform.asset_compute_storage import TargetOptions
from local_platform.azurite import Azurite
from local_platform.platform import IMGIX_CONTAINER

from ..conftest import JobRunner, build_worker

__all__ = [
    "Containers",
    "Done",
    "assert_contained",
    "assert_failed_without_blocks",
    "assert_one_event_each",
    "committed_blocks",
    "containers",
    "event_delays",
    "heal_after",
    "make_worker",
    "run_checked",
]

STAGING_PREFIX = "tests"  # worker_env's STAGING_PREFIX
STACK_TRACE_MARKERS = ("Traceback", 'File "', "most recent call last")


@dataclass
class Containers:
    """Direct clients (no proxy in between) of the AEM container and of the imgix source container."""

    aem: Any
    imgix: Any

    def snapshot(self) -> tuple[set[str], set[str]]:
        return _names(self.aem), _names(self.imgix)


def _names(container: Any) -> set[str]:
    return {b.name for b in container.list_blobs(include=["uncommittedblobs"])}


@pytest.fixture(scope="session")
def containers(azurite: Azurite) -> Iterator[Containers]:
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(
        azurite.connection_string, connection_verify=str(azurite.tls.ca_cert)
    )
    aem = service.get_container_client("aem")
    if not aem.exists():
        aem.create_container()
    imgix = service.get_container_client(IMGIX_CONTAINER)
    if not imgix.exists():
        imgix.create_container()
    yield Containers(aem, imgix)
    service.close()


@pytest.fixture
def make_worker(worker_env: dict[str, str]) -> Callable[..., Worker]:
    """Builds workers from `worker_env` with some settings changed."""

    def make(**settings: str) -> Worker:
        return build_worker(worker_env | settings)

    return make


@dataclass
class Done:
    """A job that went through the intake and the processor, and what came of it."""

    status: int
    body: dict[str, object] | None
    request_id: str
    job_id: str
    key: str
    renditions: list[dict[str, object]]
    targets: list[str]
    events: list[dict[str, Any]]
    started: float  # wall clock (time.time()) when processing started
    seconds: float
    aem_new: set[str]
    imgix_new: set[str]

    def event(self, name: str) -> dict[str, Any]:
        (found,) = [e for e in self.events if e["rendition"].get("name") == name]
        return found

    @property
    def reasons(self) -> list[str | None]:
        """The errorReason of each rendition's event (None for created), in rendition order."""
        return [self.event(str(r["name"])).get("errorReason") for r in self.renditions]


def run_checked(
    runner: JobRunner,
    containers: Containers,
    source: bytes,
    renditions: list[dict[str, object]],
    *,
    worker: Worker | None = None,
    targets: TargetOptions | None = None,
    name: str = "a.jpg",
    edit: Callable[[dict[str, Any]], None] | None = None,
    process: Callable[[Worker, str], object] | None = None,
) -> Done:
    """Make the job (source in AEM's container, pre-signed targets), let `edit` change its body, run it.

    `process(worker, message)` replaces `worker.process_message(message)` (e.g. to run it in a thread).
    """
    worker = worker or runner.worker
    body, blobs = runner.job(source, renditions, targets=targets, name=name)
    if edit is not None:
        edit(body)
    key = blobs[0].split("/")[0]
    aem_before, imgix_before = containers.snapshot()
    headers = runner.headers()
    result = worker.intake.handle("POST", headers, json.dumps(body).encode(), recipe=None)
    assert result.status == 200, result.body
    assert result.message is not None and isinstance(result.body, dict)
    started_wall, started = time.time(), time.monotonic()
    if process is None:
        worker.process_message(result.message)
    else:
        process(worker, result.message)
    seconds = time.monotonic() - started
    aem_after, imgix_after = containers.snapshot()
    return Done(
        status=result.status,
        body=result.body,
        request_id=headers["x-request-id"],
        job_id=str(result.body["activationId"]),
        key=key,
        renditions=renditions,
        targets=blobs,
        events=runner.services.events(headers["x-request-id"]),
        started=started_wall,
        seconds=seconds,
        aem_new=aem_after - aem_before,
        imgix_new=imgix_after - imgix_before,
    )


def assert_one_event_each(done: Done) -> None:
    """Exactly one terminal event per rendition, none without a rendition, and no stack trace in any message."""
    names = sorted(str(r["name"]) for r in done.renditions)
    assert sorted(str(e["rendition"].get("name")) for e in done.events) == names, done.events
    for event in done.events:
        assert event["type"] in ("rendition_created", "rendition_failed")
        text = json.dumps(event)
        assert not any(marker in text for marker in STACK_TRACE_MARKERS), event
        assert "sig=" not in text and "eyJ" not in text, event


def assert_contained(done: Done, containers: Containers) -> None:
    """Nothing written outside the job's names; no staged source left (report markers are allowed)."""
    stray_aem = {n for n in done.aem_new if not n.startswith(f"{done.key}/")}
    assert stray_aem == set(), f"written outside the job's AEM names: {stray_aem}"
    markers = f"{STAGING_PREFIX}/{done.job_id}/reported/"
    stray_imgix = {n for n in done.imgix_new if not n.startswith(markers)}
    assert stray_imgix == set(), f"left in the imgix container: {stray_imgix}"
    left = {b.name for b in containers.imgix.list_blobs(name_starts_with=f"{STAGING_PREFIX}/{done.job_id}/")}
    assert {n for n in left if "/reported/" not in n} == set(), f"staged source left behind: {left}"


def committed_blocks(containers: Containers, blob: str) -> list[object]:
    """The committed blocks of an AEM blob (none when it does not exist)."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        committed, _ = containers.aem.get_blob_client(blob).get_block_list("committed")
    except ResourceNotFoundError:
        return []
    return list(committed)


def assert_failed_without_blocks(done: Done, containers: Containers, reason: str) -> None:
    """Every rendition failed with `reason`, and no target has a committed block."""
    assert done.reasons == [reason] * len(done.renditions), done.events
    for blob in done.targets:
        assert committed_blocks(containers, blob) == [], blob
        assert not containers.aem.get_blob_client(blob).exists(), f"{blob} exists"


def event_delays(done: Done) -> list[float]:
    """Seconds from the start of processing to each event (by the event's own `date`)."""
    return [
        datetime.fromisoformat(str(e["date"]).replace("Z", "+00:00")).timestamp() - done.started for e in done.events
    ]


def heal_after(runner: JobRunner, count: int, wait_seconds: float, heal: Callable[[], None]) -> Callable[..., None]:
    """A `process` for `run_checked`: run the job in a thread, wait on the journal for its `count` events for at
    most `wait_seconds` (the job's deadline), then `heal()` the fault so the job ends, and wait for it.

    For faults the worker should handle within its deadline but may not: the test still ends soon after.
    """

    def process(worker: Worker, message: str) -> None:
        job = decode_message(message)
        thread = threading.Thread(target=worker.process_message, args=(message,), name="job", daemon=True)
        thread.start()
        try:
            runner.services.wait_for_events(job.request_id, count, timeout=wait_seconds)
        finally:
            heal()
            thread.join(300)
        assert not thread.is_alive(), "the job did not end after the fault was healed"

    return process
