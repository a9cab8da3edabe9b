"""The test-case runner: discovery, params, judging, --update and JUnit, with a fake client; then one real run."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from local_platform.asset_compute import AssetComputeClient, JobResult, RenditionResult
from local_platform.cases import CaseOutcome, CasesResult, discover_cases, load_case, run_case, run_cases
from local_platform.cases_compare import compare_files

Produce = Callable[[Path, Mapping[str, object], Path], RenditionResult]


class FakeClient:
    """Answers each job with what `produce(source, rendition, out_dir)` returns; records the renditions sent."""

    def __init__(self, produce: Produce) -> None:
        self.produce = produce
        self.sent: list[Mapping[str, object]] = []

    def process(self, source: Path, renditions: Sequence[Mapping[str, object]], *, out_dir: Path) -> JobResult:
        self.sent.extend(renditions)
        out_dir.mkdir(parents=True, exist_ok=True)
        return JobResult(source, "image/jpeg", "req", "act", [self.produce(source, renditions[0], out_dir)])


def picture(path: Path, *, size: tuple[int, int] = (64, 48), shift: int = 0, fmt: str | None = None) -> Path:
    image = Image.new("RGB", size, (40 + shift, 90, 160))
    ImageDraw.Draw(image).ellipse((10, 8, 40, 38), fill=(230, 190 + shift, 150))
    image.save(path, format=fmt)
    return path


def copy_of(expected_name: str) -> Produce:
    """A worker whose rendition is the case's own file named `expected_name` (or the source)."""

    def produce(source: Path, rendition: Mapping[str, object], out_dir: Path) -> RenditionResult:
        original = source.parent / expected_name
        output = out_dir / f"rendition0.{rendition.get('fmt', 'bin')}"
        shutil.copyfile(original if original.exists() else source, output)
        return RenditionResult(name=output.name, event_type="rendition_created", target_kind="multipart", output=output)

    return produce


def failing(reason: str, *, problem: str | None = None) -> Produce:
    def produce(source: Path, rendition: Mapping[str, object], out_dir: Path) -> RenditionResult:
        return RenditionResult(
            name="rendition0",
            event_type="rendition_failed",
            target_kind="multipart",
            error_reason=reason,
            error_message="no",
            problem=problem,
        )

    return produce


def make_case(root: Path, name: str, *, params: object = None, source: bool = True, rendition: str | None = None):
    folder = root / name
    folder.mkdir(parents=True)
    if source:
        picture(folder / "file.jpg")
    if params is not None:
        (folder / "params.json").write_text(json.dumps(params))
    if rendition:
        picture(folder / rendition)
    return folder


# --- discovery and params ---


def test_discovery_sorts_and_ignores_hidden_folders_and_files(tmp_path: Path) -> None:
    make_case(tmp_path, "b-case", rendition="rendition.png")
    make_case(tmp_path, "a-case", rendition="rendition.png")
    make_case(tmp_path, ".hidden", rendition="rendition.png")
    (tmp_path / "shared.jpg").write_bytes(b"shared sources live beside the cases")
    assert [c.name for c in discover_cases(tmp_path)] == ["a-case", "b-case"]
    assert [c.name for c in discover_cases(tmp_path, select="b-")] == ["b-case"]


def test_params_become_the_rendition_and_error_reason_is_taken_out(tmp_path: Path) -> None:
    case = load_case(make_case(tmp_path, "err", params={"fmt": "png", "w": "-5", "errorReason": "SourceCorrupt"}))
    assert case.params == {"fmt": "png", "w": "-5"}
    assert case.expected_error == "SourceCorrupt" and case.expected is None and case.invalid is None
    assert case.source == tmp_path / "err" / "file.jpg"


def test_fmt_comes_from_the_expected_rendition(tmp_path: Path) -> None:
    case = load_case(make_case(tmp_path, "c", params={"size": "200"}, rendition="rendition.png"))
    assert case.params == {"size": "200", "fmt": "png"}
    kept = load_case(make_case(tmp_path, "d", params={"fmt": "jpg"}, rendition="rendition.png"))
    assert kept.params["fmt"] == "jpg"


