"""The Asset Compute rendition fields beyond size, format and quality: each is honoured with imgix or refused
with a `RenditionInstructionsError` naming it, never dropped (`reference/asset-compute-contract.md` section 1.5;
Adobe's SDK applies them in its image post-processing, `lib/postprocessing/image.js`).

Honoured: `dpi` (a number, or `{xdpi, ydpi}` with both equal: imgix writes one DPI), `interlace` (progressive JPEG;
imgix writes no interlaced PNG or GIF), `maxWidth`/`maxHeight` (a cap on the rendition, never an upscale),
`watermark` naming an image on the imgix source (imgix `mark`), `embedBinaryLimit` (a rendition up to the limit,
at most 32 KiB, travels in the event as a data URI instead of being uploaded).
Refused: `jpegSize`, `convertToDpi`, `compressionLevel`, `pdfbgcolor` (imgix has no equivalent), and a
`watermark` that is a URL.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping, MutableMapping

from .errors import RenditionInstructionsError

__all__ = [
    "EMBED_LIMIT_MAX",
    "REFUSED_FIELDS",
    "check_dimension_cap",
    "data_uri",
    "dimension_cap",
    "embed_limit",
    "finish_params",
    "non_image_type",
    "refuse_unhonourable",
    "sent_as",
    "standard_params",
]

EMBED_LIMIT_MAX = 32 * 1024  # Adobe's SDK embeds at most 32 KiB (asset-compute-pipeline `EMBED_LIMIT_MAX`)
_MAX_OUTPUT = 8192  # imgix's largest output side (reference/imgix.md 1.13)
_MAX_DPI = 10000

REFUSED_FIELDS: dict[str, str] = {
    "jpegSize": "imgix cannot aim at a file size; set quality instead",
    "convertToDpi": "imgix does not resample to a resolution; set width/height and dpi instead",
    "compressionLevel": "imgix chooses the PNG compression level itself",
    "pdfbgcolor": "PDF sources are not rendered by this worker",
}
_FIXED_BOX_FITS = frozenset({"crop", "fill", "fillmax", "clamp", "scale", "facearea", "min"})
_PNG_OR_GIF = frozenset({"png", "png8", "png32", "gif"})


def _given(rendition: Mapping[str, object], field: str) -> bool:
    value = rendition.get(field)
    return value is not None and value != ""


def _whole(field: str, value: object, low: int, high: int | None = None) -> int:
    """A whole number from a JSON number or a numeric string (AEM sends strings)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RenditionInstructionsError(f"{field} must be a whole number")
    try:
        number = float(value)
    except ValueError:
        raise RenditionInstructionsError(f"{field} must be a whole number, got {str(value)[:40]!r}") from None
    if not math.isfinite(number) or number != int(number) or number < low or (high is not None and number > high):
        upper = f" to {high}" if high is not None else " or more"
        raise RenditionInstructionsError(f"{field} must be a whole number from {low}{upper}")
    return int(number)


def _flag(field: str, value: object) -> bool:
    if value in (True, "true", "True", "1", 1):
        return True
    if value in (False, "false", "False", "0", 0):
        return False
    raise RenditionInstructionsError(f"{field} must be true or false")


def _dpi(value: object) -> str:
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            value = json.loads(value)
        except ValueError:
            raise RenditionInstructionsError("dpi must be a number or an object {xdpi, ydpi}") from None
    if isinstance(value, dict):
        if set(value) != {"xdpi", "ydpi"}:
            raise RenditionInstructionsError("dpi must be a number or an object {xdpi, ydpi}")
        x = _whole("dpi.xdpi", value["xdpi"], 1, _MAX_DPI)
        y = _whole("dpi.ydpi", value["ydpi"], 1, _MAX_DPI)
        if x != y:
            raise RenditionInstructionsError(
                f"dpi with xdpi {x} and ydpi {y} cannot be honoured: imgix writes one DPI for both axes"
            )
        return str(x)
    return str(_whole("dpi", value, 1, _MAX_DPI))


