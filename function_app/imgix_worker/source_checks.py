"""What the staged source is, judged from its header before imgix is asked: the contract's source reasons.

As Adobe's SDK reports them (`reference/asset-compute-contract.md` section 4):

* `SourceCorrupt`: the bytes do not decode as the image they claim to be, by their signature or by the declared type
  (the source's `mimetype`, its name's or URL's extension, a `data:` URI's type): empty, truncated, a broken
  header, garbage or text named `.jpg`;
* `SourceFormatUnsupported`: the bytes are a format this profile does not accept (PDF, SVG, PSD, ...), or an
  unknown format that was not declared as an image either;
* `SourceUnsupported`: an accepted format whose header declares more pixels than imgix renders.

Only the head of the file is needed (plus, rarely, one short ranged read when a JPEG's frame header or a TIFF's
first directory lies beyond it). A file that ends inside the head is checked to its end; for a larger file, what
lies past its header is imgix's to judge (its 421 is `SourceCorrupt` too).
"""

from __future__ import annotations

import posixpath
import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from .errors import SourceCorrupt, SourceFormatUnsupported, SourceUnsupported
from .sniff import dimensions, mime_type

__all__ = ["MAX_SOURCE_PIXELS", "SourceHeader", "check_source", "declared_type"]

# imgix documents no input pixel limit (reference/imgix.md 1.13: "Max input pixel count / megapixels: [not found]";
# its documented limits are 500 MB per input and 8192x8192 per output). 100 megapixels is what the local renderer
# refuses with 422 and twice imgproxy's 50 MP default (imgix.md, imgproxy section): above it a header is a pixel
# bomb or a scan no rendition needs at full size, and it is refused before imgix spends a render on it.
MAX_SOURCE_PIXELS = 100_000_000
_MAX_EXTRA_READS = 4  # ranged reads past the head, for a JPEG's frame header or a TIFF's first directory

ReadAt = Callable[[int, int], bytes]

_DECLARED_EXTENSIONS = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "jpe": "image/jpeg",
    "jfif": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "bmp": "image/bmp",
    "dib": "image/bmp",
    "tif": "image/tiff",
    "tiff": "image/tiff",
    "webp": "image/webp",
    "avif": "image/avif",
    "heic": "image/heic",
    "heif": "image/heic",
    "jp2": "image/jp2",
    "jxr": "image/jxr",
    "svg": "image/svg+xml",
    "psd": "image/vnd.adobe.photoshop",
    "pdf": "application/pdf",
}
_EXTENSION = re.compile(r"\.([A-Za-z0-9]{1,8})$")


@dataclass(frozen=True)
class SourceHeader:
    """The source's type from its bytes, and its pixel size when the header says."""

    mimetype: str
    width: int | None = None
    height: int | None = None


class _Broken(Exception):
    """The header contradicts itself: the source is corrupt."""


class _Undecided(Exception):
    """The header lies beyond what may be read cheaply: imgix decides."""


def declared_type(mimetype: str | None, *, name: str | None, url: str) -> str | None:
    """The type the caller says the source is: its `mimetype`, else its name's or URL path's extension, else a
    `data:` URI's media type; None when nothing says."""
    if mimetype:
        return mimetype.split(";")[0].strip().lower() or None
    candidates = [name or ""]
    if url.startswith("data:"):
        media = url[5:].partition(",")[0].split(";")[0].strip().lower()
        return media or "text/plain"  # RFC 2397's default
    candidates.append(posixpath.basename(unquote(urlsplit(url).path)))
    for candidate in candidates:
        match = _EXTENSION.search(candidate)
        if match:
            return _DECLARED_EXTENSIONS.get(match.group(1).lower(), "application/octet-stream")
    return None


