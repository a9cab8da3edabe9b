"""How a case's actual rendition is judged against the expected one: by similarity, or by the case's `validate`.

imgix output cannot be reproduced byte for byte, so, like the Asset Compute SDK's `validate-image.sh` (same MIME
type, same dimensions, fuzzy compare), two images match when they have the same sniffed format, the same size and
a mean absolute difference under 3% in every channel. Transparent pixels are compared after compositing over grey
(their hidden colour does not matter) plus the alpha channel itself. RDF/XML (XMP) renditions match when they say
the same (`cases_rdf.py`); other files that are not images must be equal.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from PIL import Image, ImageChops, ImageStat, UnidentifiedImageError

from imgix_worker.redaction import redact
from local_platform.cases_rdf import compare_rdf, is_rdf

__all__ = ["MAX_MEAN_DIFFERENCE", "compare_files", "mean_difference", "run_validate", "sniff_format"]

MAX_MEAN_DIFFERENCE = 0.03
VALIDATE_TIMEOUT_SECONDS = 300


def sniff_format(path: Path) -> str | None:
    """The image format Pillow reads from the bytes (`PNG`, `JPEG`, ...), or None if it is not an image."""
    try:
        with Image.open(path) as image:
            return image.format
    except (UnidentifiedImageError, OSError):
        return None


def _flattened(image: Image.Image) -> tuple[Image.Image, Image.Image]:
    rgba = image.convert("RGBA")
    grey = Image.new("RGBA", rgba.size, (128, 128, 128, 255))
    return Image.alpha_composite(grey, rgba).convert("RGB"), rgba.getchannel("A")


def mean_difference(expected: Image.Image, actual: Image.Image) -> float:
    """The largest per-channel mean absolute difference (R, G, B over grey, and alpha), from 0.0 to 1.0."""
    rgb_e, alpha_e = _flattened(expected)
    rgb_a, alpha_a = _flattened(actual)
    means = ImageStat.Stat(ImageChops.difference(rgb_e, rgb_a)).mean
    means += ImageStat.Stat(ImageChops.difference(alpha_e, alpha_a)).mean
    return max(means) / 255.0


def compare_files(expected: Path, actual: Path, *, max_mean_difference: float = MAX_MEAN_DIFFERENCE) -> str | None:
    """None if `actual` matches `expected`, else why not."""
    expected_format, actual_format = sniff_format(expected), sniff_format(actual)
    if expected_format is None or actual_format is None:
        if expected_format != actual_format:
            return f"format {actual_format or 'not an image'}, expected {expected_format or 'not an image'}"
        if is_rdf(expected):  # XMP metadata renditions: by what they say (cases_rdf.py)
            return compare_rdf(expected, actual)
        return None if expected.read_bytes() == actual.read_bytes() else "contents differ"
    if expected_format != actual_format:
        return f"format {actual_format}, expected {expected_format}"
    with Image.open(expected) as want, Image.open(actual) as got:
        if want.size != got.size:
            return f"size {got.size[0]}x{got.size[1]}, expected {want.size[0]}x{want.size[1]}"
        difference = mean_difference(want, got)
    if difference >= max_mean_difference:
        return f"mean pixel difference {difference:.1%} per channel (limit {max_mean_difference:.0%})"
    return None


def run_validate(validate: Path, expected: Path, actual: Path) -> str | None:
    """Run the case's `validate expected actual` with bash, in the case folder; None if it exits 0.

    Both paths are absolute, as Adobe's runner passes them, so the script finds them from its own folder.
    """
    try:
        done = subprocess.run(
            ["bash", str(validate.absolute()), str(expected.absolute()), str(actual.absolute())],
            cwd=validate.absolute().parent,
            capture_output=True,
            text=True,
            timeout=VALIDATE_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"validate did not finish within {VALIDATE_TIMEOUT_SECONDS}s"
    if done.returncode == 0:
        return None
    output = (done.stdout + done.stderr).strip()[-500:]
    return redact(f"validate exited {done.returncode}" + (f": {output}" if output else ""))
