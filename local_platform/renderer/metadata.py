"""Answers that describe an image instead of being one: `fm=json` (the source's metadata) and `palette=json|css`.

Shapes follow imgix's documentation (docs.imgix.com: "JSON Output Format", "JSON Face Data", "Color Palette
Extraction"):

- `fm=json`: the *source's* properties, named as imgix names them: `Content-Length` (a string), `Content-Type`,
  `PixelWidth`, `PixelHeight` (as stored, before EXIF orientation), `DPIWidth`, `DPIHeight` (72 when the file says
  none), `Depth` (bits per channel), `ColorModel` (`RGB`, `Gray`, `CMYK`, `Lab`), `ProfileName` (the embedded ICC
  profile's description, when there is one), `Orientation` (EXIF, 0 when absent, as in imgix's own example),
  `HasAlpha` (when there is an alpha channel), `JFIF`, `TIFF` and `Exif` groups (tags Pillow reads, JSON-safe
  values), `Output: {}`; with `faces=1` a `Faces` list.
- `Faces` ("JSON Face Data"): one `{"bounds": {"x", "y", "width", "height"}}` per face OpenCV finds (faces.py),
  largest first, in pixels from the top left corner. imgix documents two shapes beside `bounds`: `mouth`,
  `left_eye` and `right_eye` points (older page), or a `confidence` percentage (newer page). A Haar face cascade
  gives neither (no landmarks; its stage weights are no percentage), so both are left out rather than invented.
  Coordinates are on the image as imgix renders it, after the EXIF orientation (or the `orient` override): imgix
  orients every transformed image first and says face coordinates "start on the top left corner of the image",
  and `faceindex`/`fit=facearea`, which those coordinates serve, work on the oriented image. (`PixelWidth` and
  `PixelHeight` stay the stored size, as imgix reports them.) Without OpenCV the list is empty.
- `palette=json`: after every other operation, as at imgix: `colors` (`colors` of them, default 6, 0..16), each
  `{red, green, blue, hex}` with channels from 0 to 1, most frequent first (median-cut quantisation);
  `average_luminance` (mean Rec. 709 luma, 0..1); `dominant_colors` with up to six of `vibrant`, `vibrant_dark`,
  `vibrant_light`, `muted`, `muted_dark`, `muted_light`, chosen like Vibrant.js (imgix says its dominance set works
  "like Vibrant.js"): each target lightness/saturation scored against 64 swatches, a swatch used at most once.
- `palette=css`: `.<prefix>-fg-N { color:#hex !important; }` and `.<prefix>-bg-N { background-color:... }` pairs,
  then white and black (`ex-1`, `ex-2`), then the dominant colours (`vibrant-dark`, ...); `prefix` defaults to
  `image`. Served as `text/css`.

Transparent pixels (alpha below 50%) are left out of the palette. `palette` wins over `fm`; `fm=json` with
`palette` is refused as a 400 here.
"""

from __future__ import annotations

import colorsys
import io
import json
import numbers
import re
from dataclasses import dataclass
from typing import Any

from PIL import ExifTags, Image, ImageCms

from local_platform.renderer import faces, orientation
from local_platform.renderer.errors import RenderError
from local_platform.renderer.params import Params

__all__ = ["ImageAnswer", "describe_source", "is_palette", "is_source_info", "palette"]

PALETTE_SIDE = 256  # the palette is computed on a copy at most this large: frequency barely changes
SWATCHES = 64
_PREFIX = re.compile(r"[A-Za-z0-9_-]{1,64}")
_COLOR_MODELS = {"1": "Gray", "L": "Gray", "LA": "Gray", "La": "Gray", "I": "Gray", "F": "Gray", "CMYK": "CMYK",
                 "LAB": "Lab"}  # fmt: skip
_CONTENT_TYPES = {"MPO": "image/jpeg"}  # Pillow opens many camera JPEGs as MPO
_TIFF_TAGS = ("ImageDescription", "Make", "Model", "Orientation", "XResolution", "YResolution", "ResolutionUnit",
              "Software", "DateTime", "Artist", "Copyright")  # fmt: skip
# Vibrant.js targets: (name, min/target/max lightness, min/target/max saturation).
_TARGETS = (
    ("vibrant", (0.3, 0.5, 0.7), (0.35, 1.0, 1.0)),
    ("vibrant_dark", (0.0, 0.26, 0.45), (0.35, 1.0, 1.0)),
    ("vibrant_light", (0.55, 0.74, 1.0), (0.35, 1.0, 1.0)),
    ("muted", (0.3, 0.5, 0.7), (0.0, 0.3, 0.4)),
    ("muted_dark", (0.0, 0.26, 0.45), (0.0, 0.3, 0.4)),
    ("muted_light", (0.55, 0.74, 1.0), (0.0, 0.3, 0.4)),
)
_WEIGHTS = (3.0, 6.0, 1.0)  # saturation, lightness, population (Vibrant.js)


