"""Faults of the imgix origin, injected by a scripted proxy in front of the real renderer.

Each test asserts exactly one terminal event per rendition with the contract's reason, no committed block for a
failed rendition, no staged source left, nothing written outside the job's names; and for a success, that the
committed rendition is byte-identical to what the renderer returned.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime

import pytest
from PIL import Image

from imgix_worker.service import Worker

from ..conftest import JobRunner, image_bytes
from .fakes import Reply, ScriptedProxy, Stall, Truncate
from .support import (
    Containers,
    Done,
    assert_contained,
    assert_failed_without_blocks,
    assert_one_event_each,
    run_checked,
)

PNG_120 = {"fmt": "png", "width": 120}


def faulty_worker(make_worker: Callable[..., Worker], proxy: ScriptedProxy, **settings: str) -> Worker:
    return make_worker(IMGIX_BASE_URL=proxy.url, **settings)


def assert_delivered_as_rendered(runner: JobRunner, done: Done, proxy: ScriptedProxy, index: int = 0) -> bytes:
    """The committed rendition is the body the renderer sent for that rendition's (last) request."""
    committed = runner.commit_and_read(done.targets[index])
    event = done.event(str(done.renditions[index]["name"]))
    assert event["type"] == "rendition_created", event
    assert committed in [body for _, body in proxy.forwarded()]
    assert event["metadata"]["repo:size"] == len(committed)
    return committed


def last_event_before_deadline(done: Done, deadline_seconds: int) -> None:
    """The contract: before the job's deadline every rendition has its event."""
    for event in done.events:
        sent = datetime.fromisoformat(str(event["date"]).replace("Z", "+00:00")).timestamp()
        assert sent - done.started < deadline_seconds, (sent - done.started, event)


def test_imgix_500_until_the_deadline_is_a_generic_error(
    runner: JobRunner,
    make_worker: Callable[..., Worker],
    imgix_proxy: ScriptedProxy,
    containers: Containers,
    worker_logs,
) -> None:  # type: ignore[no-untyped-def]
    imgix_proxy.default = Reply(500, body=b"500 internal error\n")
    worker = faulty_worker(make_worker, imgix_proxy, JOB_DEADLINE_SECONDS="8")  # 3 s of work, 5 s to report
    renditions = [{"name": "a.png", **PNG_120}, {"name": "b.png", "fmt": "png", "width": 60}]
    done = run_checked(runner, containers, image_bytes(), renditions, worker=worker)

    assert_one_event_each(done)
    assert_failed_without_blocks(done, containers, "GenericError")
    for event in done.events:
        message = str(event["errorMessage"])
        assert "HTTP 500" in message or "timed out" in message, message
    paths = [s.path.split("?")[1] for s in imgix_proxy.seen("GET")]
    assert all(paths.count(p) >= 2 for p in set(paths)) and len(set(paths)) == 2  # each one was retried
    last_event_before_deadline(done, 8)
    assert_contained(done, containers)


def test_imgix_500_then_200_succeeds_after_a_retry(
    runner: JobRunner,
    make_worker: Callable[..., Worker],
    imgix_proxy: ScriptedProxy,
    containers: Containers,
    worker_logs,
) -> None:  # type: ignore[no-untyped-def]
    imgix_proxy.script(Reply(500))
    worker = faulty_worker(make_worker, imgix_proxy)
    done = run_checked(runner, containers, image_bytes(), [{"name": "a.png", **PNG_120}], worker=worker)

    assert_one_event_each(done)
    seen = imgix_proxy.seen("GET")
    assert [s.action for s in seen] == ["reply 500", "forward"]
    assert seen[0].path == seen[1].path  # the same signed URL, retried
    committed = assert_delivered_as_rendered(runner, done, imgix_proxy)
    assert Image.open(io.BytesIO(committed)).size == (120, 90)
    assert_contained(done, containers)


def test_imgix_429_with_retry_after_is_honoured(
    runner: JobRunner, make_worker: Callable[..., Worker], imgix_proxy: ScriptedProxy, containers: Containers
) -> None:
    imgix_proxy.script(Reply(429, {"Retry-After": "1"}))
    worker = faulty_worker(make_worker, imgix_proxy)
    done = run_checked(runner, containers, image_bytes(), [{"name": "a.png", **PNG_120}], worker=worker)

    assert_one_event_each(done)
    first, second = imgix_proxy.seen("GET")
    # Without Retry-After the first retry waits at most 0.25 s; with it, at least the second imgix asked for.
    assert second.at - first.at >= 1.0
    assert_delivered_as_rendered(runner, done, imgix_proxy)
    assert_contained(done, containers)


def test_imgix_429_asking_past_the_deadline_fails_without_waiting(
    runner: JobRunner, make_worker: Callable[..., Worker], imgix_proxy: ScriptedProxy, containers: Containers
) -> None:
    imgix_proxy.script(Reply(429, {"Retry-After": "3600"}))
    worker = faulty_worker(make_worker, imgix_proxy)
    done = run_checked(runner, containers, image_bytes(), [{"name": "a.png", **PNG_120}], worker=worker)

    assert_one_event_each(done)
    assert_failed_without_blocks(done, containers, "GenericError")
    assert "429" in str(done.events[0]["errorMessage"])
    assert len(imgix_proxy.seen("GET")) == 1  # no pointless retry the deadline cannot hold
    assert_contained(done, containers)


