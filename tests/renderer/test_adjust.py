"""Adjustments and stylize: bri, con, exp, gam, sat, hue, sharp, usm, blur, px, monochrome, sepia, invert."""

from __future__ import annotations

from PIL import Image, ImageStat

from .images import BLUE, GREEN, RED, gradient, near, quadrants, run, solid, with_alpha

GREY = (128, 128, 128)


def pixel(params: dict[str, str], image: Image.Image | None = None, xy: tuple[int, int] = (5, 5)) -> tuple[int, ...]:
    return run(image or solid(GREY), params).getpixel(xy)


def test_brightness() -> None:
    assert pixel({"bri": "100"})[:3] == (255, 255, 255)
    assert pixel({"bri": "-100"})[:3] == (0, 0, 0)
    assert near(pixel({"bri": "20"}), (179, 179, 179), 2)


def test_contrast() -> None:
    flat = run(gradient(), {"con": "-100"})
    low, high = flat.convert("L").getextrema()
    assert high - low <= 2
    spread = ImageStat.Stat(run(gradient(), {"con": "50"}).convert("L")).stddev[0]
    assert spread > ImageStat.Stat(gradient().convert("L")).stddev[0] * 1.3


def test_exposure() -> None:
    assert near(pixel({"exp": "50"}), (255, 255, 255), 2)
    assert near(pixel({"exp": "-50"}), (64, 64, 64), 2)


def test_gamma_lightens_and_darkens_midtones() -> None:
    assert pixel({"gam": "50"})[0] > 170
    assert pixel({"gam": "-50"})[0] < 80
    assert run(gradient(), {"gam": "50"}).getpixel((0, 5))[0] < 5  # black stays black


def test_saturation() -> None:
    r, g, b = pixel({"sat": "-100"}, solid(RED))[:3]
    assert r == g == b
    more = pixel({"sat": "100"}, solid((200, 100, 100)))
    assert more[0] - more[1] > 100


def test_hue_turns_red_to_green_and_blue() -> None:
    assert near(pixel({"hue": "120"}, solid(RED)), GREEN, 12)
    assert near(pixel({"hue": "240"}, solid(RED)), BLUE, 12)
    assert near(pixel({"hue": "360"}, solid(RED)), RED, 2)


def step_edge() -> Image.Image:
    image = Image.new("RGB", (64, 16), (100, 100, 100))
    image.paste((150, 150, 150), (32, 0, 64, 16))
    return image


def test_sharpen_overshoots_at_edges() -> None:
    for params in ({"sharp": "80"}, {"usm": "50", "usmrad": "2"}):
        low, high = run(step_edge(), params).convert("L").getextrema()
        assert low < 95 and high > 155, params


def test_blur_mixes_neighbours_only() -> None:
    image = run(quadrants(), {"blur": "100"})
    assert not near(image.getpixel((199, 75)), RED, 30)  # at the red/green border
    assert near(image.getpixel((60, 60)), RED, 8)


def test_pixelate_makes_blocks() -> None:
    image = run(gradient(), {"px": "16"})
    assert image.getpixel((0, 0)) == image.getpixel((15, 15))
    assert image.getpixel((0, 0)) != image.getpixel((16, 0))


def test_monochrome_tints_greys() -> None:
    r, g, b = pixel({"mono": "ff0000"})[:3]
    assert r > 200 and g == b and g < 50
    assert pixel({"monochrome": "ff0000"}, solid((255, 255, 255)))[:3] == (255, 255, 255)
    half = pixel({"monochrome": "80ff0000"})
    assert 128 < half[0] < r and 30 < half[1] < 128


def test_sepia() -> None:
    r, g, b = pixel({"sepia": "100"})[:3]
    assert r > g > b


def test_invert_keeps_alpha() -> None:
    assert pixel({"invert": "true"}, solid(RED))[:3] == (0, 255, 255)
    image = run(with_alpha(), {"inv": "1"})
    assert image.getpixel((10, 10)) == (0, 255, 255, 255)
    assert image.getpixel((150, 10))[3] == 0


def test_adjustments_keep_alpha() -> None:
    image = run(with_alpha(), {"bri": "20", "con": "10", "sat": "10", "hue": "30", "sharp": "10"})
    assert image.mode == "RGBA" and image.getpixel((150, 10))[3] == 0 and image.getpixel((10, 10))[3] == 255


def test_no_adjustment_is_lossless() -> None:
    assert pixel({"bri": "0", "con": "0", "hue": "0", "blur": "0"}, solid((12, 34, 56)))[:3] == (12, 34, 56)
