"""`render(data, params)`: imgix's Rendering API on bytes, without HTTP. The server calls it for every request.

Order of operations (close to imgix's; the module of each step says how it reads its parameters):

1. decode: first frame only; the pixel count is checked before any pixel is decoded (decompression bombs → 422);
   a file Pillow cannot identify passes through unchanged unless it claims to be a format Pillow reads (→ 421)
2. orient: `orient`, else the EXIF orientation                                  (orientation.py)
   colour: to sRGB through the embedded ICC profile, RGB(A) working mode       (colorspace.py)
3. rect: cut the source region                                                  (geometry.py)
4. size: `w`/`h`/`dpr`/`ar`/`fit`/`crop`/`fp-*`, room for `pad`, 8192 px limit  (geometry.py, cropping.py)
   faces: `face-pixel`, `face-blur`                                             (faces.py)
5. adjust: `exp`, `bri`, `gam`, `con`, `sat`, `hue`, `sharp`, `usm`            (adjust.py)
6. stylize: `px`, `blur`, `monochrome`, `sepia`, `invert`                      (adjust.py)
7. rotate and flip: `rot`/`rot-type`, `flip`                                    (orientation.py)
   overlays: `blend`, `mark` (images from the source or `~text`), then `txt`    (overlays.py, text.py)
8. mask: `mask=ellipse|corners|<image path>`, `corner-radius`, `mask-bg`        (compose.py)
9. pad, then bg: `pad*`, `bg`                                                   (compose.py)
10. output: format and quality, `auto=format,compress`                          (output.py)

`fm=json` answers after step 1 with the source's metadata (with `faces=1`, the faces of the image oriented as in
step 2), `palette=json|css` after step 9 with the processed image's colours, as imgix does (metadata.py).
"""

from __future__ import annotations

import io
import time
from collections.abc import Mapping
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from local_platform.renderer import (
    adjust,
    colorspace,
    compose,
    faces,
    geometry,
    metadata,
    orientation,
    output,
    overlays,
    text,
)
from local_platform.renderer.errors import RenderError
from local_platform.renderer.params import Params

__all__ = ["MAX_PIXELS", "Rendered", "render"]

MAX_PIXELS = 100_000_000  # refuse sources over 100 megapixels before decoding them

# Content types of formats Pillow reads: a file that claims one of these and cannot be decoded is corrupt (421).
_READABLE_TYPES = {
    "image/jpeg", "image/jpg", "image/pjpeg", "image/png", "image/apng", "image/gif", "image/webp", "image/bmp",
    "image/x-ms-bmp", "image/tiff", "image/avif", "image/x-icon", "image/vnd.microsoft.icon", "image/jp2",
}  # fmt: skip
# Leading bytes of the same formats, for files stored with a generic content type.
_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")


@dataclass(frozen=True)
class Rendered:
    """A rendered image (or the source passed through untouched when it is not an image Pillow reads)."""

    body: bytes
    content_type: str
    width: int
    height: int
    vary_accept: bool = False
    passed_through: bool = False


def render(
    data: bytes,
    params: Mapping[str, str],
    *,
    accept: str = "",
    content_type: str = "",
    max_pixels: int = MAX_PIXELS,
    fetch: overlays.Fetch | None = None,
) -> Rendered:
    """Render `data` (the source file) for imgix `params` (decoded query parameters).

    `accept` is the request's Accept header (for `auto=format`); `content_type` the source's stored type; `fetch`
    reads another file of the same source by its path, for `mark`/`blend` images (without it they are left out).
    Raises RenderError: 400 invalid parameter value, 421 corrupt image, 422 image over `max_pixels`.
    """
    p = Params(params)
    _check_expiry(p)
    image = _decode(data, content_type, max_pixels)
    if image is None:
        return Rendered(data, content_type or "application/octet-stream", 0, 0, passed_through=True)
    if metadata.is_source_info(p):  # fm=json: the source's metadata, not an image
        return _answer(metadata.describe_source(data, image, p, content_type=content_type))
    output.requested(p)  # a bad `fm`/`auto` is a 400 before any work
    source_format = image.format
    animated = getattr(image, "n_frames", 1) > 1
    source = colorspace.working(orientation.orient(image, p), image.info.get("icc_profile"), output.colour_space(p))
    image = source.image
    image = geometry.rect(image, p)
    image = faces.obscure(geometry.resize(image, p), p)
    image = adjust.adjust(image, p)
    image = adjust.stylize(image, p)
    image = orientation.flip(orientation.rotate(image, p), p)
    image = text.draw_txt(overlays.apply(image, p, fetch), p)
    image = compose.mask(image, p, overlays.mask_image(p, fetch))
    image = compose.background(compose.pad(image, p), p)
    image = geometry.cap(image)
    if metadata.is_palette(p):  # palette=json|css: the processed image's colours, not an image
        return _answer(metadata.palette(image, p))

    fmt = output.choose(
        p,
        accept=accept,
        source_format=source_format,
        transparent=compose.is_transparent(image),
        animated=animated,
    )
    image, icc_profile = colorspace.for_output(image, source.icc_profile, output.colour_space(p))
    body = output.encode(image, fmt, p, icc_profile=icc_profile)
    return Rendered(
        body,
        fmt.content_type,
        image.width,
        image.height,
        vary_accept=output.varies_by_accept(p),
    )


def _answer(answer: metadata.ImageAnswer) -> Rendered:
    return Rendered(answer.body, answer.content_type, 0, 0)


def _check_expiry(params: Params) -> None:
    """`expires` (Unix time): past it, imgix answers 404."""
    if "expires" in params and params.number("expires", default=0, lo=0, hi=1e12) < time.time():
        raise RenderError(404, "this URL has expired")


def _decode(data: bytes, content_type: str, max_pixels: int) -> Image.Image | None:
    """Open the first frame; None when the file is not an image Pillow reads (it passes through)."""
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise RenderError(422, "source image is too large to render (decompression bomb protection)") from None
    except UnidentifiedImageError:
        if content_type.split(";")[0].strip().lower() in _READABLE_TYPES or data.startswith(_MAGIC):
            raise RenderError(421, "source image failed verification (corrupt or unreadable)") from None
        return None
    except Exception:  # a recognised format whose header is broken: Pillow raises OSError, SyntaxError, struct.error...
        raise RenderError(421, "source image failed verification (corrupt header)") from None
    width, height = image.size
    if width * height > max_pixels:
        raise RenderError(
            422,
            f"source image is {width}x{height} ({width * height / 1e6:.0f} megapixels); "
            f"the local renderer's limit is {max_pixels / 1e6:.0f} megapixels",
        )
    try:
        image.load()
    except Image.DecompressionBombError:
        raise RenderError(422, "source image is too large to render (decompression bomb protection)") from None
    except Exception:  # truncated or corrupt pixel data, whatever the decoder raises
        raise RenderError(421, "source image failed verification (corrupt or truncated)") from None
    return image