@dataclass(frozen=True)
class ImageAnswer:
    """A non-image answer: its body and Content-Type."""

    body: bytes
    content_type: str


def is_source_info(params: Params) -> bool:
    """`fm=json` without `palette`: the source's metadata."""
    return (params.get("fm") or "").lower() == "json" and "palette" not in params


def is_palette(params: Params) -> bool:
    """`palette=json|css` (any other value is a 400)."""
    return params.choice("palette", ("json", "css")) is not None


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"


def _plain(value: Any) -> Any:
    """A JSON-safe copy of an EXIF value; None for what JSON cannot carry (binary blobs)."""
    if isinstance(value, bool | int | str):
        return value.strip("\x00 ") if isinstance(value, str) else value
    if isinstance(value, numbers.Real):  # float and EXIF rationals (IFDRational)
        number = float(value)
        return None if number != number else int(number) if number.is_integer() else round(number, 6)
    if isinstance(value, tuple | list):
        items = [_plain(v) for v in value]
        return items if all(i is not None for i in items) and len(items) <= 32 else None
    if isinstance(value, bytes) and len(value) <= 64 and value.isascii():
        return value.decode("ascii").strip("\x00 ")
    return None


def _group(tags: dict[int, Any], names: tuple[str, ...] | None = None) -> dict[str, Any]:
    group = {}
    for tag, value in tags.items():
        name = ExifTags.TAGS.get(tag)
        plain = _plain(value)
        if name and plain not in (None, "") and (names is None or name in names):
            group[name] = plain
    return dict(sorted(group.items()))


def _depth(image: Image.Image, data: bytes) -> int:
    if image.format == "PNG" and data[12:16] == b"IHDR":
        return data[24]  # Pillow reads 16-bit RGB PNGs as 8-bit: the header says what the file holds
    if image.mode.startswith("I;16"):
        return 16
    return {"1": 1, "I": 32, "F": 32}.get(image.mode, 8)


def _profile_name(icc: bytes | None) -> str | None:
    if not icc:
        return None
    try:
        name = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip()
    except (ImageCms.PyCMSError, OSError, ValueError):
        return None
    return name or None


def _number(value: float) -> float | int:
    return round(value) if abs(value - round(value)) < 0.01 else round(value, 2)


def _faces(image: Image.Image, params: Params) -> list[dict[str, Any]]:
    """imgix's `Faces` list for the source `image`: bounds only, on the oriented image (module docstring)."""
    found = []
    for left, top, right, bottom in faces.detect(orientation.orient(image, params)):
        box = {"x": left, "y": top, "width": right - left, "height": bottom - top}
        found.append({"bounds": {key: _number(float(value)) for key, value in box.items()}})
    return found


def describe_source(data: bytes, image: Image.Image, params: Params, *, content_type: str) -> ImageAnswer:
    """imgix's `fm=json` for the decoded source `image` (`data` its bytes, `content_type` as stored)."""
    params.choice("faces", ("1",))
    info = image.info
    dpi = info.get("dpi") or (72, 72)
    answer: dict[str, Any] = {
        "Content-Length": str(len(data)),
        "Content-Type": _CONTENT_TYPES.get(image.format or "")
        or Image.MIME.get(image.format or "", "")
        or content_type.split(";")[0].strip(),
        "PixelWidth": image.width,
        "PixelHeight": image.height,
        "DPIWidth": _number(float(dpi[0])),
        "DPIHeight": _number(float(dpi[1])),
        "Depth": _depth(image, data),
        "ColorModel": _COLOR_MODELS.get(image.mode, "Gray" if image.mode.startswith("I;") else "RGB"),
    }
    profile = _profile_name(info.get("icc_profile"))
    if profile:
        answer["ProfileName"] = profile
    try:
        exif = image.getexif()
        exif_ifd = exif.get_ifd(ExifTags.IFD.Exif)
    except Exception:  # a broken EXIF block is left out, not a 500: whatever Pillow's parser raised
        exif, exif_ifd = Image.Exif(), {}
    answer["Orientation"] = _plain(exif.get(0x0112)) or 0
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in info:
        answer["HasAlpha"] = True
    if "jfif" in info:
        density = info.get("jfif_density", (1, 1))
        answer["JFIF"] = {
            "JFIFVersion": list(info.get("jfif_version", (1, 1))),
            "DensityUnit": info.get("jfif_unit", 0),
            "XDensity": density[0],
            "YDensity": density[1],
            "IsProgressive": bool(info.get("progressive") or info.get("progression")),
        }
    tiff = _group(dict(exif), _TIFF_TAGS)
    if tiff:
        answer["TIFF"] = tiff
    exif_group = _group(dict(exif_ifd))
    if exif_group:
        answer["Exif"] = exif_group
    answer["Output"] = {}
    if params.get("faces") == "1":
        answer["Faces"] = _faces(image, params)
    return ImageAnswer(_json(dict(sorted(answer.items()))), "application/json")


