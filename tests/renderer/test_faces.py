"""Face detection with OpenCV: `crop=faces` and `fit=facearea` on the demo's portrait, fallbacks without a face.

The sample portrait (local_platform/samples/README.md) has one face, centred near (900, 400) of 1600x1200.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageFilter, ImageStat

from local_platform.paths import SAMPLES_DIR
from local_platform.renderer import faces, render
from local_platform.renderer.cropping import window
from local_platform.renderer.params import Params

from .images import encode, quadrants, run

pytestmark = pytest.mark.skipif(not faces.available(), reason="opencv-python-headless is not installed")

PORTRAIT = SAMPLES_DIR / "portrait-landscape.jpg"


@pytest.fixture(scope="module")
def portrait() -> Image.Image:
    with Image.open(PORTRAIT) as image:
        return image.convert("RGB")


def centre(box: tuple[float, float, float, float]) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def test_the_portraits_face_is_found(portrait: Image.Image) -> None:
    [face] = faces.detect(portrait)
    x, y = centre(face)
    assert abs(x - 900) < 60 and abs(y - 420) < 60
    assert 250 < face[2] - face[0] < 450  # the head, not the whole figure


def test_no_face_in_a_drawing_of_squares() -> None:
    assert faces.detect(quadrants(800, 600)) == []


def test_crop_faces_centres_the_window_on_the_face(portrait: Image.Image) -> None:
    box = window(portrait, (400, 1200), Params({"crop": "faces,entropy"}))
    assert abs(centre(box)[0] - 900) < 60
    assert box == window(portrait, (400, 1200), Params({"crop": "faces"}))
    # A window at the image's edge stays inside it.
    assert window(portrait, (1500, 1200), Params({"crop": "faces"}))[0] == pytest.approx(100)


def test_crop_faces_without_a_face_moves_on_along_the_chain() -> None:
    data = encode(quadrants(800, 200))
    assert render(data, {"w": "100", "h": "100", "fit": "crop", "crop": "faces,right"}).body == (
        render(data, {"w": "100", "h": "100", "fit": "crop", "crop": "right"}).body
    )


def test_facearea_scales_the_face_to_the_box(portrait: Image.Image) -> None:
    data = PORTRAIT.read_bytes()
    out = run(data, {"fit": "facearea", "w": "300", "h": "300"})
    assert out.size == (300, 300)
    # The face fills the frame: the skin tone of the cheeks, not the red jumper or the sky, is in the middle.
    r, g, b = out.getpixel((150, 170))[:3]
    assert r > g > b and r > 180
    whole = run(data, {"fit": "crop", "w": "300", "h": "300"})
    assert whole.getpixel((150, 170)) != out.getpixel((150, 170))


def test_facepad_and_aspect_ratio_widen_the_area(portrait: Image.Image) -> None:
    tight = faces.area(portrait, Params({}), 1.0)
    padded = faces.area(portrait, Params({"facepad": "2"}), 2.0)
    assert tight is not None and padded is not None
    assert (padded[2] - padded[0]) / (padded[3] - padded[1]) == pytest.approx(2.0)
    assert padded[3] - padded[1] == pytest.approx(2 * (tight[3] - tight[1]), rel=0.02)
    assert run(PORTRAIT.read_bytes(), {"fit": "facearea", "facepad": "2", "h": "150"}).size == (150, 150)


def test_facearea_without_a_face_uses_the_fallback_fit() -> None:
    data = encode(quadrants(400, 200))
    assert run(data, {"fit": "facearea,fill", "w": "100", "h": "100"}).size == (100, 100)
    assert render(data, {"fit": "facearea", "w": "100", "h": "100"}).body == (
        render(data, {"fit": "crop", "w": "100", "h": "100"}).body
    )
    # faceindex past the faces found: no face either.
    assert faces.area(Image.open(Path(PORTRAIT)).convert("RGB"), Params({"faceindex": "2"}), None) is None


def test_face_pixel_and_face_blur_hide_the_face_only() -> None:
    data = PORTRAIT.read_bytes()
    plain, pixelated, blurred = (
        run(data, {"w": "800", "fm": "png", **extra}) for extra in ({}, {"face-pixel": "20"}, {"face-blur": "60"})
    )
    [face] = faces.detect(plain)
    inner = (round(face[0]) + 20, round(face[1]) + 20, round(face[2]) - 20, round(face[3]) - 20)  # inside any box

    def colours(image: Image.Image) -> int:
        return len(image.crop(inner).getcolors(1 << 20) or [])

    # 20-px blocks: about one colour per block, where the drawing with its film grain has thousands.
    blocks = ((inner[2] - inner[0]) // 20 + 2) * ((inner[3] - inner[1]) // 20 + 2)
    assert colours(pixelated) <= blocks < colours(plain) / 5
    for hidden in (pixelated, blurred):
        assert hidden.crop((0, 0, 100, 100)).tobytes() == plain.crop((0, 0, 100, 100)).tobytes()  # the sky as it was

    def edges(image: Image.Image) -> float:
        return ImageStat.Stat(image.crop(inner).convert("L").filter(ImageFilter.FIND_EDGES)).mean[0]

    assert edges(blurred) < edges(plain) / 2
