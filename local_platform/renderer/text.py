"""Text: the `txt*` overlay on the image, and imgix's `~text` typesetting endpoint (an image made of text).

Drawn with FreeType through Pillow's built-in scalable font (`ImageFont.load_default(size)`, Pillow >= 10.1, the
"Aileron Regular" face). imgix's ~1000 `txt-font` faces (Helvetica, Avenir...) are commercial fonts no local
library ships, so every `txt-font` is drawn with that one face (reported by `fallbacks()`).

`txt` (imgix defaults): `txt-size` 12, `txt-color` black, `txt-align` bottom,right, `txt-pad` 10, `txt-x`/`txt-y`
(absolute position, overriding the alignment on that axis), `txt-width` (region width: the text is clipped at
`txt-clip` end|start|middle, `ellipsis` adding "…", or shrunk to fit with `txt-fit=max`), `txt-shad` 0..10 (a
blurred dark shadow), `txt-line` + `txt-line-color` (outline, default white), `txt-bg` (a box behind the text).
One line: a line break is drawn as a space, as imgix's `txt` is single-line.

`~text` (`typeset(params)`): `txt` wrapped into lines of at most `w` pixels (less `txt-pad` each side), with
`txt-lead` extra pixels between lines and `txt-track` between letters; the image is `w` wide (or the text's width),
as tall as the text (or `h`), on `bg` (transparent by default), the text aligned by `txt-align` (default left).
"""

from __future__ import annotations

import functools

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from local_platform.renderer.colors import RGBA
from local_platform.renderer.params import Params

__all__ = ["draw_txt", "typeset"]

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
_MAX_TEXT_SIDE = 8192


@functools.cache
def font(size: int) -> Font:
    return ImageFont.load_default(size=size)


def _size(params: Params, default: float = 12) -> int:
    return max(1, round(params.number("txt-size", default=default, lo=1, hi=1000)))


def _width(text: str, face: Font, track: float) -> float:
    return face.getlength(text) + track * max(0, len(text) - 1)


def _line_height(face: Font) -> int:
    ascent, descent = face.getmetrics() if isinstance(face, ImageFont.FreeTypeFont) else (11, 0)
    return ascent + descent


def _draw_line(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, face: Font, **style: object) -> None:
    track = float(style.pop("track", 0) or 0)  # type: ignore[arg-type]
    if not track:
        draw.text(xy, text, font=face, **style)  # type: ignore[arg-type]
        return
    x, y = xy
    for char in text:  # letter spacing: one glyph at a time
        draw.text((x, y), char, font=face, **style)  # type: ignore[arg-type]
        x += face.getlength(char) + track