def check_source(
    head: bytes,
    size: int,
    *,
    allowed_types: tuple[str, ...],
    declared: str | None,
    read_at: ReadAt | None = None,
    max_pixels: int = MAX_SOURCE_PIXELS,
) -> SourceHeader:
    """Judge the staged source from `head` (its first bytes) and `size` (its length).

    :param read_at: `(offset, length) -> bytes` from the staged source, for headers that lie beyond `head`.
    :raises SourceCorrupt: empty, or the bytes do not decode as the image they are or are declared to be.
    :raises SourceFormatUnsupported: a format the profile does not accept.
    :raises SourceUnsupported: an accepted format declaring more than `max_pixels` pixels.
    """
    if size <= 0 or not head:
        raise SourceCorrupt("the source is empty")
    kind = mime_type(head)
    if kind == "application/octet-stream":
        if declared is not None and declared.startswith("image/"):
            raise SourceCorrupt(f"the source does not decode as the {declared} it is declared to be")
        raise SourceFormatUnsupported("the source is not a recognised image format")
    if kind not in allowed_types:
        raise SourceFormatUnsupported(f"source type {kind} is not accepted by this profile")
    reader = _Reader(head, size, read_at)
    try:
        parsed = _PARSERS.get(kind, _sniffed)(reader)
    except _Broken as exc:
        raise SourceCorrupt(f"the source is not a valid {kind}: {exc}") from None
    except _Undecided:
        return SourceHeader(kind)
    if parsed is None:
        return SourceHeader(kind)
    width, height = parsed
    if width * height > max_pixels:
        raise SourceUnsupported(
            f"the source declares {width}x{height} pixels; imgix renders sources of at most "
            f"{max_pixels // 1_000_000} megapixels"
        )
    return SourceHeader(kind, width, height)


class _Reader:
    """Bytes of the source by offset: from the head, else from a few ranged reads."""

    def __init__(self, head: bytes, size: int, read_at: ReadAt | None) -> None:
        self.head = head
        self.size = size
        self._read_at = read_at
        self._reads = 0

    @property
    def whole(self) -> bool:
        """The head holds the whole file."""
        return self.size <= len(self.head)

    def get(self, offset: int, length: int) -> bytes:
        """Up to `length` bytes at `offset`; fewer only where the file ends."""
        if offset + length <= len(self.head) or self.whole:
            return self.head[offset : offset + length]
        if offset >= self.size:
            return b""
        if self._read_at is None or self._reads >= _MAX_EXTRA_READS:
            raise _Undecided
        self._reads += 1
        return self._read_at(offset, min(length, self.size - offset))


def _jpeg(r: _Reader) -> tuple[int, int] | None:
    pos = 2
    while True:
        segment = r.get(pos, 4)
        if len(segment) < 2:
            raise _Broken("it ends before its frame header")
        if segment[0] != 0xFF:
            raise _Broken("its segment markers are broken")
        marker = segment[1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker in (0xD8, 0xD9, 0xDA):
            raise _Broken("image data or its end comes before the frame header")
        if len(segment) < 4:
            raise _Broken("it ends before its frame header")
        (length,) = struct.unpack(">H", segment[2:4])
        if length < 2:
            raise _Broken("a segment has an impossible length")
        # SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            frame = r.get(pos + 4, 5)
            if len(frame) < 5:
                raise _Broken("it ends inside its frame header")
            height, width = struct.unpack(">HH", frame[1:5])
            if width == 0:
                raise _Broken("its frame header declares no width")
            if r.whole and r.head.find(b"\xff\xd9", pos) < 0:
                raise _Broken("it is truncated (no end-of-image marker)")
            return (width, height) if height else None  # height 0: given later by a DNL segment
        pos += 2 + length


_PNG_DEPTHS = {0: {1, 2, 4, 8, 16}, 2: {8, 16}, 3: {1, 2, 4, 8}, 4: {8, 16}, 6: {8, 16}}


def _crc_ok(chunk_type_and_data: bytes, crc: bytes) -> bool:
    return zlib.crc32(chunk_type_and_data) & 0xFFFFFFFF == struct.unpack(">I", crc)[0]


def _png(r: _Reader) -> tuple[int, int]:
    head = r.head
    if len(head) < 33:
        raise _Broken("it ends inside its header")
    if head[8:16] != b"\x00\x00\x00\x0dIHDR" or not _crc_ok(head[12:29], head[29:33]):
        raise _Broken("its IHDR header is broken")
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", head[16:29])
    if not (0 < width < 2**31 and 0 < height < 2**31):
        raise _Broken("its header declares an impossible size")
    if depth not in _PNG_DEPTHS.get(colour, ()) or compression or filtering or interlace > 1:
        raise _Broken("its header declares an impossible pixel format")
    pos, seen_data = 33, False
    while pos + 8 <= len(head):
        (length,) = struct.unpack(">I", head[pos : pos + 4])
        kind = head[pos + 4 : pos + 8]
        if length >= 2**31 or not kind.isalpha():
            raise _Broken("its chunks are broken")
        end = pos + 12 + length
        # A critical chunk's checksum is checked (decoders refuse it); an ancillary one's is not (they skip it).
        if end <= len(head) and kind[:1].isupper() and not _crc_ok(head[pos + 4 : end - 4], head[end - 4 : end]):
            raise _Broken(f"its {kind.decode()} chunk fails its checksum")
        if kind == b"IDAT":
            seen_data = True
        if kind == b"IEND":
            if not seen_data:
                raise _Broken("it has no image data")
            return width, height
        pos = end
    if r.whole:
        raise _Broken("it is truncated (no IEND chunk)")
    return width, height


def _gif(r: _Reader) -> tuple[int, int] | None:
    head = r.head
    if len(head) < 13:
        raise _Broken("it ends inside its header")
    width, height, packed = struct.unpack("<HHB", head[6:11])
    after = 13 + (3 * 2 ** ((packed & 7) + 1) if packed & 0x80 else 0)  # past the global colour table
    block = r.get(after, 1)
    if block not in (b"\x21", b"\x2c", b"\x3b"):  # extension, image descriptor, trailer
        raise _Broken("its first block is neither an extension nor an image")
    return (width, height) if width and height else None  # 0: the frames' own sizes apply


_BMP_INFO_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}


