"""A metadata rendition through the whole local platform: relay, worker, renderer, AEM targets, I/O Events."""

from __future__ import annotations

from pathlib import Path

from local_platform.cases import run_cases
from local_platform.cases_rdf import rdf_properties
from local_platform.paths import ROOT
from local_platform.platform import LocalPlatform
from profiles import PROFILES_DIR, load_profile

NS = "{https://aem-imgix-renditions.github.io/ns/imgix/1.0/}"


def test_metadata_profile_and_case_on_the_local_platform(tmp_path: Path) -> None:
    source = ROOT / "tests" / "cases" / "metadata-xmp-colours" / "file.png"
    with LocalPlatform.start(log_dir=tmp_path / "logs") as platform, platform.asset_compute() as client:
        job = client.process_profile(source, load_profile(PROFILES_DIR / "imgix-metadata.yaml"), out_dir=tmp_path)
        cases = run_cases(client, ROOT / "tests" / "cases", tmp_path / "cases", None, select="metadata")
    (result,) = job.renditions
    assert result.event_type == "rendition_created", result.error_message
    assert result.problem is None and result.output is not None
    assert result.metadata["dc:format"] == "text/xml" and result.metadata["repo:size"] == result.output.stat().st_size
    found = rdf_properties(result.output)
    assert found[f"{NS}colorNames"] == ("navy", "gold", "crimson")  # 3 colours in the image, 6 asked for
    assert found[f"{NS}vibrantColorName"] == "gold" and found[f"{NS}faceCount"] == "0"
    assert [(o.name, o.status) for o in cases.outcomes] == [
        ("error-metadata-width", "passed"),
        ("metadata-xmp-colours", "passed"),
        ("metadata-xmp-faces", "passed"),  # faceCount 1: the renderer's fm=json finds the portrait's face
    ], cases.outcomes
