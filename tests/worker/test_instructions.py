"""Rendition instructions become imgix parameters, in the design's order of precedence, or a clear error."""

from __future__ import annotations

import pytest

from imgix_worker.errors import RenditionFormatUnsupported, RenditionInstructionsError
from imgix_worker.imgix_urls import ImgixUrls
from imgix_worker.instructions import imgix_params
from imgix_worker.redaction import Secret


def test_imgix_json_string_as_aem_sends_it() -> None:
    params = imgix_params({"fmt": "jpg", "imgix": '{"fit":"crop","crop":"faces,entropy","w":300,"h":300}'})
    assert params == {"fm": "jpg", "fit": "crop", "crop": "faces,entropy", "w": "300", "h": "300"}


def test_imgix_json_object_as_a_devtool_sends_it() -> None:
    assert imgix_params({"imgix": {"w": 100, "invert": True, "dpr": 1.5}}) == {
        "w": "100",
        "invert": "true",
        "dpr": "1.5",
    }


def test_precedence_imgix_over_fields_over_standard_over_recipe() -> None:
    rendition = {
        "recipe": "circle",
        "size": "400",
        "fmt": "webp",
        "fm": "gif",
        "imgix": '{"fm":"png"}',
        "bri": "5",
    }
    params = imgix_params(rendition)
    assert params["fm"] == "png"  # imgix JSON wins over the fm field, fmt and the recipe
    assert params["bri"] == "5"  # the bri field wins over the recipe's brightness
    assert params["w"] == "400" and params["mask"] == "ellipse"


def test_individual_fields_and_aliases_and_base64() -> None:
    params = imgix_params(
        {"w": 120, "mono": "ff0000", "txt64": "Hello, World!", "name": "x.png", "worker": "https://w"}
    )
    assert params == {"w": "120", "monochrome": "ff0000", "txt64": "Hello, World!"}


@pytest.mark.parametrize(
    ("rendition", "encoded"),
    [
        ({"txt64": "Hello"}, "txt64=SGVsbG8"),
        ({"imgix": '{"txt64": "Hello, World!"}'}, "txt64=SGVsbG8sIFdvcmxkIQ"),
        ({"txt64": "SGVsbG8"}, "txt64=U0dWc2JHOA"),  # the value is the text itself, whatever it looks like
    ],
)
def test_base64_parameters_reach_imgix_encoded_exactly_once(rendition: dict[str, object], encoded: str) -> None:
    # Checked on the signed URL the worker requests, not on the parameter dict.
    urls = ImgixUrls(
        "renditions-dev.imgix.net", secure_token=Secret("fake-token"), base_url="https://renditions-dev.imgix.net"
    )
    url = urls.signed_url("tests/job/source.jpg", imgix_params(rendition)).reveal()
    query = url.split("?", 1)[1].split("&")
    assert [q for q in query if q.startswith("txt64=")] == [encoded]


def test_standard_fields_keep_aspect_and_never_upscale() -> None:
    params = imgix_params(
        {"fmt": "jpeg", "width": "319", "height": 200, "quality": 50, "crop": {"x": 1, "y": 2, "w": 3, "h": 4}}
    )
    assert params == {"fm": "jpg", "w": "319", "h": "200", "fit": "max", "q": "50", "rect": "1,2,3,4"}


def test_interlace_makes_progressive_jpeg() -> None:
    assert imgix_params({"fmt": "jpg", "interlace": True})["fm"] == "pjpg"


def test_circle_recipe_reproduces_the_wknd_profile() -> None:
    params = imgix_params({"size": "1000", "contrast": "0.25", "brightness": "0.10"}, recipe="circle")
    assert params == {"w": "1000", "h": "1000", "fit": "crop", "mask": "ellipse", "fm": "png", "con": "25", "bri": "10"}


@pytest.mark.parametrize(
    ("rendition", "message"),
    [
        ({"recipe": "circle", "contrast": "10"}, "contrast"),
        ({"recipe": "circle", "size": "5"}, "size"),
        ({"recipe": "circle", "size": "9000"}, "8192"),
        ({"recipe": "circle", "brightness": "bright"}, "brightness"),
        ({"recipe": "square"}, "unknown recipe"),
        ({"imgix": "{not json"}, "JSON object"),
        ({"imgix": "[1, 2]"}, "JSON object"),
        ({"imgix": '{"s": "0123"}'}, "may not be set"),
        ({"imgix": '{"ixlib": "x"}'}, "may not be set"),
        ({"imgix": '{"foo": "1"}'}, "not an imgix parameter"),
        ({"w": "-5"}, "w must"),
        ({"w": "NaN"}, "finite"),
        ({"w": "9000"}, "w must"),
        ({"h": "1e400"}, "finite"),
        ({"q": "101"}, "q must"),
        ({"fit": "stretch"}, "fit must"),
        ({"bg": "not a colour!"}, "bg must"),
        ({"rect": "1,2,3"}, "rect"),
        ({"ar": "wide"}, "ratio"),
        ({"w": "1&s=0123"}, "number"),
        ({"w64": "wide"}, "w64 must be a number"),
        ({"imgix": '{"fit64": "zoom"}'}, "fit64 must be one of"),
        ({"width": 0}, "width"),
        ({"quality": "0"}, "quality"),
        ({"crop": "center"}, "crop must be an object"),
        ({"w": ["1"]}, "string or a number"),
    ],
)
def test_bad_instructions_are_named(rendition: dict[str, object], message: str) -> None:
    with pytest.raises(RenditionInstructionsError, match=message):
        imgix_params(rendition)


@pytest.mark.parametrize("rendition", [{"fmt": "tif"}, {"fmt": "tiff"}, {"fmt": "bmp"}, {"imgix": '{"fm": "heic"}'}])
def test_formats_imgix_cannot_make(rendition: dict[str, object]) -> None:
    with pytest.raises(RenditionFormatUnsupported):
        imgix_params(rendition)
