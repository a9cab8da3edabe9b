"""Recipes: named rendition templates kept in the repository, chosen by `/api/worker/{recipe}` or a `recipe` field.

A recipe turns its own service parameters into imgix parameters. `circle` reproduces the seed tutorial's WKND
profile: `size`, `contrast`, `brightness` (strings from AEM) become a square PNG crop masked to a circle.
`metadata` makes the rendition an XMP metadata rendition (`metadata_rendition.py`), as `fmt` `xml` does; its
parameters are the `fm=json` request's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from .errors import RenditionInstructionsError
from .metadata_rendition import metadata_request

__all__ = ["RECIPES", "apply_recipe"]


def _float(rendition: Mapping[str, object], name: str, default: float) -> float:
    raw = rendition.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return default
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise RenditionInstructionsError(f"{name} must be a number") from None
    if not math.isfinite(value):
        raise RenditionInstructionsError(f"{name} must be a finite number")
    return value


def circle(rendition: Mapping[str, object]) -> dict[str, str]:
    """The WKND circle: `10 < size < 10000` (capped at imgix's 8192), `-1 < contrast, brightness < 1`."""
    size = _float(rendition, "size", 800)
    contrast = _float(rendition, "contrast", 0)
    brightness = _float(rendition, "brightness", 0)
    if size != int(size) or not 10 < size < 10000:
        raise RenditionInstructionsError("size must be a whole number greater than 10 and less than 10000")
    if size > 8192:
        raise RenditionInstructionsError("size must be at most 8192, imgix's largest output")
    if not -1 < contrast < 1:
        raise RenditionInstructionsError("contrast must be greater than -1 and less than 1")
    if not -1 < brightness < 1:
        raise RenditionInstructionsError("brightness must be greater than -1 and less than 1")
    side = str(int(size))
    return {
        "w": side,
        "h": side,
        "fit": "crop",
        "mask": "ellipse",
        "fm": "png",
        "con": str(round(contrast * 100)),
        "bri": str(round(brightness * 100)),
    }


def metadata(rendition: Mapping[str, object]) -> dict[str, str]:
    """The source-metadata request of a metadata rendition (its palette request is made alongside)."""
    return metadata_request(rendition, recipe="metadata").info_params


RECIPES: dict[str, Callable[[Mapping[str, object]], dict[str, str]]] = {"circle": circle, "metadata": metadata}


def apply_recipe(name: str, rendition: Mapping[str, object]) -> dict[str, str]:
    """The imgix parameters of recipe `name` for this rendition.

    :raises RenditionInstructionsError: unknown recipe or bad recipe parameters.
    """
    recipe = RECIPES.get(name)
    if recipe is None:
        raise RenditionInstructionsError(f"unknown recipe {name[:40]!r}; known: {', '.join(sorted(RECIPES))}")
    return recipe(rendition)
