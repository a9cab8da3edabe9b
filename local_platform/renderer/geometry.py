"""Size and framing: `rect`, then `w`/`h`/`dpr`/`ar` with the `fit` modes, padding room and the 8192 px limit.

How each `fit` mode lays out a WxH source into the requested box (reference/imgix.md 1.1.1):

* `clip` (default): fit inside the box keeping the aspect ratio, upscaling allowed; one side matches the box.
* `max`: like `clip`, but never upscales.
* `min`: like `crop`, but never upscales: when the box is larger than the source, the box is shrunk to fit the
  source with the same aspect ratio, and the output is cut from the source at its native scale.
* `crop`: cover the box and cut the excess; the window is placed by `crop` (see `cropping.py`).
* `scale`: exactly the box, aspect ratio not kept.
* `fill`: fit inside, then a canvas of exactly the box; the space left is `fill=solid` colour (`fill-color`,
  default white), a blurred copy (`fill=blur`), or transparent (then `bg`, else white for formats without alpha).
* `fillmax`: like `fill` but never upscales.
* `clamp`: like `fill`, the space left repeats the edge pixels.
* `facearea`: the area of the faces (`faces.area`: `faceindex`, `facepad`) scaled to the box; without `w`/`h` at
  its own size. When no face is found: the next mode of the list (`fit=facearea,fill`), else `crop`.

`crop`, `scale`, `fill`, `fillmax`, `clamp` and `min` need both sides of the box; with one side they act as `clip`
(`max` for `fillmax` and `min`). `ar=W:H` completes the box for `fit=crop` or `fit=fill`. `dpr` multiplies the box
and only applies when `w` or `h` is given. The box includes `pad`, so the image shrinks to leave room for it.
Boxes over 8192 px are scaled down to fit, keeping their aspect ratio, as imgix does.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageFilter, ImageOps

from local_platform.renderer import faces
from local_platform.renderer.cropping import window
from local_platform.renderer.errors import RenderError
from local_platform.renderer.params import Params

__all__ = ["FITS", "MAX_SIDE", "Layout", "cap", "layout", "padding", "rect", "resize"]

MAX_SIDE = 8192
FITS = ("clamp", "clip", "crop", "facearea", "fill", "fillmax", "max", "min", "scale")
_NEEDS_BOTH = {"crop": "clip", "scale": "clip", "fill": "clip", "fillmax": "max", "clamp": "clip", "min": "max"}
_RESAMPLE = Image.Resampling.LANCZOS
_REDUCING_GAP = 3.0  # Pillow's fast integer reduction first: much quicker on big sources, no visible change


@dataclass(frozen=True)
class Layout:
    """Where the source goes: the window cut from it, its size once resized, and the canvas it sits on."""

    fit: str
    window: tuple[float, float, float, float] | None  # cut from the source (None: whole); placed later for crop
    size: tuple[int, int]
    canvas: tuple[int, int]
    box: tuple[float, float] = (0.0, 0.0)  # for fit=crop/min: the window's size in source pixels


def fit_mode(params: Params) -> str:
    """The `fit` used when `facearea` finds no face: the first other entry of the list, else `crop`."""
    modes = params.items("fit") or ["clip"]
    for mode in modes:
        if mode not in FITS:
            raise RenderError(400, f"fit: {mode!r} is not one of {', '.join(FITS)}")
    usable = [m for m in modes if m != "facearea"]
    return usable[0] if usable else "crop"


def padding(params: Params) -> tuple[int, int, int, int]:
    """`pad` and `pad-left/top/right/bottom` as (left, top, right, bottom) pixels."""
    pad = round(params.number("pad", default=0, lo=0, hi=MAX_SIDE))
    return tuple(  # type: ignore[return-value]
        round(params.number(f"pad-{side}", default=pad, lo=0, hi=MAX_SIDE))
        for side in ("left", "top", "right", "bottom")
    )


def rect(image: Image.Image, params: Params) -> Image.Image:
    """Cut `rect=x,y,w,h` from the source before anything else (clipped to the image; empty is a 400)."""
    value = params.get("rect")
    if value is None:
        return image
    parts = [part.strip().lower() for part in value.split(",")]
    if len(parts) != 4:
        raise RenderError(400, "rect: expected x,y,w,h")
    width, height = image.size
    rw = _rect_size("rect width", parts[2], width)
    rh = _rect_size("rect height", parts[3], height)
    x = _rect_origin("rect x", parts[0], width, rw, {"left": 0.0, "center": 0.5, "right": 1.0})
    y = _rect_origin("rect y", parts[1], height, rh, {"top": 0.0, "middle": 0.5, "bottom": 1.0})
    box = (max(0, x), max(0, y), min(width, x + rw), min(height, y + rh))
    if box[2] <= box[0] or box[3] <= box[1]:
        raise RenderError(400, f"rect: {value!r} lies outside the {width}x{height} image")
    return image.crop(box)


def _rect_size(name: str, text: str, full: int) -> int:
    if text == "full":
        return full
    number = _float(name, text)
    if "." in text and 0 < number <= 1:
        return max(1, round(number * full))
    if number < 1:
        raise RenderError(400, f"{name}: {text!r} must be at least 1")
    return round(number)


def _rect_origin(name: str, text: str, full: int, size: int, words: dict[str, float]) -> int:
    if text in words:
        return round((full - size) * words[text])
    number = _float(name, text)
    if "." in text and 0 <= number <= 1:
        return round(number * full)
    if number < 0:
        raise RenderError(400, f"{name}: {text!r} must not be negative")
    return round(number)


def _float(name: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise RenderError(400, f"{name}: {text!r} is not a number") from None


def _aspect_ratio(params: Params) -> float | None:
    value = params.get("ar")
    if value is None:
        return None
    parts = value.split(":")
    try:
        ratio = float(parts[0]) / float(parts[1]) if len(parts) == 2 else float("nan")
    except (ValueError, ZeroDivisionError):
        ratio = float("nan")
    if not ratio > 0 or ratio == float("inf"):
        raise RenderError(400, f"ar: {value!r} is not a ratio W:H of positive numbers")
    return ratio


def _box(width: int, height: int, params: Params, fit: str) -> tuple[float | None, float | None]:
    """The requested box (either side may be missing), after ar, dpr and the 8192 limit."""
    w, h = params.dimension("w"), params.dimension("h")
    bw = w.of(width) if w else None
    bh = h.of(height) if h else None
    dpr = params.number("dpr", default=1, lo=0, hi=5, strict=True)
    if dpr <= 0:
        raise RenderError(400, "dpr: must be greater than 0")
    ratio = _aspect_ratio(params)
    if ratio is not None and fit in ("crop", "fill") and (bw is None or bh is None):
        if bw is not None:
            bh = bw / ratio
        elif bh is not None:
            bw = bh * ratio
        elif (width / height > ratio) == (fit == "crop"):  # crop: largest box inside; fill: smallest around
            bw, bh = height * ratio, float(height)
        else:
            bw, bh = float(width), width / ratio
    if w or h:
        bw = bw * dpr if bw is not None else None
        bh = bh * dpr if bh is not None else None
    largest = max(bw or 0, bh or 0)
    if largest > MAX_SIDE:
        bw = bw * MAX_SIDE / largest if bw is not None else None
        bh = bh * MAX_SIDE / largest if bh is not None else None
    return bw, bh


def layout(width: int, height: int, params: Params) -> Layout:
    """Plan the resize of a widthxheight image (after `rect`) for the request's size parameters."""
    fit = fit_mode(params)
    bw, bh = _box(width, height, params, fit)
    left, top, right, bottom = padding(params)
    if bw is None and bh is None:
        if max(width + left + right, height + top + bottom) <= MAX_SIDE:
            return Layout(fit, None, (width, height), (width, height))
        fit, bw, bh = "max", float(MAX_SIDE), float(MAX_SIDE)  # oversized source with no box: scale down to fit
    cw = bw - left - right if bw is not None else None
    ch = bh - top - bottom if bh is not None else None
    if (cw is not None and cw < 1) or (ch is not None and ch < 1):
        raise RenderError(400, "pad: the padding leaves no room for the image")
    if cw is None or ch is None:
        fit = _NEEDS_BOTH.get(fit, fit)
    contain = min(cw / width if cw is not None else float("inf"), ch / height if ch is not None else float("inf"))
    if fit in ("max", "fillmax"):
        contain = min(contain, 1.0)
    natural = (_px(width * contain), _px(height * contain))
    if cw is None or ch is None or fit in ("clip", "max"):
        return Layout(fit, None, natural, natural)
    if fit == "scale":
        return Layout(fit, None, (_px(cw), _px(ch)), (_px(cw), _px(ch)))
    if fit in ("fill", "fillmax", "clamp"):
        return Layout(fit, None, natural, (_px(cw), _px(ch)))
    cover = max(cw / width, ch / height)  # crop, min
    box = (min(width, cw / cover), min(height, ch / cover))
    size = (_px(cw), _px(ch)) if fit == "crop" or cover <= 1 else (_px(box[0]), _px(box[1]))
    return Layout(fit, None, size, size, box)


