"""Source reasons decided from the header, as Adobe's SDK reports them: corrupt, unsupported format, too many pixels."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from imgix_worker.errors import SourceCorrupt, SourceFormatUnsupported, SourceUnsupported
from imgix_worker.settings import DEFAULT_SOURCE_TYPES
from imgix_worker.source_checks import MAX_SOURCE_PIXELS, check_source, declared_type

from .bad_input import files
from .conftest import image_bytes


def check(data: bytes, declared: str | None = "image/jpeg", read_at=None, head: int = 64 * 1024):  # type: ignore[no-untyped-def]
    return check_source(data[:head], len(data), allowed_types=DEFAULT_SOURCE_TYPES, declared=declared, read_at=read_at)


def saved(fmt: str, size: tuple[int, int] = (40, 30), **options: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, fmt, **options)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "BMP", "TIFF"])
def test_valid_sources_pass_with_their_size(fmt: str) -> None:
    header = check(saved(fmt))
    assert (header.width, header.height) == (40, 30)


@pytest.mark.parametrize(
    ("data", "declared"),
    [
        (b"hello, I am not a picture\n" * 20, "image/jpeg"),  # text named .jpg
        (bytes(range(256)) * 4, "image/jpeg"),  # garbage named .jpg
        (b"<!doctype html><html><body>404</body></html>", "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),  # a JPEG signature and nothing more
        (files.truncated(image_bytes(size=(640, 480))), "image/jpeg"),
        (files.truncated(image_bytes("PNG", (640, 480))), "image/png"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "image/png"),  # no IHDR
        (b"GIF89a/*" + b"\x00" * 20 + b"*/alert(1)//", "image/gif"),
        (saved("BMP")[:-200], "image/bmp"),  # fewer rows than declared
        (b"II*\x00\x00\x10\x00\x00", "image/tiff"),  # first directory past the end
    ],
)
def test_bytes_that_do_not_decode_are_corrupt(data: bytes, declared: str) -> None:
    with pytest.raises(SourceCorrupt):
        check(data, declared)


def test_a_broken_ihdr_checksum_is_corrupt() -> None:
    data = bytearray(saved("PNG"))
    data[20] ^= 0xFF  # a byte of the height
    with pytest.raises(SourceCorrupt, match="IHDR"):
        check(bytes(data), "image/png")


def test_unknown_bytes_not_declared_an_image_are_an_unsupported_format() -> None:
    for declared in (None, "text/plain", "application/octet-stream"):
        with pytest.raises(SourceFormatUnsupported):
            check(b"just some text", declared)


@pytest.mark.parametrize("data", [files.pdf(), files.svg(), b"8BPS\x00\x01" + b"\x00" * 40, files.webp()])
def test_recognised_formats_the_profile_does_not_allow(data: bytes) -> None:
    with pytest.raises(SourceFormatUnsupported, match="not accepted"):
        check(data, "image/jpeg")  # whatever the name says: the bytes are a PDF, an SVG...


def _sof_jpeg(width: int, height: int) -> bytes:
    frame = struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + b"\xff\xc0" + frame + b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00" + b"\x00" * 16 + b"\xff\xd9"


def _bmp(width: int, height: int) -> bytes:
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 1, 0, 0, 0, 0, 0, 0)
    row = (width + 31) // 32 * 4
    return b"BM" + struct.pack("<IHHI", 0, 0, 0, 62) + info + b"\x00" * 8 + b"\x00" * (row * height)


@pytest.mark.parametrize(
    ("data", "declared"),
    [
        (files.huge_declared_png(), "image/png"),
        (files.huge_declared_png(12000, 12000), "image/png"),
        (_sof_jpeg(65000, 65000), "image/jpeg"),
        (b"GIF89a" + struct.pack("<HHBBB", 65535, 65535, 0, 0, 0) + b"\x3b", "image/gif"),
        (b"II*\x00\x08\x00\x00\x00" + struct.pack("<H", 2) + struct.pack("<HHII", 256, 4, 1, 40000)
         + struct.pack("<HHII", 257, 4, 1, 40000) + b"\x00" * 4, "image/tiff"),
    ],
)  # fmt: skip
def test_supported_formats_declaring_too_many_pixels_are_unsupported(data: bytes, declared: str) -> None:
    with pytest.raises(SourceUnsupported, match="megapixels"):
        check(data, declared)


def test_a_bmp_over_the_pixel_limit_is_unsupported_from_its_header() -> None:
    # A 1-bit BMP at the limit + 1 row is 1.2 MB: judged from the first bytes only (head of 64 KiB).
    width = 10_000
    data = _bmp(width, MAX_SOURCE_PIXELS // width + 1)
    with pytest.raises(SourceUnsupported):
        check(data, "image/bmp")
    assert check(_bmp(width, MAX_SOURCE_PIXELS // width), "image/bmp").height == MAX_SOURCE_PIXELS // width


def test_a_jpeg_frame_header_past_the_head_is_read_with_one_ranged_read() -> None:
    app1 = b"\xff\xe1" + struct.pack(">H", 60_002) + b"\x00" * 60_000  # a large EXIF segment
    data = b"\xff\xd8" + app1 + app1 + _sof_jpeg(300, 200)[2:]
    reads: list[tuple[int, int]] = []

    def read_at(offset: int, length: int) -> bytes:
        reads.append((offset, length))
        return data[offset : offset + length]

    header = check(data, read_at=read_at)
    assert (header.width, header.height) == (300, 200)
    assert 1 <= len(reads) <= 2 and all(length <= 16 for _, length in reads)


def test_a_header_past_the_head_without_a_reader_is_left_to_imgix() -> None:
    app1 = b"\xff\xe1" + struct.pack(">H", 60_002) + b"\x00" * 60_000
    data = b"\xff\xd8" + app1 + app1 + _sof_jpeg(300, 200)[2:]
    header = check(data, read_at=None)
    assert header.mimetype == "image/jpeg" and header.width is None


def test_a_jpeg_with_trailing_bytes_after_its_end_marker_is_fine() -> None:
    assert check(image_bytes() + b"\x00garbage" * 100).width == 320


def test_an_ancillary_chunk_with_a_bad_checksum_is_tolerated_as_decoders_do() -> None:
    png = saved("PNG")
    text = b"tEXt" + b"k\x00v"
    chunk = struct.pack(">I", 3) + text + struct.pack(">I", (zlib.crc32(text) + 1) & 0xFFFFFFFF)
    assert check(png[:33] + chunk + png[33:], "image/png").width == 40


@pytest.mark.parametrize(
    ("mimetype", "name", "url", "expected"),
    [
        ("image/png; charset=x", None, "https://h/a.jpg", "image/png"),
        (None, "photo.JPG", "https://h/blob", "image/jpeg"),
        (None, None, "https://h/c/file%20one.tiff?sig=x", "image/tiff"),
        (None, None, "https://h/c/blob", None),
        (None, None, "https://h/c/notes.txt", "application/octet-stream"),
        (None, None, "data:image/png;base64,AAAA", "image/png"),
        (None, None, "data:,hello", "text/plain"),
    ],
)
def test_declared_type(mimetype: str | None, name: str | None, url: str, expected: str | None) -> None:
    assert declared_type(mimetype, name=name, url=url) == expected
