"""Processing profiles as code (`profiles/`): the loader's rules and the shipped metadata profile."""

from __future__ import annotations

from pathlib import Path

import pytest

from profiles import PROFILES_DIR, ProfileError, load_profile


def test_the_metadata_profile_is_aems_create_metadata_rendition() -> None:
    (spec,) = load_profile(PROFILES_DIR / "imgix-metadata.yaml").renditions
    assert spec.metadata_rendition and spec.extension == "xml"
    assert spec.instructions() == {"name": "imgix-metadata.xml", "fmt": "xml", "faces": "1", "colors": "6"}
    assert not any(s.metadata_rendition for s in load_profile(PROFILES_DIR / "wknd.yaml").renditions)


@pytest.mark.parametrize(
    "row",
    ["extension: png\n    createMetadataRendition: true", "extension: xml\n    createMetadataRendition: yes please"],
)
def test_a_metadata_rendition_must_be_xml_and_a_boolean(tmp_path: Path, row: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"name: Bad\nrenditions:\n  - name: m\n    {row}\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="createMetadataRendition"):
        load_profile(path)
