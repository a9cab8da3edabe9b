"""The contract's instructions and source reasons through the whole worker on real parts (Azurite, the local
renderer, the events stand-in): embedded renditions, source headers, dimension caps, DPI, pixel bombs."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import pytest
from PIL import Image

from imgix_worker.jobs import decode_message
from imgix_worker.service import Worker
from imgix_worker.staging import Stager
from imgix_worker.streamed_copy import BLOCK_BYTES
from imgix_worker.transport import Deadline
from local_platform.adobe_services import LocalHttpsServer
from local_platform.asset_compute_storage import TargetOptions
from local_platform.azurite import Azurite
from local_platform.tls import ensure_tls

from .bad_input import files
from .conftest import JobRunner, image_bytes
from .faults.support import Containers, containers, make_worker

__all__ = ["containers", "make_worker"]  # fixtures used here


def test_a_rendition_within_embed_binary_limit_travels_in_the_event_and_is_not_uploaded(
    runner: JobRunner, containers: Containers
) -> None:
    renditions = [
        {"name": "tiny.png", "fmt": "png", "width": 16, "embedBinaryLimit": "32768"},
        {"name": "big.png", "fmt": "png", "width": 200, "embedBinaryLimit": 100},  # over its limit: uploaded
    ]
    done = runner.run(image_bytes(), renditions, targets=TargetOptions(kind="single"))
    tiny, big = sorted(done.events, key=lambda e: e["rendition"]["name"] != "tiny.png")  # type: ignore[index]
    assert tiny["type"] == big["type"] == "rendition_created"
    header, _, payload = str(tiny["data"]).partition(",")
    assert header == "data:image/png;base64"
    data = base64.b64decode(payload)
    assert Image.open(io.BytesIO(data)).size == (16, 12)
    assert tiny["metadata"]["repo:size"] == len(data)  # type: ignore[index]
    assert tiny["metadata"]["repo:sha1"] == hashlib.sha1(data).hexdigest()  # type: ignore[index]
    assert not containers.aem.get_blob_client(done.blobs[0]).exists()  # nothing uploaded
    assert "data" not in big and Image.open(io.BytesIO(runner.commit_and_read(done.blobs[1]))).width == 200


def test_a_rendition_too_large_for_its_target_reports_its_size(runner: JobRunner) -> None:
    done = runner.run(
        image_bytes(size=(400, 400)),
        [{"name": "x.png", "fmt": "png"}],
        targets=TargetOptions(estimated_size=20, min_part_size=10, max_part_size=10),
    )
    (event,) = done.events
    assert event["errorReason"] == "RenditionTooLarge"
    assert isinstance(event["metadata"]["repo:size"], int) and event["metadata"]["repo:size"] > 20  # type: ignore[index]


def test_max_width_caps_without_upscaling_and_dpi_is_written(runner: JobRunner) -> None:
    renditions = [
        {"name": "capped.png", "fmt": "png", "maxWidth": "100"},
        {"name": "not-upscaled.png", "fmt": "png", "maxWidth": 1000, "maxHeight": 1000},
        {"name": "box.png", "fmt": "png", "width": 300, "height": 300, "maxHeight": 60},
        {"name": "dpi.png", "fmt": "png", "width": 50, "dpi": {"xdpi": 48, "ydpi": 48}},
        {"name": "interlaced.jpg", "fmt": "jpg", "width": 50, "interlace": True},
    ]
    done = runner.run(image_bytes(), renditions)
    events = {e["rendition"]["name"]: e for e in done.events}  # type: ignore[index]
    assert {e["type"] for e in events.values()} == {"rendition_created"}
    names = [str(r["name"]) for r in renditions]
    blobs = dict(zip(names, done.blobs, strict=True))
    images = {name: Image.open(io.BytesIO(runner.commit_and_read(blob))) for name, blob in blobs.items()}
    sizes = {name: image.size for name, image in images.items()}
    assert sizes["capped.png"] == (100, 75)
    assert sizes["not-upscaled.png"] == (320, 240)
    assert sizes["box.png"] == (80, 60)
    assert round(images["dpi.png"].info["dpi"][0]) == 48
    assert images["interlaced.jpg"].info.get("progressive") == 1


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (files.huge_declared_png(), "SourceUnsupported"),  # a pixel bomb, refused before imgix is asked
        (b"hello, I am not a picture\n" * 20, "SourceCorrupt"),  # text named a.jpg
        (files.pdf(), "SourceFormatUnsupported"),
    ],
)
def test_source_reasons_as_adobes_sdk_reports_them(runner: JobRunner, source: bytes, reason: str) -> None:
    done = runner.run(source, [{"name": "x.png", "fmt": "png"}])
    assert [e["errorReason"] for e in done.events] == [reason], done.events


@dataclass
class HeaderGuardedSource:
    """An https source that answers only requests carrying its header, recording what it was sent."""

    url: str
    body: bytes
    seen: list[dict[str, str]] = field(default_factory=list)


@pytest.fixture
def guarded_source() -> Iterator[Callable[[bytes], HeaderGuardedSource]]:
    servers: list[tuple[LocalHttpsServer, threading.Thread]] = []

    def start(body: bytes) -> HeaderGuardedSource:
        source = HeaderGuardedSource("", body)

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, with_body: bool) -> None:
                source.seen.append({k.lower(): v for k, v in self.headers.items()})
                if self.headers.get("X-Source-Key") != "let-me-in":
                    self.send_response(403)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "image/bmp")
                self.send_header("Content-Length", str(len(source.body)))
                self.end_headers()
                if with_body:
                    self.wfile.write(source.body)

            def do_HEAD(self) -> None:
                self._answer(False)

            def do_GET(self) -> None:
                self._answer(True)

            def log_message(self, *args: object) -> None:
                pass

        server = LocalHttpsServer(Handler, ensure_tls())
        servers.append((server, server.serve_in_background("guarded-source")))
        source.url = f"{server.url}/assets/photo.bmp"
        return source

    yield start
    for server, thread in servers:
        server.shutdown()
        thread.join()
        server.server_close()


def _bmp(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.effect_noise(size, 60).convert("RGB").save(out, "BMP")
    return out.getvalue()


def test_source_headers_are_sent_and_the_source_is_streamed_in_blocks(
    runner: JobRunner,
    guarded_source: Callable[[bytes], HeaderGuardedSource],
    make_worker: Callable[..., Worker],
    azurite: Azurite,
    containers: Containers,
) -> None:
    body = _bmp((1400, 1100))  # 4.6 MB: more than one block
    assert len(body) > BLOCK_BYTES
    source = guarded_source(body)
    port = source.url.split(":")[2].split("/")[0]
    worker = make_worker(ALLOWED_HOSTS=f"localhost:{azurite.blob_port},localhost:{port}")
    request, _ = runner.job(image_bytes(), [{"name": "x.png", "fmt": "png", "width": 70}])
    request["source"] = {"url": source.url, "headers": {"X-Source-Key": "let-me-in"}}
    result = worker.intake.handle("POST", runner.headers(), json.dumps(request).encode())
    assert result.message is not None
    job = decode_message(result.message)
    assert repr(job.source_headers) == "(('X-Source-Key', Secret('**********')),)"

    stager: Stager = worker.processor._stager
    staged = stager.stage(job, Deadline.after(60))
    blob = containers.imgix.get_blob_client(staged.blob_name)
    committed, uncommitted = blob.get_block_list("all")
    assert len(committed) == 2 and uncommitted == []
    assert blob.download_blob().readall() == body
    assert staged.mimetype == "image/bmp" and staged.size == len(body)
    assert [h.get("x-source-key") for h in source.seen] == ["let-me-in"] * 2  # the HEAD and the GET
    stager.remove(job)

    headers = runner.headers()
    result = worker.intake.handle("POST", headers, json.dumps(request).encode())
    assert result.message is not None
    worker.process_message(result.message)
    (event,) = runner.services.events(headers["x-request-id"])
    assert event["type"] == "rendition_created" and event["metadata"]["tiff:imageWidth"] == 70  # type: ignore[index]
    assert "let-me-in" not in json.dumps(event)


def test_without_its_headers_the_guarded_source_is_refused(
    runner: JobRunner,
    guarded_source: Callable[[bytes], HeaderGuardedSource],
    make_worker: Callable[..., Worker],
    azurite: Azurite,
) -> None:
    source = guarded_source(_bmp((40, 30)))
    port = source.url.split(":")[2].split("/")[0]
    worker = make_worker(ALLOWED_HOSTS=f"localhost:{azurite.blob_port},localhost:{port}")
    request, _ = runner.job(image_bytes(), [{"name": "x.png", "fmt": "png"}])
    request["source"] = {"url": source.url, "headers": {"X-Source-Key": "wrong"}}
    headers = runner.headers()
    result = worker.intake.handle("POST", headers, json.dumps(request).encode())
    assert result.message is not None
    worker.process_message(result.message)
    (event,) = runner.services.events(headers["x-request-id"])
    assert event["errorReason"] == "GenericError" and "403" in str(event["errorMessage"])
    assert "wrong" not in json.dumps(event)


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"Host": "evil"}, "may not set Host"),
        ({"Content-Length": "1"}, "may not set"),
        ({"X-Ok": "a\r\nX-Injected: 1"}, "control characters"),
        ({"X-Price": "5 \u20ac"}, "characters a header cannot carry"),
        ({"bad name": "x"}, "not an HTTP header name"),
        ({"X-Num": 5}, "must be a string"),
        ("X-Key: 1", "must be an object"),
    ],
)
def test_bad_source_headers_are_refused_at_the_intake(runner: JobRunner, headers: object, message: str) -> None:
    request, _ = runner.job(image_bytes(), [{"name": "x.png", "fmt": "png"}])
    request["source"] = {"url": request["source"], "headers": headers}
    result = runner.worker.intake.handle("POST", runner.headers(), json.dumps(request).encode())
    assert result.status == 400 and message in json.dumps(result.body), result.body