def _px(value: float) -> int:
    return max(1, round(value))


def resize(image: Image.Image, params: Params) -> Image.Image:
    """Apply size, fit and crop to `image` (already oriented and cut by `rect`)."""
    if (params.items("fit") or ["clip"])[0] == "facearea":
        face_area = _face_area(image, params)
        if face_area is not None:
            return face_area
    plan = layout(image.width, image.height, params)
    source = (0.0, 0.0, float(image.width), float(image.height))
    if plan.fit in ("crop", "min"):
        source = window(image, plan.box, params)
    resized = image
    if plan.size != image.size or source != (0.0, 0.0, image.width, image.height):
        resized = image.resize(plan.size, _RESAMPLE, box=source, reducing_gap=_REDUCING_GAP)
    if plan.canvas == plan.size:
        return resized
    return _frame(image, resized, plan, params)


def _face_area(image: Image.Image, params: Params) -> Image.Image | None:
    """`fit=facearea`: the face area cut and scaled to the box (None when no face is found)."""
    fit_mode(params)  # a 400 for an unknown mode in the list, face or no face
    bw, bh = _box(image.width, image.height, params, "crop")
    aspect = bw / bh if bw is not None and bh is not None else None
    window = faces.area(image, params, aspect)
    if window is None:
        return None
    width, height = window[2] - window[0], window[3] - window[1]
    if bw is None and bh is None:
        size = (_px(width), _px(height))
    elif bw is None or bh is None:
        scale = bw / width if bw is not None else bh / height  # type: ignore[operator]
        size = (_px(width * scale), _px(height * scale))
    else:
        size = (_px(bw), _px(bh))
    return image.resize(size, _RESAMPLE, box=window, reducing_gap=_REDUCING_GAP)


