"""The whole worker on real parts: intake -> queue message -> stage -> imgix (local renderer) -> targets -> events."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler

import pytest
from PIL import Image

from imgix_worker.blob_calls import BlobCalls
from imgix_worker.jobs import decode_message
from imgix_worker.staging import Stager
from imgix_worker.transport import Deadline
from local_platform.adobe_services import LocalHttpsServer
from local_platform.asset_compute_storage import TargetOptions
from local_platform.tls import ensure_tls

from .conftest import JobRunner, build_worker, image_bytes

StagedBlobs = Callable[[], list[str]]


def _staged(container: object, prefix: str = "tests/") -> list[str]:
    names = [b.name for b in container.list_blobs(name_starts_with=prefix)]  # type: ignore[attr-defined]
    return [n for n in names if "/reported/" not in n]  # report markers are not sources


@pytest.fixture
def staged_blobs(imgix_container: object) -> StagedBlobs:
    """Staged sources this test left in the imgix container. Those other tests left (a fault test whose cleanup
    was made to fail leaves its source to the lifecycle rule) do not count."""
    before = set(_staged(imgix_container))
    return lambda: [name for name in _staged(imgix_container) if name not in before]


def by_name(events: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {e["rendition"]["name"]: e for e in events}  # type: ignore[index]


def test_three_renditions_with_the_middle_one_invalid(runner: JobRunner, staged_blobs: StagedBlobs) -> None:
    renditions = [
        {"name": "small.png", "fmt": "png", "width": 100},
        {"name": "broken.jpg", "fmt": "jpg", "imgix": "{not json"},
        {
            "name": "circle.png",
            "fmt": "png",
            "recipe": "circle",
            "size": "120",
            "contrast": "0.25",
            "brightness": "0.1",
        },
    ]
    done = runner.run(image_bytes(), renditions)
    assert done.status == 200 and isinstance(done.body, dict) and done.body["activationId"]
    events = by_name(done.events)
    assert len(done.events) == 3
    assert events["small.png"]["type"] == "rendition_created"
    assert events["circle.png"]["type"] == "rendition_created"
    assert events["broken.jpg"]["type"] == "rendition_failed"
    assert events["broken.jpg"]["errorReason"] == "RenditionInstructionsError"

    small = Image.open(io.BytesIO(runner.commit_and_read(done.blobs[0])))
    assert small.format == "PNG" and small.size == (100, 75)
    meta = events["small.png"]["metadata"]
    assert meta["tiff:imageWidth"] == 100 and meta["tiff:imageHeight"] == 75 and meta["dc:format"] == "image/png"
    circle_bytes = runner.commit_and_read(done.blobs[2])
    circle = Image.open(io.BytesIO(circle_bytes)).convert("RGBA")
    assert circle.size == (120, 120)
    assert circle.getpixel((0, 0))[3] == 0 and circle.getpixel((60, 60))[3] == 255
    assert events["circle.png"]["metadata"]["repo:size"] == len(circle_bytes)
    import hashlib

    assert events["circle.png"]["metadata"]["repo:sha1"] == hashlib.sha1(circle_bytes).hexdigest()
    assert staged_blobs() == []  # the staged source is gone after success


def test_events_follow_the_contract_and_carry_no_secret(runner: JobRunner) -> None:
    done = runner.run(image_bytes(), [{"name": "r.png", "fmt": "png", "width": 50, "custom": "kept"}])
    (event,) = done.events
    assert event["requestId"] == done.request_id
    assert event["userData"] == {"asset": "a.jpg"}
    assert "target" not in event["rendition"]  # type: ignore[operator]
    assert event["rendition"]["custom"] == "kept"  # type: ignore[index]
    assert "?" not in str(event["source"]) and str(event["source"]).startswith("https://localhost:")
    assert event["activationIds"] == [done.body["activationId"]]  # type: ignore[index]
    assert event["date"].endswith("Z")  # type: ignore[union-attr]
    text = json.dumps(event)
    assert "sig=" not in text and "eyJ" not in text
    assert runner.services.rejected_calls() == []


def test_each_error_reason(runner: JobRunner, worker_env: dict[str, str], staged_blobs: StagedBlobs) -> None:
    small_sources = build_worker({**worker_env, "MAX_SOURCE_BYTES": "100"})
    cases = {
        "SourceCorrupt": runner.run(b"", [{"name": "x.png", "fmt": "png"}]),
        "SourceFormatUnsupported": runner.run(b"%PDF-1.4\n%%EOF\n", [{"name": "x.png", "fmt": "png"}]),
        "RenditionFormatUnsupported": runner.run(image_bytes(), [{"name": "x.tif", "fmt": "tif"}]),
        "RenditionInstructionsError": runner.run(image_bytes(), [{"name": "x.png", "w": "-5"}]),
        "RenditionTooLarge": runner.run(
            image_bytes(size=(400, 400)),
            [{"name": "x.png", "fmt": "png"}],
            targets=TargetOptions(estimated_size=20, min_part_size=10, max_part_size=10),
        ),
        "SourceUnsupported": runner.run(
            image_bytes(),
            [{"name": "x.png", "fmt": "png"}],
            worker=small_sources,
        ),
    }
    for reason, done in cases.items():
        assert [e["errorReason"] for e in done.events] == [reason], reason
        assert all("sig=" not in str(e["errorMessage"]) for e in done.events)
    assert staged_blobs() == []  # gone after every failure


def test_an_unreadable_source_is_a_generic_error(runner: JobRunner) -> None:
    body, _ = runner.job(image_bytes(), [{"name": "x.png", "fmt": "png"}])
    body["source"] = str(body["source"]).replace("sig=", "sig=0")  # a source URL AEM no longer honours
    result = runner.worker.intake.handle("POST", (headers := runner.headers()), json.dumps(body).encode())
    assert result.message is not None
    runner.worker.process_message(result.message)
    (event,) = runner.services.events(headers["x-request-id"])
    assert event["errorReason"] == "GenericError" and "403" in str(event["errorMessage"])


def test_a_retried_message_overwrites_the_staged_source(runner: JobRunner, staged_blobs: StagedBlobs) -> None:
    body, _ = runner.job(image_bytes(), [{"name": "x.png", "fmt": "png"}])
    result = runner.worker.intake.handle("POST", runner.headers(), json.dumps(body).encode())
    assert result.message is not None
    job = decode_message(result.message)
    stager: Stager = runner.worker.processor._stager  # the same stager a redelivered message would use
    first = stager.stage(job, Deadline.after(30))
    second = stager.stage(job, Deadline.after(30))
    assert first.blob_name == second.blob_name
    assert staged_blobs() == [first.blob_name]
    stager.remove(job)
    assert staged_blobs() == []


def test_data_uri_sources_are_written_by_the_worker(runner: JobRunner) -> None:
    import base64

    body, blobs = runner.job(image_bytes(), [{"name": "d.png", "fmt": "png", "w": 40}])
    body["source"] = "data:image/jpeg;base64," + base64.b64encode(image_bytes()).decode()
    headers = runner.headers()
    result = runner.worker.intake.handle("POST", headers, json.dumps(body).encode())
    assert result.message is not None
    runner.worker.process_message(result.message)
    (event,) = runner.services.events(headers["x-request-id"])
    assert event["type"] == "rendition_created" and event["source"] == "data:"
    assert Image.open(io.BytesIO(runner.commit_and_read(blobs[0]))).width == 40


@pytest.fixture
def stalled_imgix() -> Iterator[str]:
    """An imgix origin that accepts requests and answers only when the test ends."""
    release = threading.Event()

    class Stall(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            release.wait(30)
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = LocalHttpsServer(Stall, ensure_tls())
    thread = server.serve_in_background("stalled-imgix")
    try:
        yield server.url
    finally:
        release.set()
        server.shutdown()
        thread.join()
        server.server_close()


def test_renditions_unfinished_at_the_deadline_fail_and_nothing_is_left(
    runner: JobRunner, worker_env: dict[str, str], stalled_imgix: str, staged_blobs: StagedBlobs
) -> None:
    # A 6 s deadline leaves 1 s of work after the 5 s reserved for reporting.
    settings = {**worker_env, "IMGIX_BASE_URL": stalled_imgix, "JOB_DEADLINE_SECONDS": "6"}
    slow = build_worker(settings)
    renditions = [{"name": "a.png", "fmt": "png"}, {"name": "b.png", "fmt": "png"}]
    done = runner.run(image_bytes(), renditions, worker=slow)
    assert sorted((e["type"], e["errorReason"]) for e in done.events) == [("rendition_failed", "GenericError")] * 2
    assert all("timed out" in str(e["errorMessage"]) for e in done.events)
    assert staged_blobs() == []


def test_a_poisoned_job_fails_every_rendition(runner: JobRunner) -> None:
    body, _ = runner.job(image_bytes(), [{"name": "a.png", "fmt": "png"}, {"name": "b.png", "fmt": "png"}])
    headers = runner.headers()
    result = runner.worker.intake.handle("POST", headers, json.dumps(body).encode())
    assert result.message is not None
    runner.worker.fail_message(result.message)
    events = runner.services.events(headers["x-request-id"])
    assert [e["type"] for e in events] == ["rendition_failed"] * 2


def test_a_redelivered_message_reports_nothing_twice(runner: JobRunner) -> None:
    body, _ = runner.job(image_bytes(), [{"name": "a.png", "fmt": "png"}, {"name": "b.jpg", "fmt": "tif"}])
    headers = runner.headers()
    result = runner.worker.intake.handle("POST", headers, json.dumps(body).encode())
    assert result.message is not None
    first = runner.worker.process_message(result.message, dequeue_count=1)
    again = runner.worker.process_message(result.message, dequeue_count=2)  # redelivered after an instance died
    runner.worker.fail_message(result.message)  # and even a poisoned copy adds nothing
    assert (first.created, first.failed) == (1, 1)
    assert (again.created, again.failed) == (0, 0)
    events = runner.services.events(headers["x-request-id"])
    assert sorted(e["type"] for e in events) == ["rendition_created", "rendition_failed"]


def test_large_sources_are_copied_asynchronously_and_polled(
    runner: JobRunner, imgix_container: object, staged_blobs: StagedBlobs
) -> None:
    # The same Stager the worker uses, with the synchronous-copy limit lowered so a small source takes the
    # asynchronous Copy Blob path that sources over 256 MiB take.
    source = image_bytes(size=(640, 480))
    body, _ = runner.job(source, [{"name": "x.png", "fmt": "png"}])
    result = runner.worker.intake.handle("POST", runner.headers(), json.dumps(body).encode())
    assert result.message is not None
    job = decode_message(result.message)
    real: Stager = runner.worker.processor._stager
    stager = Stager(
        imgix_container,  # type: ignore[arg-type]
        BlobCalls(imgix_container, real._http),  # type: ignore[arg-type]
        real._http,
        prefix="tests",
        allowed_types=("image/jpeg",),
        max_source_bytes=10_000_000,
        copy_poll_seconds=0.05,
        sync_copy_max_bytes=100,
    )
    staged = stager.stage(job, Deadline.after(30))
    blob = imgix_container.get_blob_client(staged.blob_name)  # type: ignore[attr-defined]
    properties = blob.get_blob_properties()
    assert properties.copy.status == "success" and properties.size == len(source)
    assert properties.content_settings.content_type == "image/jpeg"
    assert blob.download_blob().readall() == source
    stager.remove(job)
    assert staged_blobs() == []


@pytest.mark.parametrize("message", [b"not json", b'{"v": 1}', b"z1:!!!", b'{"v": 2, "jobId": "x"}'])
def test_unreadable_messages_are_dropped_not_retried(runner: JobRunner, message: bytes) -> None:
    assert runner.worker.process_message(message).results == {}
    assert runner.worker.fail_message(message).results == {}
