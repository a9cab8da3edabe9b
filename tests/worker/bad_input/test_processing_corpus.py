"""Malformed and unusual files and instructions that pass the intake: each job ends with exactly one event per
rendition with the contract's reason (or a correct rendition), no stack trace in any event, no secret in any log
line, no committed block for a failed rendition, nothing left in the imgix container and nothing written outside
the job's own names."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from PIL import Image

from imgix_worker.service import Worker
from local_platform.azurite import Azurite
from local_platform.tls import ensure_tls

from ..conftest import JobRunner, image_bytes
from ..faults.fakes import Reply, ScriptedProxy
from ..faults.support import (
    Containers,
    Done,
    assert_contained,
    assert_one_event_each,
    committed_blocks,
    run_checked,
)
from . import files

CREATED = None
RIE = "RenditionInstructionsError"
PNG = {"fmt": "png", "width": 60}
Check = Callable[[JobRunner, Done], None]


def rendered(runner: JobRunner, done: Done, index: int = 0) -> Image.Image:
    image = Image.open(io.BytesIO(runner.commit_and_read(done.targets[index])))
    image.load()
    return image


def size_is(width: int, height: int, index: int = 0) -> Check:
    def check(runner: JobRunner, done: Done) -> None:
        assert rendered(runner, done, index).size == (width, height)

    return check


def upright(runner: JobRunner, done: Done) -> None:
    """The EXIF-rotated source renders upright: 240x320 scaled to 120x160, the red block at the top-right."""
    image = rendered(runner, done).convert("RGB")
    assert image.size == (120, 160)
    red, green, blue = image.getpixel((110, 10))
    assert red > 200 and green < 60 and blue < 60, image.getpixel((110, 10))
    assert image.getpixel((10, 10)) > (200, 200, 200)  # the stored top-left is not at the top-left any more


def data_url(data: bytes, kind: str = "image/png") -> Callable[[dict[str, Any]], None]:
    def edit(body: dict[str, Any]) -> None:
        body["source"] = f"data:{kind};base64," + base64.b64encode(data).decode()

    return edit


def raw_source(value: str) -> Callable[[dict[str, Any]], None]:
    def edit(body: dict[str, Any]) -> None:
        body["source"] = value

    return edit


def named_source(name: str) -> Callable[[dict[str, Any]], None]:
    def edit(body: dict[str, Any]) -> None:
        body["source"] = {"url": body["source"], "name": name}

    return edit


def missing_source(body: dict[str, Any]) -> None:
    body["source"] = str(body["source"]).replace("/a.jpg?", "/no-such-blob.jpg?")


@dataclass(frozen=True)
class Case:
    source: bytes | Callable[[], bytes]
    renditions: list[dict[str, object]]
    reasons: list[str | None]
    edit: Callable[[dict[str, Any]], None] | None = None
    settings: dict[str, str] = field(default_factory=dict)
    check: Check | None = None


def one(reason: str | None, rendition: dict[str, object] | None = None, **kw: Any) -> Case:
    return Case(kw.pop("source", image_bytes), [{"name": "r.png", **(rendition or PNG)}], [reason], **kw)


JPEG = image_bytes()

CASES: dict[str, Case] = {
    # files
    "zero-byte": one("SourceCorrupt", source=b""),
    "truncated-jpeg": one("SourceCorrupt", source=lambda: files.truncated(image_bytes(size=(640, 480)))),
    "jpeg-signature-only": one("SourceCorrupt", source=b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"),
    "truncated-png": one("SourceCorrupt", source=lambda: files.truncated(image_bytes("PNG", (640, 480)))),
    # bytes that do not decode as the image they are named: SourceCorrupt, as Adobe's SDK reports them
    "text-named-jpg": one("SourceCorrupt", source=b"hello, I am not a picture\n" * 20),
    "html-named-png": one("SourceCorrupt", source=b"<!doctype html><html><body>404</body></html>"),
    "text-named-txt": one("SourceFormatUnsupported", source=b"plain text", edit=named_source("notes.txt")),
    # a supported format declaring more pixels than imgix renders: SourceUnsupported, from the header
    "png-declaring-50000x50000": one("SourceUnsupported", source=files.huge_declared_png),
    "png-declaring-12000x12000": one("SourceUnsupported", source=lambda: files.huge_declared_png(12000, 12000)),
    "cmyk-jpeg": one(CREATED, {"fmt": "jpg", "width": 40}, source=files.cmyk_jpeg, check=size_is(40, 30)),
    "16-bit-grey-png": one(CREATED, source=files.gray16_png, check=size_is(60, 45)),
    "48-bit-rgb-png": one(CREATED, source=files.rgb48_png, check=size_is(60, 45)),
    "animated-gif": one(CREATED, source=files.animated_gif, check=size_is(60, 40)),
    "multi-page-tiff": one(CREATED, {"fmt": "png", "width": 25}, source=files.multipage_tiff, check=size_is(25, 20)),
    "exif-rotated-jpeg": one(CREATED, {"fmt": "png", "width": 120}, source=files.exif_rotated_jpeg, check=upright),
    "bmp": one(CREATED, {"fmt": "png", "width": 20}, source=files.bmp, check=size_is(20, 15)),
    "svg": one("SourceFormatUnsupported", source=files.svg),
    "pdf": one("SourceFormatUnsupported", source=files.pdf),
    "webp-not-in-the-profile": one("SourceFormatUnsupported", source=files.webp),
    "jpeg-with-trailing-garbage": one(CREATED, source=JPEG + b"\x00garbage" * 100, check=size_is(60, 45)),
    "gif-header-then-script": one("SourceCorrupt", source=b"GIF89a/*" + b"\x00" * 20 + b"*/alert(1)//"),
    "source-larger-than-max-source-bytes": one("SourceUnsupported", settings={"MAX_SOURCE_BYTES": "100"}),
    "rendition-larger-than-max-rendition-bytes": one("RenditionTooLarge", settings={"MAX_RENDITION_BYTES": "100"}),
    # names
    "source-name-path-traversal": one(CREATED, edit=named_source("../../etc/passwd.jpg"), check=size_is(60, 45)),
    "source-name-unicode": one(CREATED, edit=named_source("фото 🐱 ünï.JPG"), check=size_is(60, 45)),
    "source-name-lies-about-type": one(CREATED, edit=named_source("a.svg"), check=size_is(60, 45)),
    "rendition-names-with-dot-dot": Case(
        JPEG,
        [{"name": "../../../r.png", **PNG}, {"name": "a/../../b.png", **PNG}, {"name": "ü/..\\..\\🐱.png", **PNG}],
        [CREATED] * 3,
    ),
    # instructions
    "size-with-injected-signature": one(RIE, {"fmt": "png", "w": "100&s=0123456789abcdef"}),
    "imgix-value-with-injected-params": one(RIE, {"imgix": '{"fit": "crop&w=5000&s=abc"}'}),
    "unchecked-param-with-injected-signature": one(CREATED, {"fmt": "png", "w": "30", "txt": "x&s=deadbeef&w=999"}),
    "imgix-setting-the-signature": one(RIE, {"imgix": {"s": "0123456789abcdef"}}),
    "imgix-setting-expires": one(RIE, {"imgix": {"expires": "1"}}),
    "control-characters-in-a-value": one(RIE, {"imgix": {"txt": "a\r\nX-Injected: 1"}}),
    "width-NaN-string": one(RIE, {"fmt": "png", "width": "NaN"}),
    "width-NaN-number": one(RIE, {"fmt": "png", "width": float("nan")}),
    "width-negative": one(RIE, {"fmt": "png", "width": -100}),
    "height-infinite": one(RIE, {"fmt": "png", "height": "1e309"}),
    "width-zero": one(RIE, {"fmt": "png", "width": 0}),
    "width-boolean": one(RIE, {"fmt": "png", "width": True}),
    "w-over-8192": one(RIE, {"fmt": "png", "w": 100000}),
    "quality-101": one(RIE, {"fmt": "jpg", "quality": 101}),
    "crop-a-string": one(RIE, {"fmt": "png", "crop": "10,10,5,5"}),
    "unknown-recipe": one(RIE, {"recipe": "square"}),
    "circle-size-NaN": one(RIE, {"recipe": "circle", "size": "NaN"}),
    "imgix-value-an-object": one(RIE, {"imgix": {"w": {"nested": 1}}}),
    "imgix-not-an-object": one(RIE, {"imgix": "[1, 2]"}),
    "imgix-unknown-parameter": one(RIE, {"imgix": {"exec": "rm -rf /"}}),
    "fmt-exe": one("RenditionFormatUnsupported", {"fmt": "exe"}),
    "one-bad-rendition-among-good-ones": Case(
        JPEG,
        [{"name": "a.png", **PNG}, {"name": "b.png", "width": "-1"}, {"name": "c.jpg", "fmt": "jpg", "width": 30}],
        [CREATED, RIE, CREATED],
    ),
    # data: sources
    "data-uri-valid": one(CREATED, edit=data_url(image_bytes("PNG")), check=size_is(60, 45)),
    "data-uri-without-comma": one("SourceCorrupt", edit=raw_source("data:image/png;base64")),
    "data-uri-bad-padding": one("SourceCorrupt", edit=raw_source("data:image/png;base64,abc")),
    "data-uri-empty": one("SourceCorrupt", edit=raw_source("data:,")),
    "data-uri-not-an-image": one("SourceCorrupt", edit=raw_source("data:image/png;base64,AAAA")),
    "data-uri-percent-encoded-text": one(
        "SourceFormatUnsupported", edit=raw_source("data:,%3Cscript%3E1%3C/script%3E")
    ),
    # the source URL
    "source-blob-missing": one("GenericError", edit=missing_source),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(
    name: str,
    runner: JobRunner,
    make_worker: Callable[..., Worker],
    containers: Containers,
    worker_logs,  # type: ignore[no-untyped-def]
) -> None:
    case = CASES[name]
    source = case.source() if callable(case.source) else case.source
    worker = make_worker(**case.settings) if case.settings else None
    done = run_checked(runner, containers, source, case.renditions, worker=worker, edit=case.edit)

    assert_one_event_each(done)
    assert done.reasons == case.reasons, [(e["rendition"]["name"], e.get("errorMessage")) for e in done.events]
    for index, reason in enumerate(case.reasons):
        if reason is not None:
            assert committed_blocks(containers, done.targets[index]) == []
    assert_contained(done, containers)
    if case.check is not None:
        case.check(runner, done)
    text = "\n".join(r.getMessage() for r in worker_logs.records)
    assert "Traceback" not in text


def test_a_source_redirecting_elsewhere_is_never_followed(
    runner: JobRunner,
    make_worker: Callable[..., Worker],
    azurite: Azurite,
    containers: Containers,
    worker_logs,  # type: ignore[no-untyped-def]
) -> None:
    tls = ensure_tls()
    upstream = f"https://localhost:{azurite.blob_port}"
    with (
        ScriptedProxy(upstream, tls, default=Reply(200, {"Content-Length": "10"})) as elsewhere,
        ScriptedProxy(upstream, tls, default=Reply(302, {"Location": f"{elsewhere.url}/x.jpg"})) as redirecting,
    ):
        worker = make_worker(ALLOWED_HOSTS=f"localhost:{azurite.blob_port},localhost:{redirecting.port}")

        def via_redirect(body: dict[str, Any]) -> None:
            body["source"] = str(body["source"]).replace(f":{azurite.blob_port}/", f":{redirecting.port}/", 1)

        done = run_checked(runner, containers, JPEG, [{"name": "r.png", **PNG}], worker=worker, edit=via_redirect)
        assert elsewhere.seen() == []
        assert redirecting.seen() != []

    assert_one_event_each(done)
    assert done.reasons == ["GenericError"]
    assert "302" in str(done.events[0]["errorMessage"])
    assert_contained(done, containers)


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40
