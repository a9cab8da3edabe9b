"""Output format and quality: `fm`, `q`, `auto=format,compress`, `lossless`, `chromasub`, `jpg-progressive`,
`dpi`, `cs=strip`.

The format is chosen in this order (reference/imgix.md 1.3):

1. `auto=format`: AVIF when the request's Accept header lists image/avif (and Pillow can write AVIF), else WebP
   when it lists image/webp; otherwise the next rules decide. The response then varies by Accept.
2. `auto=compress` on a still image: PNG when the output has transparency, else JPEG, overriding `fm`.
3. `fm`, when given.
4. The source's format when Pillow writes it (JPEG, PNG, GIF, WebP, AVIF, JPEG 2000), else PNG with
   transparency or JPEG without.

`q` (0..100) applies to lossy formats; default 75, or 45 with `auto=compress`. `fm=json` is answered before this
module is reached (metadata.py); `fm` values imgix has but Pillow cannot produce here (blurhash, jxr, mp4, webm, and
avif/jp2 when Pillow lacks the codec) are a 400. JPEG is
progressive unless `jpg-progressive=false`; `png8` is quantised to 256 colours. EXIF is never copied (imgix strips
metadata); the ICC profile `colorspace.working()` chose (sRGB, none, or with `cs=origin` an RGB source's own, never
a CMYK one) is written except with `cs=strip`, or `auto=compress` without `cs=origin`/`cs=srgb`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, features

from local_platform.renderer.compose import flatten
from local_platform.renderer.errors import RenderError
from local_platform.renderer.params import Params

__all__ = ["FM_VALUES", "Format", "choose", "encode", "requested"]

FM_VALUES = (
    "avif",
    "gif",
    "jp2",
    "jpg",
    "json",
    "jxr",
    "pjpg",
    "mp4",
    "png",
    "png8",
    "png32",
    "webm",
    "webp",
    "blurhash",
)
AUTO_VALUES = ("format", "compress", "enhance", "redeye", "true")


@dataclass(frozen=True)
class Format:
    """An output format: the `fm` name, Pillow's writer, the Content-Type, and whether it keeps alpha."""

    name: str
    pillow: str
    content_type: str
    alpha: bool
    lossy: bool


_FORMATS = {
    "jpg": Format("jpg", "JPEG", "image/jpeg", alpha=False, lossy=True),
    "pjpg": Format("pjpg", "JPEG", "image/jpeg", alpha=False, lossy=True),
    "png": Format("png", "PNG", "image/png", alpha=True, lossy=False),
    "png32": Format("png32", "PNG", "image/png", alpha=True, lossy=False),
    "png8": Format("png8", "PNG", "image/png", alpha=True, lossy=False),
    "gif": Format("gif", "GIF", "image/gif", alpha=True, lossy=False),
    "webp": Format("webp", "WEBP", "image/webp", alpha=True, lossy=True),
    "avif": Format("avif", "AVIF", "image/avif", alpha=True, lossy=True),
    "jp2": Format("jp2", "JPEG2000", "image/jp2", alpha=True, lossy=True),
}
_CODECS = {"avif": "avif", "jp2": "jpg_2000", "webp": "webp"}
_FROM_SOURCE = {
    "JPEG": "jpg",
    "MPO": "jpg",
    "PNG": "png",
    "GIF": "gif",
    "WEBP": "webp",
    "AVIF": "avif",
    "JPEG2000": "jp2",
}
_CHROMA = {"444": 0, "422": 1, "420": 2}
_COLOUR_SPACES = ("origin", "srgb", "adobergb1998", "tinysrgb", "strip")


def _writable(name: str) -> bool:
    codec = _CODECS.get(name)
    return name in _FORMATS and (codec is None or bool(features.check(codec)))


def auto(params: Params) -> set[str]:
    values = set(params.items("auto"))
    unknown = values - set(AUTO_VALUES)
    if unknown:
        raise RenderError(400, f"auto: {sorted(unknown)[0]!r} is not one of {', '.join(AUTO_VALUES)}")
    return values


def requested(params: Params) -> str | None:
    """The `fm` asked for, with the other output options checked early (a 400 before any work): a 400 for a value
    imgix does not know or a format this renderer cannot write."""
    fm = params.choice("fm", FM_VALUES)
    if fm is not None and not _writable(fm):
        raise RenderError(400, f"fm: {fm!r} cannot be produced by the local renderer")
    auto(params)
    params.choice("chromasub", _CHROMA)
    params.choice("cs", _COLOUR_SPACES)
    params.number("q", default=75, lo=0, hi=100)
    params.number("dpi", default=72, lo=1, hi=10000)
    params.boolean("lossless")
    params.boolean("jpg-progressive")
    return fm


def choose(params: Params, *, accept: str, source_format: str | None, transparent: bool, animated: bool) -> Format:
    """The output format for this request (see the module docstring for the rules)."""
    modes = auto(params)
    fm = requested(params)
    accepted = accept.lower()
    if "format" in modes:
        if "image/avif" in accepted and _writable("avif"):
            return _FORMATS["avif"]
        if "image/webp" in accepted and _writable("webp"):
            return _FORMATS["webp"]
    if "compress" in modes and not animated:
        return _FORMATS["png" if transparent else "jpg"]
    if fm is not None:
        return _FORMATS[fm]
    name = _FROM_SOURCE.get(source_format or "")
    if name is not None and _writable(name):
        return _FORMATS[name]
    return _FORMATS["png" if transparent else "jpg"]


def colour_space(params: Params) -> str | None:
    """The `cs` asked for (a 400 for a value imgix does not know)."""
    return params.choice("cs", _COLOUR_SPACES)


def varies_by_accept(params: Params) -> bool:
    return "format" in set(params.items("auto"))


def encode(image: Image.Image, fmt: Format, params: Params, *, icc_profile: bytes | None) -> bytes:
    """The image written in `fmt` with the request's quality options."""
    modes = auto(params)
    quality = round(params.number("q", default=45 if "compress" in modes else 75, lo=0, hi=100))
    options: dict[str, object] = {}
    if fmt.lossy:
        options["quality"] = quality
    cs = params.choice("cs", _COLOUR_SPACES)
    # Adobe RGB pixels need their profile, even with auto=compress.
    if icc_profile and cs != "strip" and ("compress" not in modes or cs in ("origin", "srgb", "adobergb1998")):
        options["icc_profile"] = icc_profile
    dpi = params.get("dpi")
    if dpi is not None and fmt.pillow in ("JPEG", "PNG"):
        options["dpi"] = (params.number("dpi", default=72, lo=1, hi=10000),) * 2

    if not fmt.alpha:
        image = flatten(image)
    elif image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA")
    if fmt.pillow == "JPEG":
        progressive = fmt.name == "pjpg" or params.get("jpg-progressive") is None or params.boolean("jpg-progressive")
        chroma = params.choice("chromasub", _CHROMA, "420")
        options.update(progressive=progressive, subsampling=_CHROMA[chroma or "420"], optimize=False)
    elif fmt.name == "png8":
        image = image.quantize(256)
    elif fmt.pillow == "WEBP":
        options["lossless"] = params.boolean("lossless")
    elif fmt.pillow == "JPEG2000" and fmt.lossy:
        options.pop("quality", None)
        options.update(quality_mode="dB", quality_layers=[20 + quality / 4])
    out = io.BytesIO()
    image.save(out, fmt.pillow, **options)
    return out.getvalue()