def _imgix_path(field: str, value: object) -> str:
    """A path on the imgix source (`/folder/mark.png`): no scheme, no host, no `..`, no query."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//") or len(value) > 1024:
        raise RenditionInstructionsError(
            f"{field} must be the path of an image on the imgix source, such as /watermarks/logo.png"
        )
    if ":" in value or ".." in value.split("/") or any(c in value for c in "?#\\") or not value.isprintable():
        raise RenditionInstructionsError(f"{field} must be a plain path on the imgix source (no URL, no ..)")
    return value


def _watermark(value: object) -> dict[str, str]:
    """Adobe's watermark (`{image, scale}`, centred, fitted to the rendition and scaled) as imgix `mark`."""
    scale: object = 1
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            value = json.loads(value)
        except ValueError:
            raise RenditionInstructionsError("watermark must be an object {image, scale}") from None
    if isinstance(value, dict):
        image, scale = value.get("image"), value.get("scale", 1)
        if set(value) - {"image", "scale"}:
            raise RenditionInstructionsError("watermark must be an object {image, scale}")
    else:
        image = value
    path = _imgix_path("watermark.image" if isinstance(value, dict) else "watermark", image)
    try:
        factor = float(scale)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise RenditionInstructionsError("watermark.scale must be a number in (0, 1]") from None
    if isinstance(scale, bool) or not 0 < factor <= 1:
        raise RenditionInstructionsError("watermark.scale must be a number in (0, 1]")
    # imgix's mark-scale is a percentage of the rendition's width: the SDK's fit-to-rendition times `scale`.
    return {"mark": path, "mark-align": "center,middle", "mark-pad": "0", "mark-scale": str(round(factor * 100))}


def refuse_unhonourable(rendition: Mapping[str, object]) -> None:
    """Refuse the fields imgix cannot honour (`REFUSED_FIELDS`), for image and metadata renditions alike.

    :raises RenditionInstructionsError: naming the first such field given.
    """
    for field, why in REFUSED_FIELDS.items():
        if _given(rendition, field):
            raise RenditionInstructionsError(f"{field} cannot be honoured: {why}")


def standard_params(rendition: Mapping[str, object]) -> dict[str, str]:
    """imgix parameters for `dpi` and `watermark`; refuses the fields imgix cannot honour.

    :raises RenditionInstructionsError: naming the field.
    """
    refuse_unhonourable(rendition)
    params: dict[str, str] = {}
    if _given(rendition, "dpi"):
        params["dpi"] = _dpi(rendition["dpi"])
    if _given(rendition, "watermark"):
        params.update(_watermark(rendition["watermark"]))
    return params


def sent_as(rendition: Mapping[str, object], params: Mapping[str, str]) -> dict[str, str]:
    """The contract field behind an imgix parameter made here, for errors to name what the caller sent: `mark` ->
    `watermark` (or `watermark.image`), unless the caller's own `mark` replaced the watermark's."""
    if not _given(rendition, "watermark") or "mark" not in params:
        return {}
    value = rendition["watermark"]
    if params["mark"] != _watermark(value)["mark"]:
        return {}
    as_object = isinstance(value, dict) or (isinstance(value, str) and value.strip().startswith("{"))
    return {"mark": "watermark.image" if as_object else "watermark"}


def dimension_cap(rendition: Mapping[str, object]) -> tuple[int | None, int | None]:
    """(`maxWidth`, `maxHeight`), each None when not set; beyond imgix's 8192 the cap is imgix's own."""
    caps = []
    for field in ("maxWidth", "maxHeight"):
        caps.append(min(_whole(field, rendition[field], 2), _MAX_OUTPUT) if _given(rendition, field) else None)
    return caps[0], caps[1]


def _pixels(params: Mapping[str, str], key: str, cap_field: str) -> int | None:
    value = params.get(key)
    if value is None:
        return None
    number = float(value)
    if number <= 1:
        raise RenditionInstructionsError(f"{cap_field} cannot be combined with a fractional {key}")
    return int(number)


def _apply_cap(params: MutableMapping[str, str], cap_w: int | None, cap_h: int | None) -> None:
    """Make imgix's output fit `cap_w` x `cap_h` without upscaling, keeping what the other parameters ask."""
    field = "maxWidth" if cap_w is not None else "maxHeight"
    dpr = params.get("dpr")
    if dpr is not None and float(dpr) != 1:
        raise RenditionInstructionsError(f"{field} cannot be combined with dpr")
    w, h = _pixels(params, "w", field), _pixels(params, "h", field)
    fit = params.get("fit", "clip")  # imgix's default fit
    if w is None and h is None:
        if fit == "crop" and "ar" in params:
            # A crop to an aspect ratio at the source's size: imgix's max-w/max-h bound exactly this case.
            if cap_w is not None:
                params["max-w"] = str(cap_w)
            if cap_h is not None:
                params["max-h"] = str(cap_h)
            return
        # Without a box every fit renders the source's size: fit=max caps it without upscaling.
        params["fit"] = "max"
        if cap_w is not None:
            params["w"] = str(cap_w)
        if cap_h is not None:
            params["h"] = str(cap_h)
        return
    if fit not in _FIXED_BOX_FITS:
        # clip / max keep the aspect ratio inside the box: the box's sides are simply capped.
        if cap_w is not None:
            params["w"] = str(min(w, cap_w) if w is not None else cap_w)
        if cap_h is not None:
            params["h"] = str(min(h, cap_h) if h is not None else cap_h)
        return
    if (w is None or h is None) and fit == "crop" and "ar" in params:
        across, _, down = params["ar"].partition(":")  # checked as a ratio before
        ratio = float(across) / float(down)
        if ratio <= 0:
            raise RenditionInstructionsError(f"{field} needs an aspect ratio above zero")
        w, h = (w, round(w / ratio)) if w is not None else (round(h * ratio), h)  # type: ignore[operator]
        params["w"], params["h"] = str(w), str(h)
    if w is None or h is None:
        raise RenditionInstructionsError(f"{field} with fit={fit} needs both w and h")
    # A fixed box (crop, fill, ...) is shrunk as a whole so that its shape is kept.
    factor = min(1.0, (cap_w or w) / w, (cap_h or h) / h)
    if factor < 1:
        params["w"] = str(max(2, math.floor(w * factor)))
        params["h"] = str(max(2, math.floor(h * factor)))


