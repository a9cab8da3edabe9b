"""`render()` as a whole: decoding and refusals, pass-through, unknown parameters, aliases, expiry, fallbacks."""

from __future__ import annotations

import base64
import time

import pytest
from PIL import Image

from local_platform.renderer import RenderError, faces, fallbacks, render

from .bombs import png_declaring
from .images import GREEN, RED, encode, near, quadrants, run


def status_of(data: bytes, params: dict[str, str] | None = None, **kwargs: object) -> int:
    with pytest.raises(RenderError) as caught:
        render(data, params or {}, **kwargs)  # type: ignore[arg-type]
    assert "Traceback" not in caught.value.message
    return caught.value.status


def test_decompression_bomb_is_refused_before_decoding() -> None:
    bomb = png_declaring(50_000, 50_000)
    assert len(bomb) < 1000
    assert status_of(bomb) == 422
    assert status_of(png_declaring(2_000, 2_000), max_pixels=3_000_000) == 422  # refused from the header alone


def test_pixel_limit_is_configurable() -> None:
    assert status_of(encode(quadrants()), max_pixels=100_000) == 422
    with pytest.raises(RenderError) as caught:
        render(encode(quadrants()), {}, max_pixels=100_000)
    assert "megapixels" in caught.value.message


def test_truncated_image_is_a_421() -> None:
    data = encode(Image.effect_noise((300, 300), 50).convert("RGB"), "PNG")
    assert status_of(data[: len(data) // 2]) == 421
    jpeg = encode(Image.effect_noise((300, 300), 50).convert("RGB"), "JPEG")
    assert status_of(jpeg[: len(jpeg) // 3]) == 421


def test_garbage_claiming_to_be_an_image_is_a_421() -> None:
    assert status_of(b"this is not a jpeg at all", content_type="image/jpeg") == 421
    assert status_of(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, content_type="application/octet-stream") == 421


def test_other_content_passes_through_untouched() -> None:
    text = b"<html>not an image</html>"
    result = render(text, {"w": "100"}, content_type="text/html")
    assert result.passed_through and result.body == text and result.content_type == "text/html"
    pdf = b"%PDF-1.4 ..."
    assert render(pdf, {}, content_type="application/pdf").body == pdf


def test_unknown_parameters_are_ignored() -> None:
    data = encode(quadrants())
    assert render(data, {"ixlib": "python-4.0.0", "foo": "bar", "w": "100"}).body == render(data, {"w": "100"}).body


def test_base64_and_aliases_end_to_end() -> None:
    def b64(text: str) -> str:
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    data = encode(quadrants())
    assert run(data, {"w64": b64("100"), "h64": b64("100"), "fit64": b64("crop")}).size == (100, 100)
    assert run(data, {"width": "100", "height": "100", "f": "crop"}).size == (100, 100)
    assert status_of(data, {"w64": "!!"}) == 400


def test_expires() -> None:
    data = encode(quadrants())
    assert status_of(data, {"expires": str(int(time.time()) - 10)}) == 404
    assert run(data, {"expires": str(int(time.time()) + 3600)}).size == (400, 300)


def test_sixteen_bit_grey_and_palette_sources() -> None:
    grey16 = Image.linear_gradient("L").convert("I").point(lambda v: v * 256).convert("I;16")
    image = run(encode(grey16), {})
    assert image.getpixel((0, 255))[0] > 240 and image.getpixel((0, 0))[0] < 10
    palette = quadrants().convert("P")
    assert near(run(encode(palette), {}).getpixel((5, 5)), RED)


def test_animated_gif_renders_its_first_frame_and_keeps_gif_with_compress() -> None:
    frames = [Image.new("RGB", (40, 40), RED), Image.new("RGB", (40, 40), GREEN)]
    out = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    result = render(out, {"auto": "compress"})
    assert result.content_type == "image/gif"
    assert near(run(out, {}).convert("RGB").getpixel((5, 5)), RED)


def test_full_pipeline_in_one_request() -> None:
    params = {
        "rect": "0,0,400,300", "w": "120", "h": "120", "fit": "crop", "crop": "faces,entropy", "bri": "5",
        "sharp": "10", "blur": "2", "flip": "h", "rot": "10", "mask": "corners", "pad": "4", "bg": "fff", "fm": "webp",
    }  # fmt: skip
    result = render(encode(quadrants()), params)
    assert (result.width, result.height, result.content_type) == (120, 120, "image/webp")


def test_fallbacks_describe_local_differences(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(faces, "available", lambda: True)  # as with OpenCV installed (requirements.txt)
    notes = fallbacks(
        {"fit": "crop", "crop": "faces,entropy", "mark": "https://assets.imgix.net/logo.png", "txt": "hi",
         "trim": "auto", "trim-md": "5", "ixlib": "python-4.0.0", "auto": "enhance,format"}
    )  # fmt: skip
    assert not any("faces" in n for n in notes)  # OpenCV looks for faces (tests/renderer/test_faces.py)
    assert "mark: an image at another host, not fetched locally, left out" in notes
    assert not any(n.startswith("txt") for n in notes)  # drawn with Pillow's font (tests/renderer/test_overlays.py)
    assert "auto=enhance: not applied locally" in notes
    assert sum("trim" in n for n in notes) == 1
    assert not any("ixlib" in n for n in notes)


def test_fallbacks_for_faces_without_a_smart_mode_and_for_facearea(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(faces, "available", lambda: False)  # as where OpenCV is not installed
    assert fallbacks({"fit": "crop", "crop": "faces"}) == ["crop=faces: no face detection locally, used a centred crop"]
    assert fallbacks({"fit": "crop", "crop": "faces,top"}) == ["crop=faces: no face detection locally, used top anchor"]
    assert "fit=facearea: no face detection locally, used fit=fill" in fallbacks({"fit": "facearea,fill"})


def test_fallbacks_are_empty_for_what_renders_locally() -> None:
    assert fallbacks({"w": "300", "h": "300", "fit": "crop", "mask": "ellipse", "fm": "png", "bri": "10"}) == []
    assert fallbacks({"w64": "!!"}) == []  # invalid: a 400, not a fallback


def test_fallbacks_for_generative_fills_and_mask_images() -> None:
    notes = fallbacks({"fit": "fill", "fill": "gen", "fill-gen-prompt": "a beach", "mask": "https://x/m.png"})
    assert notes == [
        "mask: an image at another host, not fetched locally, left out",
        "fill=gen: not available locally, used a solid fill-color",
    ]
