"""Malformed and unusual source files, made at test time with Pillow (or by hand where Pillow cannot write them)."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

from ..conftest import image_bytes

__all__ = [
    "animated_gif",
    "bmp",
    "cmyk_jpeg",
    "exif_rotated_jpeg",
    "gray16_png",
    "huge_declared_png",
    "multipage_tiff",
    "pdf",
    "rgb48_png",
    "svg",
    "truncated",
    "webp",
]


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    return data[: int(len(data) * keep)]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def huge_declared_png(width: int = 50_000, height: int = 50_000) -> bytes:
    """A tiny PNG whose header declares `width` x `height` RGB pixels: a decompression bomb's calling card."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (1 + 3 * 16) * 16)  # far fewer rows than declared
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", rows) + _chunk(b"IEND", b"")


def rgb48_png(width: int = 64, height: int = 48) -> bytes:
    """A 16-bit-per-channel RGB PNG (Pillow reads it but cannot write one)."""
    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    row = b"".join(struct.pack(">HHH", x * 1000, 30000, 65535 - x * 1000) for x in range(width))
    raw = b"".join(b"\x00" + row for _ in range(height))
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b"")


def gray16_png() -> bytes:
    image = Image.new("I;16", (64, 48))
    for x in range(64):
        for y in range(48):
            image.putpixel((x, y), x * 1000)
    return _save(image, "PNG")


def cmyk_jpeg() -> bytes:
    return _save(Image.new("CMYK", (80, 60), (0, 200, 200, 0)), "JPEG")


def animated_gif() -> bytes:
    frames = [Image.new("P", (60, 40), colour) for colour in (10, 120, 200)]
    return _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def multipage_tiff() -> bytes:
    pages = [Image.new("RGB", (50, 40), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    return _save(pages[0], "TIFF", save_all=True, append_images=pages[1:])


def exif_rotated_jpeg() -> bytes:
    """Stored 320x240 with a red block at the stored top-left; EXIF orientation 6 (display turned 90° clockwise),
    so upright it is 240x320 with the red block at the top-right."""
    image = Image.new("RGB", (320, 240), (255, 255, 255))
    image.paste((255, 0, 0), (0, 0, 80, 80))
    exif = Image.Exif()
    exif[0x0112] = 6
    return _save(image, "JPEG", exif=exif, quality=95)


def bmp() -> bytes:
    return image_bytes("BMP", (40, 30))


def webp() -> bytes:
    return image_bytes("WEBP", (40, 30))


def svg() -> bytes:
    return b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'


def pdf() -> bytes:
    return _save(Image.new("RGB", (30, 30), (0, 0, 255)), "PDF")
