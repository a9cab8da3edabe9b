"""The bench's own verdicts: the warm job's and the throughput run's targets, judged from fixed records."""

from __future__ import annotations

from typing import Any

import pytest

from bench.report import readme_section, targets, with_derived


def _profile(worker_ms: float) -> dict[str, Any]:
    return {
        "kind": "profile",
        "jobs": 120,
        "renditions_per_job": 3,
        "source_bytes": 1_000_000,
        "seconds": 60.0,
        "process_cpu_ms_per_job": worker_ms + 10.0,
        "worker_cpu_ms_per_job": worker_ms,
        "host_cpu_ms_per_job": 10.0,
        "samples": 1000,
        "phases": {
            "host: queue receive/delete": {"share": 0.4, "cpu_ms_per_job": 10.0},
            "imgix fetch": {"share": 0.6, "cpu_ms_per_job": worker_ms},
        },
    }


def _throughput(*, worker_jobs_per_s: float, completed: int = 200, in_flight: int = 24) -> dict[str, Any]:
    return {
        "kind": "throughput",
        "jobs": 200,
        "completed": completed,
        "violations": [],
        "jobs_per_s": worker_jobs_per_s,
        "renditions_per_job": 2,
        "submitters": 16,
        "jobs_at_once": 12,
        "render_concurrency": 4,
        "renditions_in_flight": 24,
        "renderer_alone": {"jobs_per_s_equivalent": 2.0, "concurrency": in_flight},
    }


def _baseline_1mb(cpu_s: float) -> dict[str, Any]:
    return {"kind": "compare", "input": "1MB", "side": "baseline", "source_bytes": 1_000_000, "worker_cpu_s": cpu_s,
            "runs": 5}  # fmt: skip


def _met(records: list[dict[str, Any]], name_starts: str) -> bool:
    """Whether the one run target whose name starts with `name_starts` is met."""
    (found,) = [t["met"] for t in targets(records)["run"] if t["target"].startswith(name_starts)]
    return bool(found)


CPU_15_MS = "Worker CPU per warm job (3 renditions, 1.00 MB source) ≤ 15 ms"
CPU_BASELINE = "Worker CPU per warm job not above the baseline's"


@pytest.mark.parametrize(
    ("worker_ms", "baseline_s", "within_15", "within_baseline"),
    [(14.0, 0.02, True, True), (16.0, 0.06, False, True), (14.0, 0.01, True, False)],
)
def test_warm_job_cpu(worker_ms: float, baseline_s: float, within_15: bool, within_baseline: bool) -> None:
    records = [_profile(worker_ms), _baseline_1mb(baseline_s)]
    assert (_met(records, CPU_15_MS), _met(records, CPU_BASELINE)) == (within_15, within_baseline)


@pytest.mark.parametrize(
    ("record", "met"),
    [
        (_throughput(worker_jobs_per_s=1.8), True),  # 0.9x the renderer alone's 2.0 jobs/s
        (_throughput(worker_jobs_per_s=1.7), False),
        (_throughput(worker_jobs_per_s=2.0, in_flight=16), False),  # the renderer alone had other concurrency
    ],
)
def test_throughput_at_equal_concurrency(record: dict[str, Any], met: bool) -> None:
    assert _met([record], "Throughput through the worker") is met


def test_a_lost_job_misses() -> None:
    assert _met([_throughput(worker_jobs_per_s=2.0)], "0 lost jobs") is True
    assert _met([_throughput(worker_jobs_per_s=2.0, completed=199)], "0 lost jobs") is False


def test_derived_records_are_replaced_not_kept() -> None:
    stale = {"kind": "targets", "run": [{"target": "old", "met": True, "figure": ""}]}
    derived = with_derived([_profile(14.0), stale])
    assert [r["kind"] for r in derived] == ["profile", "targets"]  # no throughput run: no cost record
    assert [t["target"] for t in derived[1]["run"]] == [CPU_15_MS]


def test_readme_lists_worker_phases_before_the_host_played_ones() -> None:
    text = readme_section([_profile(14.0)])
    assert text.index("| imgix fetch |") < text.index("| **worker, total** |") < text.index("host: queue receive")
