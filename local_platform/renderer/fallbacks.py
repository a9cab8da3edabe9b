"""`fallbacks(params)`: what the local renderer does differently from imgix for a request, in plain words.

Meant for the demo report next to each rendition. Parameters that are not imgix's (`ixlib`, ...) are ignored by both
and not reported; imgix parameters the renderer does not implement are reported once per family (`trim` for
`trim` and `trim-md`, ...).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from urllib.parse import urlsplit

from local_platform.renderer import faces
from local_platform.renderer.catalog import PARAMETERS
from local_platform.renderer.colors import parse_color
from local_platform.renderer.cropping import chain
from local_platform.renderer.errors import RenderError
from local_platform.renderer.geometry import fit_mode
from local_platform.renderer.overlays import is_local
from local_platform.renderer.params import Params, parse_query

__all__ = ["IMPLEMENTED", "fallbacks"]

# The imgix parameters this renderer reads (canonical names).
IMPLEMENTED = frozenset({
    "w", "h", "fit", "crop", "ar", "rect", "dpr", "fp-x", "fp-y", "fp-z", "pad", "pad-left", "pad-top",
    "pad-right", "pad-bottom", "bri", "con", "exp", "gam", "sat", "hue", "sharp", "usm", "usmrad", "blur",
    "invert", "monochrome", "sepia", "px", "flip", "rot", "rot-type", "orient", "fm", "q", "auto", "lossless",
    "chromasub", "jpg-progressive", "dpi", "cs", "bg", "mask", "mask-bg", "corner-radius", "fill", "fill-color",
    "expires", "palette", "colors", "prefix", "faceindex", "facepad", "face-blur", "face-pixel",
    "mark", "mark-align", "mark-alpha", "mark-fit", "mark-h", "mark-if-min-height", "mark-if-min-width", "mark-pad",
    "mark-rot", "mark-scale", "mark-tile", "mark-w", "mark-x", "mark-y",
    "blend", "blend-align", "blend-alpha", "blend-color", "blend-fit", "blend-h", "blend-mode", "blend-pad",
    "blend-size", "blend-w", "blend-x", "blend-y",
    "txt", "txt-align", "txt-clip", "txt-color", "txt-fit", "txt-font", "txt-lead", "txt-line", "txt-line-color",
    "txt-pad", "txt-shad", "txt-size", "txt-track", "txt-width", "txt-x", "txt-y",
})  # fmt: skip
# Parameters whose family is implemented but which are not (`mark-base`, `blend-crop`...) get a note of their own.
_FAMILIES = frozenset(name for name in IMPLEMENTED if "-" not in name)


def fallbacks(params: Mapping[str, str]) -> list[str]:
    """Notes on where this request renders differently from imgix (empty when it should match closely)."""
    try:
        p = Params(params)
    except RenderError:
        return []
    notes: list[str] = []
    with contextlib.suppress(RenderError):  # an invalid value is a 400, not a fallback
        notes += _size_notes(p)
    mask = (p.get("mask") or "").lower()
    if mask and mask not in ("ellipse", "corners") and not is_local(mask):
        notes.append("mask: an image at another host, not fetched locally, left out")
    fill = (p.get("fill") or "").lower()
    if fill in ("gen", "generative", "gradient"):
        notes.append(f"fill={fill}: not available locally, used a solid fill-color")
    for mode in sorted(set(p.items("auto")) & {"enhance", "redeye", "true"}):
        notes.append(f"auto={mode}: not applied locally")
    if (p.get("cs") or "").lower() == "tinysrgb":
        notes.append("cs=tinysrgb: tagged with LittleCMS's sRGB profile, not imgix's compact one")
    notes += _overlay_notes(p)
    reported: set[str] = set()
    for name in sorted(n for n in p.names() if n in PARAMETERS and n not in IMPLEMENTED):
        family = name.split("-")[0]
        if family in reported or name.startswith(("fill-gen", "fill-gradient")):
            continue
        if family in _FAMILIES or family not in PARAMETERS:
            notes.append(f"{name}: not implemented locally, ignored")
            continue
        reported.add(family)
        notes.append(f"{family}: not implemented locally, ignored")
    return notes


def _overlay_notes(p: Params) -> list[str]:
    """Overlays named by a URL this machine cannot reach, and imgix's fonts (commercial: no local library has them)."""
    notes = []
    for name in ("mark", "blend"):
        reference = p.get(name)
        if reference is None or (name == "blend" and parse_color(reference) is not None):
            continue
        if not is_local(reference):
            notes.append(f"{name}: an image at another host, not fetched locally, left out")
            continue
        font = Params(parse_query(urlsplit(reference).query)).get("txt-font")
        if font:
            notes.append(f"{name}: ~text font {font!r} is imgix's, drawn with Pillow's built-in font")
    if p.get("txt") and p.get("txt-font"):
        notes.append(f"txt-font: {p.get('txt-font')!r} is imgix's, drawn with Pillow's built-in font")
    return notes


def _size_notes(p: Params) -> list[str]:
    """Face notes, only without OpenCV: with it, a face is looked for as imgix does (none found: the same chain)."""
    notes: list[str] = []
    if faces.available():
        return notes
    if "facearea" in p.items("fit"):
        notes.append(f"fit=facearea: no face detection locally, used fit={fit_mode(p)}")
    modes = chain(p)
    if "faces" in modes and fit_mode(p) in ("crop", "min"):
        smart = [m for m in modes if m in ("entropy", "edges", "focalpoint")]
        anchors = [m for m in modes if m in ("top", "bottom", "left", "right")]
        used = smart[0] if smart else ",".join(anchors) + " anchor" if anchors else "a centred crop"
        notes.append(f"crop=faces: no face detection locally, used {used}")
    return notes