def test_imgix_answering_past_the_deadline(
    runner: JobRunner,
    make_worker: Callable[..., Worker],
    imgix_proxy: ScriptedProxy,
    containers: Containers,
    worker_logs,
) -> None:  # type: ignore[no-untyped-def]
    imgix_proxy.default = Stall()  # answers only when the test releases it (at teardown)
    worker = faulty_worker(make_worker, imgix_proxy, JOB_DEADLINE_SECONDS="6")  # 1 s of work, 5 s to report
    renditions = [{"name": "a.png", **PNG_120}, {"name": "b.png", **PNG_120, "width": 80}]
    done = run_checked(runner, containers, image_bytes(), renditions, worker=worker)

    assert_one_event_each(done)
    assert_failed_without_blocks(done, containers, "GenericError")
    assert all("timed out" in str(e["errorMessage"]) for e in done.events)
    last_event_before_deadline(done, 6)
    assert_contained(done, containers)
    imgix_proxy.release()  # a late answer changes nothing: no second event, no delivery
    assert len(runner.services.events(done.request_id)) == 2


def test_imgix_truncated_once_is_retried_and_delivered_whole(
    runner: JobRunner,
    make_worker: Callable[..., Worker],
    imgix_proxy: ScriptedProxy,
    containers: Containers,
    worker_logs,
) -> None:  # type: ignore[no-untyped-def]
    imgix_proxy.script(Truncate())
    worker = faulty_worker(make_worker, imgix_proxy)
    big = {"name": "big.png", "fmt": "png", "width": 400}  # large enough that half of it is a real cut
    done = run_checked(runner, containers, image_bytes(size=(640, 480)), [big], worker=worker)

    assert_one_event_each(done)
    assert [s.action for s in imgix_proxy.seen("GET")] == ["truncate", "forward"]
    committed = assert_delivered_as_rendered(runner, done, imgix_proxy)
    assert Image.open(io.BytesIO(committed)).size == (400, 300)
    assert_contained(done, containers)


def test_imgix_always_truncated_never_reports_a_short_file_as_created(
    runner: JobRunner,
    make_worker: Callable[..., Worker],
    imgix_proxy: ScriptedProxy,
    containers: Containers,
    worker_logs,
) -> None:  # type: ignore[no-untyped-def]
    imgix_proxy.default = Truncate()
    worker = faulty_worker(make_worker, imgix_proxy, JOB_DEADLINE_SECONDS="7")
    done = run_checked(runner, containers, image_bytes(size=(640, 480)), [{"name": "a.png", **PNG_120}], worker=worker)

    assert_one_event_each(done)
    assert_failed_without_blocks(done, containers, "GenericError")
    assert len(imgix_proxy.seen("GET")) >= 2
    assert_contained(done, containers)


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (400, "RenditionInstructionsError"),
        (403, "GenericError"),
        (404, "GenericError"),
        (410, "GenericError"),
        (413, "SourceUnsupported"),
        (414, "RenditionInstructionsError"),
        (421, "SourceCorrupt"),
        (422, "SourceFormatUnsupported"),
        (501, "GenericError"),
    ],
)
def test_imgix_refusals_map_to_the_contract_reasons(
    status: int,
    reason: str,
    runner: JobRunner,
    make_worker: Callable[..., Worker],
    imgix_proxy: ScriptedProxy,
    containers: Containers,
    worker_logs,  # type: ignore[no-untyped-def]
) -> None:
    # imgix's error page may quote the request: the signature must not reach the event.
    imgix_proxy.default = Reply(status, body=lambda path: f"{status} refused {path}\n".encode())
    worker = faulty_worker(make_worker, imgix_proxy, JOB_DEADLINE_SECONDS="7")
    done = run_checked(runner, containers, image_bytes(), [{"name": "a.png", **PNG_120}], worker=worker)

    assert_one_event_each(done)
    assert_failed_without_blocks(done, containers, reason)
    signature = imgix_proxy.seen("GET")[0].path.rsplit("s=", 1)[1]
    assert signature not in str(done.events[0]["errorMessage"])
    if status < 500:
        assert len(imgix_proxy.seen("GET")) == 1  # a refusal is final: not retried
    assert_contained(done, containers)


def test_imgix_200_with_an_empty_body_is_not_a_rendition(
    runner: JobRunner, make_worker: Callable[..., Worker], imgix_proxy: ScriptedProxy, containers: Containers
) -> None:
    imgix_proxy.default = Reply(200, {"Content-Type": "image/png"})
    worker = faulty_worker(make_worker, imgix_proxy)
    done = run_checked(runner, containers, image_bytes(), [{"name": "a.png", **PNG_120}], worker=worker)

    assert_one_event_each(done)
    assert_failed_without_blocks(done, containers, "GenericError")
    assert_contained(done, containers)


def test_a_stack_trace_in_imgix_error_body_never_reaches_the_event(
    runner: JobRunner, make_worker: Callable[..., Worker], imgix_proxy: ScriptedProxy, containers: Containers
) -> None:
    trace = b'Traceback (most recent call last):\n  File "/srv/render.py", line 12, in render\nKeyError: w\n'
    imgix_proxy.default = Reply(400, body=trace)
    worker = faulty_worker(make_worker, imgix_proxy)
    done = run_checked(runner, containers, image_bytes(), [{"name": "a.png", **PNG_120}], worker=worker)

    assert done.reasons == ["RenditionInstructionsError"]
    assert_one_event_each(done)


def test_a_200_that_is_not_an_image_is_never_delivered(
    runner: JobRunner, make_worker: Callable[..., Worker], imgix_proxy: ScriptedProxy, containers: Containers
) -> None:
    imgix_proxy.default = Reply(200, body=b"<html><body>Service temporarily unavailable</body></html>")
    worker = faulty_worker(make_worker, imgix_proxy)
    done = run_checked(runner, containers, image_bytes(), [{"name": "a.png", **PNG_120}], worker=worker)

    assert done.reasons == ["GenericError"]
    assert_one_event_each(done)
    assert_failed_without_blocks(done, containers, "GenericError")
