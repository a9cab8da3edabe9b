"""What a file is, from its first bytes: MIME type and, for images, pixel dimensions.

Used on the staged source (to enforce the allowed types) and on each rendition as it streams through (for
`dc:format`, `tiff:imageWidth` and `tiff:imageHeight`). Needs only the head of the file: no Pillow in the worker.
"""

from __future__ import annotations

import struct

__all__ = ["HEAD_BYTES", "dimensions", "extension_for", "mime_type"]

HEAD_BYTES = 64 * 1024  # enough for a JPEG's SOF after typical EXIF/ICC segments

_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/bmp": ".bmp",
    "image/tiff": ".tif",
    "image/webp": ".webp",
    "image/avif": ".avif",
    "image/heic": ".heic",
    "image/svg+xml": ".svg",
    "application/pdf": ".pdf",
    "image/vnd.adobe.photoshop": ".psd",
}


def mime_type(head: bytes) -> str:
    """The MIME type the bytes start with; `application/octet-stream` when unknown."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head.startswith(b"BM") and len(head) >= 26:
        return "image/bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):  # classic TIFF and BigTIFF
        return "image/tiff"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis"):
            return "image/avif"
        if brand in (b"heic", b"heix", b"mif1", b"msf1"):
            return "image/heic"
    if head.startswith(b"\x00\x00\x00\x0cjP  \r\n\x87\n"):
        return "image/jp2"
    if head[:3] == b"II\xbc":
        return "image/jxr"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"8BPS"):
        return "image/vnd.adobe.photoshop"
    text = head[:512].lstrip().lower()
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in head[:2048].lower()):
        return "image/svg+xml"
    return "application/octet-stream"


def extension_for(mime: str) -> str:
    """A file extension for `mime` (with the dot), empty when unknown."""
    return _EXTENSIONS.get(mime, "")


def dimensions(head: bytes) -> tuple[int, int] | None:
    """(width, height) from an image header, or None when the header does not say (or is cut short)."""
    try:
        kind = mime_type(head)
        if kind == "image/png" and head[12:16] == b"IHDR":
            return struct.unpack(">II", head[16:24])
        if kind == "image/gif":
            return struct.unpack("<HH", head[6:10])
        if kind == "image/bmp":
            width, height = struct.unpack("<ii", head[18:26])
            return width, abs(height)
        if kind == "image/jpeg":
            return _jpeg_dimensions(head)
        if kind == "image/webp":
            return _webp_dimensions(head)
        if kind == "image/avif":
            return _ispe_dimensions(head)
    except struct.error:
        return None
    return None


def _jpeg_dimensions(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        # SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return None


def _webp_dimensions(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        return width, height
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _ispe_dimensions(data: bytes) -> tuple[int, int] | None:
    at = data.find(b"ispe")
    if at < 0 or at + 16 > len(data):
        return None
    return struct.unpack(">II", data[at + 8 : at + 16])
