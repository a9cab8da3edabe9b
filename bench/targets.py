"""The targets the bench checks itself, each met or missed with the figure that decides it.

The comparison's are judged on the largest source (the issue's 200 MB case), per side of ours; the warm job's CPU
on the profile (the worker's part, what runs in the Python worker in Azure); throughput and lost jobs on the
throughput run, where the renderer alone had as many requests in flight as the worker can.
"""

from __future__ import annotations

from typing import Any

from bench.records import MB, compare_records, fmt_bytes, fmt_ratio, input_labels, of_kind, ratio, side_record

__all__ = [
    "CPU_RATIO_TARGET",
    "OURS_SIDES",
    "THROUGHPUT_RATIO_TARGET",
    "WARM_JOB_CPU_TARGET_MS",
    "comparison_targets",
    "concurrency_note",
    "round_ratios",
    "run_targets",
    "targets_record",
    "throughput_ratio",
]

OURS_SIDES = ("ours", "ours_sequential")
FLAT_RSS_MB = 10.0  # "not growing": at most this much more peak RSS for the largest source than for the smallest
RSS_LIMIT_MB = 150.0
CPU_RATIO_TARGET = 20.0  # baseline / ours worker CPU on the largest source
WARM_JOB_CPU_TARGET_MS = 15.0  # the worker's part of a warm 1 MB job (3 renditions), from the profile
THROUGHPUT_RATIO_TARGET = 0.9  # jobs/s through the worker / the renderer alone at the same render concurrency