def _clip(text: str, face: Font, width: float, mode: str) -> str:
    """`text` cut to `width` pixels at its end, start or middle (`ellipsis`: end, with "…")."""
    if face.getlength(text) <= width:
        return text
    mark = "…" if mode == "ellipsis" else ""
    keep = len(text)
    while keep > 0:
        keep -= 1
        if mode == "start":
            candidate = text[len(text) - keep :]
        elif mode == "middle":
            candidate = text[: (keep + 1) // 2] + text[len(text) - keep // 2 :]
        else:
            candidate = text[:keep] + mark
        if face.getlength(candidate) <= width:
            return candidate
    return ""


def _style(params: Params, colour: RGBA) -> dict[str, object]:
    style: dict[str, object] = {"fill": colour}
    line = round(params.number("txt-line", default=0, lo=0, hi=100))
    if line:
        style.update(stroke_width=line, stroke_fill=params.color("txt-line-color") or (255, 255, 255, 255))
    return style


def _place(params: Params, prefix: str, outer: tuple[int, int], inner: tuple[float, float], pad: float, default: str):
    """Top-left of an `inner` box in `outer` from `<prefix>-align` (+ `-pad`), overridden by `<prefix>-x`/`-y`."""
    align = set(params.items(f"{prefix}-align") or default.split(","))
    (ow, oh), (iw, ih) = outer, inner
    x = pad if "left" in align else (ow - iw) / 2 if "center" in align else ow - iw - pad
    y = pad if "top" in align else (oh - ih) / 2 if "middle" in align else oh - ih - pad
    if f"{prefix}-x" in params:
        x = params.number(f"{prefix}-x", default=0, lo=-_MAX_TEXT_SIDE, hi=_MAX_TEXT_SIDE)
    if f"{prefix}-y" in params:
        y = params.number(f"{prefix}-y", default=0, lo=-_MAX_TEXT_SIDE, hi=_MAX_TEXT_SIDE)
    return round(x), round(y)


def draw_txt(image: Image.Image, params: Params) -> Image.Image:
    """The image with the `txt` overlay drawn (unchanged without `txt`)."""
    text = " ".join((params.get("txt") or "").split())
    if not text:
        return image
    pad = params.number("txt-pad", default=10, lo=0, hi=_MAX_TEXT_SIDE)
    size = _size(params)
    region = params.number("txt-width", default=0, lo=0, hi=_MAX_TEXT_SIDE) or image.width - 2 * pad
    if params.get("txt-fit") == "max":
        while size > 1 and font(size).getlength(text) > region:
            size -= 1
    face = font(size)
    text = _clip(text, face, max(region, 0), (params.get("txt-clip") or "end").lower())
    if not text:
        return image
    box = (face.getbbox(text)[2], _line_height(face))
    x, y = _place(params, "txt", image.size, box, pad, "bottom,right")
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    background = params.color("txt-bg")
    if background is not None:
        draw.rectangle((x - pad / 2, y - pad / 2, x + box[0] + pad / 2, y + box[1] + pad / 2), fill=background)
    shadow = params.number("txt-shad", default=0, lo=0, hi=10)
    if shadow:
        shade = Image.new("RGBA", image.size, (0, 0, 0, 0))
        ImageDraw.Draw(shade).text((x + 1, y + 1), text, font=face, fill=(0, 0, 0, 200))
        layer.alpha_composite(shade.filter(ImageFilter.GaussianBlur(shadow)))
        draw = ImageDraw.Draw(layer)
    _draw_line(draw, (x, y), text, face, **_style(params, params.color("txt-color") or (0, 0, 0, 255)))
    result = image.convert("RGBA")
    result.alpha_composite(layer)
    return result


def _wrap(text: str, face: Font, width: float | None, track: float) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if width is None or _width(candidate, face, track) <= width or not line:
                line = candidate
            else:
                lines.append(line)
                line = word
        lines.append(line)
    return lines


def typeset(params: Params) -> Image.Image:
    """imgix's `~text` endpoint: the text of `txt` as an RGBA image."""
    face = font(_size(params))
    pad = params.number("txt-pad", default=10, lo=0, hi=_MAX_TEXT_SIDE)
    lead = params.number("txt-lead", default=0, lo=-1000, hi=1000)
    track = params.number("txt-track", default=0, lo=-100, hi=1000)
    w, h = params.dimension("w"), params.dimension("h")
    width = w.of(_MAX_TEXT_SIDE) if w is not None and not w.fraction else None
    lines = _wrap(params.get("txt") or "", face, width - 2 * pad if width else None, track)
    line_height = _line_height(face)
    text_w = max(_width(line, face, track) for line in lines)
    text_h = line_height * len(lines) + lead * (len(lines) - 1)
    canvas = (
        min(_MAX_TEXT_SIDE, round(width or text_w + 2 * pad)),
        min(_MAX_TEXT_SIDE, round(h.of(_MAX_TEXT_SIDE) if h is not None and not h.fraction else text_h + 2 * pad)),
    )
    image = Image.new("RGBA", canvas, params.color("bg") or (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    style = _style(params, params.color("txt-color") or (0, 0, 0, 255))
    align = set(params.items("txt-align") or ["left"])
    if "middle" in align:
        top = round((canvas[1] - text_h) / 2)
    else:
        top = round(canvas[1] - text_h - pad if "bottom" in align else pad)
    for i, line in enumerate(lines):
        line_w = _width(line, face, track)
        x = pad if "left" in align else (canvas[0] - line_w) / 2 if "center" in align else canvas[0] - line_w - pad
        _draw_line(draw, (round(x), top + i * (line_height + lead)), line, face, track=track, **style)
    return image
