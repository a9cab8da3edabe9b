"""imgix colour values: 3/4/6/8-digit hex with alpha FIRST (ARGB / AARRGGBB) or a CSS colour keyword.

Keywords are the 148 CSS named colours (from Pillow's table) plus imgix's own `imgixorange` and `imgixblue`, whose
exact values imgix does not publish: the ones below are approximations of imgix's brand colours.
"""

from __future__ import annotations

import re

from PIL import ImageColor

__all__ = ["RGBA", "parse_color"]

RGBA = tuple[int, int, int, int]

_HEX = re.compile(r"#?([0-9A-Fa-f]{3,4}|[0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})")
_IMGIX_KEYWORDS: dict[str, RGBA] = {"imgixorange": (255, 125, 39, 255), "imgixblue": (21, 116, 226, 255)}


def parse_color(value: str) -> RGBA | None:
    """The colour as (r, g, b, a), or None when `value` is neither imgix hex nor a known keyword."""
    value = value.strip()
    match = _HEX.fullmatch(value)
    if match:
        digits = match.group(1)
        if len(digits) <= 4:
            digits = "".join(c * 2 for c in digits)
        if len(digits) == 6:
            digits = "ff" + digits
        a, r, g, b = (int(digits[i : i + 2], 16) for i in range(0, 8, 2))
        return (r, g, b, a)
    keyword = value.lower()
    if keyword in _IMGIX_KEYWORDS:
        return _IMGIX_KEYWORDS[keyword]
    if keyword in ImageColor.colormap:
        r, g, b = ImageColor.getrgb(keyword)[:3]
        return (r, g, b, 255)
    return None
