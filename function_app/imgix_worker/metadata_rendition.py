"""Metadata renditions: AEM's "Create Metadata Rendition", made from imgix's `fm=json` and `palette=json` answers.

A rendition with `fmt` `xml` (the contract of Adobe's WKND metadata worker; `xmp` is accepted as an alias) or the
`metadata` recipe gets no image: the worker asks imgix for the source's metadata (`fm=json`, with `faces=1` when the
`faces` service parameter is on) and its colour palette (`palette=json&colors=N`, `colors` 1..16, default 6 as at
imgix), and uploads one RDF/XML document that AEM merges into the asset's `jcr:content/metadata`.

Every property is in this project's namespace (`NAMESPACE`, prefix `imgix`), never in one AEM's own extraction
fills (`dc:format`, `tiff:ImageWidth`, `exif:*`, `photoshop:ICCProfile`...), so nothing AEM owns is overwritten:
pixel size, DPI, colour model, bit depth, ICC profile name, orientation, alpha, face count (when asked), the palette
as hex colours with their nearest CSS colour names, the average luminance, and imgix's six named dominant colours
(`vibrantColor`, `vibrantColorName`, `mutedLightColor`, ...). Values imgix does not give, or gives malformed, are
left out rather than guessed.

The document is delivered as the Asset Compute SDK would deliver it (it types renditions with `file --mime`):
`dc:format` `text/xml` and `repo:encoding` `us-ascii`, or `utf-8` when a value is not ASCII.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .colour_names import colour_name
from .contract_fields import refuse_unhonourable
from .errors import GenericError, RenditionInstructionsError, RenditionTooLarge
from .imgix_params import ALIASES, PARAMETERS
from .imgix_urls import ImgixUrls
from .pooled_http import HttpClient
from .redaction import Secret
from .rendering import Rendition, fetch_rendition_retried
from .transport import Deadline
from .xmp import XmpValue, serialize_xmp

__all__ = [
    "MAX_JSON_BYTES",
    "METADATA_FORMATS",
    "NAMESPACE",
    "PREFIX",
    "MetadataRendition",
    "MetadataRequest",
    "is_metadata_rendition",
    "metadata_document",
    "metadata_request",
    "render_metadata",
    "xmp_properties",
]

NAMESPACE = "https://aem-imgix-renditions.github.io/ns/imgix/1.0/"
PREFIX = "imgix"
METADATA_FORMATS = frozenset({"xml", "xmp"})
MAX_JSON_BYTES = 1024 * 1024  # imgix's JSON answers are a few KiB; anything larger is not one
DEFAULT_COLORS = 6

# Image instructions of the contract that mean nothing for metadata: refused, never silently dropped (the fields
# imgix cannot honour at all, `contract_fields.REFUSED_FIELDS`, are refused before these).
_IMAGE_FIELDS = (
    "width", "height", "maxWidth", "maxHeight", "quality", "crop", "interlace", "dpi", "watermark", "imgix",
)  # fmt: skip
METADATA_RECIPE = "metadata"
_SERVICE_PARAMETERS = frozenset({"faces", "colors"})
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_HEX = re.compile(r"#[0-9a-fA-F]{6}")
_MAX_TEXT = 256
# imgix's dominant-colour names (palette=json `dominant_colors`) -> property stems.
_DOMINANT = {
    "vibrant": "vibrant",
    "vibrant_dark": "vibrantDark",
    "vibrant_light": "vibrantLight",
    "muted": "muted",
    "muted_dark": "mutedDark",
    "muted_light": "mutedLight",
}


def is_metadata_rendition(rendition: Mapping[str, object], *, recipe: str | None = None) -> bool:
    """Whether this rendition asks for XMP metadata (`fmt` xml/xmp, or the `metadata` recipe) rather than an image."""
    fmt = rendition.get("fmt")
    return rendition.get("recipe", recipe) == METADATA_RECIPE or (
        isinstance(fmt, str) and fmt.strip().lower() in METADATA_FORMATS
    )


@dataclass(frozen=True)
class MetadataRequest:
    """What a metadata rendition asks imgix for."""

    faces: bool = False
    colors: int = DEFAULT_COLORS

    @property
    def info_params(self) -> dict[str, str]:
        """The `fm=json` request: the source's metadata (and faces)."""
        return {"fm": "json", **({"faces": "1"} if self.faces else {})}

    @property
    def palette_params(self) -> dict[str, str]:
        """The `palette=json` request: the colour palette."""
        return {"palette": "json", "colors": str(self.colors)}


