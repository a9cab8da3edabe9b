"""The benchmark's source images, made once with Pillow into bench/work/inputs and reused by later runs.

Sizes are what matter (1 MB, 20 MB, 200 MB, 5 MB for throughput), so the pictures are a colour gradient with
noise: the noise sets the bytes per pixel, the gradient gives the renderer's crop and resize something to do.
JPEGs are sized by searching their width; the 200 MB source is a PNG stored without compression (3 bytes a
pixel), about 67 megapixels, inside the local renderer's 100-megapixel decompression-bomb limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from bench import WORK_DIR

__all__ = ["INPUTS", "MB", "SourceInput", "ensure"]

MB = 1_000_000
INPUT_DIR = WORK_DIR / "inputs"
ASPECT = 4 / 3  # width / height, like most camera images
JPEG_QUALITY = 92
SIZE_TOLERANCE = 0.15


@dataclass(frozen=True)
class SourceInput:
    """One source of the benchmark: its label, target size and file name."""

    label: str
    target_bytes: int
    file_name: str

    @property
    def path(self) -> Path:
        return INPUT_DIR / self.file_name


INPUTS: dict[str, SourceInput] = {
    "1MB": SourceInput("1MB", 1 * MB, "source-1mb.jpg"),
    "5MB": SourceInput("5MB", 5 * MB, "source-5mb.jpg"),
    "20MB": SourceInput("20MB", 20 * MB, "source-20mb.jpg"),
    "200MB": SourceInput("200MB", 200 * MB, "source-200mb.png"),
}


def _picture(width: int, height: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None, None]
    gradient = np.concatenate([x + 0 * y, y + 0 * x, (x + y) / 2], axis=2)
    noise = rng.normal(0, 24, size=(height, width, 3)).astype(np.float32)
    return Image.fromarray(np.clip(gradient + noise, 0, 255).astype(np.uint8), "RGB")


def _jpeg(path: Path, target: int) -> None:
    # Encode a small sample to learn the bytes per pixel, then search the width that lands near the target.
    width = 1024
    for attempt in range(8):
        height = round(width / ASPECT)
        _picture(width, height, seed=attempt).save(path, "JPEG", quality=JPEG_QUALITY)
        size = path.stat().st_size
        if abs(size - target) <= SIZE_TOLERANCE * target:
            return
        width = max(64, round(width * math.sqrt(target / size)))
    raise RuntimeError(f"could not make a JPEG of about {target} bytes")


def _raw_png(path: Path, target: int) -> None:
    # An uncompressed RGB PNG holds 3 bytes a pixel plus one filter byte a row.
    width = 8192
    height = math.ceil(target / (3 * width + 1))
    image = _picture(width, height, seed=1)
    image.save(path, "PNG", compress_level=0)


def ensure(source: SourceInput) -> Path:
    """The input's file, made now unless an earlier run left it."""
    path = source.path
    if path.exists() and abs(path.stat().st_size - source.target_bytes) <= SIZE_TOLERANCE * source.target_bytes:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    (_raw_png if path.suffix == ".png" else _jpeg)(partial, source.target_bytes)
    partial.replace(path)
    return path
