"""Colour management: sources are converted to sRGB through their ICC profile; outputs carry sRGB or nothing.

Every expected colour is a reference conversion with LittleCMS (ImageCms) and the same profiles, so these tests
say "the renderer used the embedded profile" (or the default CMYK one), not "it answered".
"""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image, ImageCms, ImageDraw

from local_platform.renderer import render
from local_platform.renderer.colorspace import srgb_profile
from local_platform.renderer.icc_profiles import adobe_rgb, cmyk_profile, coated_cmyk

from .images import encode, run

# Inks of another press (newsprint-like, duller): a source tagged with this must not render like the default.
NEWSPRINT = ((70, 150, 200), (200, 60, 120), (240, 220, 60), (50, 50, 50))
# CMYK patches: paper, solids, overprints, a mid grey and a skin tone.
PATCHES = [
    (0, 0, 0, 0), (255, 0, 0, 0), (0, 255, 0, 0), (0, 0, 255, 0), (0, 0, 0, 255), (255, 255, 0, 0),
    (0, 255, 255, 0), (128, 128, 128, 0), (20, 90, 110, 10), (60, 0, 200, 40),
]  # fmt: skip
SIDE = 48  # patch size: big enough for JPEG's 8x8 blocks to be flat at the centre


def patches(mode: str, colours: list[tuple[int, ...]]) -> Image.Image:
    image = Image.new(mode, (SIDE * len(colours), SIDE))
    draw = ImageDraw.Draw(image)
    for i, colour in enumerate(colours):
        draw.rectangle((i * SIDE, 0, (i + 1) * SIDE - 1, SIDE - 1), fill=colour)
    return image