def _flag(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, str | int) else None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise RenditionInstructionsError(f"{name} must be 1/true or 0/false")


def _colors(value: object) -> int:
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 16:
        raise RenditionInstructionsError("colors must be a whole number from 1 to 16")
    return int(text)


def metadata_request(rendition: Mapping[str, object], *, recipe: str | None = None) -> MetadataRequest:
    """The imgix requests for a metadata rendition, from its service parameters `faces` and `colors`.

    :param recipe: the recipe named by the endpoint path (the rendition's own `recipe` field comes first).
    :raises RenditionInstructionsError: an image instruction (`width`, `quality`, `imgix`, `compressionLevel`, an
        imgix parameter other than `faces`/`colors`...), a `fmt` other than xml/xmp, a recipe other than
        `metadata`, each of which a metadata rendition cannot honour, or a bad `faces`/`colors` value.
    """
    refuse_unhonourable(rendition)
    fmt = rendition.get("fmt")
    if fmt is not None and not (isinstance(fmt, str) and fmt.strip().lower() in METADATA_FORMATS):
        raise RenditionInstructionsError(
            f"fmt {str(fmt)[:40]!r} does not apply to a metadata rendition: it is RDF/XML (fmt xml)"
        )
    chosen = rendition.get("recipe", recipe)
    if chosen is not None and chosen != METADATA_RECIPE:
        where = "" if "recipe" in rendition else " (from the endpoint path)"
        raise RenditionInstructionsError(
            f"recipe {str(chosen)[:40]!r}{where} does not apply to a metadata rendition (fmt xml)"
        )
    for field in _IMAGE_FIELDS:
        if rendition.get(field) is not None:
            raise RenditionInstructionsError(f"{field} does not apply to a metadata rendition (fmt xml)")
    for key in rendition:
        base = key[:-2] if key.endswith("64") else key  # `txt64` and the like: imgix's base64 variants
        canonical = ALIASES.get(base, base)
        if canonical in PARAMETERS and canonical not in _SERVICE_PARAMETERS:
            raise RenditionInstructionsError(
                f"{key[:40]} does not apply to a metadata rendition; it takes faces and colors"
            )
    faces = rendition.get("faces")
    colors = rendition.get("colors")
    return MetadataRequest(
        faces=False if faces is None else _flag("faces", faces),
        colors=DEFAULT_COLORS if colors is None or colors == "" else _colors(colors),
    )


def _int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return int(value) if float(value).is_integer() and 0 <= value < 10**9 else None


def _number(value: object) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 10**9:
        return None  # also NaN, which fails every comparison
    return int(value) if float(value).is_integer() else round(float(value), 6)


def _string(value: object) -> str | None:
    return value.strip()[:_MAX_TEXT] if isinstance(value, str) and value.strip() else None


def _hex(colour: object) -> str | None:
    value = colour.get("hex") if isinstance(colour, dict) else None
    return value.lower() if isinstance(value, str) and _HEX.fullmatch(value) else None


