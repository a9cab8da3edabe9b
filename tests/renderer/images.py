"""Test images drawn with Pillow, and helpers to render and decode in one step."""

from __future__ import annotations

import io
from collections.abc import Mapping

from PIL import Image, ImageDraw

from local_platform.renderer import Rendered, render

RED, GREEN, BLUE, YELLOW = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)


def encode(image: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def quadrants(width: int = 400, height: int = 300) -> Image.Image:
    """Red top-left, green top-right, blue bottom-left, yellow bottom-right."""
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    mx, my = width // 2, height // 2
    draw.rectangle((0, 0, mx - 1, my - 1), fill=RED)
    draw.rectangle((mx, 0, width - 1, my - 1), fill=GREEN)
    draw.rectangle((0, my, mx - 1, height - 1), fill=BLUE)
    draw.rectangle((mx, my, width - 1, height - 1), fill=YELLOW)
    return image


def gradient(width: int = 256, height: int = 64) -> Image.Image:
    """Grey from black (left) to white (right)."""
    return Image.linear_gradient("L").rotate(90, expand=True).resize((width, height)).convert("RGB")


def solid(color: tuple[int, ...], size: tuple[int, int] = (64, 64), mode: str = "RGB") -> Image.Image:
    return Image.new(mode, size, color)


def with_alpha(width: int = 200, height: int = 100) -> Image.Image:
    """Opaque red left half, fully transparent right half, a half-transparent stripe at the bottom."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width // 2 - 1, height - 1), fill=(255, 0, 0, 255))
    draw.rectangle((0, height - 10, width - 1, height - 1), fill=(0, 0, 255, 128))
    return image


def decoded(rendered: Rendered) -> Image.Image:
    image = Image.open(io.BytesIO(rendered.body))
    image.load()
    assert image.size == (rendered.width, rendered.height)
    return image


def run(image: Image.Image | bytes, params: Mapping[str, str] | None = None, **kwargs: str) -> Image.Image:
    """Render a PNG of `image` (or raw bytes) and decode the result."""
    data = image if isinstance(image, bytes) else encode(image)
    return decoded(render(data, params or {}, **kwargs))


def near(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 8) -> bool:
    """Whether the first channels of `actual` are within `tolerance` of `expected` (alpha, if any, not compared)."""
    channels = actual[: len(expected)]
    return len(channels) == len(expected) and all(
        abs(a - e) <= tolerance for a, e in zip(channels, expected, strict=True)
    )