def test_shared_source_through_a_symlink(tmp_path: Path) -> None:
    picture(tmp_path / "photo.jpg")
    folder = make_case(tmp_path, "linked", source=False, rendition="rendition.jpg")
    (folder / "file.jpg").symlink_to("../photo.jpg")
    assert load_case(folder).source == folder / "file.jpg"


@pytest.mark.parametrize(
    ("params", "rendition", "problem"),
    [
        ({"errorReason": "SourceCorrupt"}, "rendition.png", "both errorReason and a rendition"),
        (["not", "an", "object"], None, "one rendition object"),
    ],
)
def test_invalid_cases_are_errors(tmp_path: Path, params: object, rendition: str | None, problem: str) -> None:
    case = load_case(make_case(tmp_path, "bad", params=params, rendition=rendition))
    assert case.invalid and problem in case.invalid
    outcome = run_case(FakeClient(copy_of("x")), case, tmp_path / "out")
    assert outcome.status == "error"


def test_case_without_source_is_skipped(tmp_path: Path) -> None:
    client = FakeClient(copy_of("x"))
    outcome = run_case(client, load_case(make_case(tmp_path, "empty", source=False)), tmp_path / "out")
    assert outcome.status == "skipped" and client.sent == []


# --- comparison ---


def test_similar_images_match_and_different_ones_do_not(tmp_path: Path) -> None:
    base = picture(tmp_path / "a.png")
    assert compare_files(base, picture(tmp_path / "b.png", shift=3)) is None
    assert "mean pixel difference" in (compare_files(base, picture(tmp_path / "c.png", shift=60)) or "")
    assert "size 32x24, expected 64x48" == compare_files(base, picture(tmp_path / "d.png", size=(32, 24)))
    assert "format JPEG, expected PNG" == compare_files(base, picture(tmp_path / "e.jpg"))


def test_hidden_colour_of_transparent_pixels_does_not_count(tmp_path: Path) -> None:
    Image.new("RGBA", (20, 20), (255, 0, 0, 0)).save(tmp_path / "a.png")
    Image.new("RGBA", (20, 20), (0, 255, 0, 0)).save(tmp_path / "b.png")
    Image.new("RGBA", (20, 20), (0, 255, 0, 255)).save(tmp_path / "c.png")
    assert compare_files(tmp_path / "a.png", tmp_path / "b.png") is None
    assert compare_files(tmp_path / "a.png", tmp_path / "c.png") is not None


def test_non_images_must_be_equal(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_text("<x/>")
    (tmp_path / "b.xml").write_text("<x/>")
    (tmp_path / "c.xml").write_text("<y/>")
    assert compare_files(tmp_path / "a.xml", tmp_path / "b.xml") is None
    assert compare_files(tmp_path / "a.xml", tmp_path / "c.xml") == "contents differ"
    assert "not an image" in (compare_files(picture(tmp_path / "p.png"), tmp_path / "a.xml") or "")


# --- judging ---


def test_matching_rendition_passes(tmp_path: Path) -> None:
    case = load_case(make_case(tmp_path, "ok", params={"w": "10"}, rendition="rendition.png"))
    client = FakeClient(copy_of("rendition.png"))
    assert run_case(client, case, tmp_path / "out").status == "passed"
    assert client.sent == [{"w": "10", "fmt": "png"}]


def test_different_rendition_fails_and_names_the_actual_file(tmp_path: Path) -> None:
    folder = make_case(tmp_path, "differs", rendition="rendition.png")
    picture(folder / "other.png", shift=80)
    outcome = run_case(FakeClient(copy_of("other.png")), load_case(folder), tmp_path / "out")
    assert outcome.status == "failed"
    assert "mean pixel difference" in outcome.message and str(tmp_path / "out" / "differs") in outcome.message


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        ("SourceCorrupt", "SourceCorrupt"),
        ("SourceCorruptError", "SourceCorrupt"),
        ("RenditionInstructionsError", "RenditionInstructionsError"),
        ("rendition_instructions_error", "RenditionInstructionsError"),
    ],
)
def test_expected_error_passes_with_or_without_suffix(tmp_path: Path, expected: str, actual: str) -> None:
    case = load_case(make_case(tmp_path, "e", params={"errorReason": expected}))
    assert run_case(FakeClient(failing(actual)), case, tmp_path / "out").status == "passed"


