"""The bench's own verdicts: the warm job's and the throughput run's targets, judged from fixed records."""

from __future__ import annotations

from typing import Any

import pytest

from bench.targets import targets_record

from .records import baseline_1mb, profile, throughput


def _met(records: list[dict[str, Any]], name_starts: str) -> bool:
    """Whether the one run target whose name starts with `name_starts` is met."""
    (found,) = [t["met"] for t in targets_record(records)["run"] if t["target"].startswith(name_starts)]
    return bool(found)


CPU_15_MS = "Worker CPU per warm job (3 renditions, 1.00 MB source) ≤ 15 ms"
CPU_BASELINE = "Worker CPU per warm job not above the baseline's"


@pytest.mark.parametrize(
    ("worker_ms", "baseline_s", "within_15", "within_baseline"),
    [(14.0, 0.02, True, True), (16.0, 0.06, False, True), (14.0, 0.01, True, False)],
)
def test_warm_job_cpu(worker_ms: float, baseline_s: float, within_15: bool, within_baseline: bool) -> None:
    records = [profile(worker_ms), baseline_1mb(baseline_s)]
    assert (_met(records, CPU_15_MS), _met(records, CPU_BASELINE)) == (within_15, within_baseline)


@pytest.mark.parametrize(
    ("record", "met"),
    [
        (throughput(worker_jobs_per_s=1.8), True),  # 0.9x the renderer alone's 2.0 jobs/s
        (throughput(worker_jobs_per_s=1.7), False),
        (throughput(worker_jobs_per_s=2.0, in_flight=16), False),  # the renderer alone had other concurrency
    ],
)
def test_throughput_at_equal_concurrency(record: dict[str, Any], met: bool) -> None:
    assert _met([record], "Throughput through the worker") is met


def test_a_lost_job_misses() -> None:
    assert _met([throughput(worker_jobs_per_s=2.0)], "0 lost jobs") is True
    assert _met([throughput(worker_jobs_per_s=2.0, completed=199)], "0 lost jobs") is False


def test_a_job_lost_in_any_round_misses() -> None:
    """The record holds the median round's figures: a job lost in another round still counts."""
    record = throughput(worker_jobs_per_s=2.0)
    fine = {"completed": 200, "violations": [], "ratio": 0.92}
    record["rounds"] = [fine, fine | {"ratio": 0.95}, fine | {"completed": 199, "ratio": 0.90}]
    assert _met([record], "0 lost jobs") is False
    record["rounds"][2] = fine | {"violations": ["job 3: events per rendition {}"]}
    assert _met([record], "0 lost jobs") is False
    record["rounds"][2] = fine
    assert _met([record], "0 lost jobs") is True