def comparison_targets(records: list[dict[str, Any]], side: str) -> list[tuple[str, bool, str]]:
    """(target, met, figure and, for a miss, why) for the largest source."""
    labels = input_labels(records)
    if not labels:
        return []
    large, small = labels[-1], labels[0]
    ours, base = side_record(records, large, side), side_record(records, large, "baseline")
    ours_small = side_record(records, small, side)
    if ours is None or base is None or ours_small is None:
        return []
    out = []

    extra = ours["bytes_through_worker"] - ours["rendition_bytes"]
    met = extra < 0.01 * ours["source_bytes"]
    out.append(
        (
            "Bytes through the worker ≈ rendition bytes only (source: 0)",
            met,
            f"{fmt_bytes(ours['bytes_through_worker'])} read by the worker for {fmt_bytes(ours['rendition_bytes'])} "
            f"of renditions and a {fmt_bytes(ours['source_bytes'])} source (the rest, {fmt_bytes(extra)}, is TLS, "
            f"queue, token and event traffic); baseline: {fmt_bytes(base['bytes_through_worker'])}"
            + ("" if met else " — the source passed through the worker"),
        )
    )

    # The worker's part where the large source has its own profile (ours as shipped); else the whole host process,
    # the local host's queue polling included.
    large_profile = of_kind(records, "profile_large")
    profiled = side == "ours" and large_profile and large_profile["source_bytes"] == ours["source_bytes"]
    ours_cpu = large_profile["worker_cpu_ms_per_job"] / 1000 if profiled else ours["worker_cpu_s"]
    measured = (
        f"the worker's part from the {large} profile; the whole host process: {ours['worker_cpu_s']:.2f} s per job"
        if profiled
        else "the whole host process, the local host's part included"
    )
    cpu = ratio(base["worker_cpu_s"], ours_cpu)
    met = cpu is not None and cpu >= CPU_RATIO_TARGET
    why = ""
    base_small = side_record(records, small, "baseline")
    if not met and base_small is not None:
        rate = (side_record(records, large, "ours") or {}).get("idle_cpu_s_per_s") or 0.0
        extra_source = ours["source_bytes"] - ours_small["source_bytes"]
        slope = (base["worker_cpu_s"] - base_small["worker_cpu_s"]) / extra_source  # baseline CPU s per byte
        crossover = ours_small["source_bytes"] + (CPU_RATIO_TARGET * ours_cpu - base_small["worker_cpu_s"]) / slope
        why = (
            f" — ours' CPU is a fixed cost per job ({ours_small['worker_cpu_s']:.2f} s for {small}, "
            f"{ours['worker_cpu_s']:.2f} s for {large}): its HTTPS exchanges (intake, queue, copy request, "
            f"renditions, target PUTs, events) through the azure SDK and httpx, plus the local host's queue "
            f"polling (≈ {rate * ours['wall_s_median']:.2f} s; on Azure the Functions host polls, outside the "
            f"Python process). The baseline's grows with the source, {slope * 100 * MB:.2f} s per 100 MB "
            f"(streamed TLS copies with AES-NI are cheap per byte), so {CPU_RATIO_TARGET:.0f}x is reached from about "
            f"{crossover / MB:.0f} MB"
        )
    out.append(
        (
            f"Worker CPU seconds ≥{CPU_RATIO_TARGET:.0f}x lower than the baseline",
            met,
            f"{fmt_ratio(cpu)} ({base['worker_cpu_s']:.3f} s vs {ours_cpu:.3f} s: {measured})" + why,
        )
    )

    # The renderer's processing time is everything it does for a request, reading the source included: in
    # production that is imgix's work (it fetches the origin itself, and caches it), so the time the worker is
    # responsible for is the wall time outside the renderer's processing.
    outside = ratio(base["outside_renderer_s_median"], ours["outside_renderer_s_median"])
    met = outside is not None and outside >= 3
    over = ratio(base["overhead_s_median"], ours["overhead_s_median"])
    why = (
        ""
        if met
        else " — ours' part includes the queue hop and the server-side copy of the source; the baseline's the "
        "download and upload of the source"
    )
    out.append(
        (
            "Wall time minus render time ≥3x lower",
            met,
            f"{fmt_ratio(outside)} ({base['outside_renderer_s_median']:.2f} s vs "
            f"{ours['outside_renderer_s_median']:.2f} s outside the renderer's processing; wall "
            f"{base['wall_s_median']:.2f} s vs {ours['wall_s_median']:.2f} s)."
            f" Counting only `X-Render-Seconds` as render time (so the renderer's own reading of the "
            f"{fmt_bytes(ours['source_bytes'])} source, once per rendition, counts against the worker): "
            f"{fmt_ratio(over)} ({base['overhead_s_median']:.2f} s vs {ours['overhead_s_median']:.2f} s)" + why,
        )
    )

    growth = ours["peak_rss_mb"] - ours_small["peak_rss_mb"]
    met = ours["peak_rss_mb"] < RSS_LIMIT_MB and growth <= FLAT_RSS_MB
    why = ""
    if not met:
        why = (
            f" — the idle worker host already holds {ours['idle_rss_mb']:.0f} MB (Python, httpx, the azure "
            f"SDK and the local host's own imports)"
            if ours["peak_rss_mb"] >= RSS_LIMIT_MB
            else f" — it grew {growth:.1f} MB from the {small} source"
        )
    out.append(
        (
            f"Peak RSS < {RSS_LIMIT_MB:.0f} MB and not growing with the source",
            met,
            f"{ours['peak_rss_mb']:.0f} MB for {large}, {ours_small['peak_rss_mb']:.0f} MB for {small} "
            f"(growth {growth:+.1f} MB; idle {ours['idle_rss_mb']:.0f} MB); baseline {base['peak_rss_mb']:.0f} MB"
            + why,
        )
    )
    return out


def _warm_baseline(records: list[dict[str, Any]], profile: dict[str, Any]) -> dict[str, Any] | None:
    """The baseline's comparison record on the profile's source (the same 1 MB file)."""
    same = (r for r in compare_records(records) if r["source_bytes"] == profile["source_bytes"])
    return next((r for r in same if r["side"] == "baseline"), None)


