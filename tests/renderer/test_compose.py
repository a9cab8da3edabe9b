"""Masks (ellipse, corners, corner-radius, mask-bg), padding and bg."""

from __future__ import annotations

import pytest

from local_platform.renderer import RenderError, render

from .images import BLUE, RED, encode, near, quadrants, run, solid, with_alpha

WHITE = (255, 255, 255)


def test_ellipse_mask_is_transparent_in_png() -> None:
    image = run(solid(RED, (200, 100)), {"mask": "ellipse"})
    assert image.mode == "RGBA"
    assert image.getpixel((2, 2))[3] == 0 and image.getpixel((197, 97))[3] == 0
    assert image.getpixel((100, 50)) == (*RED, 255)
    assert image.getpixel((5, 50))[3] == 255  # the ellipse stretches to the bounds
    assert image.getpixel((100, 2))[3] == 255


def test_ellipse_mask_is_white_in_jpeg() -> None:
    image = run(solid(RED, (200, 100)), {"mask": "ellipse", "fm": "jpg"})
    assert image.mode == "RGB"
    assert near(image.getpixel((2, 2)), WHITE) and near(image.getpixel((100, 50)), RED, 12)


def test_mask_bg_paints_the_masked_area() -> None:
    png = run(solid(RED, (200, 100)), {"mask": "ellipse", "mask-bg": "00f"})
    assert png.getpixel((2, 2)) == (*BLUE, 255)
    jpeg = run(solid(RED, (200, 100)), {"mask": "ellipse", "mask-bg": "blue", "fm": "jpg"})
    assert near(jpeg.getpixel((2, 2)), BLUE, 12)


def test_corners_mask_default_radius_is_a_fifth_of_the_smaller_side() -> None:
    image = run(solid(RED, (200, 100)), {"mask": "corners"})  # radius 20
    assert image.getpixel((1, 1))[3] == 0 and image.getpixel((198, 98))[3] == 0
    assert image.getpixel((20, 1))[3] == 255 and image.getpixel((1, 20))[3] == 255
    assert image.getpixel((4, 4))[3] < 128 and image.getpixel((10, 10))[3] == 255


def test_corner_radius_one_or_four_values() -> None:
    none = run(solid(RED, (200, 100)), {"mask": "corners", "corner-radius": "0"})
    assert none.getpixel((0, 0))[3] == 255
    one = run(solid(RED, (200, 100)), {"mask": "corners", "corner-radius": "0,40,0,0"})  # tl,tr,br,bl
    assert one.getpixel((0, 0))[3] == 255 and one.getpixel((199, 0))[3] == 0
    assert one.getpixel((199, 99))[3] == 255 and one.getpixel((0, 99))[3] == 255


@pytest.mark.parametrize("radius", ["1,2", "1,2,3", "-4", "x"])
def test_bad_corner_radius_is_a_400(radius: str) -> None:
    with pytest.raises(RenderError) as caught:
        render(encode(solid(RED)), {"mask": "corners", "corner-radius": radius})
    assert caught.value.status == 400


def test_mask_url_is_ignored() -> None:
    image = run(solid(RED, (50, 50)), {"mask": "https://example.com/mask.png"})
    assert image.getpixel((0, 0)) == RED


def test_mask_after_crop_fits_the_output() -> None:
    image = run(quadrants(), {"w": "100", "h": "100", "fit": "crop", "mask": "ellipse"})
    assert image.size == (100, 100) and image.getpixel((1, 1))[3] == 0 and image.getpixel((50, 50))[3] == 255


def test_padding_is_transparent_then_bg_or_white() -> None:
    png = run(solid(RED, (50, 50)), {"pad": "10"})
    assert png.size == (70, 70) and png.getpixel((2, 2))[3] == 0 and png.getpixel((35, 35)) == (*RED, 255)
    coloured = run(solid(RED, (50, 50)), {"pad": "10", "bg": "00f"})
    assert coloured.getpixel((2, 2)) == (*BLUE, 255)
    jpeg = run(solid(RED, (50, 50)), {"pad": "10", "fm": "jpg"})
    assert near(jpeg.getpixel((2, 2)), WHITE)


def test_pad_sides() -> None:
    image = run(solid(RED, (50, 50)), {"pad-top": "5", "pad-left": "7", "pad-right": "1", "pad-bottom": "0"})
    assert image.size == (58, 55) and image.getpixel((6, 10))[3] == 0 and image.getpixel((7, 5))[3] == 255


def test_bg_fills_partial_transparency() -> None:
    image = run(with_alpha(), {"bg": "fff"})
    assert image.getpixel((150, 10)) == (255, 255, 255, 255)
    r, g, b, a = image.getpixel((150, 95))  # half-transparent blue over white
    assert a == 255 and near((r, g, b), (127, 127, 255), 3)


def test_bg_with_alpha_keeps_some_transparency() -> None:
    image = run(with_alpha(), {"bg": "80ffffff"})
    assert image.getpixel((150, 10)) == (255, 255, 255, 128)
