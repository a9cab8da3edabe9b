"""Rendition instructions -> imgix parameters.

Sources of parameters, lowest precedence first (DESIGN.md section 3):
4. a recipe (`recipes.py`), named by the rendition's `recipe` field or the endpoint path `/api/worker/{recipe}`;
3. the standard Asset Compute fields: `fmt` -> `fm`, `width`/`height` -> `w`/`h` within the box without upscaling
   (`fit=max`), `quality` -> `q`, `crop {x, y, w, h}` -> `rect`; `dpi`, `watermark` and the fields imgix cannot
   honour in `contract_fields.py`, which also applies `interlace` and `maxWidth`/`maxHeight` to the merged result;
2. any rendition field named like an imgix parameter (one AEM service parameter each); a `…64` parameter
   (`txt64`, `mark64`, ...) takes the plain value, which the URL builder base64-encodes once;
1. `imgix`: a JSON object, or a JSON string of one (AEM sends strings).
Only known imgix parameter names reach imgix; values are checked where imgix's ranges are known, so a bad value is a
`RenditionInstructionsError` with a message naming the field, never a 500. Formats imgix cannot produce are
`RenditionFormatUnsupported`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping

from .contract_fields import finish_params, standard_params
from .errors import RenditionFormatUnsupported, RenditionInstructionsError
from .imgix_params import ALIASES, NO_BASE64, PARAMETERS
from .recipes import apply_recipe

__all__ = ["OUTPUT_FORMATS", "imgix_params"]

# imgix `fm` values (reference/imgix.md 1.3); AEM `fmt` spellings map onto them.
OUTPUT_FORMATS = frozenset(
    {"avif", "gif", "jp2", "jpg", "json", "jxr", "pjpg", "mp4", "png", "png8", "png32", "webm", "webp", "blurhash"}
)
_FMT_ALIASES = {"jpeg": "jpg", "pjpeg": "pjpg"}

# Fields of the Asset Compute rendition object that are never imgix parameters, even where imgix has an alias of
# the same name (`width`/`height` are the standard fields with their own semantics).
_CONTRACT_FIELDS = frozenset(
    {"name", "fmt", "worker", "target", "url", "userData", "width", "height", "quality", "crop", "interlace",
     "dpi", "convertToDpi", "jpegSize", "embedBinaryLimit", "watermark", "recipe", "imgix", "pipeline",
     "postProcess", "files", "duplicate", "xmp", "maxWidth", "maxHeight", "compressionLevel", "pdfbgcolor"}
)  # fmt: skip
_FORBIDDEN = frozenset({"s", "ixlib", "expires"})  # the signature and library marker are ours to set
_MAX_VALUE_LENGTH = 4096

_COLOR_KEYWORD = re.compile(r"[a-z]{3,30}")
_HEX_COLOR = re.compile(r"[0-9a-fA-F]{3}|[0-9a-fA-F]{4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8}")


def _number(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise RenditionInstructionsError(f"{name} must be a number, got {value[:40]!r}") from None
    if not math.isfinite(number):
        raise RenditionInstructionsError(f"{name} must be a finite number")
    return number


def _int_range(low: int, high: int) -> Callable[[str, str], None]:
    def check(name: str, value: str) -> None:
        number = _number(name, value)
        if number != int(number) or not low <= number <= high:
            raise RenditionInstructionsError(f"{name} must be a whole number from {low} to {high}, got {value}")

    return check


def _float_range(low: float, high: float) -> Callable[[str, str], None]:
    def check(name: str, value: str) -> None:
        if not low <= _number(name, value) <= high:
            raise RenditionInstructionsError(f"{name} must be a number from {low:g} to {high:g}, got {value}")

    return check


def _size(name: str, value: str) -> None:
    number = _number(name, value)
    if 0 < number <= 1 or (number == int(number) and 2 <= number <= 8192):
        return
    raise RenditionInstructionsError(f"{name} must be a whole number of pixels from 2 to 8192 or a fraction in (0, 1]")


def _choice(*allowed: str, many: bool = False) -> Callable[[str, str], None]:
    def check(name: str, value: str) -> None:
        items = value.split(",") if many else [value]
        bad = [item for item in items if item.strip() not in allowed]
        if bad or not items:
            raise RenditionInstructionsError(
                f"{name} must be {'a list of ' if many else ''}one of {', '.join(allowed)}"
            )

    return check


def _color(name: str, value: str) -> None:
    if not (_HEX_COLOR.fullmatch(value.lstrip("#")) or _COLOR_KEYWORD.fullmatch(value)):
        raise RenditionInstructionsError(f"{name} must be a hex colour (RGB, ARGB, RRGGBB, AARRGGBB) or a colour name")


def _rect(name: str, value: str) -> None:
    parts = value.split(",")
    if len(parts) != 4:
        raise RenditionInstructionsError(f"{name} must be x,y,w,h")
    for part, what in zip(parts, ("x", "y", "w", "h"), strict=True):
        if what in "xy" and part in ("left", "center", "right", "top", "middle", "bottom"):
            continue
        if _number(f"{name}.{what}", part) < (1 if what in "wh" else 0):
            raise RenditionInstructionsError(f"{name}.{what} is out of range")


def _ratio(name: str, value: str) -> None:
    if not re.fullmatch(r"\d+(\.\d+)?:\d+(\.\d+)?", value) or _number(name, value.split(":")[1]) == 0:
        raise RenditionInstructionsError(f"{name} must be a ratio such as 16:9")


def _radius(name: str, value: str) -> None:
    parts = value.split(",")
    if len(parts) not in (1, 4):
        raise RenditionInstructionsError(f"{name} must be one radius or four")
    for part in parts:
        _int_range(0, 100000)(name, part)


def _fm(name: str, value: str) -> None:
    if value not in OUTPUT_FORMATS:
        raise RenditionFormatUnsupported(f"imgix cannot produce format {value[:20]!r}")


_adjust = _int_range(-100, 100)
_CHECKS: dict[str, Callable[[str, str], None]] = {
    "w": _size,
    "h": _size,
    "fit": _choice("clamp", "clip", "crop", "facearea", "fill", "fillmax", "max", "min", "scale"),
    "crop": _choice("top", "bottom", "left", "right", "faces", "entropy", "edges", "focalpoint", "center", many=True),
    "ar": _ratio,
    "rect": _rect,
    "dpr": _float_range(0, 5),
    "q": _int_range(0, 100),
    "fm": _fm,
    "auto": _choice("format", "compress", "enhance", "redeye", "true", many=True),
    "bri": _adjust,
    "con": _adjust,
    "exp": _adjust,
    "gam": _adjust,
    "sat": _adjust,
    "vib": _adjust,
    "usm": _adjust,
    "high": _int_range(-100, 0),
    "shad": _float_range(0, 100),
    "sharp": _float_range(0, 100),
    "hue": _int_range(0, 360),
    "blur": _int_range(0, 2000),
    "rot": _float_range(0, 359),
    "flip": _choice("h", "v", "hv"),
    "orient": _choice("0", "1", "2", "3", "4", "5", "6", "7", "8", "90", "180", "270"),
    "mask": lambda n, v: (
        None if v in ("ellipse", "corners") or v.startswith(("http", "/")) else _choice("ellipse", "corners")(n, v)
    ),
    "corner-radius": _radius,
    "pad": _int_range(0, 8192),
    "bg": _color,
    "mask-bg": _color,
    "monochrome": _color,
    "fill-color": _color,
    "invert": _choice("true", "false", "1", "0"),
    "fp-x": _float_range(0, 1),
    "fp-y": _float_range(0, 1),
    "fp-z": _float_range(1, 100),
    "max-w": _int_range(1, 8192),
    "max-h": _int_range(1, 8192),
    "min-w": _int_range(1, 8192),
    "min-h": _int_range(1, 8192),
}


def _text(name: str, value: object) -> str:
    """Turn a JSON value into the string imgix gets; booleans as imgix writes them."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise RenditionInstructionsError(f"{name} must be a finite number")
        text = str(int(value)) if float(value).is_integer() else repr(float(value))
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise RenditionInstructionsError(f"{name} must be a string or a number")
    if not text:
        raise RenditionInstructionsError(f"{name} must not be empty")
    if len(text) > _MAX_VALUE_LENGTH or any(ord(c) < 32 for c in text):
        raise RenditionInstructionsError(f"{name} is too long or contains control characters")
    return text


