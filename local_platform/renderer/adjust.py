"""Colour adjustments (`bri`, `con`, `exp`, `gam`, `sat`, `hue`, `sharp`, `usm`) and stylize (`px`, `blur`,
`monochrome`, `sepia`, `invert`), on the colour channels only: alpha is kept as it is.

imgix's exact curves are not published; these are close, monotonic stand-ins on imgix's scales:

* `bri` -100..100: adds bri x 2.55 to every channel (100 turns mid-grey white, -100 black).
* `con` -100..100: contrast around the mean grey, factor 1 + con/100 below zero (-100 flat grey), 1 + con/50 above.
* `exp` -100..100: multiplies by 2^(exp/50) (±2 stops at the ends).
* `gam` -100..100: out = in^(2^(-gam/50)), so positive values lighten the mid-tones.
* `sat` -100..100: saturation factor 1 + sat/100 (-100 is greyscale).
* `hue` 0..360: turns the hue by that many degrees (red + 120 = green).
* `sharp` 0..100 and `usm`/`usmrad`: unsharp masks; `blur` 0..2000: gaussian blur of radius blur/10 px.
* `monochrome` (`mono`): greyscale tinted to the colour (black and white stay); its alpha is the strength.
* `sepia` 0..100: blends with a sepia tint; `px` 0..100: pixelates in blocks of `px` pixels; `invert`.
"""

from __future__ import annotations

from collections.abc import Callable

from PIL import Image, ImageEnhance, ImageFilter, ImageOps

from local_platform.renderer.params import Params

__all__ = ["adjust", "stylize"]

_SEPIA = (112, 66, 20)


def _on_colour(image: Image.Image, operation: Callable[[Image.Image], Image.Image]) -> Image.Image:
    """Run `operation` on the RGB channels and put the alpha channel back."""
    if image.mode != "RGBA":
        return operation(image.convert("RGB"))
    result = operation(image.convert("RGB")).convert("RGBA")
    result.putalpha(image.getchannel("A"))
    return result


def _lut(function: Callable[[float], float]) -> list[int]:
    return [min(255, max(0, round(function(v)))) for v in range(256)] * 3


def adjust(image: Image.Image, params: Params) -> Image.Image:
    """Apply the adjustment parameters present, in a fixed order: exp, bri, gam, con, sat, hue, sharp, usm."""
    exp = params.number("exp", default=0, lo=-100, hi=100)
    bri = params.number("bri", default=0, lo=-100, hi=100)
    gam = params.number("gam", default=0, lo=-100, hi=100)
    con = params.number("con", default=0, lo=-100, hi=100)
    sat = params.number("sat", default=0, lo=-100, hi=100)
    hue = params.number("hue", default=0, lo=-1e9, hi=1e9) % 360
    sharp = params.number("sharp", default=0, lo=0, hi=100)
    usm = params.number("usm", default=0, lo=-100, hi=100)
    usmrad = params.number("usmrad", default=2.5, lo=0, hi=500)

    steps: list[Callable[[Image.Image], Image.Image]] = []
    if exp:
        steps.append(lambda im: im.point(_lut(lambda v: v * 2 ** (exp / 50))))
    if bri:
        steps.append(lambda im: im.point(_lut(lambda v: v + bri * 2.55)))
    if gam:
        steps.append(lambda im: im.point(_lut(lambda v: 255 * (v / 255) ** (2 ** (-gam / 50)))))
    if con:
        factor = 1 + con / 100 if con < 0 else 1 + con / 50
        steps.append(lambda im: ImageEnhance.Contrast(im).enhance(factor))
    if sat:
        steps.append(lambda im: ImageEnhance.Color(im).enhance(1 + sat / 100))
    if hue:
        steps.append(lambda im: _turn_hue(im, hue))
    if sharp:
        steps.append(lambda im: im.filter(ImageFilter.UnsharpMask(radius=1.5, percent=round(sharp * 4), threshold=0)))
    if usm > 0 and usmrad > 0:
        steps.append(lambda im: im.filter(ImageFilter.UnsharpMask(radius=usmrad, percent=round(usm * 5), threshold=0)))
    for step in steps:
        image = _on_colour(image, step)
    return image


def _turn_hue(image: Image.Image, degrees: float) -> Image.Image:
    h, s, v = image.convert("HSV").split()
    shift = round(degrees / 360 * 256)
    h = h.point([(i + shift) % 256 for i in range(256)])
    return Image.merge("HSV", (h, s, v)).convert("RGB")


def stylize(image: Image.Image, params: Params) -> Image.Image:
    """Apply px, blur, monochrome, sepia and invert, in that order."""
    px = round(params.number("px", default=0, lo=0, hi=100))
    blur = params.number("blur", default=0, lo=0, hi=2000)
    mono = params.color("monochrome")
    sepia = params.number("sepia", default=0, lo=0, hi=100)
    if px > 1:
        small = (max(1, image.width // px), max(1, image.height // px))
        image = image.resize(small, Image.Resampling.BOX).resize(image.size, Image.Resampling.NEAREST)
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur / 10))  # blurs alpha too: soft edges stay soft
    if mono is not None:
        image = _on_colour(image, lambda im: _tint(im, mono[:3], mono[3] / 255))
    if sepia:
        image = _on_colour(image, lambda im: _tint(im, _SEPIA, sepia / 100))
    if params.boolean("invert"):
        image = _on_colour(image, ImageOps.invert)
    return image


def _tint(image: Image.Image, color: tuple[int, ...], strength: float) -> Image.Image:
    toned = ImageOps.colorize(image.convert("L"), black=(0, 0, 0), white=(255, 255, 255), mid=color)
    return Image.blend(image, toned, strength) if strength < 1 else toned
