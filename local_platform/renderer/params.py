"""Query parsing and parameter validation: base64 variants, aliases, and typed reads that answer 400 on bad values.

`Params` holds the parameters under their canonical imgix names. A `<name>64` parameter (any imgix parameter except
`auto` and `ch`) carries its value as URL-safe base64 without padding; a value that is not such base64, or not UTF-8
once decoded, is a 400 as at imgix. Aliases from imgix's spec (`width`, `f`, `or`, `inv`, `mono`, ...) resolve to
their canonical name; when both spellings are sent, the canonical one wins. Names that are not imgix parameters
(`ixlib`, anything else) are kept but never read, so they are ignored.

Ranges: imgix's *strict* ranges (w/h 2..8192 or 0..1, dpr 0..5, ...) are enforced with a 400; its *suggested*
ranges (bri -100..100, blur 0..2000, ...) are not hard limits at imgix, so values outside them are clamped.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from local_platform.renderer.catalog import ALIASES, NO_BASE64, PARAMETERS
from local_platform.renderer.colors import RGBA, parse_color
from local_platform.renderer.errors import RenderError

__all__ = ["Dimension", "Params", "normalize", "parse_query"]

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_TRUE = {"true", "1"}
_FALSE = {"false", "0"}


def parse_query(query: str) -> dict[str, str]:
    """Decode a raw query string (without `?`): the last value wins, except `auto`, whose values add up."""
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key == "auto" and params.get("auto"):
            params["auto"] = f"{params['auto']},{value}"
        else:
            params[key] = value
    return params


def normalize(raw: Mapping[str, str]) -> dict[str, str]:
    """Canonical names and decoded base64 values; raise RenderError(400) for a `…64` value that is not base64."""
    aliased: dict[str, str] = {}
    canonical: dict[str, str] = {}
    for key, value in raw.items():
        name, decoded = key, value
        base = key[:-2] if key.endswith("64") else None
        if base is not None and ALIASES.get(base, base) in PARAMETERS - NO_BASE64:
            name, decoded = base, _decode_base64(key, value)
        target = canonical if name in PARAMETERS or name not in ALIASES else aliased
        target[ALIASES.get(name, name)] = decoded
    return {**aliased, **canonical}


def _decode_base64(key: str, value: str) -> str:
    if not _BASE64URL.fullmatch(value) or len(value) % 4 == 1:
        raise RenderError(400, f"{key}: value is not URL-safe base64")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise RenderError(400, f"{key}: value is not URL-safe base64 of UTF-8 text") from None


@dataclass(frozen=True)
class Dimension:
    """A `w`/`h`-style size: pixels, or a fraction (0..1] of the reference size."""

    value: float
    fraction: bool

    def of(self, reference: float) -> float:
        return self.value * reference if self.fraction else self.value


class Params:
    """Typed, validated reads of the request's imgix parameters (canonical names)."""

    def __init__(self, raw: Mapping[str, str]) -> None:
        self._values = normalize(raw)

    def names(self) -> Iterable[str]:
        return self._values.keys()

    def get(self, name: str) -> str | None:
        value = self._values.get(name)
        return None if value is None or value.strip() == "" else value.strip()

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None

    def items(self, name: str) -> list[str]:
        """A comma list, lower-cased, blanks dropped."""
        value = self.get(name)
        return [] if value is None else [v.strip().lower() for v in value.split(",") if v.strip()]

    def number(self, name: str, *, default: float, lo: float, hi: float, strict: bool = False) -> float:
        """A number; outside lo..hi it is a 400 when `strict` (imgix strict range), else clamped."""
        value = self.get(name)
        if value is None:
            return default
        number = _to_float(name, value)
        if strict and not lo <= number <= hi:
            raise RenderError(400, f"{name}: {_show(value)} is outside {lo:g}..{hi:g}")
        return min(max(number, lo), hi)

    def boolean(self, name: str) -> bool:
        value = self.get(name)
        if value is None:
            return False
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise RenderError(400, f"{name}: {_show(value)} is not a boolean (true/false/1/0)")

    def choice(self, name: str, options: Iterable[str], default: str | None = None) -> str | None:
        value = self.get(name)
        if value is None:
            return default
        options = tuple(options)
        if value.lower() not in options:
            raise RenderError(400, f"{name}: {_show(value)} is not one of {', '.join(options)}")
        return value.lower()

    def color(self, name: str) -> RGBA | None:
        value = self.get(name)
        if value is None:
            return None
        color = parse_color(value)
        if color is None:
            raise RenderError(400, f"{name}: {_show(value)} is not a colour (hex RGB/ARGB/RRGGBB/AARRGGBB or keyword)")
        return color

    def dimension(self, name: str, *, lo: int = 2, hi: int = 8192) -> Dimension | None:
        """imgix `w`/`h`: an integer lo..hi (pixels) or a number in (0, 1] (fraction); anything else is a 400."""
        value = self.get(name)
        if value is None:
            return None
        number = _to_float(name, value)
        if 0 < number <= 1 and ("." in value or number == 1):
            return Dimension(number, fraction=True)
        if lo <= number <= hi:
            return Dimension(float(round(number)), fraction=False)
        raise RenderError(400, f"{name}: {_show(value)} is neither {lo}..{hi} pixels nor a fraction in (0, 1]")

    def ints(self, name: str, *, lo: int = 0) -> list[int] | None:
        """A comma list of integers >= lo (corner radii, ...)."""
        value = self.get(name)
        if value is None:
            return None
        numbers = [_to_float(name, part) for part in value.split(",")]
        if any(n < lo for n in numbers):
            raise RenderError(400, f"{name}: {_show(value)} has a value below {lo}")
        return [round(n) for n in numbers]


def _to_float(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise RenderError(400, f"{name}: {_show(value)} is not a number") from None
    if not math.isfinite(number):
        raise RenderError(400, f"{name}: {_show(value)} is not a finite number")
    return number


def _show(value: str) -> str:
    """The value quoted and shortened, for an error message."""
    return repr(value if len(value) <= 40 else value[:37] + "...")
