"""Cost at scale, on paper: instance-seconds and GB-seconds per 1000 renditions on Flex Consumption.

Flex Consumption's on-demand mode bills an instance's memory for the time it is executing functions (GB-seconds),
whatever its CPU does, plus a count of executions (not modelled here). So a job costs the share of an instance's
busy time it takes: an instance runs `jobs_at_once` jobs together (the host's per-instance concurrency from
host.json), so a job waiting on imgix costs `wall / jobs_at_once`; but jobs that together need more CPU than the
instance has are bound by its cores, `cpu / cores`. A job's instance time is the larger of the two.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CORES_PER_INSTANCE", "INSTANCE_MEMORY_MB", "InstanceCost", "per_thousand_renditions"]

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
