"""The demo's view of a metadata rendition: the XMP's properties for `report.json`, and a contact-sheet panel with
the key values and the colour swatches (the palette, then imgix's named dominant colours)."""

from __future__ import annotations

import html
import re
from pathlib import Path

from imgix_worker.metadata_rendition import NAMESPACE
from local_platform.cases_rdf import is_rdf, rdf_properties
from local_platform.renderer import faces
from profiles import RenditionSpec

__all__ = ["is_xmp", "metadata_notes", "metadata_panel", "one_line", "xmp_summary"]

_KEYS = (
    ("Source size", ("pixelWidth", "pixelHeight"), "x"),
    ("DPI", ("dpiWidth", "dpiHeight"), "x"),
    ("Colour model", ("colorModel", "bitDepth"), " / bits "),
    ("ICC profile", ("iccProfileName",), ""),
    ("Orientation", ("orientation",), ""),
    ("Alpha", ("hasAlpha",), ""),
    ("Faces", ("faceCount",), ""),
    ("Average luminance", ("averageLuminance",), ""),
)
_HEX = re.compile(r"#[0-9a-fA-F]{6}")
_DOMINANT = ("vibrant", "vibrantDark", "vibrantLight", "muted", "mutedDark", "mutedLight")


def is_xmp(path: Path | None) -> bool:
    """Whether a rendition file is an XMP (RDF/XML) document."""
    return path is not None and path.exists() and is_rdf(path)


def xmp_summary(path: Path) -> dict[str, object]:
    """The properties in the project's namespace, by local name (lists for `rdf:Seq`)."""
    prefix = f"{{{NAMESPACE}}}"
    return {
        key[len(prefix) :]: list(value) if isinstance(value, tuple) else value
        for key, value in rdf_properties(path).items()
        if key.startswith(prefix)
    }


def metadata_notes(spec: RenditionSpec) -> list[str]:
    """What the local renderer does differently from imgix for a metadata rendition: faces only without OpenCV
    (with it, `fm=json&faces=1` lists the faces it finds; imgix's eye/mouth points feed no XMP property)."""
    if faces.available() or str(spec.parameters.get("faces", "")).strip().lower() not in ("1", "true"):
        return []
    return ["faces=1: OpenCV is not installed, so the local renderer finds no face and faceCount is 0"]


def _swatch(hex_colour: object, label: str) -> str:
    if not isinstance(hex_colour, str) or not _HEX.fullmatch(hex_colour):
        return ""  # only a real colour goes into a style attribute
    colour = hex_colour
    return (
        f'<span class="swatch"><span class="chip" style="background:{colour}"></span>'
        f"{html.escape(label)} <code>{colour}</code></span>"
    )


def metadata_panel(summary: dict[str, object]) -> str:
    """An HTML panel standing for the rendition's image in the contact sheet."""
    rows = []
    for label, names, joiner in _KEYS:
        parts = [str(summary[n]) for n in names if n in summary]
        if parts:
            rows.append(f"<tr><th>{html.escape(label)}</th><td>{html.escape(joiner.join(parts))}</td></tr>")
    colours = summary.get("colors") if isinstance(summary.get("colors"), list) else []
    names = summary.get("colorNames") if isinstance(summary.get("colorNames"), list) else []
    labels = [str(n) for n in names] + [""] * (len(colours) - len(names))  # type: ignore[arg-type]
    palette = "".join(_swatch(c, label) for c, label in zip(colours, labels, strict=False))  # type: ignore[arg-type]
    dominant = "".join(
        _swatch(summary[f"{role}Color"], f"{role}: {summary.get(f'{role}ColorName', '')}")
        for role in _DOMINANT
        if f"{role}Color" in summary
    )
    return (
        '<div class="xmp"><b>XMP metadata</b><table>' + "".join(rows) + "</table>"
        f"<div><b>Palette</b><br>{palette}</div><div><b>Dominant colours</b><br>{dominant}</div></div>"
    )


def one_line(summary: dict[str, object]) -> str:
    """The key values on one line, for the demo's table."""
    size = f"{summary.get('pixelWidth', '?')}x{summary.get('pixelHeight', '?')}"
    names = summary.get("colorNames")
    colours = ", ".join(str(n) for n in names) if isinstance(names, list) else "none"
    vibrant = summary.get("vibrantColorName", "-")
    return f"xmp: source {size} {summary.get('colorModel', '?')}, colours {colours}; vibrant {vibrant}"
