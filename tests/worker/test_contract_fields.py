"""Every Asset Compute rendition field is honoured with imgix or refused with a message naming it, never dropped."""

from __future__ import annotations

import pytest

from imgix_worker.contract_fields import (
    check_dimension_cap,
    data_uri,
    embed_limit,
    non_image_type,
)
from imgix_worker.errors import RenditionInstructionsError, RenditionTooLarge
from imgix_worker.events import failed_event
from imgix_worker.instructions import imgix_params
from imgix_worker.jobs import Job
from imgix_worker.redaction import Secret


@pytest.mark.parametrize(
    ("rendition", "expected"),
    [
        # only a cap: fit=max inside it, so a smaller source is never upscaled
        ({"fmt": "png", "maxWidth": 100}, {"fm": "png", "w": "100", "fit": "max"}),
        ({"fmt": "png", "maxHeight": "80"}, {"fm": "png", "h": "80", "fit": "max"}),
        # with width/height the box is the smaller of both, per side
        ({"width": 300, "height": 300, "maxWidth": 200}, {"w": "200", "h": "300", "fit": "max"}),
        ({"width": 150, "maxWidth": 200, "maxHeight": 50}, {"w": "150", "h": "50", "fit": "max"}),
        # a fixed box (the imgix tutorial's face crop) is shrunk as a whole, keeping its shape
        (
            {"imgix": '{"fit":"crop","crop":"faces","w":300,"h":200}', "maxWidth": 150},
            {"fit": "crop", "crop": "faces", "w": "150", "h": "100"},
        ),
        ({"imgix": {"fit": "crop", "w": 300, "h": 200}, "maxWidth": 400}, {"fit": "crop", "w": "300", "h": "200"}),
        # an aspect-ratio crop at the source's size: imgix's own max-w/max-h
        ({"imgix": {"fit": "crop", "ar": "16:9"}, "maxWidth": 640}, {"fit": "crop", "ar": "16:9", "max-w": "640"}),
        # one side and an aspect ratio make the crop's box
        (
            {"imgix": {"fit": "crop", "ar": "16:9", "w": 1600}, "maxHeight": 450},
            {"fit": "crop", "ar": "16:9", "w": "800", "h": "450"},
        ),
        # beyond imgix's largest output, imgix's own cap applies
        ({"maxWidth": 100000}, {"w": "8192", "fit": "max"}),
    ],
)
def test_max_width_and_height_cap_the_rendition(rendition: dict[str, object], expected: dict[str, str]) -> None:
    assert imgix_params(rendition) == expected


@pytest.mark.parametrize(
    ("rendition", "message"),
    [
        ({"maxWidth": "wide"}, "maxWidth must be a whole number"),
        ({"maxWidth": 1}, "maxWidth must be a whole number from 2"),
        ({"maxHeight": -5}, "maxHeight"),
        ({"maxWidth": 100, "w": "0.5"}, "maxWidth cannot be combined with a fractional w"),
        ({"maxWidth": 100, "imgix": {"w": 300, "dpr": 2}}, "maxWidth cannot be combined with dpr"),
        ({"maxHeight": 100, "imgix": {"fit": "crop", "w": 300}}, "maxHeight with fit=crop needs both"),
        ({"maxHeight": 100, "imgix": {"fit": "crop", "ar": "0:1", "w": 300}}, "aspect ratio above zero"),
    ],
)
def test_caps_that_cannot_be_honoured_are_refused(rendition: dict[str, object], message: str) -> None:
    with pytest.raises(RenditionInstructionsError, match=message):
        imgix_params(rendition)


def test_a_rendition_enlarged_past_the_cap_is_refused_after_rendering() -> None:
    check_dimension_cap({"maxWidth": 100}, width=100, height=5000)
    with pytest.raises(RenditionInstructionsError, match="over maxWidth"):
        check_dimension_cap({"maxWidth": 100}, width=120, height=60)  # e.g. pad=10 around a 100-pixel image


@pytest.mark.parametrize(
    ("dpi", "expected"),
    [(300, "300"), ("72", "72"), ({"xdpi": 48, "ydpi": 48}, "48"), ('{"xdpi": "96", "ydpi": 96}', "96")],
)
def test_dpi_a_number_or_equal_xdpi_and_ydpi(dpi: object, expected: str) -> None:
    assert imgix_params({"fmt": "jpg", "dpi": dpi})["dpi"] == expected


@pytest.mark.parametrize(
    ("dpi", "message"),
    [
        ({"xdpi": 72, "ydpi": 144}, "xdpi 72 and ydpi 144 cannot be honoured: imgix writes one DPI"),
        ({"xdpi": 72}, r"dpi must be a number or an object \{xdpi, ydpi\}"),
        ("72.5", "dpi must be a whole number"),
        (0, "dpi must be a whole number from 1"),
        (True, "dpi must be a whole number"),
    ],
)
def test_dpi_imgix_cannot_write_is_refused(dpi: object, message: str) -> None:
    with pytest.raises(RenditionInstructionsError, match=message):
        imgix_params({"fmt": "png", "dpi": dpi})