def test_other_error_or_a_rendition_fails_an_error_case(tmp_path: Path) -> None:
    case = load_case(make_case(tmp_path, "e", params={"fmt": "png", "errorReason": "SourceCorrupt"}))
    wrong = run_case(FakeClient(failing("GenericError")), case, tmp_path / "out")
    assert wrong.status == "failed" and "got rendition_failed GenericError" in wrong.message
    created = run_case(FakeClient(copy_of("file.jpg")), case, tmp_path / "out")
    assert created.status == "failed" and "got rendition_created" in created.message


def test_unexpected_failure_and_contract_problems_fail(tmp_path: Path) -> None:
    case = load_case(make_case(tmp_path, "ok", rendition="rendition.png"))
    assert run_case(FakeClient(failing("SourceCorrupt")), case, tmp_path / "out").status == "failed"
    error_case = load_case(make_case(tmp_path, "e", params={"errorReason": "SourceCorrupt"}))
    leaky = run_case(
        FakeClient(failing("SourceCorrupt", problem="the event carries a credential")), error_case, tmp_path
    )
    assert leaky.status == "failed" and "credential" in leaky.message


def test_client_exception_is_an_error_with_a_redacted_message(tmp_path: Path) -> None:
    def explode(source: Path, rendition: Mapping[str, object], out_dir: Path) -> RenditionResult:
        raise RuntimeError("worker answered 500 for https://localhost:1/aem/x?sv=1&sig=SECRET")

    outcome = run_case(FakeClient(explode), load_case(make_case(tmp_path, "x", rendition="rendition.png")), tmp_path)
    assert outcome.status == "error" and "SECRET" not in outcome.message


def test_validate_script_decides_instead_of_comparison(tmp_path: Path) -> None:
    folder = make_case(tmp_path, "v", rendition="rendition.png")
    picture(folder / "other.png", shift=80)
    (folder / "validate").write_text('test "$(basename "$1")" = rendition.png && test -s "$2"\n')
    assert run_case(FakeClient(copy_of("other.png")), load_case(folder), tmp_path / "out").status == "passed"
    (folder / "validate").write_text("echo too dark; exit 3\n")
    outcome = run_case(FakeClient(copy_of("other.png")), load_case(folder), tmp_path / "out")
    assert outcome.status == "failed" and "validate exited 3: too dark" in outcome.message


