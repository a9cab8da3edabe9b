"""The records of `results.json` and the small helpers every part of the report reads them with."""

from __future__ import annotations

import json
from typing import Any

from bench import BENCH_DIR

__all__ = [
    "MB",
    "RESULTS_JSON",
    "compare_records",
    "fmt_bytes",
    "fmt_ratio",
    "input_labels",
    "load",
    "of_kind",
    "ratio",
    "save",
    "side_record",
]

RESULTS_JSON = BENCH_DIR / "results.json"
MB = 1_000_000


def load() -> list[dict[str, Any]]:
    return json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else []


def save(records: list[dict[str, Any]]) -> None:
    RESULTS_JSON.write_text(json.dumps(records, indent=2) + "\n")


def compare_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("kind") == "compare"]


def of_kind(records: list[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    """The first record of `kind` (each part's run leaves one, or one per source and side for `compare`)."""
    return next((r for r in records if r.get("kind") == kind), None)


def input_labels(records: list[dict[str, Any]]) -> list[str]:
    """The compared sources' labels, smallest first."""
    labels: list[str] = []
    for r in sorted(compare_records(records), key=lambda r: r["source_bytes"]):
        if r["input"] not in labels:
            labels.append(r["input"])
    return labels


def side_record(records: list[dict[str, Any]], label: str, side: str) -> dict[str, Any] | None:
    return next((r for r in compare_records(records) if r["input"] == label and r["side"] == side), None)


def ratio(baseline: float, ours: float) -> float | None:
    return baseline / ours if ours > 0 else None


def fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}x"


def fmt_bytes(n: float) -> str:
    return f"{n / MB:.2f} MB" if n >= 10_000 else f"{n / 1000:.1f} kB"
