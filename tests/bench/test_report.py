"""The report: derived records replace stale ones; the profile's table puts the worker's phases first."""

from __future__ import annotations

from bench.report import readme_section, with_derived

from .records import profile

CPU_15_MS = "Worker CPU per warm job (3 renditions, 1.00 MB source) ≤ 15 ms"


def test_derived_records_are_replaced_not_kept() -> None:
    stale = {"kind": "targets", "run": [{"target": "old", "met": True, "figure": ""}]}
    derived = with_derived([profile(14.0), stale])
    assert [r["kind"] for r in derived] == ["profile", "targets"]  # no throughput run: no cost record
    assert [t["target"] for t in derived[1]["run"]] == [CPU_15_MS]


def test_readme_lists_worker_phases_before_the_host_played_ones() -> None:
    text = readme_section([profile(14.0)])
    assert text.index("| imgix fetch |") < text.index("| **worker, total** |") < text.index("host: queue receive")