def test_validate_reads_both_files_by_absolute_paths_from_the_case_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run from the repository with relative folders (as `make cases` does): the script still opens both files."""
    monkeypatch.chdir(tmp_path)
    folder = make_case(Path("cases"), "reads", rendition="rendition.png")
    shutil.copyfile(folder / "rendition.png", folder / "same.png")
    (folder / "validate").write_text(
        'case "$1$2" in /*/*) ;; *) echo "not absolute: $1 $2"; exit 4;; esac\n'
        'test -f params.json || test -f file.jpg || { echo "not run in the case folder"; exit 5; }\n'
        'cmp "$1" "$2"\n'
    )
    outcome = run_case(FakeClient(copy_of("same.png")), load_case(folder), Path("build/cases"))
    assert outcome.status == "passed", outcome.message
    picture(folder / "other.png", shift=80)
    differs = run_case(FakeClient(copy_of("other.png")), load_case(folder), Path("build/cases"))
    assert differs.status == "failed" and "validate exited 1" in differs.message


def test_update_records_the_actual_rendition(tmp_path: Path) -> None:
    folder = make_case(tmp_path, "new", params={"fmt": "png"})
    picture(folder / "made.png", shift=50)
    client = FakeClient(copy_of("made.png"))
    assert run_case(client, load_case(folder), tmp_path / "out").status == "error"  # nothing to compare with
    outcome = run_case(client, load_case(folder), tmp_path / "out", update=True)
    assert outcome.status == "passed" and outcome.message == "recorded rendition.png"
    assert (folder / "rendition.png").read_bytes() == (folder / "made.png").read_bytes()
    assert run_case(client, load_case(folder), tmp_path / "out").status == "passed"


def test_update_replaces_a_symlinked_expectation_not_its_target(tmp_path: Path) -> None:
    shared = picture(tmp_path / "shared.png")
    folder = make_case(tmp_path, "linked")
    (folder / "rendition.png").symlink_to("../shared.png")
    picture(folder / "made.png", shift=50)
    run_case(FakeClient(copy_of("made.png")), load_case(folder), tmp_path / "out", update=True)
    assert not (folder / "rendition.png").is_symlink()
    assert shared.read_bytes() != (folder / "rendition.png").read_bytes()


def test_update_needs_a_format(tmp_path: Path) -> None:
    outcome = run_case(FakeClient(copy_of("x")), load_case(make_case(tmp_path, "n")), tmp_path, update=True)
    assert outcome.status == "error" and "fmt" in outcome.message


# --- the run and its report ---


def test_run_writes_junit_and_sets_the_exit_code(tmp_path: Path) -> None:
    cases = tmp_path / "cases"
    make_case(cases, "1-passes", params={"errorReason": "SourceCorrupt"})
    make_case(cases, "2-fails", params={"errorReason": "RenditionFormatUnsupported"})
    make_case(cases, "3-skipped", source=False)
    junit = tmp_path / "build" / "junit.xml"
    result = run_cases(FakeClient(failing("SourceCorrupt")), cases, tmp_path / "out", junit)
    assert [o.status for o in result.outcomes] == ["passed", "failed", "skipped"]
    assert result.exit_code == 1
    suite = ET.parse(junit).getroot().find("testsuite")  # noqa: S314 - our own file
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == (
        "3",
        "1",
        "0",
        "1",
    )
    names = [c.get("name") for c in suite.iter("testcase")]
    assert names == ["1-passes", "2-fails", "3-skipped"]
    failure = suite.find("testcase[@name='2-fails']/failure")
    assert failure is not None and "expected errorReason RenditionFormatUnsupported" in (failure.get("message") or "")


def test_exit_codes_follow_adobes_runner() -> None:
    assert CasesResult([CaseOutcome("a", "passed"), CaseOutcome("b", "skipped")]).exit_code == 0
    assert CasesResult([CaseOutcome("a", "failed")]).exit_code == 1
    assert CasesResult([CaseOutcome("a", "failed"), CaseOutcome("b", "error")]).exit_code == 2


@pytest.mark.azurite
def test_cases_run_through_the_real_client(client: AssetComputeClient, tmp_path: Path) -> None:
    """A copy worker (the fake) passes a byte-copy case and an expected-error case, over Azurite and I/O Events."""
    cases = tmp_path / "cases"
    copy = make_case(cases, "copy", params={"name": "copy.jpg"})
    shutil.copyfile(copy / "file.jpg", copy / "rendition.jpg")
    make_case(cases, "broken", params={"fake": "fail", "errorReason": "SourceCorruptError"})
    result = run_cases(client, cases, tmp_path / "out", tmp_path / "junit.xml")
    assert [(o.name, o.status) for o in result.outcomes] == [("broken", "passed"), ("copy", "passed")]
    assert (tmp_path / "out" / "copy" / "copy.jpg").exists()


def test_shipped_cases_are_well_formed() -> None:
    cases = discover_cases(Path(__file__).parents[1] / "cases")
    assert len(cases) >= 10
    for case in cases:
        assert case.invalid is None, case.name
        assert case.source is not None and case.source.exists(), case.name
        assert case.expected_error is not None or "fmt" in case.params, case.name
