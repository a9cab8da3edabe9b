"""Fixed records of a bench run, as `results.json` holds them, for the report's and the targets' tests."""

from __future__ import annotations

from typing import Any


def profile(worker_ms: float) -> dict[str, Any]:
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


def throughput(*, worker_jobs_per_s: float, completed: int = 200, in_flight: int = 24) -> dict[str, Any]:
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


def baseline_1mb(cpu_s: float) -> dict[str, Any]:
    return {"kind": "compare", "input": "1MB", "side": "baseline", "source_bytes": 1_000_000, "worker_cpu_s": cpu_s,
            "runs": 5}  # fmt: skip
