"""Staging ends by the job's deadline: a source that trickles (`source.headers`, streamed by the worker) is given up
between chunks, and a source whose first read never answers is given up when the deadline comes, not after a whole HTTP
timeout. The source is AEM's blob in Azurite behind a scripted proxy; everything else is real.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PIL import Image

from imgix_worker.processor import REPORT_RESERVE_SECONDS
from imgix_worker.service import Worker
from imgix_worker.streamed_copy import BLOCK_BYTES
from local_platform.azurite import Azurite
from local_platform.tls import ensure_tls

from ..conftest import JobRunner, blob_connection_via
from .fakes import Reply, ScriptedProxy, Stall, Trickle
from .support import Containers, assert_contained, assert_one_event_each, run_checked

DEADLINE = 8  # JOB_DEADLINE_SECONDS: 3 s of work, 5 s to report
BOUND = 10  # seconds past the deadline a job may still take (reports, cleanup); the faults below last >= 40 s
RENDITIONS: list[dict[str, object]] = [{"name": "x.png", "fmt": "png", "width": 60}]


def _large_bmp() -> bytes:
    out = io.BytesIO()
    Image.effect_noise((1400, 1100), 60).convert("RGB").save(out, "BMP")  # 4.6 MB: more than one staged block
    return out.getvalue()


@pytest.fixture
def source_proxy(azurite: Azurite) -> Iterator[ScriptedProxy]:
    """AEM's storage behind a proxy whose script applies to reads of job sources only (not to targets)."""

    def is_source(method: str, path: str) -> bool:
        return method in ("GET", "HEAD") and "/aem/" in path and "/rendition" not in path

    with ScriptedProxy(
        f"https://localhost:{azurite.blob_port}", ensure_tls(), match=is_source, name="slow-source"
    ) as proxy:
        yield proxy


def via(proxy: ScriptedProxy, azurite: Azurite, headers: dict[str, str] | None) -> Callable[[dict[str, Any]], None]:
    """An `edit` for `run_checked`: the job's source is read through `proxy` (with `headers`, when given)."""

    def edit(body: dict[str, Any]) -> None:
        url = str(body["source"]).replace(f"//localhost:{azurite.blob_port}/", f"//localhost:{proxy.port}/")
        body["source"] = url if headers is None else {"url": url, "headers": headers}

    return edit


def slow_worker(make_worker: Callable[..., Worker], azurite: Azurite, proxy: ScriptedProxy) -> Worker:
    return make_worker(
        ALLOWED_HOSTS=f"localhost:{azurite.blob_port},localhost:{proxy.port}",
        JOB_DEADLINE_SECONDS=str(DEADLINE),
        HTTP_TIMEOUT_SECONDS="60",
    )


def test_a_trickling_source_with_headers_is_given_up_at_the_deadline_and_nothing_stays_staged(
    runner: JobRunner,
    make_worker: Callable[..., Worker],
    azurite: Azurite,
    source_proxy: ScriptedProxy,
    containers: Containers,
) -> None:
    worker = slow_worker(make_worker, azurite, source_proxy)
    # One block's worth at once (so a block is staged before the deadline), the rest over 40 s.
    source_proxy.default = Trickle(fast=BLOCK_BYTES + 65536, seconds=40)

    done = run_checked(
        runner,
        containers,
        _large_bmp(),
        RENDITIONS,
        worker=worker,
        name="photo.bmp",
        edit=via(source_proxy, azurite, {"X-Source-Key": "let-me-in"}),
    )

    assert done.seconds < DEADLINE + BOUND, done.seconds
    assert_one_event_each(done)
    (event,) = done.events
    assert (event["type"], event["errorReason"]) == ("rendition_failed", "GenericError")
    assert "timed out" in event["errorMessage"], event
    assert [s.action for s in source_proxy.seen("GET")] == ["trickle"]
    assert_contained(done, containers)  # neither a committed nor an uncommitted staged blob is left


def test_a_source_whose_first_read_never_answers_ends_by_the_deadline(
    runner: JobRunner,
    make_worker: Callable[..., Worker],
    azurite: Azurite,
    source_proxy: ScriptedProxy,
    containers: Containers,
) -> None:
    worker = slow_worker(make_worker, azurite, source_proxy)
    source_proxy.default = Stall()  # released when the proxy closes, long after the worker gave up

    done = run_checked(
        runner, containers, _large_bmp(), RENDITIONS, worker=worker, edit=via(source_proxy, azurite, None)
    )

    # The first read (a ranged GET) was started with what was left of the work deadline, not the 60 s HTTP timeout.
    assert done.seconds < DEADLINE - REPORT_RESERVE_SECONDS + BOUND, done.seconds
    assert_one_event_each(done)
    assert [e["errorReason"] for e in done.events] == ["GenericError"]
    assert "timed out" in done.events[0]["errorMessage"]
    assert [s.method for s in source_proxy.seen()] == ["GET"]
    assert_contained(done, containers)


def test_a_server_side_copy_that_never_answers_ends_by_the_deadline(
    runner: JobRunner, make_worker: Callable[..., Worker], azurite: Azurite, containers: Containers
) -> None:
    def is_staging_copy(method: str, path: str) -> bool:  # Copy Blob From URL into imgix/tests/<job>/source.<ext>
        return method == "PUT" and "/source." in path and "comp=" not in path

    with ScriptedProxy(
        f"https://localhost:{azurite.blob_port}", ensure_tls(), match=is_staging_copy, name="storage"
    ) as storage:
        storage.default = Stall(then=Reply(503))  # never forwarded: Azurite copies nothing after the test
        connection = blob_connection_via(azurite, storage.port)
        worker = make_worker(
            IMGIX_SOURCE_CONNECTION_STRING=connection, JOB_DEADLINE_SECONDS=str(DEADLINE), HTTP_TIMEOUT_SECONDS="60"
        )
        done = run_checked(runner, containers, _large_bmp(), RENDITIONS, worker=worker, name="photo.bmp")

        assert done.seconds < DEADLINE - REPORT_RESERVE_SECONDS + BOUND, done.seconds
        assert_one_event_each(done)
        assert [e["errorReason"] for e in done.events] == ["GenericError"]
        assert [s.action for s in storage.seen("PUT") if is_staging_copy("PUT", s.path)] == ["stall"]
        assert_contained(done, containers)
