"""Orientation: EXIF orientation (or the `orient` override) first; `rot` and `flip` late in the pipeline.

* `orient` replaces the EXIF orientation of the source: 1..8 are EXIF codes, 90/180/270 are aliases of 6/3/8
  (imgix's orientation page); 0 means none. Without `orient`, the EXIF orientation is applied, as imgix does.
* `rot` (degrees, taken modulo 360) rotates the image within its frame. imgix does not say which way; this renderer
  turns clockwise, like CSS `rotate()`. `rot-type=straighten` (default) zooms in so that no empty corner shows
  and keeps the frame's size; `rot-type=pivot` shows the whole image on a larger, transparent-cornered canvas.
* `flip` = `h`, `v` or `hv`.
"""

from __future__ import annotations

import math

from PIL import Image

from local_platform.renderer.errors import RenderError
from local_platform.renderer.params import Params

__all__ = ["flip", "orient", "rotate"]

_EXIF_ORIENTATION_TAG = 0x0112
_TRANSPOSE: dict[int, tuple[Image.Transpose, ...]] = {  # EXIF code -> what displays the stored pixels upright
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}
_ORIENT_ALIASES = {90: 6, 180: 3, 270: 8}


def orient(image: Image.Image, params: Params) -> Image.Image:
    """Apply the `orient` override, or else the source's EXIF orientation."""
    value = params.get("orient")
    if value is None:
        code = image.getexif().get(_EXIF_ORIENTATION_TAG, 1)
    else:
        try:
            code = int(value)
        except ValueError:
            code = -1
        code = _ORIENT_ALIASES.get(code, code)
        if not 0 <= code <= 8:
            raise RenderError(400, f"orient: {value!r} is not one of 0..8, 90, 180, 270")
    for step in _TRANSPOSE.get(code, ()):
        image = image.transpose(step)
    return image


def rotate(image: Image.Image, params: Params) -> Image.Image:
    """`rot` degrees clockwise, straightened (cropped to the frame) or pivoted (whole image shown)."""
    degrees = params.number("rot", default=0, lo=-1e9, hi=1e9) % 360
    pivot = params.choice("rot-type", ("pivot", "straighten"), "straighten") == "pivot"
    if degrees == 0:
        return image
    if degrees == 180:
        return image.transpose(Image.Transpose.ROTATE_180)
    if pivot and degrees in (90, 270):
        return image.transpose(Image.Transpose.ROTATE_270 if degrees == 90 else Image.Transpose.ROTATE_90)
    source = image.convert("RGBA")  # the corners a pivot reveals are transparent until `bg` or the output fills them
    if pivot:
        return source.rotate(-degrees, Image.Resampling.BICUBIC, expand=True)
    width, height = image.size
    cos, sin = abs(math.cos(math.radians(degrees))), abs(math.sin(math.radians(degrees)))
    zoom = max((width * cos + height * sin) / width, (width * sin + height * cos) / height)
    scaled = source.resize((math.ceil(width * zoom), math.ceil(height * zoom)), Image.Resampling.BICUBIC)
    turned = scaled.rotate(-degrees, Image.Resampling.BICUBIC)
    left, top = (turned.width - width) // 2, (turned.height - height) // 2
    result = turned.crop((left, top, left + width, top + height))
    return result if image.mode == "RGBA" else result.convert(image.mode)


def flip(image: Image.Image, params: Params) -> Image.Image:
    """`flip=h` mirrors left-right, `v` top-bottom, `hv` both."""
    value = params.choice("flip", ("h", "v", "hv", "vh"))
    if value is None:
        return image
    if "h" in value:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if "v" in value:
        image = image.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    return image
