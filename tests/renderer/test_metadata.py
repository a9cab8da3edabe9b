"""`fm=json` and `palette=json|css`: imgix's documented shapes, computed from the image (metadata.py)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageCms, ImageDraw

from local_platform.paths import SAMPLES_DIR
from local_platform.renderer import RenderError, faces, render

from .images import BLUE, RED, YELLOW, encode, quadrants, solid

CASES = Path(__file__).parents[1] / "cases"


def answer(data: bytes, params: dict[str, str], **kwargs: object) -> dict[str, object]:
    rendered = render(data, params, **kwargs)  # type: ignore[arg-type]
    assert rendered.content_type == "application/json"
    parsed = json.loads(rendered.body)
    assert isinstance(parsed, dict)
    return parsed


def test_fm_json_describes_the_source_with_imgix_names() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(quadrants(400, 300), "JPEG", dpi=(300, 300), icc_profile=srgb)
    info = answer(data, {"fm": "json", "w": "50"}, content_type="image/jpeg")
    assert info["PixelWidth"] == 400 and info["PixelHeight"] == 300  # the source's, whatever else is asked
    assert info["Content-Length"] == str(len(data)) and info["Content-Type"] == "image/jpeg"
    assert (info["DPIWidth"], info["DPIHeight"]) == (300, 300)
    assert info["ColorModel"] == "RGB" and info["Depth"] == 8
    assert "sRGB" in str(info["ProfileName"])
    assert info["Orientation"] == 0 and info["Output"] == {}
    assert info["JFIF"]["DensityUnit"] == 1  # type: ignore[index]
    assert "Faces" not in info and "HasAlpha" not in info


def test_fm_json_reads_orientation_exif_alpha_depth_and_colour_model() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x0110] = 'Camera <&> "model"'
    info = answer(encode(quadrants(), "JPEG", exif=exif.tobytes()), {"fm": "json"})
    assert info["Orientation"] == 6 and info["PixelWidth"] == 400  # stored size, not the rotated one
    assert info["TIFF"] == {"Model": 'Camera <&> "model"', "Orientation": 6}
    assert answer(encode(solid((1, 2, 3, 4), mode="RGBA")), {"fm": "json"})["HasAlpha"] is True
    assert answer(encode(Image.new("CMYK", (8, 8)), "JPEG"), {"fm": "json"})["ColorModel"] == "CMYK"
    assert answer(encode(Image.new("L", (8, 8))), {"fm": "json"})["ColorModel"] == "Gray"
    sixteen = answer(encode(Image.new("I;16", (8, 8))), {"fm": "json"})
    assert sixteen["Depth"] == 16 and sixteen["DPIWidth"] == 72


needs_opencv = pytest.mark.skipif(not faces.available(), reason="opencv-python-headless is not installed")
PORTRAIT = SAMPLES_DIR / "portrait-landscape.jpg"  # one face near (900, 420) of 1600x1200 (test_faces.py)


def bounds_box(face: dict[str, Any]) -> tuple[float, float, float, float]:
    bounds = face["bounds"]
    assert set(face) == {"bounds"} and set(bounds) == {"x", "y", "width", "height"}  # imgix's names, no others
    return bounds["x"], bounds["y"], bounds["x"] + bounds["width"], bounds["y"] + bounds["height"]


@needs_opencv
def test_fm_json_with_faces_lists_the_portraits_face_in_source_pixels() -> None:
    data = PORTRAIT.read_bytes()
    info = answer(data, {"fm": "json", "faces": "1", "w": "100"}, content_type="image/jpeg")
    (face,) = info["Faces"]  # type: ignore[misc]
    with Image.open(PORTRAIT) as image:
        (expected,) = faces.detect(image.convert("RGB"))
    assert bounds_box(face) == pytest.approx(expected, abs=0.01)  # the source's pixels, whatever `w` asks
    left, top, right, bottom = bounds_box(face)
    assert abs((left + right) / 2 - 900) < 60 and abs((top + bottom) / 2 - 420) < 60


@needs_opencv
def test_fm_json_faces_are_on_the_oriented_image() -> None:
    """Stored on its side with EXIF orientation 6: the face is found, and placed, where the upright image has it."""
    with Image.open(PORTRAIT) as image:
        upright = image.convert("RGB").resize((800, 600))
    exif = Image.Exif()
    exif[0x0112] = 6  # display = stored pixels turned 90 degrees clockwise
    sideways = encode(upright.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=92, exif=exif.tobytes())
    info = answer(sideways, {"fm": "json", "faces": "1"})
    assert info["PixelWidth"] == 600 and info["Orientation"] == 6  # the stored size, as imgix reports it
    (face,) = info["Faces"]  # type: ignore[misc]
    left, top, right, bottom = bounds_box(face)
    assert abs((left + right) / 2 - 450) < 40 and abs((top + bottom) / 2 - 210) < 40
    assert answer(sideways, {"fm": "json", "faces": "1", "orient": "0"})["Faces"] == []  # as stored: no face


def test_fm_json_with_faces_lists_none_without_a_face() -> None:
    assert answer((CASES / "logo.png").read_bytes(), {"fm": "json", "faces": "1"})["Faces"] == []
    assert answer(encode(quadrants()), {"fm": "json", "faces": "1"})["Faces"] == []
    for bad in ({"faces": "2"}, {"faces": "1", "orient": "45"}):
        with pytest.raises(RenderError) as caught:
            render(encode(quadrants()), {"fm": "json", **bad})
        assert caught.value.status == 400


def test_palette_json_has_imgix_shape_and_the_image_colours() -> None:
    palette = answer(encode(quadrants()), {"palette": "json", "colors": "4"})
    assert list(palette) == ["colors", "average_luminance", "dominant_colors"]
    colours = palette["colors"]
    assert isinstance(colours, list) and len(colours) == 4
    assert {c["hex"] for c in colours} == {"#ff0000", "#00ff00", "#0000ff", "#ffff00"}
    red = next(c for c in colours if c["hex"] == "#ff0000")
    assert red == {"red": 1.0, "hex": "#ff0000", "blue": 0.0, "green": 0.0}
    expected_luma = (0.2126 + 0.7152 + 0.0722 + 0.2126 + 0.7152) / 4
    assert palette["average_luminance"] == pytest.approx(expected_luma, abs=1e-4)
    dominant = palette["dominant_colors"]
    assert isinstance(dominant, dict) and set(dominant) <= {
        "vibrant", "vibrant_dark", "vibrant_light", "muted", "muted_dark", "muted_light"
    }  # fmt: skip
    assert dominant["vibrant"]["hex"] in {"#ff0000", "#00ff00", "#0000ff", "#ffff00"}
    assert len({c["hex"] for c in dominant.values()}) == len(dominant)  # a swatch is used once


def test_palette_is_most_frequent_first_and_follows_processing() -> None:
    image = solid(BLUE, (100, 100))
    ImageDraw.Draw(image).rectangle((0, 0, 99, 19), fill=RED)  # 20% red, 80% blue
    data = encode(image)
    assert [c["hex"] for c in answer(data, {"palette": "json", "colors": "2"})["colors"]] == ["#0000ff", "#ff0000"]
    cropped = answer(data, {"palette": "json", "rect": "0,0,100,20"})  # palette comes after processing
    assert [c["hex"] for c in cropped["colors"]] == ["#ff0000"]
    assert answer(data, {"palette": "json", "colors": "40"})["colors"] == answer(data, {"palette": "json"})["colors"]


def test_palette_leaves_out_transparent_pixels() -> None:
    image = solid((0, 0, 0, 0), (50, 50), mode="RGBA")
    ImageDraw.Draw(image).rectangle((0, 0, 9, 9), fill=(*YELLOW, 255))
    assert [c["hex"] for c in answer(encode(image), {"palette": "json"})["colors"]] == ["#ffff00"]


def test_palette_css_pairs_extras_and_prefix() -> None:
    rendered = render(encode(quadrants()), {"palette": "css", "colors": "2", "prefix": "frog"})
    assert rendered.content_type.startswith("text/css")
    css = rendered.body.decode()
    assert ".frog-fg-1 { color:#" in css and ".frog-bg-2 { background-color:#" in css
    assert ".frog-fg-ex-1 { color:#ffffff !important; }" in css
    assert ".frog-bg-ex-2 { background-color:#000000 !important; }" in css
    assert ".frog-fg-vibrant " in css and ".frog-fg-3 " not in css
    with pytest.raises(RenderError) as caught:
        render(encode(quadrants()), {"palette": "css", "prefix": "a b{"})
    assert caught.value.status == 400


def test_palette_refuses_unknown_kinds() -> None:
    with pytest.raises(RenderError) as caught:
        render(encode(quadrants()), {"palette": "xml"})
    assert caught.value.status == 400


def test_json_answers_are_parsable_for_photographs() -> None:
    photo = Image.effect_noise((120, 90), 60).convert("RGB")
    data = encode(photo, "JPEG")
    assert json.loads(render(data, {"palette": "json"}).body)["colors"]
    assert json.loads(render(data, {"fm": "json"}).body)["PixelWidth"] == 120
    assert Image.open(io.BytesIO(render(data, {"fm": "png"}).body)).format == "PNG"  # images unaffected