def test_interlace_on_jpeg_is_progressive_and_false_turns_imgix_progressive_default_off() -> None:
    assert imgix_params({"fmt": "jpg", "interlace": True})["fm"] == "pjpg"
    assert imgix_params({"fmt": "jpeg", "interlace": "true"})["fm"] == "pjpg"
    assert imgix_params({"fmt": "jpg", "interlace": "false"}) == {"fm": "jpg", "jpg-progressive": "false"}
    assert imgix_params({"fmt": "png", "interlace": False}) == {"fm": "png"}
    assert imgix_params({"fmt": "jpg"}) == {"fm": "jpg"}  # not set: imgix's default


@pytest.mark.parametrize(
    ("rendition", "message"),
    [
        ({"fmt": "png", "interlace": True}, "interlace cannot be honoured for png"),
        ({"fmt": "gif", "interlace": "true"}, "interlace cannot be honoured for gif"),
        ({"fmt": "webp", "interlace": True}, "interlace needs fmt jpg"),
        ({"interlace": True}, "interlace needs fmt jpg"),
        ({"fmt": "jpg", "interlace": "yes"}, "interlace must be true or false"),
        ({"fmt": "jpg", "interlace": True, "imgix": {"jpg-progressive": "false"}}, "contradicts"),
        ({"fmt": "pjpg", "interlace": False}, "contradicts"),
    ],
)
def test_interlace_imgix_cannot_write_is_refused(rendition: dict[str, object], message: str) -> None:
    with pytest.raises(RenditionInstructionsError, match=message):
        imgix_params(rendition)


@pytest.mark.parametrize("field", ["jpegSize", "convertToDpi", "compressionLevel", "pdfbgcolor"])
def test_fields_imgix_cannot_honour_are_refused_by_name(field: str) -> None:
    with pytest.raises(RenditionInstructionsError, match=f"^{field} cannot be honoured"):
        imgix_params({"fmt": "jpg", field: "9"})
    assert imgix_params({"fmt": "jpg", field: ""}) == {"fm": "jpg"}  # an empty service parameter is not set


def test_a_watermark_on_the_imgix_source_becomes_imgix_mark() -> None:
    expected = {"mark": "/marks/logo.png", "mark-align": "center,middle", "mark-pad": "0"}
    assert imgix_params({"watermark": "/marks/logo.png"}) == {**expected, "mark-scale": "100"}
    assert imgix_params({"watermark": {"image": "/marks/logo.png", "scale": 0.25}}) == {
        **expected,
        "mark-scale": "25",
    }
    assert imgix_params({"watermark": '{"image": "/marks/logo.png", "scale": "0.5"}'})["mark-scale"] == "50"


@pytest.mark.parametrize(
    "watermark",
    [
        "https://evil.example/mark.png",
        {"image": "https://aem.blob.core.windows.net/c/mark.png?sig=x"},
        "//evil.example/mark.png",
        "/marks/../../secret.png",
        "marks/logo.png",
        "/marks/logo.png?w=5000",
        {"image": "/m.png", "scale": 2},
        {"image": "/m.png", "opacity": 1},
        7,
    ],
)
def test_a_watermark_that_is_not_an_imgix_source_path_is_refused(watermark: object) -> None:
    with pytest.raises(RenditionInstructionsError, match="watermark"):
        imgix_params({"watermark": watermark})


def test_embed_binary_limit() -> None:
    assert embed_limit({}) is None
    assert embed_limit({"embedBinaryLimit": 32768}) == 32768
    assert embed_limit({"embedBinaryLimit": "1000"}) == 1000  # AEM sends strings
    for bad in (32769, 0, "lots", 1.5, True):
        with pytest.raises(RenditionInstructionsError, match="embedBinaryLimit"):
            embed_limit({"embedBinaryLimit": bad})
    assert data_uri("text/plain; charset=utf-8", b"hi") == "data:text/plain;charset=utf-8;base64,aGk="


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"fm": "json"}, "application/json"),
        ({"palette": "css"}, "text/css"),
        ({"palette": "json", "fm": "png"}, "application/json"),
        ({"fm": "blurhash"}, "text/plain"),
        ({"fm": "png"}, None),
        ({}, None),
    ],
)
def test_non_image_outputs_are_typed_by_what_was_asked(params: dict[str, str], expected: str | None) -> None:
    assert non_image_type(params) == expected


def test_a_too_large_failure_carries_the_size_so_the_client_can_retry_with_more_parts() -> None:
    job = Job("j", "r", "o", "c", Secret("t"), Secret("https://h/a.jpg?sig=x"), [{"name": "r.png"}])
    event = failed_event(job, job.renditions[0], RenditionTooLarge("too large", size=12345))
    assert event["metadata"] == {"repo:size": 12345}
    assert "metadata" not in failed_event(job, job.renditions[0], RenditionTooLarge("too large"))
