"""The demo's metadata view: XMP properties for report.json, the contact-sheet panel, the table line, the notes."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_platform.demo_metadata import is_xmp, metadata_notes, metadata_panel, one_line, xmp_summary
from local_platform.renderer import faces
from profiles import PROFILES_DIR, RenditionSpec, load_profile

CASE = Path(__file__).parents[1] / "cases" / "metadata-xmp-colours"


def test_summary_panel_and_line_show_the_key_values_and_colours() -> None:
    xmp = CASE / "rendition.xml"
    assert is_xmp(xmp) and not is_xmp(CASE / "file.png") and not is_xmp(None)
    summary = xmp_summary(xmp)
    assert summary["colorNames"] == ["navy", "gold", "crimson"] and summary["pixelWidth"] == "240"
    panel = metadata_panel(summary)
    assert "<th>Source size</th><td>240x160</td>" in panel and "<th>DPI</th><td>300x300</td>" in panel
    assert 'style="background:#ffd700"' in panel and "vibrant: gold" in panel and "crimson" in panel
    assert one_line(summary) == "xmp: source 240x160 RGB, colours navy, gold, crimson; vibrant gold"


def test_panel_escapes_what_it_shows() -> None:
    colours = ['#000000"><b', "#123456"]
    panel = metadata_panel({"iccProfileName": "<script>", "colors": colours, "colorNames": ["x", "y"]})
    assert "<script>" not in panel and "#000000" not in panel  # only #rrggbb reaches a style attribute
    assert 'style="background:#123456"' in panel


def test_no_face_note_where_opencv_finds_faces() -> None:
    (spec,) = load_profile(PROFILES_DIR / "imgix-metadata.yaml").renditions
    assert spec.parameters["faces"] == "1" and faces.available()  # opencv-python-headless: requirements.txt
    assert metadata_notes(spec) == []


def test_notes_say_faces_are_not_found_without_opencv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(faces, "available", lambda: False)  # as where OpenCV is not installed
    (spec,) = load_profile(PROFILES_DIR / "imgix-metadata.yaml").renditions
    (note,) = metadata_notes(spec)
    assert note == "faces=1: OpenCV is not installed, so the local renderer finds no face and faceCount is 0"
    assert metadata_notes(RenditionSpec(name="m", extension="xml", parameters={"faces": "0"})) == []