def _opaque_pixels(image: Image.Image) -> list[tuple[int, int, int]]:
    """The image's pixels, at most `PALETTE_SIDE` on a side (nearest neighbour: no blended colours invented)."""
    scale = min(1.0, PALETTE_SIDE / max(image.size))
    small = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.NEAREST)
    if small.mode == "RGBA":
        data = small.tobytes()
        return [(data[i], data[i + 1], data[i + 2]) for i in range(0, len(data), 4) if data[i + 3] >= 128]
    data = small.convert("RGB").tobytes()
    return list(zip(data[0::3], data[1::3], data[2::3], strict=True))


def _quantised(pixels: list[tuple[int, int, int]], count: int) -> list[tuple[tuple[int, int, int], int]]:
    """Up to `count` colours standing for `pixels`, with their pixel counts, most frequent first: the colours
    themselves when there are no more than `count`, else median-cut clusters."""
    if not pixels or count <= 0:
        return []
    strip = Image.frombytes("RGB", (len(pixels), 1), bytes(c for pixel in pixels for c in pixel))
    exact = strip.getcolors(maxcolors=count)
    if exact is not None:
        swatches = [(rgb, n) for n, rgb in exact]
    else:
        quantised = strip.quantize(colors=count, method=Image.Quantize.MEDIANCUT)
        palette = quantised.getpalette() or []
        counts = quantised.getcolors(maxcolors=256) or []
        swatches = [((palette[3 * i], palette[3 * i + 1], palette[3 * i + 2]), n) for n, i in counts]
    return sorted(swatches, key=lambda swatch: (-swatch[1], swatch[0]))


def _colour(rgb: tuple[int, int, int]) -> dict[str, Any]:
    red, green, blue = (float(f"{c / 255:.6g}") for c in rgb)
    return {"red": red, "hex": "#{:02x}{:02x}{:02x}".format(*rgb), "blue": blue, "green": green}


def _dominant(swatches: list[tuple[tuple[int, int, int], int]]) -> dict[str, dict[str, Any]]:
    """Vibrant.js's six named colours from the swatches (a name is left out when no swatch fits it)."""
    if not swatches:
        return {}
    most = max(n for _, n in swatches)
    hls = [(colorsys.rgb_to_hls(*(c / 255 for c in rgb)), rgb, n) for rgb, n in swatches]
    used: set[tuple[int, int, int]] = set()
    chosen: dict[str, dict[str, Any]] = {}
    for name, (l_min, l_target, l_max), (s_min, s_target, s_max) in _TARGETS:
        best, best_score = None, -1.0
        for (_, lightness, saturation), rgb, n in hls:
            if rgb in used or not (l_min <= lightness <= l_max and s_min <= saturation <= s_max):
                continue
            parts = (1 - abs(saturation - s_target), 1 - abs(lightness - l_target), n / most)
            score = sum(w * v for w, v in zip(_WEIGHTS, parts, strict=True)) / sum(_WEIGHTS)
            if score > best_score:
                best, best_score = rgb, score
        if best is not None:
            used.add(best)
            chosen[name] = _colour(best)
    return chosen


def palette(image: Image.Image, params: Params) -> ImageAnswer:
    """imgix's `palette=json|css` for the processed `image`."""
    kind = params.choice("palette", ("json", "css"))
    count = round(params.number("colors", default=6, lo=0, hi=16))
    pixels = _opaque_pixels(image)
    colours = [_colour(rgb) for rgb, _ in _quantised(pixels, count)]
    dominant = _dominant(_quantised(pixels, SWATCHES))
    if kind == "css":
        prefix = params.get("prefix") or "image"
        if not _PREFIX.fullmatch(prefix):
            raise RenderError(400, "prefix: must be 1..64 letters, digits, '-' or '_'")
        return ImageAnswer(_css(prefix, colours, dominant), "text/css; charset=utf-8")
    luminance = sum(0.2126 * r + 0.7152 * g + 0.0722 * b for r, g, b in pixels) / (255 * len(pixels)) if pixels else 0.0
    answer = {"colors": colours, "average_luminance": float(f"{luminance:.6g}"), "dominant_colors": dominant}
    return ImageAnswer(_json(answer), "application/json")


def _css(prefix: str, colours: list[dict[str, Any]], dominant: dict[str, dict[str, Any]]) -> bytes:
    named = [(str(i), c["hex"]) for i, c in enumerate(colours, 1)]
    named += [("ex-1", "#ffffff"), ("ex-2", "#000000")]
    named += [(name.replace("_", "-"), c["hex"]) for name, c in dominant.items()]
    lines = []
    for name, hex_colour in named:
        lines.append(f".{prefix}-fg-{name} {{ color:{hex_colour} !important; }}")
        lines.append(f".{prefix}-bg-{name} {{ background-color:{hex_colour} !important; }}")
    return ("\n".join(lines) + "\n").encode("ascii")