def centres(image: Image.Image, count: int) -> list[tuple[int, ...]]:
    return [image.convert("RGB").getpixel((i * SIDE + SIDE // 2, SIDE // 2)) for i in range(count)]


def reference(image: Image.Image, profile: bytes, mode: str = "RGB") -> list[tuple[int, ...]]:
    """What LittleCMS makes of `image` through `profile` to sRGB (perceptual, as the renderer)."""
    converted = ImageCms.profileToProfile(
        image, ImageCms.ImageCmsProfile(io.BytesIO(profile)), ImageCms.createProfile("sRGB"), outputMode=mode
    )
    assert converted is not None
    return centres(converted, len(PATCHES) if image.width == SIDE * len(PATCHES) else image.width // SIDE)


def worst(actual: list[tuple[int, ...]], expected: list[tuple[int, ...]]) -> int:
    return max(abs(a - e) for pa, pe in zip(actual, expected, strict=True) for a, e in zip(pa, pe, strict=True))


def profile_space(data: bytes) -> tuple[str, str] | None:
    """(colour space, description) of the ICC profile a rendition carries, or None."""
    icc = Image.open(io.BytesIO(data)).info.get("icc_profile")
    if not icc:
        return None
    profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    return profile.profile.xcolor_space.strip(), ImageCms.getProfileDescription(profile).strip()


# --- CMYK ---


@pytest.mark.parametrize("fm", ["png", "jpg"])
def test_cmyk_source_is_converted_through_its_embedded_profile(fm: str) -> None:
    profile = cmyk_profile(NEWSPRINT, "Newsprint (test)")
    source = patches("CMYK", PATCHES)
    result = render(encode(source, "JPEG", quality=95, icc_profile=profile), {"fm": fm})
    got = centres(Image.open(io.BytesIO(result.body)), len(PATCHES))
    expected = reference(source, profile)
    assert worst(got, expected) <= (3 if fm == "png" else 8)
    # ...and not through the default profile, nor Pillow's naive conversion (each off by far more).
    assert worst(got, reference(source, coated_cmyk())) > 30
    assert worst(got, centres(source.convert("RGB"), len(PATCHES))) > 30


def test_untagged_cmyk_uses_the_default_coated_profile_not_the_naive_formula() -> None:
    source = patches("CMYK", PATCHES)
    got = centres(run(encode(source, "JPEG", quality=95), {"fm": "png"}), len(PATCHES))
    assert worst(got, reference(source, coated_cmyk())) <= 3
    assert got[1] == pytest.approx((0, 159, 227), abs=3)  # 100% cyan on coated paper, not (0, 255, 255)
    assert worst(got, centres(source.convert("RGB"), len(PATCHES))) > 30


@pytest.mark.parametrize("fm", ["png", "jpg", "webp"])
def test_cmyk_rendition_carries_srgb_never_the_cmyk_profile(fm: str) -> None:
    data = encode(patches("CMYK", PATCHES), "JPEG", icc_profile=cmyk_profile(NEWSPRINT, "Newsprint (test)"))
    space = profile_space(render(data, {"fm": fm}).body)
    assert space is not None and space[0] == "RGB" and "sRGB" in space[1]
    assert profile_space(render(data, {"fm": fm, "cs": "strip"}).body) is None
    assert profile_space(render(data, {"fm": fm, "auto": "compress"}).body) is None
    origin = profile_space(render(data, {"fm": fm, "cs": "origin"}).body)  # an RGB file cannot keep CMYK
    assert origin is not None and origin[0] == "RGB"


def test_cmyk_tiff_with_a_profile_too() -> None:
    profile = cmyk_profile(NEWSPRINT, "Newsprint (test)")
    source = patches("CMYK", PATCHES)
    got = centres(run(encode(source, "TIFF", icc_profile=profile), {"fm": "png"}), len(PATCHES))
    assert worst(got, reference(source, profile)) <= 3


# --- RGB with a profile other than sRGB ---


def test_wide_gamut_rgb_is_converted_to_srgb_and_tagged_srgb() -> None:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (128, 128, 128), (200, 150, 100)]
    source = patches("RGB", colours)
    data = encode(source, "PNG", icc_profile=adobe_rgb())
    result = render(data, {})
    got = centres(Image.open(io.BytesIO(result.body)), len(colours))
    assert worst(got, reference(source, adobe_rgb())) <= 2
    assert got[1][0] < 10 and got[1][1] == 255  # Adobe RGB green is outside sRGB: clipped, not (0, 255, 0) kept
    space = profile_space(result.body)
    assert space is not None and "sRGB" in space[1]


def test_cs_origin_keeps_an_rgb_source_and_its_profile() -> None:
    source = patches("RGB", [(0, 255, 0), (200, 150, 100)])
    result = render(encode(source, "PNG", icc_profile=adobe_rgb()), {"cs": "origin"})
    assert centres(Image.open(io.BytesIO(result.body)), 2) == [(0, 255, 0), (200, 150, 100)]
    assert Image.open(io.BytesIO(result.body)).info["icc_profile"] == adobe_rgb()


def test_untagged_rgb_stays_as_it_is_and_untagged_unless_cs_srgb() -> None:
    source = patches("RGB", [(0, 255, 0), (200, 150, 100)])
    data = encode(source)
    plain = render(data, {})
    assert centres(Image.open(io.BytesIO(plain.body)), 2) == [(0, 255, 0), (200, 150, 100)]
    assert profile_space(plain.body) is None
    assert Image.open(io.BytesIO(render(data, {"cs": "srgb"}).body)).info["icc_profile"] == srgb_profile()


def test_cs_adobergb1998_converts_the_rendition_to_adobe_rgb_and_tags_it() -> None:
    colours = [(255, 0, 0), (0, 200, 0), (128, 128, 128)]
    source = patches("RGB", colours)
    for params in ({"cs": "adobergb1998", "fm": "png"}, {"cs": "adobergb1998", "auto": "compress"}):
        result = render(encode(source), params)
        got = centres(Image.open(io.BytesIO(result.body)), len(colours))
        expected = ImageCms.profileToProfile(
            source, ImageCms.createProfile("sRGB"), ImageCms.ImageCmsProfile(io.BytesIO(adobe_rgb()))
        )
        assert expected is not None
        assert worst(got, centres(expected, len(colours))) <= (2 if params.get("fm") else 6)
        assert got[0][0] < 230  # sRGB red is inside Adobe RGB's gamut: no longer at its edge
        space = profile_space(result.body)
        assert space is not None and "Adobe RGB" in space[1]


def test_an_unreadable_profile_is_dropped_not_copied() -> None:
    data = encode(patches("RGB", [(10, 200, 30)]), "JPEG", icc_profile=b"not-an-icc-profile")
    result = render(data, {})
    assert profile_space(result.body) is None
    assert centres(Image.open(io.BytesIO(result.body)), 1)[0] == pytest.approx((10, 200, 30), abs=6)


def test_a_profile_of_another_colour_model_is_ignored() -> None:
    """A CMYK profile inside an RGB PNG (the invalid file the issue saw): the pixels are taken as sRGB."""
    source = patches("RGB", [(10, 200, 30)])
    result = render(encode(source, "PNG", icc_profile=coated_cmyk()), {})
    assert centres(Image.open(io.BytesIO(result.body)), 1) == [(10, 200, 30)]
    assert profile_space(result.body) is None


# --- 16-bit, palette and grey with alpha ---


def test_16_bit_grey_keeps_its_top_8_bits() -> None:
    row = struct.pack(f"<{SIDE}H", *[0x8040] * SIDE) + struct.pack(f"<{SIDE}H", *[0xFFFF] * SIDE)
    grey16 = Image.frombytes("I;16", (SIDE * 2, SIDE), row * SIDE)
    assert grey16.getpixel((0, 0)) == 0x8040
    assert centres(run(encode(grey16), {"fm": "png"}), 2) == [(0x80, 0x80, 0x80), (255, 255, 255)]


def test_palette_with_transparency_keeps_colours_and_alpha() -> None:
    palette = Image.new("P", (SIDE * 2, SIDE))
    palette.putpalette([200, 30, 40, 10, 20, 250] + [0] * 762)
    palette.paste(1, (SIDE, 0, SIDE * 2, SIDE))
    palette.info["transparency"] = 1
    out = run(encode(palette), {"fm": "png"})
    assert out.mode == "RGBA"
    assert out.getpixel((SIDE // 2, SIDE // 2)) == (200, 30, 40, 255)
    assert out.getpixel((SIDE + SIDE // 2, SIDE // 2))[3] == 0


def test_grey_with_alpha_becomes_rgba() -> None:
    la = Image.new("LA", (SIDE, SIDE), (90, 128))
    out = run(encode(la), {"fm": "png"})
    assert out.mode == "RGBA" and out.getpixel((5, 5)) == (90, 90, 90, 128)


def test_alpha_survives_the_profile_conversion() -> None:
    rgba = Image.new("RGBA", (SIDE, SIDE), (0, 255, 0, 100))
    out = run(encode(rgba, "PNG", icc_profile=adobe_rgb()), {"fm": "png"})
    expected = reference(Image.new("RGB", (SIDE, SIDE), (0, 255, 0)), adobe_rgb())
    assert worst([out.getpixel((5, 5))[:3]], expected) <= 2 and out.getpixel((5, 5))[3] == 100
