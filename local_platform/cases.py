"""Runs Asset Compute test-case folders, in the layout of Adobe's `aio asset-compute test-worker`, end to end.

One sub-folder per case (hidden folders ignored):

- `file.<ext>`: the source (first `file*` match); none → the case is skipped;
- `params.json`: the one rendition object sent; its `errorReason` is removed and becomes the expected error, and
  a missing `fmt` is taken from the expected rendition's extension;
- `rendition.<ext>`: the expected output, compared by similarity (`cases_compare`), or
- `validate`: a script run as `bash validate <expected> <actual>` instead (exit 0 = pass), with absolute paths
  and the case folder as working directory.

An expected error passes when the `rendition_failed` event's `errorReason` equals it, with or without the
`Error` suffix (`SourceCorrupt` = `SourceCorruptError`, as Adobe's runner accepts). `--update` records the actual
rendition as the expected one (like `aio asset-compute test-worker -u`). Exit status as Adobe's runner: 2 if a
case errored, 1 if one failed, 0 otherwise.

    python -m local_platform.cases tests/cases [--junit build/cases-junit.xml] [--update] [-k circle]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

from imgix_worker.redaction import redact
from local_platform.asset_compute import JobResult
from local_platform.cases_compare import compare_files, run_validate
from local_platform.cases_junit import write_junit

__all__ = ["Case", "CaseClient", "CaseOutcome", "CasesResult", "discover_cases", "load_case", "main", "run_cases"]


class CaseClient(Protocol):
    """What the runner needs from the Asset Compute stand-in (`AssetComputeClient` is one)."""

    def process(self, source: Path, renditions: Sequence[Mapping[str, object]], *, out_dir: Path) -> JobResult: ...


@dataclass(frozen=True)
class Case:
    """One test-case folder, read."""

    name: str
    directory: Path
    source: Path | None
    params: dict[str, Any] = field(default_factory=dict)
    expected_error: str | None = None
    expected: Path | None = None
    validate: Path | None = None
    invalid: str | None = None  # why the folder is not a valid case


@dataclass(frozen=True)
class CaseOutcome:
    name: str
    status: str  # passed | failed | error | skipped
    message: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class CasesResult:
    outcomes: list[CaseOutcome]

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def exit_code(self) -> int:
        return 2 if self.count("error") else 1 if self.count("failed") else 0


def _first(directory: Path, pattern: str) -> Path | None:
    matches = sorted(p for p in directory.glob(pattern) if p.is_file())
    return matches[0] if matches else None


def load_case(directory: Path) -> Case:
    """Read a case folder; problems are reported in `Case.invalid`, not raised."""
    source = _first(directory, "file*")
    expected = _first(directory, "rendition.*")
    validate = directory / "validate"
    case = Case(
        name=directory.name,
        directory=directory,
        source=source,
        expected=expected,
        validate=validate if validate.is_file() else None,
    )
    params: Any = {}
    params_file = directory / "params.json"
    if params_file.exists():
        try:
            params = json.loads(params_file.read_text(encoding="utf-8"))
        except ValueError as exc:
            return _replace(case, invalid=f"params.json is not JSON: {exc}")
        if not isinstance(params, dict):
            return _replace(case, invalid="params.json must be one rendition object")
    expected_error = params.pop("errorReason", None)
    if expected_error is not None and expected is not None:
        return _replace(case, invalid="Invalid test case: both errorReason and a rendition file")
    if "fmt" not in params and expected is not None:
        params["fmt"] = expected.suffix.removeprefix(".")
    return _replace(case, params=params, expected_error=expected_error)


def _replace(case: Case, **changes: Any) -> Case:
    return Case(**{**case.__dict__, **changes})


def discover_cases(cases_dir: Path, *, select: str | None = None) -> list[Case]:
    """Every non-hidden sub-folder of `cases_dir`, sorted; with `select`, only names containing it."""
    folders = sorted(p for p in cases_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    return [load_case(p) for p in folders if select is None or select in p.name]


def _reason_matches(expected: str, actual: str | None) -> bool:
    def normal(reason: str) -> str:
        return reason.replace("_", "").lower().removesuffix("error")

    return actual is not None and normal(expected) == normal(actual)


def _record(case: Case, actual: Path) -> str:
    extension = case.params.get("fmt") or actual.suffix.removeprefix(".")
    destination = case.expected or case.directory / f"rendition.{extension}"
    if destination.is_symlink():
        destination.unlink()  # record this case's own file, never overwrite a shared one
    shutil.copyfile(actual, destination)
    return f"recorded {destination.name}"


def run_case(client: CaseClient, case: Case, out_dir: Path, *, update: bool = False) -> CaseOutcome:
    """Run one case through `client` and judge it."""
    if case.invalid:
        return CaseOutcome(case.name, "error", case.invalid)
    if case.source is None:
        return CaseOutcome(case.name, "skipped", "no file.* source")
    if case.expected is None and case.expected_error is None and not update:
        return CaseOutcome(case.name, "error", "no rendition.* and no errorReason (record one with --update)")
    if update and case.expected_error is None and case.expected is None and "fmt" not in case.params:
        return CaseOutcome(case.name, "error", "cannot record a rendition: params.json has no fmt")
    started = time.monotonic()
    try:
        job = client.process(case.source, [case.params], out_dir=out_dir / case.name)
    except Exception as exc:  # any failure to run the job is this case's error, not the whole run's
        return CaseOutcome(case.name, "error", redact(f"{type(exc).__name__}: {exc}"), time.monotonic() - started)
    seconds = time.monotonic() - started
    [result] = job.renditions
    said = f"{result.event_type} {result.error_reason or ''} {result.error_message or ''}".strip()
    if result.problem:
        return CaseOutcome(case.name, "failed", f"worker broke the contract: {result.problem}", seconds)
    if case.expected_error is not None:
        if result.event_type == "rendition_failed" and _reason_matches(case.expected_error, result.error_reason):
            return CaseOutcome(case.name, "passed", seconds=seconds)
        return CaseOutcome(case.name, "failed", f"expected errorReason {case.expected_error}, got {said}", seconds)
    if result.event_type != "rendition_created" or result.output is None:
        return CaseOutcome(case.name, "failed", f"expected a rendition, got {said}", seconds)
    if update:
        return CaseOutcome(case.name, "passed", _record(case, result.output), seconds)
    assert case.expected is not None  # checked above: without --update a case has one or an errorReason
    problem = (
        run_validate(case.validate, case.expected, result.output)
        if case.validate
        else compare_files(case.expected, result.output)
    )
    if problem:
        return CaseOutcome(case.name, "failed", f"{problem} (actual: {result.output})", seconds)
    return CaseOutcome(case.name, "passed", seconds=seconds)


def run_cases(
    client: CaseClient,
    cases_dir: Path,
    out_dir: Path,
    junit_path: Path | None,
    *,
    update: bool = False,
    select: str | None = None,
    report: TextIO | None = None,
) -> CasesResult:
    """Run every case under `cases_dir`, write JUnit XML to `junit_path`, and print one line per case to `report`."""
    outcomes = []
    for case in discover_cases(cases_dir, select=select):
        outcome = run_case(client, case, out_dir, update=update)
        outcomes.append(outcome)
        if report:
            detail = f": {outcome.message}" if outcome.message else ""
            report.write(f"{outcome.status.upper():7} {case.name} ({outcome.seconds:.2f}s){detail}\n")
            report.flush()
    result = CasesResult(outcomes)
    if junit_path is not None:
        write_junit(outcomes, junit_path)
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m local_platform.cases", description=__doc__.split("\n\n")[0])
    parser.add_argument("cases_dir", type=Path, help="folder of test-case folders")
    parser.add_argument("--junit", type=Path, default=Path("build/cases-junit.xml"), help="JUnit XML report")
    parser.add_argument("--out", type=Path, default=Path("build/cases"), help="where actual renditions are kept")
    parser.add_argument("--update", "-u", action="store_true", help="record actual renditions as expected")
    parser.add_argument("-k", dest="select", help="only cases whose name contains this")
    parser.add_argument(
        "--env-file", type=Path, help="use the platform already running (`make up`) instead of starting one"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.cases_dir.is_dir():
        sys.stderr.write(f"error: {args.cases_dir} is not a folder\n")
        return 2

    def run(client: CaseClient) -> CasesResult:
        return run_cases(
            client, args.cases_dir, args.out, args.junit, update=args.update, select=args.select, report=sys.stderr
        )

    if args.env_file:
        from local_platform.asset_compute import AssetComputeClient
        from local_platform.asset_compute_cli import read_env_file
        from local_platform.ims import LocalIms

        with AssetComputeClient.from_env(read_env_file(args.env_file), ims=LocalIms.load()) as client:
            result = run(client)
    else:
        from local_platform.platform import LocalPlatform

        with LocalPlatform.start() as platform, platform.asset_compute() as client:
            result = run(client)
    print(
        f"{len(result.outcomes)} cases: {result.count('passed')} passed, {result.count('failed')} failed, "
        f"{result.count('error')} errors, {result.count('skipped')} skipped; JUnit: {args.junit}"
    )
    return result.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
