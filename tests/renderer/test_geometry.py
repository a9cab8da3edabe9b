"""Size, fit, crop, ar, rect, dpr, padding room and the 8192 px limit, on drawn images."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw

from local_platform.renderer import RenderError, render

from .images import BLUE, GREEN, RED, YELLOW, encode, gradient, near, quadrants, run


def size_of(params: dict[str, str], image: Image.Image | None = None) -> tuple[int, int]:
    return run(image or quadrants(), params).size


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, (400, 300)),
        ({"w": "200"}, (200, 150)),
        ({"h": "150"}, (200, 150)),
        ({"w": "0.5"}, (200, 150)),
        ({"h": "0.25"}, (100, 75)),
        ({"w": "100", "h": "100"}, (100, 75)),  # fit=clip: one side matches
        ({"w": "800"}, (800, 600)),  # clip upscales
        ({"w": "800", "fit": "max"}, (400, 300)),  # max does not
        ({"w": "200", "fit": "max"}, (200, 150)),
        ({"w": "100", "h": "100", "fit": "crop"}, (100, 100)),
        ({"w": "100", "fit": "crop"}, (100, 75)),  # crop needs both: acts as clip
        ({"w": "100", "h": "100", "fit": "scale"}, (100, 100)),
        ({"w": "100", "h": "100", "fit": "fill"}, (100, 100)),
        ({"w": "800", "h": "800", "fit": "fillmax"}, (800, 800)),
        ({"w": "100", "h": "100", "fit": "clamp"}, (100, 100)),
        ({"w": "100", "h": "100", "fit": "min"}, (100, 100)),
        ({"w": "800", "h": "800", "fit": "min"}, (300, 300)),  # never upscales: the box shrinks to the source
        ({"w": "100", "h": "100", "fit": "facearea"}, (100, 100)),  # no faces locally: crop
        ({"w": "100", "dpr": "2"}, (200, 150)),
        ({"w": "100", "h": "100", "fit": "crop", "dpr": "1.5"}, (150, 150)),
        ({"dpr": "2"}, (400, 300)),  # dpr needs w or h
        ({"ar": "1:1", "fit": "crop"}, (300, 300)),
        ({"ar": "2:1", "w": "280", "fit": "crop"}, (280, 140)),
        ({"ar": "16:9", "h": "90", "fit": "crop"}, (160, 90)),
        ({"ar": "1:1", "fit": "fill"}, (400, 400)),  # fill: the smallest frame around the source
        ({"ar": "1:1"}, (400, 300)),  # ar only with fit=crop or fill
        ({"pad": "10"}, (420, 320)),
        ({"pad-left": "20"}, (420, 300)),
        ({"w": "200", "pad": "10"}, (200, 155)),  # the box includes the padding
        ({"rect": "100,50,200,100"}, (200, 100)),
        ({"rect": "0.5,0.5,1000,1000"}, (200, 150)),  # clipped to the image
    ],
)
def test_output_size(params: dict[str, str], expected: tuple[int, int]) -> None:
    assert size_of(params) == expected


def test_clip_example_from_the_docs() -> None:
    assert size_of({"fit": "clip", "w": "100", "h": "100"}, quadrants(300, 200)) == (100, 67)


def test_ar_example_from_the_docs() -> None:
    assert size_of({"ar": "9:1", "fit": "crop"}, quadrants(900, 270)) == (900, 100)


def test_no_params_keeps_pixels() -> None:
    image = run(quadrants())
    assert image.getpixel((10, 10))[:3] == RED and image.getpixel((390, 290))[:3] == YELLOW


def test_crop_is_centred_by_default() -> None:
    image = run(quadrants(), {"w": "100", "h": "100", "fit": "crop"})
    assert near(image.getpixel((5, 5)), RED) and near(image.getpixel((94, 5)), GREEN)
    assert near(image.getpixel((5, 94)), BLUE) and near(image.getpixel((94, 94)), YELLOW)


@pytest.mark.parametrize(
    ("crop", "size", "colour"),
    [
        ("left", (800, 200), RED),
        ("right", (800, 200), GREEN),
        ("top,left", (800, 200), RED),
        ("bottom,right", (800, 200), GREEN),
        ("top,left", (200, 800), RED),
        ("bottom,right", (200, 800), YELLOW),
    ],
)
def test_crop_anchors(crop: str, size: tuple[int, int], colour: tuple[int, ...]) -> None:
    image = run(quadrants(*size), {"w": "100", "h": "100", "fit": "crop", "crop": crop})
    x = 90 if size[0] < size[1] and "right" in crop else 10
    assert near(image.getpixel((x, 10 if "top" in crop or size[0] > size[1] else 90)), colour)


def test_crop_top_and_bottom() -> None:
    top = run(quadrants(200, 800), {"w": "100", "h": "100", "fit": "crop", "crop": "top"})
    bottom = run(quadrants(200, 800), {"w": "100", "h": "100", "fit": "crop", "crop": "bottom"})
    assert near(top.getpixel((10, 50)), RED) and near(top.getpixel((90, 50)), GREEN)
    assert near(bottom.getpixel((10, 50)), BLUE) and near(bottom.getpixel((90, 50)), YELLOW)


def busy_on_the_right(width: int = 800, height: int = 200) -> Image.Image:
    """Flat grey with a noisy, detailed block near the right edge."""
    image = Image.new("RGB", (width, height), (128, 128, 128))
    noise = Image.effect_noise((200, height), 100).convert("RGB")
    image.paste(noise, (width - 220, 0))
    return image


@pytest.mark.parametrize("crop", ["entropy", "edges", "faces,entropy", "faces,edges"])
def test_smart_crops_find_the_busy_area(crop: str) -> None:
    image = run(busy_on_the_right(), {"w": "200", "h": "200", "fit": "crop", "crop": crop})
    colours = image.crop((50, 50, 150, 150)).getcolors(100_000) or []
    assert len(colours) > 50, "the window should land on the noisy block, not the flat grey"


def test_faces_alone_falls_back_to_a_centred_crop() -> None:
    image = run(quadrants(800, 200), {"w": "100", "h": "100", "fit": "crop", "crop": "faces"})
    assert near(image.getpixel((5, 10)), RED) and near(image.getpixel((94, 10)), GREEN)


def test_faces_falls_back_to_the_anchor_of_the_chain() -> None:
    image = run(quadrants(800, 200), {"w": "100", "h": "100", "fit": "crop", "crop": "faces,right"})
    assert near(image.getpixel((50, 10)), GREEN)


@pytest.mark.parametrize(
    ("fp", "colour"), [(("0", "0"), RED), (("1", "0"), GREEN), (("0", "1"), BLUE), (("1", "1"), YELLOW)]
)
def test_focalpoint_crop(fp: tuple[str, str], colour: tuple[int, ...]) -> None:
    params = {"w": "100", "h": "100", "fit": "crop", "crop": "focalpoint", "fp-x": fp[0], "fp-y": fp[1], "fp-z": "2"}
    image = run(quadrants(), params)
    assert all(near(image.getpixel(xy), colour) for xy in [(2, 2), (97, 2), (2, 97), (97, 97)])


def test_focalpoint_zoom_keeps_the_window_inside() -> None:
    image = run(quadrants(), {"w": "100", "h": "100", "fit": "crop", "crop": "focalpoint", "fp-x": "0.25", "fp-z": "2"})
    assert image.size == (100, 100)


def test_scale_distorts() -> None:
    image = run(quadrants(), {"w": "100", "h": "100", "fit": "scale"})
    assert near(image.getpixel((25, 25)), RED) and near(image.getpixel((75, 75)), YELLOW)


def test_fill_leaves_transparent_bands_and_fill_solid_paints_them() -> None:
    bands = run(quadrants(), {"w": "200", "h": "200", "fit": "fill"})
    assert bands.getpixel((100, 5))[3] == 0 and near(bands.getpixel((50, 40)), RED)
    solid = run(quadrants(), {"w": "200", "h": "200", "fit": "fill", "fill": "solid", "fill-color": "00f"})
    assert solid.getpixel((100, 5)) == (0, 0, 255, 255)
    white = run(quadrants(), {"w": "200", "h": "200", "fit": "fill", "fm": "jpg"})
    assert near(white.getpixel((100, 5)), (255, 255, 255))


def test_fill_blur_uses_the_image() -> None:
    image = run(quadrants(), {"w": "200", "h": "200", "fit": "fill", "fill": "blur"})
    assert image.getpixel((100, 5))[3] == 255


def test_fillmax_does_not_upscale() -> None:
    image = run(quadrants(), {"w": "800", "h": "800", "fit": "fillmax"})
    assert image.getpixel((10, 10))[3] == 0
    assert near(image.getpixel((210, 260)), RED) and near(image.getpixel((590, 540)), YELLOW)


def test_clamp_repeats_the_edges() -> None:
    image = run(quadrants(), {"w": "200", "h": "200", "fit": "clamp"})
    assert near(image.getpixel((10, 2)), RED) and near(image.getpixel((190, 2)), GREEN)
    assert near(image.getpixel((10, 197)), BLUE) and near(image.getpixel((190, 197)), YELLOW)


def test_rect_words_and_fractions() -> None:
    centre = run(quadrants(), {"rect": "center,middle,200,100"})
    assert centre.size == (200, 100) and near(centre.getpixel((0, 0)), RED) and near(centre.getpixel((199, 99)), YELLOW)
    corner = run(quadrants(), {"rect": "right,bottom,0.25,0.5"})
    assert corner.size == (100, 150) and near(corner.getpixel((50, 75)), YELLOW)


def test_rect_then_resize() -> None:
    image = run(quadrants(), {"rect": "0,0,200,150", "w": "50"})
    assert image.size == (50, 38) and near(image.getpixel((25, 19)), RED)


@pytest.mark.parametrize(
    "params",
    [
        {"rect": "1,2,3"},
        {"rect": "a,b,c,d"},
        {"rect": "500,0,10,10"},
        {"rect": "0,0,0,10"},
        {"fit": "stretch"},
        {"crop": "middle", "fit": "crop", "w": "10", "h": "10"},
        {"ar": "1-1", "fit": "crop"},
        {"ar": "0:1", "fit": "crop"},
        {"dpr": "0", "w": "10"},
        {"dpr": "5.5", "w": "10"},
        {"w": "100", "pad": "60"},
        {"fp-x": "2", "fit": "crop", "crop": "focalpoint", "w": "10", "h": "10"},
    ],
)
def test_invalid_size_values_are_a_400(params: dict[str, str]) -> None:
    with pytest.raises(RenderError) as caught:
        render(encode(quadrants()), params)
    assert caught.value.status == 400


def test_output_is_capped_at_8192_keeping_the_aspect_ratio() -> None:
    thin = Image.new("RGB", (400, 10), (10, 20, 30))
    assert size_of({"w": "8000", "dpr": "2"}, thin) == (8192, 205)
    assert size_of({"w": "5000", "h": "5", "fit": "crop", "dpr": "4"}, thin) == (8192, 8)


def test_oversized_source_without_a_size_is_scaled_to_8192() -> None:
    assert size_of({}, Image.new("RGB", (9000, 4), (1, 2, 3))) == (8192, 4)


def test_padding_is_capped_too() -> None:
    assert size_of({"pad": "100"}, Image.new("RGB", (8100, 4), (1, 2, 3))) == (8192, 204)


def test_gradient_survives_a_downscale_in_order() -> None:
    image = run(gradient(), {"w": "64"})
    values = [image.getpixel((x, 8))[0] for x in range(0, 64, 8)]
    assert values == sorted(values) and values[0] < 20 and values[-1] > 200


def test_drawn_shapes_are_where_expected_after_crop() -> None:
    image = Image.new("RGB", (300, 300), "white")
    ImageDraw.Draw(image).rectangle((0, 0, 99, 99), fill=RED)
    out = run(image, {"rect": "0,0,100,100", "w": "10"})
    assert near(out.getpixel((5, 5)), RED)
