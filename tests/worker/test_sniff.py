"""Types and dimensions from the first bytes, checked on files Pillow writes."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from imgix_worker.sniff import dimensions, mime_type


@pytest.mark.parametrize(
    ("fmt", "mime"),
    [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("GIF", "image/gif"), ("BMP", "image/bmp"), ("WEBP", "image/webp")],
)
def test_pillow_written_images(fmt: str, mime: str) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (123, 45), "red").save(buffer, fmt)
    data = buffer.getvalue()
    assert mime_type(data) == mime
    assert dimensions(data) == (123, 45)


def test_tiff_type_and_text_is_unknown() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (3, 4)).save(buffer, "TIFF")
    assert mime_type(buffer.getvalue()) == "image/tiff"
    assert mime_type(b"hello, I am text pretending to be a jpeg") == "application/octet-stream"
    assert mime_type(b"") == "application/octet-stream"
    assert dimensions(b"\xff\xd8\xff") is None


def test_jpeg_with_exif_before_the_frame() -> None:
    buffer = io.BytesIO()
    image = Image.new("RGB", (640, 480))
    exif = Image.Exif()
    exif[0x0112] = 6
    image.save(buffer, "JPEG", exif=exif.tobytes())
    assert dimensions(buffer.getvalue()) == (640, 480)
