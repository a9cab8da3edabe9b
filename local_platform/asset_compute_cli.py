"""`python -m local_platform.asset_compute process <file-or-folder> --profile <yaml> --out <dir> [--single-put]`.

Sends each file to the running local platform (URLs from `.local/env`, written by `make up`) as AEM would with
the given Processing Profile, draws a progress bar on stderr, prints a summary table and exits 1 if a
rendition failed (skipped ones do not count), 2 if the platform could not be used at all.
Renditions land in `<out>/<file name>/<rendition name>`, as under an asset in AEM.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

import httpx
from azure.core.exceptions import AzureError

from imgix_worker.redaction import redact
from local_platform.asset_compute import AssetComputeClient, AssetComputeError, JobResult, RenditionResult
from local_platform.asset_compute_storage import TargetOptions
from local_platform.ims import LocalIms
from local_platform.paths import ENV_FILE
from profiles import Profile, ProfileError, load_profile

__all__ = ["ProgressBar", "main", "read_env_file", "source_files", "summary_table"]


def read_env_file(path: Path) -> dict[str, str]:
    """Shell-style `KEY=VALUE` lines (quotes allowed, `#` comments, optional `export`)."""
    env: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        words = shlex.split(line, comments=True)
        if words and words[0] == "export":
            words = words[1:]
        for word in words:
            key, sep, value = word.partition("=")
            if sep and key:
                env[key] = value
    return env


def source_files(path: Path) -> list[Path]:
    """`path` itself, or every non-hidden file under the folder `path`, sorted."""
    if path.is_file():
        return [path]
    return sorted(
        p
        for p in path.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
    )


class ProgressBar:
    """A one-line bar redrawn in place on a terminal; one line per step otherwise (logs, CI)."""

    WIDTH = 30

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = max(total, 1)
        self.done = 0
        self._stream = stream
        self._tty = stream.isatty()

    def advance(self, label: str) -> None:
        self.done += 1
        filled = self.WIDTH * self.done // self.total
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        text = redact(f"[{bar}] {self.done}/{self.total} {label}")
        if self._tty:
            self._stream.write("\r" + text[:120].ljust(120))
        else:
            self._stream.write(text + "\n")
        self._stream.flush()

    def close(self) -> None:
        if self._tty:
            self._stream.write("\n")
            self._stream.flush()


def _outcome(result: RenditionResult) -> str:
    outcome = {"rendition_created": "created", "rendition_failed": "FAILED", "timeout": "TIMEOUT"}.get(
        result.event_type, result.event_type
    )
    return outcome + (" (!)" if result.problem else "")


def summary_table(jobs: Iterable[JobResult]) -> str:
    """One row per rendition: file, rendition, outcome, seconds, target kind, and output path or error."""
    rows = [("FILE", "RENDITION", "RESULT", "SECONDS", "TARGET", "OUTPUT / ERROR")]
    for job in jobs:
        for r in job.renditions:
            detail = str(r.output) if r.output else " ".join(filter(None, [r.error_reason, r.error_message]))
            if r.problem:
                detail = f"{detail} [{r.problem}]".strip()
            seconds = f"{r.seconds:.2f}" if r.event_type != "skipped" else "-"
            rows.append((job.source.name, r.name, _outcome(r), seconds, r.target_kind, detail or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row[:5], widths, strict=True)) + "  " + row[5] for row in rows]
    return redact("\n".join(lines))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m local_platform.asset_compute", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    process = commands.add_parser("process", help="send files through the worker as AEM would")
    process.add_argument("path", type=Path, help="an asset file, or a folder of them")
    process.add_argument("--profile", type=Path, default=Path("profiles/wknd.yaml"), help="Processing Profile YAML")
    process.add_argument("--out", type=Path, default=Path("out"), help="where renditions are written")
    process.add_argument("--single-put", action="store_true", help="one PUT URL per rendition, not block URLs")
    process.add_argument("--env-file", type=Path, default=ENV_FILE, help="the running platform's URLs (make up)")
    process.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for a job's events")
    return parser


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out, err = stdout or sys.stdout, stderr or sys.stderr
    args = _parser().parse_args(argv)
    try:
        profile: Profile = load_profile(args.profile)
        env = read_env_file(args.env_file)
    except (OSError, ProfileError) as exc:
        err.write(f"error: {exc}\n(is the platform up? `make up` writes {ENV_FILE})\n")
        return 2
    files = source_files(args.path)
    if not files:
        err.write(f"error: no files at {args.path}\n")
        return 2
    targets = TargetOptions(kind="single" if args.single_put else "multipart")
    bar = ProgressBar(len(files) * len(profile.renditions), err)
    jobs: list[JobResult] = []
    try:
        with AssetComputeClient.from_env(
            env, ims=LocalIms.load(), targets=targets, event_timeout=args.timeout
        ) as client:
            for path in files:
                jobs.append(
                    client.process_profile(
                        path,
                        profile,
                        out_dir=args.out / path.name,
                        on_result=lambda r, path=path: bar.advance(f"{path.name} {r.name}: {_outcome(r)}"),
                    )
                )
    except (KeyError, AssetComputeError, AzureError, httpx.HTTPError, OSError) as exc:
        bar.close()
        err.write(redact(f"error: {exc}") + "\n")
        return 2
    bar.close()
    out.write(summary_table(jobs) + "\n")
    return 1 if any(job.failed for job in jobs) else 0
