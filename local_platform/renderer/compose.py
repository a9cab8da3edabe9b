"""Masks, padding and background: `mask` (ellipse, corners + `corner-radius`), `mask-bg`, `pad*` and `bg`.

Transparency is kept until the output format is known (`output.py`); then formats without alpha are flattened over
white. So the area a mask hides is transparent in PNG/WebP/AVIF/GIF output and white in JPEG, as at imgix; an
explicit `mask-bg` paints it in every format. Padding is transparent unless `bg` is set; `bg` paints behind the
whole image (padding and any partial transparency). One difference: with `bg` and a mask but no `mask-bg`, a JPEG
shows `bg` rather than white in the masked area.

Masks are drawn at 4x and scaled down, for smooth edges. `corner-radius` is one value or four (top-left,
top-right, bottom-right, bottom-left) and defaults to 20% of the smaller side. A mask image (a path in the source,
loaded by `overlays.mask_image`) is stretched over the image: its luminance times its own alpha is what stays
visible (white shows, black hides), as imgix documents; one at another host cannot be had locally and is left out
(reported by `fallbacks()`).
"""

from __future__ import annotations

from PIL import Image, ImageChops, ImageDraw

from local_platform.renderer.colors import RGBA
from local_platform.renderer.errors import RenderError
from local_platform.renderer.geometry import padding
from local_platform.renderer.params import Params

__all__ = ["background", "flatten", "is_transparent", "mask", "pad"]

_SUPERSAMPLE = 4


def mask(image: Image.Image, params: Params, shape: Image.Image | None = None) -> Image.Image:
    """Hide what `mask=ellipse|corners`, or the mask image `shape` (mode L), leaves out (transparent, or `mask-bg`)."""
    kind = (params.get("mask") or "").lower()
    if kind not in ("ellipse", "corners"):
        if shape is None:
            return image  # no mask, or an image that cannot be had locally
        return _masked(image, shape.resize(image.size, Image.Resampling.LANCZOS), params)
    width, height = image.size
    big = Image.new("L", (width * _SUPERSAMPLE, height * _SUPERSAMPLE), 0)
    draw = ImageDraw.Draw(big)
    bounds = (0, 0, big.width - 1, big.height - 1)
    if kind == "ellipse":
        draw.ellipse(bounds, fill=255)
    else:
        _rounded(draw, bounds, _radii(params, width, height))
    return _masked(image, big.resize(image.size, Image.Resampling.LANCZOS), params)


def _masked(image: Image.Image, shape: Image.Image, params: Params) -> Image.Image:
    result = image.convert("RGBA")
    result.putalpha(ImageChops.multiply(result.getchannel("A"), shape))
    mask_bg = params.color("mask-bg")
    return _over(result, mask_bg) if mask_bg is not None else result


def _radii(params: Params, width: int, height: int) -> list[int]:
    radii = params.ints("corner-radius")
    if radii is None:
        radii = [round(min(width, height) * 0.2)]
    if len(radii) not in (1, 4):
        raise RenderError(
            400, "corner-radius: expected one value or four (top-left,top-right,bottom-right,bottom-left)"
        )
    return [min(r, width // 2, height // 2) * _SUPERSAMPLE for r in (radii * 4)[:4]]


def _rounded(draw: ImageDraw.ImageDraw, bounds: tuple[int, int, int, int], radii: list[int]) -> None:
    """A rectangle whose corners (tl, tr, br, bl) have their own radius."""
    left, top, right, bottom = bounds
    draw.rectangle(bounds, fill=255)
    corners = [(left, top), (right, top), (right, bottom), (left, bottom)]
    for (x, y), r in zip(corners, radii, strict=True):
        if r <= 0:
            continue
        sx, sy = (1 if x == left else -1), (1 if y == top else -1)
        box = sorted((x, x + sx * r)), sorted((y, y + sy * r))
        draw.rectangle((box[0][0], box[1][0], box[0][1], box[1][1]), fill=0)
        ex, ey = sorted((x, x + sx * 2 * r)), sorted((y, y + sy * 2 * r))
        draw.ellipse((ex[0], ey[0], ex[1], ey[1]), fill=255)


def pad(image: Image.Image, params: Params) -> Image.Image:
    """Add `pad`/`pad-<side>` pixels around the image, transparent until `bg` or the output fills them."""
    left, top, right, bottom = padding(params)
    if not any((left, top, right, bottom)):
        return image
    canvas = Image.new("RGBA", (image.width + left + right, image.height + top + bottom), (0, 0, 0, 0))
    canvas.paste(image.convert("RGBA"), (left, top))
    return canvas


def background(image: Image.Image, params: Params) -> Image.Image:
    """Paint `bg` behind the image (padding and partially transparent pixels)."""
    color = params.color("bg")
    return image if color is None else _over(image, color)


def _over(image: Image.Image, color: RGBA) -> Image.Image:
    under = Image.new("RGBA", image.size, color)
    under.alpha_composite(image.convert("RGBA"))
    return under


def is_transparent(image: Image.Image) -> bool:
    """Whether any pixel is not fully opaque."""
    if image.mode != "RGBA":
        return False
    low, _ = image.getchannel("A").getextrema()
    return bool(low < 255)


def flatten(image: Image.Image) -> Image.Image:
    """The image over white, without alpha (for JPEG and other formats without transparency)."""
    if image.mode != "RGBA":
        return image.convert("RGB")
    return _over(image, (255, 255, 255, 255)).convert("RGB")
