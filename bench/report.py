"""Results of a run: `results.json`, `results.png`, `README-section.md` and the ratio table on the console.

Every figure in the README section comes from `results.json`, so the section can be regenerated from a saved
file (`python -m bench report`). The targets met or missed (`bench.targets`) and the cost at scale (`bench.cost`)
are derived from the measured records and saved beside them, as kinds `targets` and `cost`.
"""

from __future__ import annotations

from typing import Any

from bench import BENCH_DIR
from bench.cost import costs_record
from bench.records import (
    MB,
    compare_records,
    fmt_bytes,
    fmt_ratio,
    input_labels,
    load,
    of_kind,
    ratio,
    save,
    side_record,
)
from bench.targets import (
    OURS_SIDES,
    comparison_targets,
    concurrency_note,
    round_ratios,
    run_targets,
    targets_record,
    throughput_ratio,
)

__all__ = ["load", "ratio_table", "readme_section", "with_derived", "write_all", "write_chart"]

RESULTS_PNG = BENCH_DIR / "results.png"
README_SECTION = BENCH_DIR / "README-section.md"
SIDE_NAMES = {
    "ours": "ours",
    "ours_sequential": "ours, sequential",
    "baseline": "baseline (tutorial)",
    "ours_profiled": "ours, CPU from the profile",
}
DERIVED_KINDS = ("targets", "cost")


# --- derived records -----------------------------------------------------------------------------------------


