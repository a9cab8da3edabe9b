"""`txt`, `mark` and `blend`: real text with Pillow's FreeType font, marks from the source and `~text`, blend modes."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageFont, features

from local_platform.renderer import RenderError, fallbacks, render
from local_platform.renderer.overlays import BLEND_MODES
from local_platform.renderer.params import Params
from local_platform.renderer.text import typeset

from .images import encode, run, solid

GREY = (128, 128, 128)
TUTORIAL_MARK = (
    "https://assets.imgix.net/~text?w=200&txt-color=fff&txt=Hello+world&txt-size=16&txt-lead=0&txt-pad=15"
    "&bg=80002228&txt-font=Avenir-Heavy"
)


def ink(image: Image.Image, box: tuple[int, int, int, int], colour: tuple[int, int, int], tolerance: int = 40) -> int:
    """How many pixels of `box` are within `tolerance` of `colour`."""
    region = np.asarray(image.convert("RGB").crop(box), dtype=int)
    return int((np.abs(region - np.array(colour)) <= tolerance).all(axis=-1).sum())


def test_pillow_draws_with_freetype() -> None:
    assert features.check("freetype2")
    assert isinstance(ImageFont.load_default(size=16), ImageFont.FreeTypeFont)


def test_txt_is_drawn_bottom_right_by_default_in_its_colour() -> None:
    out = run(solid(GREY, (300, 120)), {"txt": "Hello", "txt-size": "30", "txt-color": "f00", "fm": "png"})
    assert ink(out, (150, 60, 300, 120), (255, 0, 0)) > 50  # bottom right
    assert ink(out, (0, 0, 150, 60), (255, 0, 0)) == 0
    assert ink(out, (290, 0, 300, 120), (255, 0, 0)) == 0  # txt-pad 10 keeps the edge clear


def test_txt_align_size_and_position() -> None:
    small = run(solid(GREY, (300, 120)), {"txt": "Hello", "txt-size": "12", "txt-align": "top,left", "fm": "png"})
    big = run(solid(GREY, (300, 120)), {"txt": "Hello", "txt-size": "40", "txt-align": "top,left", "fm": "png"})
    assert 0 < ink(small, (0, 0, 150, 60), (0, 0, 0)) < ink(big, (0, 0, 150, 60), (0, 0, 0))
    placed = run(solid(GREY, (300, 120)), {"txt": "Hi", "txt-size": "30", "txt-x": "200", "txt-y": "60", "fm": "png"})
    assert ink(placed, (200, 60, 300, 120), (0, 0, 0)) > 20 and ink(placed, (0, 0, 200, 60), (0, 0, 0)) == 0


def test_txt_width_clips_or_shrinks() -> None:
    long = "a long line of text that cannot fit"
    clipped = run(solid(GREY, (300, 60)), {"txt": long, "txt-size": "20", "txt-width": "100", "txt-align": "left"})
    assert ink(clipped, (115, 0, 300, 60), (0, 0, 0)) == 0
    shrunk = run(solid(GREY, (300, 60)), {"txt": long, "txt-size": "40", "txt-width": "250", "txt-fit": "max"})
    assert ink(shrunk, (0, 0, 40, 60), (0, 0, 0)) == 0 and ink(shrunk, (40, 0, 300, 60), (0, 0, 0)) > 20


def test_txt_outline_shadow_and_background() -> None:
    out = run(
        solid(GREY, (300, 100)),
        {"txt": "Hi", "txt-size": "40", "txt-color": "fff", "txt-line": "2", "txt-line-color": "00f", "fm": "png"},
    )
    assert ink(out, (0, 0, 300, 100), (0, 0, 255)) > 20 and ink(out, (0, 0, 300, 100), (255, 255, 255)) > 20
    boxed = run(solid(GREY, (300, 100)), {"txt": "Hi", "txt-bg": "0f0", "fm": "png"})
    assert ink(boxed, (200, 50, 300, 100), (0, 255, 0), tolerance=5) > 50


def test_typeset_wraps_into_the_width_on_bg() -> None:
    image = typeset(Params({"txt": "one two three four five six", "txt-size": "20", "w": "120", "bg": "80002228"}))
    assert image.width == 120 and image.height > 50  # several lines
    assert image.getpixel((0, 0)) == (0, 34, 40, 128)  # AARRGGBB: alpha first
    single = typeset(Params({"txt": "one two three four five six", "txt-size": "20"}))
    assert single.width > 200 and single.height < image.height


def test_tutorial_text_mark_is_drawn_from_the_text_endpoint() -> None:
    params = {"w": "300", "h": "300", "fit": "crop", "mark": TUTORIAL_MARK, "fm": "png"}
    out = run(solid(GREY, (600, 600)), params)
    # A 200-px box of #002228 at half opacity over grey, bottom right (mark-pad 5), with white text on it.
    box = (100, 250, 295, 295)
    assert ink(out, box, (64, 81, 84), tolerance=6) > 1000
    assert ink(out, box, (255, 255, 255), tolerance=60) > 20
    assert ink(out, (0, 0, 95, 240), (64, 81, 84), tolerance=6) == 0
    assert fallbacks(params) == ["mark: ~text font 'Avenir-Heavy' is imgix's, drawn with Pillow's built-in font"]


def mark_source(files: dict[str, bytes]):
    def fetch(path: str) -> bytes:
        if path not in files:
            raise RenderError(404, "not found")
        return files[path]

    return fetch


def test_mark_from_a_path_with_its_own_parameters_size_and_alpha() -> None:
    fetch = mark_source({"logo.png": encode(Image.new("RGBA", (40, 20), (255, 0, 0, 255)))})
    base = encode(solid((0, 0, 255), (200, 100)))
    params = {"mark": "/logo.png?w=20", "mark-align": "top,left", "mark-pad": "0", "fm": "png"}
    out = Image.open(io.BytesIO(render(base, params, fetch=fetch).body)).convert("RGB")
    assert out.getpixel((5, 5)) == (255, 0, 0) and out.getpixel((25, 5)) == (0, 0, 255)  # 20x10 at top left
    faded = {"mark": "logo.png", "mark-alpha": "50", "mark-align": "middle,center", "fm": "png"}
    centre = Image.open(io.BytesIO(render(base, faded, fetch=fetch).body)).convert("RGB").getpixel((100, 50))
    assert centre == pytest.approx((128, 0, 127), abs=2)
    scaled = {"mark": "logo.png", "mark-scale": "50", "mark-pad": "0", "fm": "png"}
    corner = Image.open(io.BytesIO(render(base, scaled, fetch=fetch).body)).convert("RGB")
    assert corner.getpixel((101, 99)) == (255, 0, 0) and corner.getpixel((99, 99)) == (0, 0, 255)  # 100 px wide
    tiled = Image.open(io.BytesIO(render(base, {"mark": "logo.png", "mark-tile": "grid"}, fetch=fetch).body))
    assert ink(tiled, (0, 0, 200, 100), (255, 0, 0), tolerance=10) > 19000


def test_missing_mark_is_a_400_and_remote_marks_are_left_out() -> None:
    base = encode(solid((0, 0, 255), (200, 100)))
    with pytest.raises(RenderError) as caught:
        render(base, {"mark": "/missing.png"}, fetch=mark_source({}))
    assert caught.value.status == 400 and "mark" in caught.value.message
    remote = render(base, {"mark": "https://example.com/logo.png", "fm": "png"}, fetch=mark_source({}))
    assert Image.open(io.BytesIO(remote.body)).convert("RGB").getpixel((195, 95)) == (0, 0, 255)
    assert fallbacks({"mark": "https://example.com/logo.png"}) == [
        "mark: an image at another host, not fetched locally, left out"
    ]
    assert fallbacks({"mark": "/logo.png", "txt": "x"}) == []


def w3c(mode: str, b: float, s: float) -> float:
    """The separable blend formulas, one channel (W3C Compositing and Blending Level 1)."""
    if mode == "softlight":
        d = ((16 * b - 12) * b + 4) * b if b <= 0.25 else b**0.5
        return b - (1 - 2 * s) * b * (1 - b) if s <= 0.5 else b + (2 * s - 1) * (d - b)
    return {
        "normal": s,
        "multiply": b * s,
        "screen": b + s - b * s,
        "overlay": 2 * b * s if b <= 0.5 else 1 - 2 * (1 - b) * (1 - s),
        "hardlight": 2 * b * s if s <= 0.5 else 1 - 2 * (1 - b) * (1 - s),
        "darken": min(b, s),
        "lighten": max(b, s),
        "difference": abs(b - s),
        "exclusion": b + s - 2 * b * s,
        "burn": 1.0 if b >= 1 else 0.0 if s <= 0 else 1 - min(1.0, (1 - b) / s),
        "dodge": 0.0 if b <= 0 else 1.0 if s >= 1 else min(1.0, b / (1 - s)),
    }[mode]


@pytest.mark.parametrize("mode", [m for m in BLEND_MODES if m not in ("hue", "saturation", "color", "luminosity")])
def test_colour_blend_modes_follow_the_w3c_formulas(mode: str) -> None:
    backdrop, colour = (200, 100, 30), (50, 160, 220)
    out = run(solid(backdrop), {"blend": "32a0dc", "blend-mode": mode, "fm": "png"})
    expected = tuple(round(w3c(mode, b / 255, s / 255) * 255) for b, s in zip(backdrop, colour, strict=True))
    assert out.convert("RGB").getpixel((5, 5)) == pytest.approx(expected, abs=1)


def lum(rgb: tuple[int, ...]) -> float:
    return float(np.dot(rgb[:3], (0.3, 0.59, 0.11)))


def test_non_separable_modes_keep_the_right_component() -> None:
    backdrop = (200, 100, 30)
    luminosity = run(solid(backdrop), {"blend": "fff", "blend-mode": "luminosity", "fm": "png"})
    assert luminosity.convert("RGB").getpixel((5, 5)) == (255, 255, 255)
    hue = run(solid(backdrop), {"blend": "00f", "blend-mode": "hue", "fm": "png"}).convert("RGB")
    assert abs(hue.convert("HSV").getpixel((5, 5))[0] - 170) <= 2  # blue's hue (240 degrees)
    assert lum(hue.getpixel((5, 5))) == pytest.approx(lum(backdrop), abs=2)  # the backdrop's luminosity
    colour = run(solid(backdrop), {"blend": "0f0", "blend-mode": "color", "fm": "png"}).convert("RGB")
    assert lum(colour.getpixel((5, 5))) == pytest.approx(lum(backdrop), abs=2)
    grey = run(solid((200, 100, 30)), {"blend": "808080", "blend-mode": "saturation", "fm": "png"}).convert("RGB")
    r, g, b = grey.getpixel((5, 5))
    assert r == g == b  # no saturation left


def test_blend_alpha_and_image_blends() -> None:
    half = run(solid((0, 0, 0)), {"blend": "fff", "blend-mode": "normal", "blend-alpha": "50", "fm": "png"})
    assert half.convert("RGB").getpixel((5, 5)) == pytest.approx((128, 128, 128), abs=1)
    fetch = mark_source({"tex.png": encode(Image.new("RGB", (10, 10), (255, 0, 0)))})
    base = encode(solid((0, 0, 255), (100, 50)))
    params = {"blend": "/tex.png", "blend-mode": "screen", "blend-size": "inherit", "fm": "png"}
    out = Image.open(io.BytesIO(render(base, params, fetch=fetch).body)).convert("RGB")
    assert out.getpixel((90, 40)) == (255, 0, 255)  # screen of red over blue, over the whole image
    placed = {"blend": "/tex.png", "blend-mode": "normal", "blend-align": "bottom,right", "fm": "png"}
    corner = Image.open(io.BytesIO(render(base, placed, fetch=fetch).body)).convert("RGB")
    assert corner.getpixel((95, 45)) == (255, 0, 0) and corner.getpixel((5, 5)) == (0, 0, 255)


def test_mask_image_from_the_source_hides_by_luminance_and_alpha() -> None:
    shape = Image.new("RGBA", (10, 10), (255, 255, 255, 255))  # white: visible
    shape.paste((0, 0, 0, 255), (0, 0, 5, 10))  # black left half: hidden
    shape.paste((255, 255, 255, 0), (5, 5, 10, 10))  # transparent bottom right: hidden
    fetch = mark_source({"masks/shape.png": encode(shape)})
    out = Image.open(
        io.BytesIO(
            render(encode(solid((0, 0, 255), (100, 100))), {"mask": "masks/shape.png", "fm": "png"}, fetch=fetch).body
        )
    )
    assert out.getpixel((25, 50))[3] == 0 and out.getpixel((75, 25)) == (0, 0, 255, 255)
    assert out.getpixel((75, 75))[3] == 0
    painted = {"mask": "/masks/shape.png", "mask-bg": "f00", "fm": "jpg"}
    jpeg = Image.open(io.BytesIO(render(encode(solid((0, 0, 255), (100, 100))), painted, fetch=fetch).body))
    assert jpeg.convert("RGB").getpixel((25, 50)) == pytest.approx((255, 0, 0), abs=8)
    assert fallbacks({"mask": "masks/shape.png"}) == []