def _canonical(key: str) -> str | None:
    """The canonical imgix name for `key` (alias or `…64` variant kept as such), or None if imgix has no such name."""
    base, is64 = (key[:-2], True) if key.endswith("64") else (key, False)
    base = ALIASES.get(base, base)
    if base not in PARAMETERS or (is64 and base in NO_BASE64):
        return None
    return base + "64" if is64 else base


def _check(name: str, value: str) -> None:
    # A `…64` parameter carries the plain value, as imgix-python's callers give it: the library base64-encodes
    # every parameter whose name ends in 64, exactly once, when it builds the URL. So it is checked as the plain one.
    check = _CHECKS.get(name[:-2] if name.endswith("64") else name)
    if check is not None:
        check(name, value)


def _from_imgix_field(raw: object) -> dict[str, object]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise RenditionInstructionsError("imgix must be a JSON object of imgix parameters") from None
    if not isinstance(raw, dict):
        raise RenditionInstructionsError("imgix must be a JSON object of imgix parameters")
    return raw


def _standard_fields(rendition: Mapping[str, object]) -> dict[str, str]:
    params: dict[str, str] = {}
    fmt = rendition.get("fmt")
    if fmt is not None:
        fm = _text("fmt", fmt).lower()
        fm = _FMT_ALIASES.get(fm, fm)
        if fm not in OUTPUT_FORMATS:
            raise RenditionFormatUnsupported(f"format {fm[:20]!r} cannot be rendered by imgix")
        params["fm"] = fm
    for field, param in (("width", "w"), ("height", "h")):
        if rendition.get(field) is not None:
            value = _text(field, rendition[field])
            number = _number(field, value)
            if number != int(number) or not 1 <= number <= 8192:
                raise RenditionInstructionsError(f"{field} must be a whole number of pixels from 1 to 8192")
            params[param] = str(max(2, int(number)))
    if "w" in params or "h" in params:
        params["fit"] = "max"  # keep the aspect ratio, never upscale: as Asset Compute's own renditions
    if rendition.get("quality") is not None:
        quality = _text("quality", rendition["quality"])
        _int_range(1, 100)("quality", quality)
        params["q"] = str(int(float(quality)))
    crop = rendition.get("crop")
    if crop is not None:
        if not isinstance(crop, dict) or not all(k in crop for k in ("x", "y", "w", "h")):
            raise RenditionInstructionsError("crop must be an object {x, y, w, h}")
        values = [_text(f"crop.{k}", crop[k]) for k in ("x", "y", "w", "h")]
        params["rect"] = ",".join(str(int(_number("crop", v))) for v in values)
    params.update(standard_params(rendition))  # dpi, watermark; refuses what imgix cannot honour
    return params


