"""The cost-at-scale arithmetic: a job's share of an instance is the larger of its wall time over the jobs the
instance runs at once and its CPU over the instance's cores."""

from __future__ import annotations

import pytest

from bench.cost import costs_record, per_thousand_renditions

from .records import profile, throughput


def test_wall_bound_job() -> None:
    # 333.3 jobs of 3 renditions; each holds 1/12 of an instance for 1.2 s (0.1 s) > 0.06 s CPU on 1 core.
    cost = per_thousand_renditions(wall_s=1.2, cpu_s=0.06, renditions_per_job=3, jobs_at_once=12, cores=1.0)
    assert cost.bound == "wall"
    assert cost.instance_s == pytest.approx(1000 / 3 * 0.1)
    assert cost.gb_s == pytest.approx(1000 / 3 * 0.1 * 2.0)  # 2048 MB instances: 2 GB


def test_cpu_bound_job() -> None:
    # 0.6 s / 12 = 0.05 s of wall share < 0.06 s of CPU: the cores bound it.
    cost = per_thousand_renditions(wall_s=0.6, cpu_s=0.06, renditions_per_job=3, jobs_at_once=12, cores=1.0)
    assert cost.bound == "cpu"
    assert cost.instance_s == pytest.approx(20.0)
    assert cost.gb_s == pytest.approx(40.0)


def test_more_cores_and_memory() -> None:
    cost = per_thousand_renditions(
        wall_s=0.6, cpu_s=0.06, renditions_per_job=2, jobs_at_once=4, cores=2.0, memory_mb=4096
    )
    assert (cost.bound, cost.instance_s, cost.gb_s) == ("wall", pytest.approx(75.0), pytest.approx(300.0))


@pytest.mark.parametrize("field", ["renditions_per_job", "jobs_at_once", "cores"])
def test_counts_must_be_positive(field: str) -> None:
    args = {"wall_s": 1.0, "cpu_s": 0.1, "renditions_per_job": 3, "jobs_at_once": 12, "cores": 1.0, field: 0}
    with pytest.raises(ValueError):
        per_thousand_renditions(**args)  # type: ignore[arg-type]


def test_cost_record_from_the_run() -> None:
    ours = {"kind": "compare", "input": "1MB", "side": "ours", "source_bytes": 1_000_000, "wall_s_median": 0.36,
            "worker_cpu_s": 0.12}  # fmt: skip
    base = {**ours, "side": "baseline", "wall_s_median": 2.4, "worker_cpu_s": 0.06}
    record = costs_record([ours, base, throughput(worker_jobs_per_s=2.0), profile(30.0)])
    assert record is not None and record["jobs_at_once"] == 12
    rows = {r["side"]: (r["bound"], r["instance_s_per_1000_renditions"]) for r in record["rows"]}
    assert rows == {
        "baseline": ("wall", pytest.approx(1000 / 3 * 2.4 / 12)),
        "ours": ("cpu", pytest.approx(1000 / 3 * 0.12)),
        "ours_profiled": ("cpu", pytest.approx(1000 / 3 * 0.040)),  # the profile's whole process: 30 + 10 ms
    }


def test_no_cost_without_the_hosts_concurrency() -> None:
    ours = {"kind": "compare", "input": "1MB", "side": "ours", "source_bytes": 1, "wall_s_median": 1.0,
            "worker_cpu_s": 0.1}  # fmt: skip
    assert costs_record([ours]) is None
