"""Colour management as imgix does it: every source is rendered in sRGB, whatever its colour model and profile.

`working(image, icc_profile, cs)` turns a decoded source into the renderer's working image (RGB, or RGBA when it
has any transparency) in sRGB, and says which ICC profile the output may carry:

* a source with an embedded ICC profile (CMYK, Adobe RGB, Display P3, grey...) is converted through it to sRGB with
  LittleCMS (Pillow's ImageCms), and the output carries an sRGB profile;
* a CMYK source without one is converted through a modelled coated-paper CMYK profile (`icc_profiles.py` says why
  not a standard one), and the output carries an sRGB profile;
* an untagged RGB or grey source is taken as sRGB and the output carries no profile (as before: nothing to say);
* `cs=origin` keeps an RGB source's own pixels and profile (imgix's "keep the origin colour space"); a CMYK or grey
  source is still converted, since an RGB file cannot carry a CMYK or grey profile. `cs=srgb` (and `tinysrgb`,
  imgix's compact sRGB profile) always tags the output sRGB; `cs=adobergb1998` converts the finished image to
  Adobe RGB (1998) and tags it so (`for_output`). `cs=strip` and `auto=compress` drop the profile when
  the output is written (`output.py`), after the pixels are already sRGB.

So an output never carries the source's CMYK profile. 16-bit grey keeps its top 8 bits (imgix's outputs are 8-bit);
palette images become RGB(A), palette transparency included; alpha is set aside during the conversion and put
back unchanged. A profile LittleCMS cannot read, or one of another colour model than the pixels, is ignored (the
pixels are then taken as sRGB, or converted with the default CMYK profile), as browsers do.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass

from PIL import Image, ImageCms

from local_platform.renderer.icc_profiles import adobe_rgb, coated_cmyk

__all__ = ["Working", "for_output", "srgb_profile", "working"]

# ICC colour-space signatures for the pixel modes a profile can apply to.
_SPACES = {"RGB": "RGB", "L": "GRAY", "CMYK": "CMYK"}


@dataclass(frozen=True)
class Working:
    """The working image (RGB or RGBA, sRGB unless `cs=origin` kept an RGB profile) and the profile it carries."""

    image: Image.Image
    icc_profile: bytes | None


@functools.cache
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@functools.cache
def _coated() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(io.BytesIO(coated_cmyk()))


@functools.cache
def srgb_profile() -> bytes:
    """The ICC profile outputs carry when they are tagged: LittleCMS's built-in sRGB (under 1 KB)."""
    return _srgb().tobytes()


def _profile(data: bytes | None, mode: str) -> ImageCms.ImageCmsProfile | None:
    """The embedded profile if LittleCMS reads it and it describes pixels of `mode`; else None."""
    if not data:
        return None
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(data))
    except (ImageCms.PyCMSError, OSError, ValueError):
        return None
    return profile if profile.profile.xcolor_space.strip() == _SPACES.get(mode) else None


def _split(image: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """(colour in L, RGB or CMYK; alpha or None) for any Pillow mode."""
    if image.mode.startswith("I;16") or image.mode == "I":
        image = image.convert("I").point(lambda v: v / 256).convert("L")  # 16-bit grey: keep the top 8 bits
    elif image.mode == "F":
        image = image.convert("L")
    if image.mode == "P" or "transparency" in image.info:
        has_alpha = "transparency" in image.info or image.mode == "PA"
        image = image.convert("RGBA" if has_alpha else "RGB")
    elif image.mode in ("PA", "RGBa"):
        image = image.convert("RGBA")
    elif image.mode == "La":
        image = image.convert("LA")
    if image.mode in ("RGBA", "LA"):
        return image.convert(image.mode[:-1]), image.getchannel("A")
    if image.mode not in _SPACES:
        image = image.convert("RGB")  # 1, YCbCr, HSV, LAB...: Pillow's own conversion
    return image, None


def _to_srgb(colour: Image.Image, profile: ImageCms.ImageCmsProfile) -> Image.Image | None:
    try:
        return ImageCms.profileToProfile(colour, profile, _srgb(), outputMode="RGB")
    except ImageCms.PyCMSError:
        return None


def working(image: Image.Image, icc_profile: bytes | None, cs: str | None = None) -> Working:
    """The source in the renderer's working mode and colour space (see the module docstring)."""
    colour, alpha = _split(image)
    profile = _profile(icc_profile, colour.mode)
    tagged = cs in ("srgb", "tinysrgb")
    if colour.mode == "RGB" and profile is not None and cs == "origin":
        rgb, out_profile = colour, icc_profile
    elif colour.mode == "CMYK":
        converted = _to_srgb(colour, profile) if profile is not None else None
        if converted is None:
            converted = _to_srgb(colour, _coated())
        rgb, out_profile = converted or colour.convert("RGB"), srgb_profile()
    elif profile is not None:
        converted = _to_srgb(colour, profile)
        rgb = converted if converted is not None else colour.convert("RGB")
        out_profile = srgb_profile()
    else:
        rgb, out_profile = colour.convert("RGB"), srgb_profile() if tagged else None
    if tagged:
        out_profile = srgb_profile()
    if alpha is not None:
        rgb = rgb.convert("RGBA")
        rgb.putalpha(alpha)
    rgb.info.pop("icc_profile", None)  # Pillow's writers fall back to it: only `out_profile` may be written
    return Working(rgb, out_profile)


def for_output(image: Image.Image, icc_profile: bytes | None, cs: str | None) -> tuple[Image.Image, bytes | None]:
    """The finished sRGB image in the output colour space: Adobe RGB (1998) with `cs=adobergb1998`, else as it is."""
    if cs != "adobergb1998":
        return image, icc_profile
    colour, alpha = (image.convert("RGB"), image.getchannel("A")) if image.mode == "RGBA" else (image, None)
    target = ImageCms.ImageCmsProfile(io.BytesIO(adobe_rgb()))
    converted = ImageCms.profileToProfile(colour.convert("RGB"), _srgb(), target, outputMode="RGB")
    assert converted is not None  # profileToProfile returns None only with inPlace=True
    if alpha is not None:
        converted.putalpha(alpha)
    converted.info.pop("icc_profile", None)
    return converted, adobe_rgb()
