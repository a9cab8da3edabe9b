"""EXIF orientation, `orient`, `rot`/`rot-type` and `flip`."""

from __future__ import annotations

import pytest
from PIL import Image

from local_platform.renderer import RenderError, render

from .images import BLUE, GREEN, RED, YELLOW, encode, near, quadrants, run


def jpeg_with_orientation(code: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = code
    return encode(quadrants(), "JPEG", quality=95, exif=exif)


def test_exif_orientation_is_applied_by_default() -> None:
    image = run(jpeg_with_orientation(6))
    assert image.size == (300, 400)
    assert near(image.getpixel((20, 20)), BLUE, 20)  # rotated 90 degrees clockwise


def test_orient_overrides_exif() -> None:
    assert run(jpeg_with_orientation(6), {"orient": "1"}).size == (400, 300)
    assert run(jpeg_with_orientation(6), {"or": "0"}).size == (400, 300)


@pytest.mark.parametrize(
    ("orient", "size", "top_left"),
    [("6", (300, 400), BLUE), ("90", (300, 400), BLUE), ("8", (300, 400), GREEN), ("270", (300, 400), GREEN),
     ("3", (400, 300), YELLOW), ("180", (400, 300), YELLOW), ("2", (400, 300), GREEN), ("4", (400, 300), BLUE)],
)  # fmt: skip
def test_orient_values(orient: str, size: tuple[int, int], top_left: tuple[int, ...]) -> None:
    image = run(quadrants(), {"orient": orient})
    assert image.size == size and near(image.getpixel((5, 5)), top_left)


@pytest.mark.parametrize("value", ["9", "45", "x"])
def test_bad_orient_is_a_400(value: str) -> None:
    with pytest.raises(RenderError):
        render(encode(quadrants()), {"orient": value})


@pytest.mark.parametrize(("flip", "top_left"), [("h", GREEN), ("v", BLUE), ("hv", YELLOW)])
def test_flip(flip: str, top_left: tuple[int, ...]) -> None:
    assert near(run(quadrants(), {"flip": flip}).getpixel((5, 5)), top_left)


def test_rot_180_and_pivot_90() -> None:
    assert near(run(quadrants(), {"rot": "180"}).getpixel((5, 5)), YELLOW)
    turned = run(quadrants(), {"rot": "90", "rot-type": "pivot"})
    assert turned.size == (300, 400) and near(turned.getpixel((5, 5)), BLUE)


def test_rot_straighten_keeps_the_frame_without_empty_corners() -> None:
    image = run(quadrants(), {"rot": "30"})
    assert image.size == (400, 300) and image.mode == "RGB"
    image = run(quadrants(), {"rot": "90"})
    assert image.size == (400, 300)


def test_rot_pivot_shows_everything_with_transparent_corners() -> None:
    image = run(quadrants(), {"rot": "45", "rot-type": "pivot"})
    assert image.width > 400 and image.height > 300
    assert image.getpixel((0, 0))[3] == 0 and image.getpixel((image.width // 2, image.height // 2))[3] == 255


def test_rot_is_clockwise() -> None:
    image = run(quadrants(400, 400), {"rot": "90", "rot-type": "pivot"})
    assert near(image.getpixel((5, 5)), BLUE) and near(image.getpixel((394, 5)), RED)


def test_bad_flip_is_a_400() -> None:
    with pytest.raises(RenderError):
        render(encode(quadrants()), {"flip": "x"})