def _apply_interlace(rendition: Mapping[str, object], params: MutableMapping[str, str]) -> None:
    if not _given(rendition, "interlace"):
        return
    wanted = _flag("interlace", rendition["interlace"])
    fm = params.get("fm")
    progressive = params.get("jpg-progressive")
    if wanted:
        if fm in _PNG_OR_GIF:
            raise RenditionInstructionsError(
                f"interlace cannot be honoured for {fm}: imgix writes no interlaced PNG or GIF (only progressive JPEG)"
            )
        if fm not in ("jpg", "pjpg"):
            raise RenditionInstructionsError("interlace needs fmt jpg (imgix writes progressive JPEG only)")
        if progressive in ("false", "0"):
            raise RenditionInstructionsError("interlace=true contradicts jpg-progressive=false")
        params["fm"] = "pjpg"
        return
    if fm == "pjpg":
        raise RenditionInstructionsError("interlace=false contradicts the progressive format pjpg")
    if fm in (None, "jpg"):
        params.setdefault("jpg-progressive", "false")  # imgix's JPEGs are progressive unless told otherwise


def finish_params(rendition: Mapping[str, object], params: MutableMapping[str, str]) -> None:
    """Apply `interlace` and `maxWidth`/`maxHeight` to the merged imgix parameters (they depend on the final
    format and box, whichever source of parameters set them).

    :raises RenditionInstructionsError: naming the field that cannot be honoured with these parameters.
    """
    _apply_interlace(rendition, params)
    cap_w, cap_h = dimension_cap(rendition)
    if cap_w is not None or cap_h is not None:
        _apply_cap(params, cap_w, cap_h)


def check_dimension_cap(rendition: Mapping[str, object], *, width: int | None, height: int | None) -> None:
    """The rendition imgix made respects `maxWidth`/`maxHeight` (padding, borders or rotation can enlarge it).

    :raises RenditionInstructionsError: it does not.
    """
    cap_w, cap_h = dimension_cap(rendition)
    if (cap_w is not None and width is not None and width > cap_w) or (
        cap_h is not None and height is not None and height > cap_h
    ):
        raise RenditionInstructionsError(
            f"the rendition is {width}x{height}, over maxWidth/maxHeight: other parameters enlarge it"
        )


def embed_limit(rendition: Mapping[str, object]) -> int | None:
    """`embedBinaryLimit` in bytes, None when not set.

    :raises RenditionInstructionsError: not a whole number from 1 to 32768.
    """
    if not _given(rendition, "embedBinaryLimit"):
        return None
    return _whole("embedBinaryLimit", rendition["embedBinaryLimit"], 1, EMBED_LIMIT_MAX)


def data_uri(mimetype: str, data: bytes) -> str:
    """The event's `data` field, as Adobe's SDK writes it: `data:<type>;base64,<bytes>`."""
    return f"data:{mimetype.replace(' ', '')};base64,{base64.b64encode(data).decode('ascii')}"


def non_image_type(params: Mapping[str, str]) -> str | None:
    """The MIME type of a rendition that is not an image (metadata, palettes, hashes, video), from its parameters;
    None for images (their type is sniffed from the bytes)."""
    palette = params.get("palette")
    if palette == "css":
        return "text/css"
    if palette == "json":
        return "application/json"
    return {"json": "application/json", "blurhash": "text/plain", "mp4": "video/mp4", "webm": "video/webm"}.get(
        params.get("fm", "")
    )