def _frame(source: Image.Image, resized: Image.Image, plan: Layout, params: Params) -> Image.Image:
    """Put the resized image in the middle of its canvas (fill, fillmax, clamp) and fill the space left."""
    cw, ch = plan.canvas
    x, y = (cw - resized.width) // 2, (ch - resized.height) // 2
    if plan.fit == "clamp":
        return _clamp(resized, plan.canvas, (x, y))
    fill = params.choice("fill", ("solid", "blur", "gen", "generative", "gradient"))
    if fill == "blur":
        canvas = ImageOps.fit(source, plan.canvas, _RESAMPLE)
        canvas = canvas.filter(ImageFilter.GaussianBlur(max(cw, ch) / 20))
    elif fill is not None:  # solid; generative and gradient fills fall back to solid locally
        color = params.color("fill-color") or (255, 255, 255, 255)
        canvas = Image.new("RGBA", plan.canvas, color)
    else:
        canvas = Image.new("RGBA", plan.canvas, (0, 0, 0, 0))
    canvas = canvas.convert("RGBA")
    canvas.alpha_composite(resized.convert("RGBA"), (x, y))
    return canvas


def _clamp(image: Image.Image, canvas_size: tuple[int, int], at: tuple[int, int]) -> Image.Image:
    """Extend the edge pixels of `image` to fill a canvas ("affine clamp")."""
    x, y = at
    w, h = image.size
    cw, ch = canvas_size
    canvas = Image.new(image.mode, canvas_size)
    canvas.paste(image, (x, y))
    strips = [  # (source strip, target box): rows and columns stretched outwards, corners from corner pixels
        ((0, 0, w, 1), (x, 0, x + w, y)),
        ((0, h - 1, w, h), (x, y + h, x + w, ch)),
        ((0, 0, 1, h), (0, y, x, y + h)),
        ((w - 1, 0, w, h), (x + w, y, cw, y + h)),
        ((0, 0, 1, 1), (0, 0, x, y)),
        ((w - 1, 0, w, 1), (x + w, 0, cw, y)),
        ((0, h - 1, 1, h), (0, y + h, x, ch)),
        ((w - 1, h - 1, w, h), (x + w, y + h, cw, ch)),
    ]
    for strip, (left, top, right, bottom) in strips:
        if right > left and bottom > top:
            canvas.paste(image.crop(strip).resize((right - left, bottom - top), Image.Resampling.NEAREST), (left, top))
    return canvas


def cap(image: Image.Image) -> Image.Image:
    """Scale down anything still over 8192 px on a side (padding, pivot rotation): imgix's output limit."""
    largest = max(image.size)
    if largest <= MAX_SIDE:
        return image
    size = (_px(image.width * MAX_SIDE / largest), _px(image.height * MAX_SIDE / largest))
    return image.resize(size, _RESAMPLE, reducing_gap=_REDUCING_GAP)
