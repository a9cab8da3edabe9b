"""ICC profiles the renderer builds itself: `coated_cmyk()` for untagged CMYK sources, `adobe_rgb()` for
`cs=adobergb1998`. Both are made here because no freely licensed file of them can be installed by CI.

CMYK: imgix converts an untagged CMYK image through a standard CMYK profile. No freely licensed one can be
installed from the registries CI uses: PyPI and npm have none, Debian's free `icc-profiles-free` and `colord-data`
hold no CMYK profile, and Ghostscript's `default_cmyk.icc` is AGPL and apt-only. Pillow's own CMYK->RGB conversion
is naive (100% cyan becomes (0, 255, 255), far from any press). So the renderer builds a small ICC v2 profile
(CMYK -> Lab lookup table, `A2B0`) from a printing model instead: the Yule-Nielsen modified Neugebauer model over
the 16 overprints of four process inks whose solids have the sRGB colours of coated paper (ISO 12647-2 / FOGRA39
solids), paper white as media white. It is close to a press profile where the inks are solid and an approximation
in the mixes; it is built once per process (about 40 KB, never written to disk). `cmyk_profile(inks, ...)` builds
the same kind of profile for other inks (tests embed such a profile in a source to check that it wins).

Adobe RGB (1998): a matrix/TRC profile from the colour space's published primaries (D50-adapted colorants) and
its 563/256 gamma; LittleCMS builds only sRGB, Lab and XYZ profiles itself.
"""

from __future__ import annotations

import functools
import itertools
import struct
from collections.abc import Sequence

__all__ = ["COATED_INKS", "adobe_rgb", "cmyk_profile", "coated_cmyk"]

RGB8 = tuple[int, int, int]

# sRGB colours of the solid process inks on coated paper (cyan, magenta, yellow, black).
COATED_INKS: tuple[RGB8, RGB8, RGB8, RGB8] = ((0, 159, 227), (230, 0, 126), (255, 237, 0), (29, 29, 27))
_GRID = 9  # lookup-table points per ink
_YULE_NIELSEN = 2.0  # the n factor: halftone dots spread light, so mixes are lighter than a linear average
_D50 = (0.9642, 1.0, 0.8249)
# Linear sRGB -> XYZ, adapted to D50 (Bradford), as ICC's PCS wants.
_SRGB_TO_XYZ_D50 = (
    (0.4360747, 0.3850649, 0.1430804),
    (0.2225045, 0.7168786, 0.0606169),
    (0.0139322, 0.0971045, 0.7141733),
)


def _linear(value: int) -> float:
    v = value / 255
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


def _lab(rgb: Sequence[float]) -> tuple[float, float, float]:
    """CIE Lab (D50) of a linear-sRGB colour."""

    def f(t: float) -> float:
        return t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29

    x, y, z = (
        sum(m * c for m, c in zip(row, rgb, strict=True)) / white
        for row, white in zip(_SRGB_TO_XYZ_D50, _D50, strict=True)
    )
    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def _lab16(lab: tuple[float, float, float]) -> tuple[int, int, int]:
    """ICC v2 16-bit Lab encoding (L 100 = 0xFF00, a/b 0 = 0x8000)."""
    l_star, a, b = lab
    clamp = lambda v: max(0, min(0xFFFF, round(v)))  # noqa: E731 - one line
    return clamp(l_star / 100 * 0xFF00), clamp((a + 128) * 256), clamp((b + 128) * 256)


def _table(inks: Sequence[RGB8]) -> bytes:
    """The CLUT: `_GRID`^4 Lab entries, cyan varying slowest."""
    n = _YULE_NIELSEN
    ink_lin = [[max(_linear(c), 1e-4) for c in ink] for ink in inks]
    # The 16 Neugebauer primaries (paper, each ink, each overprint), per channel, in Yule-Nielsen space.
    primaries = {}
    for subset in itertools.product((0, 1), repeat=4):
        colour = [1.0, 1.0, 1.0]
        for used, ink in zip(subset, ink_lin, strict=True):
            if used:
                colour = [c * i for c, i in zip(colour, ink, strict=True)]
        primaries[subset] = [c ** (1 / n) for c in colour]
    steps = [i / (_GRID - 1) for i in range(_GRID)]
    out = bytearray()
    for coverage in itertools.product(steps, repeat=4):
        mixed = [0.0, 0.0, 0.0]
        for subset, primary in primaries.items():
            weight = 1.0
            for used, a in zip(subset, coverage, strict=True):
                weight *= a if used else 1 - a
            if weight:
                mixed = [m + weight * p for m, p in zip(mixed, primary, strict=True)]
        out += struct.pack(">3H", *_lab16(_lab([m**n for m in mixed])))
    return bytes(out)