def imgix_params(rendition: Mapping[str, object], *, recipe: str | None = None) -> dict[str, str]:
    """The imgix parameters for one rendition object of the job.

    :param recipe: the recipe named by the endpoint path, used when the rendition names none itself.
    :raises RenditionInstructionsError: an instruction is malformed or out of range.
    :raises RenditionFormatUnsupported: the requested format cannot be produced by imgix.
    """
    name = rendition.get("recipe", recipe)
    params: dict[str, str] = {}
    if name is not None:
        params.update(apply_recipe(_text("recipe", name), rendition))
    params.update(_standard_fields(rendition))
    for key, value in rendition.items():
        if key in _CONTRACT_FIELDS or key in _FORBIDDEN:
            continue
        canonical = _canonical(key)
        if canonical is not None:
            params[canonical] = _text(key, value)
    if rendition.get("imgix") is not None:
        for key, value in _from_imgix_field(rendition["imgix"]).items():
            if not isinstance(key, str) or key in _FORBIDDEN:
                raise RenditionInstructionsError(f"imgix parameter {str(key)[:40]!r} may not be set")
            canonical = _canonical(key)
            if canonical is None:
                raise RenditionInstructionsError(f"{key[:40]!r} is not an imgix parameter")
            params[canonical] = _text(f"imgix.{key}", value)
    for key, value in params.items():
        _check(key, value)
    finish_params(rendition, params)  # interlace and maxWidth/maxHeight, on the final (checked) format and box
    for key, value in params.items():
        _check(key, value)
    return params