def run_targets(records: list[dict[str, Any]]) -> list[tuple[str, bool, str]]:
    """(target, met, figure) of the profile's warm job and of the throughput run."""
    out = []
    profile = of_kind(records, "profile")
    if profile:
        ms, n = profile["worker_cpu_ms_per_job"], profile["renditions_per_job"]
        source = fmt_bytes(profile["source_bytes"])
        out.append(
            (
                f"Worker CPU per warm job ({n} renditions, {source} source) ≤ {WARM_JOB_CPU_TARGET_MS:.0f} ms",
                ms <= WARM_JOB_CPU_TARGET_MS,
                f"{ms:.1f} ms: the worker's part of {profile['process_cpu_ms_per_job']:.1f} ms of the host process's "
                f"CPU per job over {profile['jobs']} jobs; the host-played part is {profile['host_cpu_ms_per_job']:.1f}"
                " ms",
            )
        )
        base = _warm_baseline(records, profile)
        if base is not None:
            base_ms = 1000 * base["worker_cpu_s"]
            out.append(
                (
                    f"Worker CPU per warm job not above the baseline's on the {base['input']} source",
                    ms <= base_ms,
                    f"{ms:.1f} ms vs the baseline's {base_ms:.0f} ms (its median over {base['runs']} jobs, in 10 ms "
                    "ticks of /proc)",
                )
            )
    t = of_kind(records, "throughput")
    if t:
        rate = throughput_ratio(t)
        alone = t["renderer_alone"]
        out.append(
            (
                f"Throughput through the worker ≥ {THROUGHPUT_RATIO_TARGET}x the renderer alone at equal concurrency",
                rate >= THROUGHPUT_RATIO_TARGET and _equal_concurrency(t),
                f"{rate:.2f}x ({t['jobs_per_s']:.2f} vs {alone['jobs_per_s_equivalent']:.2f} jobs/s"
                + (
                    f"; the median of {len(t['rounds'])} rounds: {round_ratios(t)}"
                    if len(t.get("rounds", ())) > 1
                    else ""
                )
                + f"); {concurrency_note(t)}",
            )
        )
        rounds = t.get("rounds") or [t]  # every round's jobs count, not only the median round's
        jobs = t["jobs"] * len(rounds)
        lost = jobs - sum(r["completed"] for r in rounds)
        wrong = sum(len(r["violations"]) for r in rounds)
        out.append(
            (
                "0 lost jobs (each with exactly one `rendition_created` per rendition)",
                lost == 0 and wrong == 0,
                f"{lost} of {jobs} lost, {wrong} with wrong events or renditions"
                + (f" ({len(rounds)} rounds of {t['jobs']})" if len(rounds) > 1 else ""),
            )
        )
    return out


def round_ratios(t: dict[str, Any]) -> str:
    """Every throughput round's ratio, in run order."""
    return ", ".join(f"{r['ratio']:.2f}x" for r in t["rounds"])


def throughput_ratio(t: dict[str, Any]) -> float:
    return float(t["jobs_per_s"] / t["renderer_alone"]["jobs_per_s_equivalent"])


def _equal_concurrency(t: dict[str, Any]) -> bool:
    """Whether the renderer alone had as many requests in flight as the worker can (older records: unknown)."""
    return "renditions_in_flight" in t and t["renderer_alone"].get("concurrency") == t["renditions_in_flight"]


def concurrency_note(t: dict[str, Any]) -> str:
    """How many rendition requests each side had in flight."""
    alone = t["renderer_alone"].get("concurrency", t["submitters"])
    if "renditions_in_flight" not in t:
        return f"the renderer alone had {alone} requests in flight; the worker's concurrency was not recorded"
    return (
        f"{t['renditions_in_flight']} renditions in flight on each side ({t['jobs_at_once']} jobs at once x "
        f"min(`RENDER_CONCURRENCY` {t['render_concurrency']}, {t['renditions_per_job']} renditions a job))"
        + ("" if _equal_concurrency(t) else f", but the renderer alone had {alone}")
    )


def targets_record(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The `targets` record: every target met or missed, by the side it judges."""
    sides = {side: comparison_targets(records, side) for side in OURS_SIDES}
    sides["run"] = run_targets(records)
    return {
        "kind": "targets",
        **{
            side: [{"target": name, "met": met, "figure": text} for name, met, text in found]
            for side, found in sides.items()
        },
    }