def _tag_text(text: str) -> bytes:
    return b"text" + b"\0" * 4 + text.encode("ascii") + b"\0"


def _tag_desc(text: str) -> bytes:
    ascii_ = text.encode("ascii") + b"\0"
    return b"desc" + b"\0" * 4 + struct.pack(">I", len(ascii_)) + ascii_ + b"\0" * 8 + b"\0" * 3 + b"\0" * 67


def _tag_xyz(xyz: Sequence[float]) -> bytes:
    return b"XYZ " + b"\0" * 4 + b"".join(struct.pack(">i", round(v * 65536)) for v in xyz)


def _tag_lut16(clut: bytes) -> bytes:
    identity = struct.pack(">9i", *(65536 if i in (0, 4, 8) else 0 for i in range(9)))
    ramp = struct.pack(">2H", 0, 0xFFFF)  # two-entry identity curves
    return (
        b"mft2"
        + b"\0" * 4
        + struct.pack(">4B", 4, 3, _GRID, 0)
        + identity
        + struct.pack(">2H", 2, 2)
        + ramp * 4
        + clut
        + ramp * 3
    )


def _profile(device_class: bytes, space: bytes, pcs: bytes, tags: list[tuple[bytes, bytes]]) -> bytes:
    """An ICC v2.4 profile: the 128-byte header, the tag table and the tags (4-byte aligned)."""
    offset = 128 + 4 + 12 * len(tags)
    directory, data = b"", b""
    for signature, body in tags:
        directory += signature + struct.pack(">2I", offset + len(data), len(body))
        data += body + b"\0" * (-len(body) % 4)
    header = (
        struct.pack(">I", offset + len(data))
        + b"\0" * 4  # preferred CMM: any
        + struct.pack(">I", 0x02400000)  # version 2.4
        + device_class
        + space
        + pcs
        + struct.pack(">6H", 2025, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"\0" * 24  # platform, flags, manufacturer, model, attributes
        + struct.pack(">I", 0)  # perceptual
        + _tag_xyz(_D50)[8:]
        + b"\0" * 4  # creator
    )
    return header + b"\0" * (128 - len(header)) + struct.pack(">I", len(tags)) + directory + data


def cmyk_profile(inks: Sequence[RGB8], description: str) -> bytes:
    """An ICC output profile (CMYK data, Lab PCS, `A2B0` only) for four inks given as sRGB solids."""
    tags = [
        (b"desc", _tag_desc(description)),
        (b"cprt", _tag_text("No copyright, use freely (aem-imgix-renditions)")),
        (b"wtpt", _tag_xyz(_D50)),
        (b"A2B0", _tag_lut16(_table(inks))),
    ]
    return _profile(b"prtr", b"CMYK", b"Lab ", tags)


@functools.cache
def adobe_rgb() -> bytes:
    """A display profile with Adobe RGB (1998)'s primaries, white (D65, adapted to D50) and gamma 563/256."""
    curve = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, 563) + b"\0\0"  # one u8Fixed8 gamma: 2.19921875
    tags = [
        (b"desc", _tag_desc("Adobe RGB (1998) compatible (aem-imgix-renditions)")),
        (b"cprt", _tag_text("No copyright, use freely (aem-imgix-renditions)")),
        (b"wtpt", _tag_xyz(_D50)),
        (b"rXYZ", _tag_xyz((0.6097, 0.3111, 0.0195))),
        (b"gXYZ", _tag_xyz((0.2053, 0.6257, 0.0609))),
        (b"bXYZ", _tag_xyz((0.1492, 0.0632, 0.7446))),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    return _profile(b"mntr", b"RGB ", b"XYZ ", tags)


@functools.cache
def coated_cmyk() -> bytes:
    """The default CMYK profile: process inks on coated paper."""
    return cmyk_profile(COATED_INKS, "Coated CMYK (modelled, aem-imgix-renditions)")
