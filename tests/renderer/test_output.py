"""Output format and quality: fm, q, auto=format,compress, lossless, chromasub, progressive, cs."""

from __future__ import annotations

import io

import pytest
from PIL import Image, features

from local_platform.renderer import RenderError, render
from local_platform.renderer.colorspace import srgb_profile

from .images import encode, quadrants, with_alpha

AVIF = bool(features.check("avif"))


def rendered_format(data: bytes) -> str | None:
    return Image.open(io.BytesIO(data)).format


@pytest.mark.parametrize(
    ("fm", "content_type", "pillow"),
    [
        ("jpg", "image/jpeg", "JPEG"),
        ("pjpg", "image/jpeg", "JPEG"),
        ("png", "image/png", "PNG"),
        ("png32", "image/png", "PNG"),
        ("png8", "image/png", "PNG"),
        ("gif", "image/gif", "GIF"),
        ("webp", "image/webp", "WEBP"),
        pytest.param("avif", "image/avif", "AVIF", marks=pytest.mark.skipif(not AVIF, reason="no AVIF in Pillow")),
    ],
)
def test_fm(fm: str, content_type: str, pillow: str) -> None:
    result = render(encode(quadrants()), {"fm": fm})
    assert result.content_type == content_type and rendered_format(result.body) == pillow
    assert (result.width, result.height) == (400, 300)


def test_png8_is_a_palette_and_png32_keeps_alpha() -> None:
    assert Image.open(io.BytesIO(render(encode(quadrants()), {"fm": "png8"}).body)).mode == "P"
    assert Image.open(io.BytesIO(render(encode(with_alpha()), {"fm": "png32"}).body)).mode == "RGBA"


def test_jpeg_is_progressive_by_default() -> None:
    assert Image.open(io.BytesIO(render(encode(quadrants()), {"fm": "jpg"}).body)).info.get("progressive")
    plain = render(encode(quadrants()), {"fm": "jpg", "jpg-progressive": "false"}).body
    assert not Image.open(io.BytesIO(plain)).info.get("progressive")


def noisy() -> Image.Image:
    return Image.effect_noise((200, 200), 60).convert("RGB")


def test_quality_changes_size() -> None:
    data = encode(noisy())
    small = render(data, {"fm": "jpg", "q": "10"}).body
    large = render(data, {"fm": "jpg", "q": "90"}).body
    default = render(data, {"fm": "jpg"}).body
    assert len(small) < len(default) < len(large)
    assert default == render(data, {"fm": "jpg", "q": "75"}).body


def test_source_format_is_kept_without_fm() -> None:
    assert render(encode(quadrants(), "JPEG"), {}).content_type == "image/jpeg"
    assert render(encode(quadrants(), "GIF"), {}).content_type == "image/gif"
    assert render(encode(quadrants(), "WEBP"), {}).content_type == "image/webp"


def test_formats_pillow_cannot_write_become_jpeg_or_png() -> None:
    assert render(encode(quadrants(), "BMP"), {}).content_type == "image/jpeg"
    assert render(encode(with_alpha(), "TIFF"), {}).content_type == "image/png"


@pytest.mark.skipif(not AVIF, reason="no AVIF in Pillow")
def test_auto_format_negotiates_avif_then_webp() -> None:
    data = encode(quadrants())
    avif = render(data, {"auto": "format"}, accept="image/avif,image/webp,*/*")
    assert avif.content_type == "image/avif" and avif.vary_accept
    assert render(data, {"auto": "format"}, accept="image/webp,*/*").content_type == "image/webp"
    assert render(data, {"auto": "format", "fm": "jpg"}, accept="*/*").content_type == "image/jpeg"
    assert render(data, {"auto": "format"}).content_type == "image/png"
    assert not render(data, {"fm": "png"}, accept="image/avif").vary_accept


def test_auto_compress_picks_jpeg_or_png_by_transparency_over_fm() -> None:
    opaque = render(encode(quadrants()), {"auto": "compress", "fm": "png"})
    assert opaque.content_type == "image/jpeg"
    assert opaque.body == render(encode(quadrants()), {"fm": "jpg", "q": "45"}).body  # q 45 by default
    assert render(encode(with_alpha()), {"auto": "compress"}).content_type == "image/png"
    masked = render(encode(quadrants()), {"auto": "compress", "mask": "ellipse"})
    assert masked.content_type == "image/png"


def test_auto_compress_keeps_an_explicit_q() -> None:
    data = encode(noisy())
    assert render(data, {"auto": "compress", "q": "90"}).body == render(data, {"fm": "jpg", "q": "90"}).body


def test_auto_values_combine_and_repeat() -> None:
    assert render(encode(quadrants()), {"auto": "compress,enhance"}).content_type == "image/jpeg"


def test_webp_lossless_is_exact() -> None:
    result = render(encode(quadrants()), {"fm": "webp", "lossless": "true"})
    assert Image.open(io.BytesIO(result.body)).convert("RGB").tobytes() == quadrants().tobytes()


def test_chromasub() -> None:
    assert render(encode(quadrants()), {"fm": "jpg", "chromasub": "444"}).content_type == "image/jpeg"


def test_icc_profile_written_unless_stripped() -> None:
    icc = srgb_profile()
    data = encode(quadrants(), "JPEG", icc_profile=icc)
    assert Image.open(io.BytesIO(render(data, {}).body)).info.get("icc_profile") == icc
    assert not Image.open(io.BytesIO(render(data, {"cs": "strip"}).body)).info.get("icc_profile")


@pytest.mark.parametrize(
    "params",
    [{"fm": "blurhash"}, {"fm": "mp4"}, {"fm": "tiff"}, {"auto": "magic"}, {"chromasub": "411"},
     {"fm": "jpg", "q": "high"}, {"cs": "cmyk"}],
)  # fmt: skip
def test_unsupported_or_invalid_output_values_are_a_400(params: dict[str, str]) -> None:
    with pytest.raises(RenderError) as caught:
        render(encode(quadrants()), params)
    assert caught.value.status == 400
