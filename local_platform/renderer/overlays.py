"""Watermarks and blends: `mark*` and `blend*`, with images from the same source or imgix's `~text` endpoint.

An overlay is named by a path in the imgix source (`/logos/mark.png`, its own query string applied as imgix
applies it: `/logo.png?w=80`), or by a `~text` URL (`https://assets.imgix.net/~text?txt=...`: imgix's typesetting
endpoint, drawn here by `text.typeset`). The path is read from the same container the renderer reads sources
from. Any other URL names a host this machine cannot reach: the overlay is left out (reported by `fallbacks()`).
An overlay path missing from the source is a 400 naming the parameter.

`mark`: sized by `mark-w`/`mark-h` (pixels, or a fraction of the mark's own size) with `mark-fit` (clip, the
default; max, scale, crop, fill) or by `mark-scale` (percent of the base image's width); placed by `mark-align`
(default bottom,right) `mark-pad` (default 5) from the edges, or at `mark-x`/`mark-y`, or repeated over the image
with `mark-tile=grid`; turned by `mark-rot` degrees; faded by `mark-alpha`; left out when the image is narrower or
lower than `mark-if-min-width`/`-height`.

`blend` (or `blend-color`): a colour over the whole image, or an image sized like a mark (`blend-w`/`blend-h`,
`blend-fit`, `blend-size=inherit`: the base image's size) placed by `blend-align` (default top,left), `blend-pad` (0),
`blend-x`/`blend-y`; mixed with `blend-mode` (default overlay; every mode of imgix, as the W3C compositing
formulas define them) at `blend-alpha`.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

import numpy as np
from PIL import Image, ImageChops, ImageOps

from local_platform.renderer import text
from local_platform.renderer.colors import parse_color
from local_platform.renderer.errors import RenderError
from local_platform.renderer.params import Params, parse_query

__all__ = ["BLEND_MODES", "Fetch", "apply", "is_local", "mask_image"]

Fetch = Callable[[str], bytes]  # a path in the imgix source -> the file's bytes (RenderError 404 when missing)
BLEND_MODES = (
    "color", "burn", "dodge", "darken", "difference", "exclusion", "hardlight", "hue", "lighten", "luminosity",
    "multiply", "overlay", "saturation", "screen", "softlight", "normal",
)  # fmt: skip
_FITS = ("clip", "crop", "fill", "max", "scale", "clamp")
_RESAMPLE = Image.Resampling.LANCZOS


def is_local(reference: str) -> bool:
    """Whether an overlay reference can be had here: a `~text` URL or a path in the source."""
    parts = urlsplit(reference)
    return parts.path.rstrip("/").endswith("~text") or not (parts.scheme or parts.netloc)


def _load(name: str, reference: str, fetch: Fetch | None) -> Image.Image | None:
    """The overlay `reference` as RGBA, rendered with its own parameters; None when it cannot be had here."""
    parts = urlsplit(reference)
    query = parse_query(parts.query)
    if parts.path.rstrip("/").endswith("~text"):
        return text.typeset(Params(query))
    if parts.scheme or parts.netloc or fetch is None:
        return None
    from local_platform.renderer.render import render  # here: render() imports this module

    path = unquote(parts.path).lstrip("/")
    try:
        data = fetch(path)
    except RenderError as exc:
        if exc.status == 404:
            raise RenderError(400, f"{name}: {path!r} is not in the source") from None
        raise
    # Its own parameters, losslessly, and no overlay of its own (a mark of a mark could loop).
    rendered = render(data, {**query, "fm": "png"})
    with Image.open(io.BytesIO(rendered.body)) as overlay:
        return overlay.convert("RGBA")


def _sized(overlay: Image.Image, params: Params, prefix: str, base: Image.Image) -> Image.Image:
    if prefix == "blend" and params.get("blend-size") == "inherit":
        return overlay.resize(base.size, _RESAMPLE)
    if prefix == "mark" and "mark-scale" in params:
        width = base.width * params.number("mark-scale", default=100, lo=0, hi=100) / 100
        return overlay.resize((max(1, round(width)), max(1, round(overlay.height * width / overlay.width))), _RESAMPLE)
    w, h = params.dimension(f"{prefix}-w"), params.dimension(f"{prefix}-h")
    if w is None and h is None:
        return overlay
    bw = round(w.of(overlay.width)) if w else None
    bh = round(h.of(overlay.height)) if h else None
    fit = params.choice(f"{prefix}-fit", _FITS, "clip")
    if bw is None or bh is None:
        scale = bw / overlay.width if bw is not None else bh / overlay.height  # type: ignore[operator]
        if fit == "max":
            scale = min(scale, 1.0)
        return overlay.resize((max(1, round(overlay.width * scale)), max(1, round(overlay.height * scale))), _RESAMPLE)
    box = (max(1, bw), max(1, bh))
    if fit == "scale":
        return overlay.resize(box, _RESAMPLE)
    if fit == "crop":
        return ImageOps.fit(overlay, box, _RESAMPLE)
    if fit == "fill":
        return ImageOps.pad(overlay, box, _RESAMPLE, color=(0, 0, 0, 0))
    contained = ImageOps.contain(overlay, box, _RESAMPLE)
    return overlay if fit == "max" and contained.width > overlay.width else contained


def _position(params: Params, prefix: str, base: Image.Image, overlay: Image.Image, default: str) -> tuple[int, int]:
    align = set(params.items(f"{prefix}-align") or default.split(","))
    pad = params.number(f"{prefix}-pad", default=5 if prefix == "mark" else 0, lo=0, hi=8192)
    (bw, bh), (ow, oh) = base.size, overlay.size
    x = (bw - ow) / 2 if "center" in align else bw - ow - pad if "right" in align else pad
    y = (bh - oh) / 2 if "middle" in align else bh - oh - pad if "bottom" in align else pad
    if f"{prefix}-x" in params:
        x = params.number(f"{prefix}-x", default=0, lo=-8192, hi=8192)
    if f"{prefix}-y" in params:
        y = params.number(f"{prefix}-y", default=0, lo=-8192, hi=8192)
    return round(x), round(y)


def _layer(base: Image.Image, overlay: Image.Image, at: tuple[int, int]) -> Image.Image:
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    layer.alpha_composite(overlay, dest=(max(at[0], 0), max(at[1], 0)), source=(max(-at[0], 0), max(-at[1], 0)))
    return layer


def _alpha(params: Params, name: str, layer: Image.Image) -> Image.Image:
    alpha = params.number(name, default=100, lo=0, hi=100) / 100
    if alpha < 1:
        layer.putalpha(layer.getchannel("A").point(lambda v: round(v * alpha)))
    return layer


def apply(image: Image.Image, params: Params, fetch: Fetch | None) -> Image.Image:
    """The image with `blend`, then `mark`, applied (each left out when it cannot be had here)."""
    image = _blend(image, params, fetch)
    reference = params.get("mark")
    too_small = image.width < params.number("mark-if-min-width", default=0, lo=0, hi=1e6) or (
        image.height < params.number("mark-if-min-height", default=0, lo=0, hi=1e6)
    )
    if reference is None or too_small:
        return image
    mark = _load("mark", reference, fetch)
    if mark is None:
        return image
    mark = _sized(mark, params, "mark", image)
    degrees = params.number("mark-rot", default=0, lo=0, hi=359)
    if degrees:
        mark = mark.rotate(-degrees, Image.Resampling.BICUBIC, expand=True)
    if params.get("mark-tile") == "grid":
        layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
        for y in range(0, image.height, mark.height):
            for x in range(0, image.width, mark.width):
                layer.alpha_composite(_layer(image, mark, (x, y)))
    else:
        layer = _layer(image, mark, _position(params, "mark", image, mark, "bottom,right"))
    layer = _alpha(params, "mark-alpha", layer)
    result = image.convert("RGBA")
    result.alpha_composite(layer)
    return result


def _blend(image: Image.Image, params: Params, fetch: Fetch | None) -> Image.Image:
    reference = params.get("blend") or params.get("blend-color")
    if reference is None:
        return image
    mode = params.choice("blend-mode", BLEND_MODES, "overlay") or "overlay"
    colour = parse_color(reference)
    if colour is not None:
        layer = Image.new("RGBA", image.size, colour)
    else:
        overlay = _load("blend", reference, fetch)
        if overlay is None:
            return image
        overlay = _sized(overlay, params, "blend", image)
        layer = _layer(image, overlay, _position(params, "blend", image, overlay, "top,left"))
    layer = _alpha(params, "blend-alpha", layer)
    base = image.convert("RGBA")
    backdrop = np.asarray(base, dtype=np.float64) / 255
    source = np.asarray(layer, dtype=np.float64) / 255
    mixed = _mix(mode, backdrop[..., :3], source[..., :3])
    coverage = source[..., 3:4]
    rgb = backdrop[..., :3] * (1 - coverage) + mixed * coverage
    out = np.concatenate([rgb, backdrop[..., 3:4]], axis=-1)
    return Image.fromarray(np.clip(np.round(out * 255), 0, 255).astype(np.uint8), "RGBA")


def _lum(c: np.ndarray) -> np.ndarray:
    return (c * (0.3, 0.59, 0.11)).sum(axis=-1, keepdims=True)


def _set_lum(c: np.ndarray, lum: np.ndarray) -> np.ndarray:
    c = c + (lum - _lum(c))
    lo, hi, mid = c.min(axis=-1, keepdims=True), c.max(axis=-1, keepdims=True), _lum(c)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(lo < 0, mid + (c - mid) * mid / (mid - lo), c)
        c = np.where(hi > 1, mid + (c - mid) * (1 - mid) / (hi - mid), c)
    return np.nan_to_num(c)


def _sat(c: np.ndarray) -> np.ndarray:
    return c.max(axis=-1, keepdims=True) - c.min(axis=-1, keepdims=True)


def _set_sat(c: np.ndarray, sat: np.ndarray) -> np.ndarray:
    lo, hi = c.min(axis=-1, keepdims=True), c.max(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(hi > lo, (c - lo) * sat / (hi - lo), 0.0)


def _mix(mode: str, b: np.ndarray, s: np.ndarray) -> np.ndarray:
    """W3C Compositing and Blending Level 1: backdrop `b`, source `s`, RGB in 0..1."""

    def hard(b: np.ndarray, s: np.ndarray) -> np.ndarray:
        return np.where(s <= 0.5, 2 * b * s, 1 - 2 * (1 - b) * (1 - s))

    with np.errstate(divide="ignore", invalid="ignore"):
        if mode == "normal":
            return s
        if mode == "multiply":
            return b * s
        if mode == "screen":
            return b + s - b * s
        if mode == "overlay":
            return hard(s, b)
        if mode == "hardlight":
            return hard(b, s)
        if mode == "darken":
            return np.minimum(b, s)
        if mode == "lighten":
            return np.maximum(b, s)
        if mode == "difference":
            return np.abs(b - s)
        if mode == "exclusion":
            return b + s - 2 * b * s
        if mode == "burn":
            return np.where(b >= 1, 1.0, np.where(s <= 0, 0.0, 1 - np.minimum(1, (1 - b) / s)))
        if mode == "dodge":
            return np.where(b <= 0, 0.0, np.where(s >= 1, 1.0, np.minimum(1, b / (1 - s))))
        if mode == "softlight":
            d = np.where(b <= 0.25, ((16 * b - 12) * b + 4) * b, np.sqrt(b))
            return np.where(s <= 0.5, b - (1 - 2 * s) * b * (1 - b), b + (2 * s - 1) * (d - b))
    if mode == "hue":
        return _set_lum(_set_sat(s, _sat(b)), _lum(b))
    if mode == "saturation":
        return _set_lum(_set_sat(b, _sat(s)), _lum(b))
    if mode == "color":
        return _set_lum(s, _lum(b))
    return _set_lum(b, _lum(s))  # luminosity


def mask_image(params: Params, fetch: Fetch | None) -> Image.Image | None:
    """`mask=<path>` as the grey shape `compose.mask` applies: luminance times alpha; None for ellipse/corners."""
    reference = params.get("mask")
    if reference is None or reference.lower() in ("ellipse", "corners"):
        return None
    shape = _load("mask", reference, fetch)
    if shape is None:
        return None
    return ImageChops.multiply(shape.convert("L"), shape.getchannel("A"))