def with_derived(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The measured records plus fresh `targets` and `cost` records derived from them."""
    measured = [r for r in records if r.get("kind") not in DERIVED_KINDS]
    cost = costs_record(measured)
    return [*measured, targets_record(measured), *([cost] if cost else [])]


# --- README section ------------------------------------------------------------------------------------------


def _compare_table(records: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| Source | Side | Wall s | Render s | Wall - render s | Outside renderer s | Worker CPU s "
        "| Bytes through worker | Peak RSS MB |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for label in input_labels(records):
        base = side_record(records, label, "baseline")
        for side in ("baseline", *OURS_SIDES):
            r = side_record(records, label, side)
            if r is None:
                continue
            lines.append(
                f"| {label} | {SIDE_NAMES[side]} | {r['wall_s_median']:.2f} | {r['render_s_median']:.2f} "
                f"| {r['overhead_s_median']:.2f} | {r['outside_renderer_s_median']:.2f} | {r['worker_cpu_s']:.2f} "
                f"| {fmt_bytes(r['bytes_through_worker'])} | {r['peak_rss_mb']:.0f} |"
            )
            if base is not None and side != "baseline":
                lines.append(
                    f"| | *baseline / {SIDE_NAMES[side]}* "
                    f"| *{fmt_ratio(ratio(base['wall_s_median'], r['wall_s_median']))}* | "
                    f"| *{fmt_ratio(ratio(base['overhead_s_median'], r['overhead_s_median']))}* "
                    f"| *{fmt_ratio(ratio(base['outside_renderer_s_median'], r['outside_renderer_s_median']))}* "
                    f"| *{fmt_ratio(ratio(base['worker_cpu_s'], r['worker_cpu_s']))}* "
                    f"| *{fmt_ratio(ratio(base['bytes_through_worker'], r['bytes_through_worker']))}* "
                    f"| *{fmt_ratio(ratio(base['peak_rss_mb'], r['peak_rss_mb']))}* |"
                )
    return lines


def _staging_note(records: list[dict[str, Any]]) -> list[str]:
    """Submit -> first imgix request on each side, smallest and largest source: the queue hop against the copies."""
    labels = input_labels(records)
    ends = (labels[0], labels[-1])
    rows = {(label, side): side_record(records, label, side) for label in ends for side in ("ours", "baseline")}
    if any(r is None for r in rows.values()):
        return []
    first = {key: r["to_first_render_s_median"] for key, r in rows.items() if r is not None}
    small, large = labels[0], labels[-1]
    hop = (
        "the local host's queue listener wakes when the intake enqueues, as the Functions host short-cuts its own "
        "output bindings"
    )
    slower = [label for label in labels if _wall(records, label, "ours") > _wall(records, label, "baseline")]
    if slower:
        verdict = (
            f"For {', '.join(slower)} the queue hop ({hop}) and the copy cost more than the transfers they save, so "
            "ours is slower end to end there; the intake's immediate answer and the retries the queue gives are "
            "what it buys."
        )
    else:
        verdict = f"The queue hop is short ({hop}): ours is faster end to end at every size measured."
    return [
        f"Submit → first imgix request: ours {first[small, 'ours']:.2f} s for {small} and "
        f"{first[large, 'ours']:.2f} s for {large} (the queue hop, then a server-side copy whatever the size); the "
        f"baseline {first[small, 'baseline']:.2f} s and {first[large, 'baseline']:.2f} s (download and upload of "
        f"the source). {verdict}",
        "",
    ]


def _wall(records: list[dict[str, Any]], label: str, side: str) -> float:
    return float((side_record(records, label, side) or {}).get("wall_s_median") or 0.0)


def _load(run: dict[str, Any]) -> str:
    """The machine's 1-minute load average when the run started, when recorded."""
    if "load_average_at_start" not in run:
        return ""
    return f" (1-minute load average {run['load_average_at_start']:.1f} when it started)"


def _host_concurrency(t: dict[str, Any]) -> str:
    """How many jobs the local host ran at once, as host.json and the worker's thread pool allowed."""
    if "jobs_at_once" not in t:  # a record from before the host followed host.json
        return "the local worker host ran 4 jobs at a time"
    return (
        f"the local worker host runs up to {t['jobs_at_once']} jobs at once, as the Functions host would: host.json's "
        f"`batchSize` {t['batch_size']} + `newBatchThreshold` {t['new_batch_threshold']}, within the Python "
        f"worker's {t['thread_count']} threads for sync functions (`PYTHON_THREADPOOL_THREAD_COUNT`, default "
        "`min(32, cores + 4)`), which the intake shares"
    )


def _profile_lines(p: dict[str, Any], title: str = "### Where a warm job's CPU goes") -> list[str]:
    """Where a warm job's CPU goes: the worker's phases, then those the local host plays for the Functions host."""
    phases = p["phases"]
    worker = [(name, v) for name, v in phases.items() if not name.startswith("host:")]
    host = [(name, v) for name, v in phases.items() if name.startswith("host:")]
    stacks = "profile-stacks.txt.gz" if p.get("input", "1MB") == "1MB" else f"profile-stacks-{p['input']}.txt.gz"
    lines = [
        title,
        "",
        f"`python -m bench profile`: {p['jobs']} warm jobs one after another ({fmt_bytes(p['source_bytes'])} source, "
        f"{p['renditions_per_job']} renditions each) took {p['process_cpu_ms_per_job']:.1f} ms of the worker host "
        "process's CPU per job (`utime+stime` over all of them, divided: one job is below /proc's 10 ms tick). As "
        f"many jobs again under py-spy ({p['samples']} samples of busy threads) split it by phase: a sample counts "
        "for the innermost phase it holds (a log line written while staging is logging). The worker's part, what "
        f"runs in the Python worker in Azure, is **{p['worker_cpu_ms_per_job']:.1f} ms**; the local host plays "
        f"the Functions host's part (queue receive and delete, the output binding's put, HTTP parsing), "
        f"{p['host_cpu_ms_per_job']:.1f} ms, reported beside it. Stacks: `bench/{stacks}` "
        "(flamegraph input).",
        "",
        "| Phase | CPU ms per job | Share |",
        "|---|--:|--:|",
    ]
    for name, v in worker:
        lines.append(f"| {name} | {v['cpu_ms_per_job']:.1f} | {100 * v['share']:.0f}% |")
    worker_share = sum(v["share"] for _, v in worker)
    lines.append(f"| **worker, total** | **{p['worker_cpu_ms_per_job']:.1f}** | **{100 * worker_share:.0f}%** |")
    for name, v in host:
        lines.append(f"| *{name}* | *{v['cpu_ms_per_job']:.1f}* | *{100 * v['share']:.0f}%* |")
    lines.append(f"| *host-played, total* | *{p['host_cpu_ms_per_job']:.1f}* | *{100 * (1 - worker_share):.0f}%* |")
    return [*lines, ""]


def _throughput_lines(t: dict[str, Any]) -> list[str]:
    alone = t["renderer_alone"]
    p95 = f" / {alone['request_p95_s']:.2f} s" if "request_p95_s" in alone else ""
    return [
        "### Throughput",
        "",
        f"{t['jobs']} jobs ({fmt_bytes(t['source_bytes'])} source, {t['renditions_per_job']} renditions each) posted "
        f"at once by {t['submitters']} threads straight to the intake (no relay)"
        + (f", all posted within {t['submit_s']:.1f} s" if "submit_s" in t else "")
        + f"; {_host_concurrency(t)}. The renderer alone then renders the same renditions: "
        f"{concurrency_note(t)}.",
        "",
        "| Figure | Through the worker | Renderer alone |",
        "|---|--:|--:|",
        f"| Jobs per second | {t['jobs_per_s']:.2f} | {alone['jobs_per_s_equivalent']:.2f} |",
        f"| Time for all | {t['seconds']:.1f} s | {alone['seconds']:.1f} s |",
        f"| Latency p50 / p95 | {t['latency_p50_s']:.2f} s / {t['latency_p95_s']:.2f} s (a job: submit → last event) "
        f"| {alone['request_p50_s']:.2f} s{p95} (a rendition request) |",
        f"| Worker CPU per job | {1000 * t['worker_cpu_s_per_job']:.0f} ms | |",
        f"| Worker peak RSS | {t['peak_rss_mb']:.0f} MB | |",
        f"| Jobs completed | {t['completed']} / {t['jobs']} | |",
        f"| Jobs without exactly one `rendition_created` per rendition | {len(t['violations'])} | |",
        f"| Worker / renderer alone (jobs per second) | **{throughput_ratio(t):.2f}x** | |",
        f"| Worker overhead per job | {t['worker_overhead_ms_per_job']:.0f} ms | |",
        "",
        "The renderer, Azurite, the worker and the benchmark share the machine's cores, so the overhead includes "
        "the worker's CPU competing with the renderer. Latency is mostly waiting in the queue: every job arrives "
        f"at once, and the renderer alone needs {alone['seconds']:.1f} s for all of their renditions.",
        "",
        *_rounds_lines(t),
    ]


def _rounds_lines(t: dict[str, Any]) -> list[str]:
    """Every round's ratio, and where the machine's CPU went in the median round (newer records only)."""
    lines = []
    rounds = t.get("rounds", [])
    if len(rounds) > 1:
        lines += [
            f"The pair of runs ran {len(rounds)} times, alternating; above is the median round ({round_ratios(t)}).",
            "",
        ]
    worker, alone = t.get("cpu_s_by_process"), t["renderer_alone"].get("cpu_s_by_process")
    if worker and alone:
        lines += [
            "CPU seconds each process spent within each side's timed window of the median round, all on this "
            "machine's cores; in Azure the worker host's would run on the function's instance, the renderer's at "
            "imgix, Azurite's in Azure Storage and the benchmark's at Adobe:",
            "",
            "| Process | Through the worker | Renderer alone |",
            "|---|--:|--:|",
            *(f"| {name} | {cpu:.1f} | {alone.get(name, 0.0):.1f} |" for name, cpu in worker.items()),
            "",
        ]
    return lines


def _cost_lines(cost: dict[str, Any]) -> list[str]:
    lines = [
        "### Cost at scale, on paper (Flex Consumption)",
        "",
        f"Per 1000 renditions ({cost['renditions_per_job']} a job), from the comparison's wall and worker CPU per "
        f"job (medians above), on {cost['instance_memory_mb']} MB instances. Assumptions:",
        "",
        *(f"- {a}" for a in cost["assumptions"]),
        "",
        "| Source | Side | Wall s / job | CPU s / job | Bound | Instance-s / 1000 renditions "
        "| GB-s / 1000 renditions |",
        "|---|---|--:|--:|---|--:|--:|",
    ]
    by = {(r["input"], r["side"]): r for r in cost["rows"]}
    for (label, side), r in by.items():
        lines.append(
            f"| {label} | {SIDE_NAMES[side]} | {r['wall_s_per_job']:.2f} | {r['cpu_s_per_job']:.3f} | {r['bound']} "
            f"| {r['instance_s_per_1000_renditions']:.1f} | {r['gb_s_per_1000_renditions']:.1f} |"
        )
        base = by.get((label, "baseline"))
        if side != "baseline" and base is not None:
            better = ratio(base["gb_s_per_1000_renditions"], r["gb_s_per_1000_renditions"])
            lines.append(f"| | *baseline / {SIDE_NAMES[side]}* | | | | | *{fmt_ratio(better)}* |")
    return [*lines, ""]


def readme_section(records: list[dict[str, Any]]) -> str:
    run = of_kind(records, "run") or {}
    lines = ["## Performance", ""]
    compare = compare_records(records)
    if compare:
        large = input_labels(records)[-1]
        runs = {label: (side_record(records, label, "ours") or {}).get("runs") for label in input_labels(records)}
        repeats = ", ".join(f"{label}: {count}" for label, count in runs.items())
        lines += [
            f"Measured by `python -m bench` (`make bench`){' in quick mode' if run.get('quick') else ''} on "
            f"{run.get('machine', 'this machine')}, {run.get('date', '')}{_load(run)}. Everything ran in one process "
            "tree on the "
            "local platform: Azurite over HTTPS, the local imgix-compatible renderer, real HTTP on loopback. Each "
            "source got a fresh platform; both sides had the same source URL, the same imgix parameters, the same "
            "renderer (through a recording proxy) and AEM-style multipart block targets. A job has three renditions: "
            "a 1024 px JPEG, the WKND circle as a 400 px PNG (`circle` recipe), a 300x300 crop.",
            "",
            "- **ours**: the worker as shipped, submitted through the intake like the Asset Compute service does "
            "(intake → queue → server-side copy of the source → renditions in parallel, `RENDER_CONCURRENCY=4`, "
            "streamed to the targets → events).",
            "- **ours, sequential**: the same worker with `RENDER_CONCURRENCY=1`, asking imgix for one rendition "
            "at a time like the baseline.",
            "- **baseline**: the seed tutorial's algorithm in Python (`bench/baseline_worker.py`), as a warm child "
            "process: download the source to disk, upload it to the imgix container with the account key, then per "
            "rendition download the signed imgix URL to disk and upload the file to the target; the staged source "
            "is left behind (the benchmark deletes it between runs).",
            "",
            f"Figures are per job, medians of {repeats} runs after one warm-up job per side. Wall: submit → the "
            "job's last event at the I/O Events ingress. Render: the renderer's `X-Render-Seconds`, summed. "
            "Wall - render subtracts the time during which at least one of the job's renders ran (parallel renders "
            "count once). Outside renderer: wall minus the time the renderer was answering any of the job's "
            "requests (render plus reading the source blob), i.e. what the worker itself adds. CPU, bytes and peak "
            "memory are the worker's process (ours: the worker host; baseline: its child), read from /proc: "
            "`utime+stime` (10 ms ticks), `rchar` (every byte the process read from sockets and files; all traffic "
            "is TLS, so payload plus a few percent), `VmHWM` reset before the measured runs.",
            "",
            *_compare_table(records),
            "",
            *_staging_note(records),
            f"### Targets for the {large} source",
            "",
        ]
        for side in OURS_SIDES:
            targets = comparison_targets(records, side)
            if not targets:
                continue
            lines += [f"**{SIDE_NAMES[side]}**", "", "| Target | | Figure |", "|---|---|---|"]
            lines += [f"| {name} | {'met' if met else '**missed**'} | {text} |" for name, met, text in targets]
            lines.append("")
        same = all(r.get("same_renditions_as_baseline") for r in compare)
        lines += [
            "Both sides received byte-identical renditions from the renderer in every run."
            if same
            else "Note: some renditions differed between the sides (see `same_renditions_as_baseline`).",
            "",
        ]
    profile = of_kind(records, "profile")
    if profile:
        lines += _profile_lines(profile)
    large = of_kind(records, "profile_large")
    if large:
        lines += _profile_lines(large, f"### Where a {large['input']} job's CPU goes")
    throughput = of_kind(records, "throughput")
    if throughput:
        lines += _throughput_lines(throughput)
    judged = run_targets(records)
    if judged:
        lines += ["### Targets of the warm job and the throughput run", "", "| Target | | Figure |", "|---|---|---|"]
        lines += [f"| {name} | {'met' if met else '**missed**'} | {text} |" for name, met, text in judged]
        lines.append("")
    cost = costs_record(records)
    if cost:
        lines += _cost_lines(cost)
    imports = of_kind(records, "import")
    if imports:
        forbidden = ", ".join(imports["forbidden_modules_loaded"]) or "neither"
        lines += [
            "### Cold import",
            "",
            f'`python -X importtime -c "import function_app"` in `function_app/` with the required settings: '
            f"median **{imports['import_ms_median']:.0f} ms** over {imports['runs']} runs (budget "
            f"{imports['budget_ms']:.0f} ms: {'met' if imports['under_budget'] else '**missed**'}); PIL or pulumi "
            f"loaded: {forbidden}.",
            "",
        ]
    return "\n".join(lines)


# --- chart and console ---------------------------------------------------------------------------------------

_FIGURES = (
    ("wall_s_median", "Wall s per job", 1.0, False),
    ("overhead_s_median", "Wall - render s", 1.0, False),
    ("outside_renderer_s_median", "Outside the renderer s", 1.0, False),
    ("worker_cpu_s", "Worker CPU s per job", 1.0, False),
    ("bytes_through_worker", "MB through the worker (log)", 1 / MB, True),
    ("peak_rss_mb", "Worker peak RSS MB", 1.0, False),
)


def write_chart(records: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = input_labels(records)
    sides = [s for s in ("baseline", *OURS_SIDES) if any(side_record(records, label, s) for label in labels)]
    fig, axes = plt.subplots(2, 3, figsize=(15, 8))
    width = 0.8 / max(1, len(sides))
    for ax, (key, title, scale, log) in zip(axes.flat, _FIGURES, strict=True):
        for i, side in enumerate(sides):
            values = [((side_record(records, label, side) or {}).get(key) or 0) * scale for label in labels]
            ax.bar([x + i * width for x in range(len(labels))], values, width, label=SIDE_NAMES[side])
        ax.set_xticks([x + width * (len(sides) - 1) / 2 for x in range(len(labels))], labels)
        ax.set_title(title)
        if log:
            ax.set_yscale("log")
    axes.flat[0].legend()
    fig.suptitle("aem-imgix-renditions: ours vs the tutorial's algorithm, per job (medians)")
    fig.tight_layout()
    fig.savefig(RESULTS_PNG, dpi=100)
    plt.close(fig)


def ratio_table(records: list[dict[str, Any]]) -> str:
    """The console summary: baseline/ours per input and figure, then throughput and import."""
    rows = [f"{'input':>6}  {'ours side':<16}{'wall':>7}{'wall-rnd':>9}{'outside':>9}{'cpu':>7}{'bytes':>9}{'rss':>6}"]
    for label in input_labels(records):
        base = side_record(records, label, "baseline")
        for side in OURS_SIDES:
            r = side_record(records, label, side)
            if r is None or base is None:
                continue
            keys = ("wall_s_median", "overhead_s_median", "outside_renderer_s_median", "worker_cpu_s",
                    "bytes_through_worker", "peak_rss_mb")  # fmt: skip
            ratios = [fmt_ratio(ratio(base[k], r[k])) for k in keys]
            widths = (7, 9, 9, 7, 9, 6)
            rows.append(f"{label:>6}  {side:<16}" + "".join(f"{v:>{w}}" for v, w in zip(ratios, widths, strict=True)))
    rows.append("(ratios baseline / ours: above 1x, ours is better)")
    for side in OURS_SIDES:
        for name, met, _ in comparison_targets(records, side):
            rows.append(f"target [{side}] {name}: {'met' if met else 'MISSED'}")
    for name, met, _ in run_targets(records):
        rows.append(f"target [run] {name}: {'met' if met else 'MISSED'}")
    for p in filter(None, (of_kind(records, "profile"), of_kind(records, "profile_large"))):
        rows.append(
            f"profile ({p.get('input', '1MB')}): {p['jobs']} warm jobs, {p['process_cpu_ms_per_job']:.1f} ms CPU/job"
            f" = worker {p['worker_cpu_ms_per_job']:.1f} ms + host-played {p['host_cpu_ms_per_job']:.1f} ms"
        )
        for name, v in p["phases"].items():
            rows.append(f"  {name:<32}{v['cpu_ms_per_job']:>7.1f} ms {100 * v['share']:>4.0f}%")
    t = of_kind(records, "throughput")
    if t:
        rows.append(
            f"throughput: {t['completed']}/{t['jobs']} jobs, {t['jobs_per_s']:.2f} jobs/s, p50 {t['latency_p50_s']:.2f}"
            f" s, p95 {t['latency_p95_s']:.2f} s, violations {len(t['violations'])}, worker CPU "
            f"{1000 * t['worker_cpu_s_per_job']:.0f} ms/job; renderer alone "
            f"{t['renderer_alone']['jobs_per_s_equivalent']:.2f} jobs/s ({concurrency_note(t)}); worker / renderer "
            f"alone {throughput_ratio(t):.2f}x, overhead {t['worker_overhead_ms_per_job']:.0f} ms/job"
        )
    cost = costs_record(records)
    if cost:
        rows.append(
            f"cost per 1000 renditions on Flex ({cost['instance_memory_mb']} MB, {cost['cores_per_instance']:g} core "
            f"assumed, {cost['jobs_at_once']} jobs at once):"
        )
        for r in cost["rows"]:
            rows.append(
                f"  {r['input']:>6} {r['side']:<14}{r['instance_s_per_1000_renditions']:>8.1f} instance-s"
                f"{r['gb_s_per_1000_renditions']:>8.1f} GB-s  ({r['bound']}-bound)"
            )
    i = of_kind(records, "import")
    if i:
        rows.append(
            f"import function_app: {i['import_ms_median']:.0f} ms median (< {i['budget_ms']:.0f} ms: "
            f"{'yes' if i['under_budget'] else 'NO'}); PIL/pulumi loaded: {i['forbidden_modules_loaded'] or 'no'}"
        )
    return "\n".join(rows)


def write_all(records: list[dict[str, Any]]) -> None:
    """results.json (with the derived records), results.png (when there are comparison records) and
    README-section.md."""
    records = with_derived(records)
    save(records)
    if compare_records(records):
        write_chart(records)
    README_SECTION.write_text(readme_section(records))
