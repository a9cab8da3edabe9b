"""Cost at scale, on paper: instance-seconds and GB-seconds per 1000 renditions on Flex Consumption.

From the comparison's wall and CPU per job (and the profile's finer CPU for its source), on both sides, with the
host's jobs at once that the throughput run read from host.json. The assumptions are saved with the figures.

Flex Consumption's on-demand mode bills an instance's memory for the time it is executing functions (GB-seconds),
whatever its CPU does, plus a count of executions (not modelled here). So a job costs the share of an instance's
busy time it takes: an instance runs `jobs_at_once` jobs together (the host's per-instance concurrency from
host.json), so a job waiting on imgix costs `wall / jobs_at_once`; but jobs that together need more CPU than the
instance has are bound by its cores, `cpu / cores`. A job's instance time is the larger of the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.records import compare_records, input_labels, of_kind, side_record
from bench.renditions import COMPARE

__all__ = [
    "CORES_PER_INSTANCE",
    "INSTANCE_MEMORY_MB",
    "InstanceCost",
    "cost_assumptions",
    "costs_record",
    "per_thousand_renditions",
]

# The instance size, dev's and stage's `instanceMemoryMb` (Pulumi.<stack>.yaml; 512 MB is rejected by the API:
# reference/pulumi-azure.md 1.3).
INSTANCE_MEMORY_MB = 2048
# An assumption, not a fact checked here: reference/ has no Flex core counts; Microsoft Learn's
# flex-consumption-plan page gives 1 core as the *typical* allocation of a 2048 MB instance, and says early
# instances may get a different one.
CORES_PER_INSTANCE = 1.0
RENDITIONS = 1000


@dataclass(frozen=True)
class InstanceCost:
    """Instance time per 1000 renditions, and which bound set it."""

    instance_s: float
    gb_s: float
    bound: str  # "wall" (jobs waiting on I/O share the instance) or "cpu" (the instance's cores are the limit)


def per_thousand_renditions(
    *,
    wall_s: float,
    cpu_s: float,
    renditions_per_job: int,
    jobs_at_once: int,
    cores: float = CORES_PER_INSTANCE,
    memory_mb: int = INSTANCE_MEMORY_MB,
) -> InstanceCost:
    """Instance-seconds and GB-seconds for 1000 renditions, from one job's wall time and CPU seconds.

    :raises ValueError: a count that is not positive.
    """
    if renditions_per_job < 1 or jobs_at_once < 1 or cores <= 0:
        raise ValueError("renditions_per_job, jobs_at_once and cores must be positive")
    by_wall, by_cpu = wall_s / jobs_at_once, cpu_s / cores
    instance_s = RENDITIONS / renditions_per_job * max(by_wall, by_cpu)
    return InstanceCost(instance_s, instance_s * memory_mb / 1024, "cpu" if by_cpu > by_wall else "wall")


def costs_record(records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The `cost` record: instance-seconds and GB-seconds per 1000 renditions on Flex Consumption, per source and
    side, from the comparison's wall and CPU per job and the host's jobs at once (from the throughput run)."""
    t = of_kind(records, "throughput")
    if not compare_records(records) or not t or "jobs_at_once" not in t:
        return None
    jobs_at_once = t["jobs_at_once"]
    profile = of_kind(records, "profile")
    rows = []

    def row(label: str, side: str, wall_s: float, cpu_s: float) -> dict[str, Any]:
        cost = per_thousand_renditions(
            wall_s=wall_s, cpu_s=cpu_s, renditions_per_job=len(COMPARE), jobs_at_once=jobs_at_once
        )
        return {
            "input": label,
            "side": side,
            "wall_s_per_job": wall_s,
            "cpu_s_per_job": cpu_s,
            "instance_s_per_1000_renditions": cost.instance_s,
            "gb_s_per_1000_renditions": cost.gb_s,
            "bound": cost.bound,
        }

    for label in input_labels(records):
        for side in ("baseline", "ours"):
            r = side_record(records, label, side)
            if r is not None:
                rows.append(row(label, side, r["wall_s_median"], r["worker_cpu_s"]))
            # The profile's CPU per job is a total over many jobs divided, not one job's 10 ms ticks: finer.
            if side == "ours" and r is not None and profile and profile["source_bytes"] == r["source_bytes"]:
                rows.append(row(label, "ours_profiled", r["wall_s_median"], profile["process_cpu_ms_per_job"] / 1000))
    return {
        "kind": "cost",
        "instance_memory_mb": INSTANCE_MEMORY_MB,
        "cores_per_instance": CORES_PER_INSTANCE,
        "jobs_at_once": jobs_at_once,
        "renditions_per_job": len(COMPARE),
        "assumptions": cost_assumptions(jobs_at_once=jobs_at_once),
        "rows": rows,
    }


def cost_assumptions(*, jobs_at_once: int) -> list[str]:
    gb = INSTANCE_MEMORY_MB / 1024
    return [
        f"On-demand billing: an instance's memory ({INSTANCE_MEMORY_MB} MB = {gb:g} GB) is billed for the seconds "
        "it executes functions, whatever its CPU does; the per-execution charge is left out (ours has two "
        "executions a job, intake and queue trigger).",
        f"An instance runs {jobs_at_once} jobs at once, the host's concurrency from host.json as the throughput run "
        "measured it; the baseline approach is taken to run under the same host settings.",
        f"A job holds its share of an instance, wall / {jobs_at_once}, but at least its CPU / cores.",
        f"{CORES_PER_INSTANCE:g} core per {INSTANCE_MEMORY_MB} MB instance: an assumption (Microsoft Learn's "
        "typical allocation), not measured here.",
        "CPU is the whole worker process's: ours includes what the local host plays for the Functions host, whose "
        "own process also runs on the instance in Azure. *ours, CPU from the profile* takes the comparison's wall "
        "with the profile's CPU per warm job (a total over many jobs, divided, where the comparison has one job's "
        "10 ms ticks).",
        "Network bandwidth is not modelled: the baseline moves twice the source through the instance, ours none of it.",
    ]