def xmp_properties(info: Mapping[str, Any], palette: Mapping[str, Any], *, faces: bool) -> dict[str, XmpValue]:
    """The XMP properties (`imgix:name` -> value) from imgix's `fm=json` and `palette=json` answers.

    :param faces: faces were asked for: `imgix:faceCount` is written, 0 when imgix lists no `Faces`.
    """
    properties: dict[str, XmpValue] = {}

    def put(name: str, value: XmpValue | None) -> None:
        if value is not None:
            properties[f"{PREFIX}:{name}"] = value

    put("pixelWidth", _int(info.get("PixelWidth")))
    put("pixelHeight", _int(info.get("PixelHeight")))
    put("dpiWidth", _number(info.get("DPIWidth")))
    put("dpiHeight", _number(info.get("DPIHeight")))
    put("colorModel", _string(info.get("ColorModel")))
    put("bitDepth", _int(info.get("Depth")))
    put("iccProfileName", _string(info.get("ProfileName")))
    put("orientation", _int(info.get("Orientation")))
    if isinstance(info.get("HasAlpha"), bool):
        put("hasAlpha", info["HasAlpha"])
    if faces:
        found = info.get("Faces")
        put("faceCount", len(found) if isinstance(found, list) else 0)
    colours = palette.get("colors")
    hexes = [h for h in (_hex(c) for c in colours) if h] if isinstance(colours, list) else []
    if hexes:
        put("colors", hexes)
        put("colorNames", [colour_name(h) for h in hexes])
    put("averageLuminance", _number(palette.get("average_luminance")))
    dominant = palette.get("dominant_colors")
    if isinstance(dominant, dict):
        for key, stem in _DOMINANT.items():
            hex_colour = _hex(dominant.get(key))
            if hex_colour:
                put(f"{stem}Color", hex_colour)
                put(f"{stem}ColorName", colour_name(hex_colour))
    return properties


@dataclass
class MetadataRendition(Rendition):
    """The XMP document in a spool; its event metadata is what the Asset Compute SDK reports for an XML file."""

    encoding: str = "utf-8"

    def metadata(self) -> dict[str, object]:
        return {
            "repo:size": self.size,
            "repo:sha1": self.sha1,
            "dc:format": self.mimetype.split(";")[0],
            "repo:encoding": self.encoding,
        }


def metadata_document(properties: Mapping[str, XmpValue]) -> MetadataRendition:
    """The XMP document for `properties`, spooled and hashed like any rendition."""
    body = serialize_xmp(properties, namespaces={PREFIX: NAMESPACE})
    encoding = "us-ascii" if body.isascii() else "utf-8"
    spool = tempfile.SpooledTemporaryFile()
    spool.write(body)
    spool.seek(0)
    return MetadataRendition(
        file=spool,
        size=len(body),
        sha1=hashlib.sha1(body).hexdigest(),
        mimetype=f"text/xml; charset={encoding}",
        width=None,
        height=None,
        encoding=encoding,
    )


def _fetch_json(
    http: HttpClient,
    url: Secret,
    *,
    what: str,
    deadline: Deadline,
    timeout: float,
    context: dict[str, object] | None,
) -> dict[str, Any]:
    """GET one imgix JSON answer (retried as any rendition) and parse it, reading at most `MAX_JSON_BYTES`."""
    try:
        answer = fetch_rendition_retried(
            http, url, max_bytes=MAX_JSON_BYTES, deadline=deadline, http_timeout=timeout, context=context
        )
    except RenditionTooLarge:
        raise GenericError(f"imgix's {what} answer is larger than {MAX_JSON_BYTES} bytes") from None
    try:
        data = json.loads(answer.file.read())
    except ValueError:  # also UnicodeDecodeError
        data = None
    finally:
        answer.close()
    if not isinstance(data, dict):
        raise GenericError(f"imgix's {what} answer is not a JSON object")
    return data


def render_metadata(
    http: HttpClient,
    urls: ImgixUrls,
    blob_name: str,
    rendition: Mapping[str, object],
    *,
    deadline: Deadline,
    timeout: float,
    context: dict[str, object] | None = None,
    recipe: str | None = None,
) -> MetadataRendition:
    """Ask imgix for the staged source's metadata and palette, and build the XMP rendition.

    :raises RenditionError: bad instructions, or imgix's refusal (as for any rendition, e.g. `SourceCorrupt`).
    :raises GenericError: imgix's answer is not a JSON object, or is larger than `MAX_JSON_BYTES`.
    """
    request = metadata_request(rendition, recipe=recipe)
    answers = [
        _fetch_json(
            http,
            urls.signed_url(blob_name, params),
            what=what,
            deadline=deadline,
            timeout=timeout,
            context=context,
        )
        for what, params in (("fm=json", request.info_params), ("palette=json", request.palette_params))
    ]
    info, palette = answers
    return metadata_document(xmp_properties(info, palette, faces=request.faces))
