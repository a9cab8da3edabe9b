"""Where `fit=crop` cuts its window: the `crop` fallback chain (faces, entropy, edges, focalpoint, anchors).

imgix reads `crop` as a fallback chain: the first mode that succeeds wins, and `top`/`bottom`/`left`/`right` anchor
the window when no "smart" mode applies (centre by default). Locally:

* `faces`: the window centred on the faces OpenCV finds (`faces.py`): all of them, or the largest one when they do
  not all fit (imgix uses the first face then), or face `faceindex`; kept inside the image. When no face is found
  (or OpenCV is missing) the chain moves on, e.g. `crop=faces,entropy` uses entropy.
* `entropy`: the window position, along the axis with room to move, whose greyscale histogram has the highest
  entropy (the "busiest" area), judged on a small copy in coarse steps.
* `edges`: the same search scoring the mean of an edge-detection filter.
* `focalpoint`: the window centred on (`fp-x`, `fp-y`) (fractions, default 0.5), kept inside the image, and zoomed
  in by `fp-z` (1..100, default 1).
"""

from __future__ import annotations

from collections.abc import Callable

from PIL import Image, ImageFilter, ImageStat

from local_platform.renderer import faces
from local_platform.renderer.errors import RenderError
from local_platform.renderer.params import Params

__all__ = ["CROP_MODES", "chain", "window"]

CROP_MODES = ("top", "bottom", "left", "right", "faces", "entropy", "edges", "focalpoint")
_ANCHORS = {"top", "bottom", "left", "right"}
_SEARCH_SIDE = 256  # the smart searches look at a copy this size at most
_SEARCH_STEPS = 24

Box = tuple[float, float, float, float]


def chain(params: Params) -> list[str]:
    """The validated `crop` list (a 400 for a mode imgix does not have)."""
    modes = params.items("crop")
    for mode in modes:
        if mode not in CROP_MODES:
            raise RenderError(400, f"crop: {mode!r} is not one of {', '.join(CROP_MODES)}")
    return modes


def window(image: Image.Image, size: tuple[float, float], params: Params) -> Box:
    """The (left, top, right, bottom) window of `size` source pixels that `crop` selects in `image`."""
    modes = chain(params)
    for mode in modes:
        if mode == "faces":
            found = _faces(image, size, params)
            if found is not None:
                return found
        if mode == "focalpoint":
            return _focalpoint(image.size, size, params)
        if mode == "entropy":
            return _busiest(image, size, _entropy)
        if mode == "edges":
            return _busiest(image, size, _edges)
    return _anchored(image.size, size, set(modes) & _ANCHORS)


def _faces(image: Image.Image, size: tuple[float, float], params: Params) -> Box | None:
    found = faces.detect(image)
    target = faces.group(found, params)
    if target is None:
        return None
    ww, wh = size
    if "faceindex" not in params and (target[2] - target[0] > ww or target[3] - target[1] > wh):
        target = found[0]  # not all fit: the largest face
    cx, cy = (target[0] + target[2]) / 2, (target[1] + target[3]) / 2
    x = min(max(cx - ww / 2, 0.0), image.width - ww)
    y = min(max(cy - wh / 2, 0.0), image.height - wh)
    return (x, y, x + ww, y + wh)


def _anchored(image_size: tuple[int, int], size: tuple[float, float], anchors: set[str]) -> Box:
    (width, height), (ww, wh) = image_size, size
    x = 0.0 if "left" in anchors else width - ww if "right" in anchors else (width - ww) / 2
    y = 0.0 if "top" in anchors else height - wh if "bottom" in anchors else (height - wh) / 2
    return (x, y, x + ww, y + wh)


def _focalpoint(image_size: tuple[int, int], size: tuple[float, float], params: Params) -> Box:
    width, height = image_size
    fx = params.number("fp-x", default=0.5, lo=0, hi=1, strict=True)
    fy = params.number("fp-y", default=0.5, lo=0, hi=1, strict=True)
    zoom = params.number("fp-z", default=1, lo=1, hi=100, strict=True)
    ww, wh = size[0] / zoom, size[1] / zoom
    x = min(max(fx * width - ww / 2, 0.0), width - ww)
    y = min(max(fy * height - wh / 2, 0.0), height - wh)
    return (x, y, x + ww, y + wh)


def _entropy(region: Image.Image) -> float:
    return float(region.entropy())


def _edges(region: Image.Image) -> float:
    return float(ImageStat.Stat(region).mean[0])


def _busiest(image: Image.Image, size: tuple[float, float], score: Callable[[Image.Image], float]) -> Box:
    """Slide the window along the free axis in coarse steps; keep the best score (the most central on ties)."""
    width, height = image.size
    scale = min(1.0, _SEARCH_SIDE / max(width, height))
    small = image.convert("L").resize((max(1, round(width * scale)), max(1, round(height * scale))))
    if score is _edges:
        small = small.filter(ImageFilter.FIND_EDGES)
    ww, wh = size
    slack_x, slack_y = width - ww, height - wh
    best: tuple[float, float, Box] | None = None
    for step in range(_SEARCH_STEPS + 1):
        t = step / _SEARCH_STEPS
        x, y = slack_x * t, slack_y * t
        region = small.crop(tuple(round(v * scale) for v in (x, y, x + ww, y + wh)))
        if region.width == 0 or region.height == 0:
            continue
        candidate = (score(region), -abs(t - 0.5), (x, y, x + ww, y + wh))
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    return best[2] if best is not None else _anchored(image.size, size, set())
