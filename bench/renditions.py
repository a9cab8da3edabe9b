"""The renditions of a benchmark job, as each side receives them.

Ours get AEM-style instructions (standard fields, the `circle` recipe, an `imgix` service parameter). The
tutorial's worker reads only the `imgix` service parameter (a JSON string of imgix parameters), so the baseline
gets, per rendition, exactly the parameters our worker derives: both sides make the renderer do the same work.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from imgix_worker.instructions import imgix_params

__all__ = ["COMPARE", "THROUGHPUT", "for_baseline"]

# A 1024 px wide JPEG, the WKND circle as a 400 px PNG, a 300x300 crop (the tutorial's "1-face-cropped").
_CROP = {"fit": "crop", "crop": "faces,entropy", "w": 300, "h": 300}
COMPARE: list[dict[str, object]] = [
    {"name": "large-1024.jpg", "fmt": "jpg", "width": 1024},
    {"name": "circle-400.png", "recipe": "circle", "size": "400"},
    {"name": "crop-300.jpg", "fmt": "jpg", "imgix": json.dumps(_CROP)},
]

THROUGHPUT: list[dict[str, object]] = [COMPARE[0], COMPARE[2]]


def params(rendition: Mapping[str, object]) -> dict[str, str]:
    """The imgix parameters our worker sends for `rendition`."""
    return imgix_params(rendition)


def for_baseline(renditions: list[dict[str, object]]) -> list[dict[str, object]]:
    """The same renditions in the tutorial's form: a name and the `imgix` JSON string."""
    return [{"name": r["name"], "imgix": json.dumps(params(r))} for r in renditions]