def _bmp(r: _Reader) -> tuple[int, int]:
    head = r.head
    if len(head) < 30:
        raise _Broken("it ends inside its header")
    (offset,) = struct.unpack("<I", head[10:14])
    (info,) = struct.unpack("<I", head[14:18])
    if info not in _BMP_INFO_SIZES:
        raise _Broken("its info header has an unknown size")
    if info == 12:
        width, height, planes, bpp = struct.unpack("<HHHH", head[18:26])
        compression = 0
    else:
        width, height, planes, bpp = struct.unpack("<iiHH", head[18:30])
        compression = struct.unpack("<I", head[30:34])[0] if info >= 40 and len(head) >= 34 else 0
    height = abs(height)
    if width <= 0 or height == 0 or planes != 1 or bpp not in (1, 2, 4, 8, 16, 24, 32, 64):
        raise _Broken("its info header declares an impossible image")
    if not 14 + info <= offset < r.size:
        raise _Broken("its pixel data lies outside the file")
    if compression in (0, 3, 6):  # uncompressed rows (BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS): size is known
        row = (width * bpp + 31) // 32 * 4
        if offset + row * height > r.size:
            raise _Broken("it is truncated (fewer pixel rows than declared)")
    return width, height


_TIFF_TYPES = {3: ("H", 2), 4: ("I", 4)}  # SHORT, LONG


def _tiff(r: _Reader) -> tuple[int, int] | None:
    head = r.head
    if head[2:4] in (b"+\x00", b"\x00+"):
        return None  # BigTIFF: imgix judges
    order = "<" if head[:2] == b"II" else ">"
    if len(head) < 8:
        raise _Broken("it ends inside its header")
    (ifd,) = struct.unpack(order + "I", head[4:8])
    if ifd < 8 or ifd + 2 > r.size:
        raise _Broken("its first directory lies outside the file")
    (count,) = struct.unpack(order + "H", r.get(ifd, 2).ljust(2, b"\x00"))
    entries = r.get(ifd + 2, 12 * count)
    if count == 0 or len(entries) < 12 * count:
        raise _Broken("its first directory is empty or cut short")
    found: dict[int, int] = {}
    for i in range(count):
        tag, kind, n = struct.unpack(order + "HHI", entries[12 * i : 12 * i + 8])
        if tag in (256, 257) and kind in _TIFF_TYPES and n == 1:
            code, width = _TIFF_TYPES[kind]
            found[tag] = struct.unpack(order + code, entries[12 * i + 8 : 12 * i + 8 + width])[0]
    if not found.get(256) or not found.get(257):
        raise _Broken("its first directory declares no image size")
    return found[256], found[257]


def _sniffed(r: _Reader) -> tuple[int, int] | None:
    """Other formats a profile may accept (WebP, AVIF, ...): the size the header gives, no structural checks."""
    return dimensions(r.head)


_PARSERS: dict[str, Callable[[_Reader], tuple[int, int] | None]] = {
    "image/jpeg": _jpeg,
    "image/png": _png,
    "image/gif": _gif,
    "image/bmp": _bmp,
    "image/tiff": _tiff,
}
