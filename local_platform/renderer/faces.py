"""Face detection for `crop=faces`, `fit=facearea` (`faceindex`, `facepad`): OpenCV's bundled Haar cascade.

`detect(image)` returns the faces found, largest first, as (left, top, right, bottom) source pixels. It runs on a
greyscale copy at most 640 px on its longer side (Haar detection is scale-invariant; this keeps it fast), with
the frontal-face cascade that ships inside `opencv-python-headless` 4.x (5.x no longer bundles cascades). A face
smaller than 1/20 of the shorter side is ignored, as imgix ignores background faces. When OpenCV is not installed
`available()` is False and no face is ever found, so `crop=faces` moves on along its chain and `fit=facearea` to its
fallback (reported by `fallbacks()`).

`face-pixel` (1..100: the block size in pixels) and `face-blur` (1..100: a gaussian blur whose radius is that
percentage of half the face's width) hide every face found in the resized image (`obscure`).
"""

from __future__ import annotations

import functools
from typing import Any

from PIL import Image, ImageFilter

from local_platform.renderer.errors import RenderError
from local_platform.renderer.params import Params

__all__ = ["Box", "area", "available", "detect", "group", "obscure"]

Box = tuple[float, float, float, float]
_SIDE = 640
_MIN_FRACTION = 1 / 20

_CASCADE = "haarcascade_frontalface_default.xml"


@functools.cache
def _classifier() -> Any | None:
    """The cascade, loaded on first use (importing OpenCV takes a fifth of a second); None without OpenCV."""
    try:  # a development dependency (root requirements.txt): the renderer still runs without it
        import cv2
    except ImportError:
        return None
    classifier = cv2.CascadeClassifier(cv2.data.haarcascades + _CASCADE)
    return None if classifier.empty() else classifier


def available() -> bool:
    """Whether faces can be looked for here (OpenCV and its bundled cascade are installed)."""
    return _classifier() is not None


def detect(image: Image.Image) -> list[Box]:
    """The faces in `image`, largest first (empty without OpenCV or when none is found)."""
    classifier = _classifier()
    if classifier is None:
        return []
    import numpy as np  # installed with OpenCV

    scale = min(1.0, _SIDE / max(image.size))
    small = image.convert("L").resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))
    smallest = max(12, round(min(small.size) * _MIN_FRACTION))
    found = classifier.detectMultiScale(
        np.asarray(small), scaleFactor=1.1, minNeighbors=5, minSize=(smallest, smallest)
    )
    boxes = [(x / scale, y / scale, (x + w) / scale, (y + h) / scale) for x, y, w, h in found]
    return sorted(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), reverse=True)


def group(faces: list[Box], params: Params) -> Box | None:
    """The box of every face, or of face `faceindex` (1-based) when given; None when there is no such face."""
    if not faces:
        return None
    index = params.get("faceindex")
    if index is not None:
        number = params.number("faceindex", default=1, lo=1, hi=1000, strict=True)
        if int(number) != number:
            raise RenderError(400, "faceindex: must be a whole number")
        return faces[int(number) - 1] if number <= len(faces) else None
    return (min(f[0] for f in faces), min(f[1] for f in faces), max(f[2] for f in faces), max(f[3] for f in faces))


def area(image: Image.Image, params: Params, aspect: float | None) -> Box | None:
    """`fit=facearea`'s window: the face(s) grown by `facepad` (default 1), widened to `aspect`, kept inside."""
    faces = group(detect(image), params)
    if faces is None:
        return None
    pad = params.number("facepad", default=1, lo=1, hi=10)
    left, top, right, bottom = faces
    cx, cy = (left + right) / 2, (top + bottom) / 2
    w, h = (right - left) * pad, (bottom - top) * pad
    if aspect is not None:
        w, h = max(w, h * aspect), max(h, w / aspect)
    # Shrink (keeping the aspect ratio) when the padded area is larger than the image, then slide it inside.
    shrink = min(1.0, image.width / w, image.height / h)
    w, h = w * shrink, h * shrink
    x = min(max(cx - w / 2, 0.0), image.width - w)
    y = min(max(cy - h / 2, 0.0), image.height - h)
    return (x, y, x + w, y + h)


def obscure(image: Image.Image, params: Params) -> Image.Image:
    """Pixelate (`face-pixel`) or blur (`face-blur`) every face found; unchanged without them or without faces."""
    pixel = round(params.number("face-pixel", default=0, lo=0, hi=100, strict=True))
    blur = params.number("face-blur", default=0, lo=0, hi=100, strict=True)
    if not pixel and not blur:
        return image
    found = detect(image)
    if not found:
        return image
    result = image.copy()
    for face in found:
        box = tuple(round(v) for v in face)
        region = result.crop(box)
        if pixel > 1:
            small = (max(1, region.width // pixel), max(1, region.height // pixel))
            region = region.resize(small, Image.Resampling.BOX).resize(region.size, Image.Resampling.NEAREST)
        if blur:
            region = region.filter(ImageFilter.GaussianBlur(blur / 100 * region.width / 2))
        result.paste(region, box[:2])
    return result
