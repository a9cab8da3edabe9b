"""`python -m bench [compare|throughput|profile|import|report] [--quick] [--skip-throughput]`.

Without a command: the comparison on every source, the throughput run (unless `--skip-throughput`), the CPU
profile of a warm job and the cold import, then results.json, results.png, README-section.md and the ratio table.
A single command re-measures its part only and keeps the other records of an earlier results.json. `--quick` is a
smoke run: fewer repeats, a 20-job throughput run, a 20-job profile. `report` regenerates the outputs from
results.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform as host
import sys
import time
from typing import Any

from bench import WORK_DIR
from bench.inputs import INPUTS, ensure
from bench.report import load, ratio_table, write_all

# Repeats per source (the 200 MB runs dominate the time); jobs and rounds of the throughput run; jobs of each
# profile run (>= 100 in a full run: a job's CPU is below /proc's tick, so it is a total divided); cold imports.
FULL = {"repeats": {"1MB": 5, "20MB": 3, "200MB": 3}, "jobs": 200, "rounds": 3, "profile_jobs": 120,
        "large_profile_jobs": 16, "imports": 7}  # fmt: skip
QUICK = {"repeats": {"1MB": 2, "20MB": 1, "200MB": 1}, "jobs": 20, "rounds": 1, "profile_jobs": 20,
         "large_profile_jobs": 2, "imports": 3}  # fmt: skip


def _say(message: str) -> None:
    print(message, flush=True)


def _compare(plan: dict[str, Any]) -> list[dict[str, Any]]:
    from bench.compare import compare_input
    from bench.render_proxy import RenderProxy
    from local_platform.tls import ensure_tls

    for label in plan["repeats"]:
        ensure(INPUTS[label])  # made once, outside any measurement
    ensure(INPUTS["5MB"])
    records = []
    with RenderProxy(ensure_tls()) as proxy:
        for label, repeats in plan["repeats"].items():
            _say(f"comparing on the {label} source ({repeats} runs per side) ...")
            records += [{"kind": "compare", **r} for r in compare_input(INPUTS[label], repeats, proxy, say=_say)]
    return records


def _throughput(plan: dict[str, Any]) -> list[dict[str, Any]]:
    from bench.throughput import run_throughput

    _say(f"throughput: {plan['jobs']} jobs at once, {plan['rounds']} rounds ...")
    return [{"kind": "throughput", **run_throughput(plan["jobs"], rounds=plan["rounds"], say=_say)}]


def _profile(plan: dict[str, Any]) -> list[dict[str, Any]]:
    from bench.profile import run_profile

    _say(f"profile: where a warm job's CPU goes ({plan['profile_jobs']} jobs, twice) ...")
    small = run_profile(plan["profile_jobs"], say=_say)
    # The 200 MB target is for the worker's part too: its own profile (few jobs: each takes seconds).
    _say(f"profile on the 200MB source ({plan['large_profile_jobs']} jobs, twice) ...")
    large = run_profile(plan["large_profile_jobs"], source="200MB", warm_jobs=1, say=_say)
    return [{"kind": "profile", **small}, {"kind": "profile_large", **large}]


def _import(plan: dict[str, Any]) -> list[dict[str, Any]]:
    from bench.importtime import measure_import

    _say("cold import of function_app ...")
    return [{"kind": "import", **measure_import(plan["imports"])}]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    commands = ("all", "compare", "throughput", "profile", "import", "report")
    parser.add_argument("command", nargs="?", choices=commands, default="all")
    parser.add_argument("--quick", action="store_true", help="smoke run: fewer repeats, 20 throughput jobs")
    parser.add_argument("--skip-throughput", action="store_true", help="leave the throughput run out of `all`")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    WORK_DIR.mkdir(parents=True, exist_ok=True)

    started, load_before = time.monotonic(), os.getloadavg()[0]
    parts = {"compare": _compare, "throughput": _throughput, "profile": _profile, "import": _import}
    if args.command == "all":
        chosen = [name for name in parts if not (name == "throughput" and args.skip_throughput)]
    elif args.command == "report":
        chosen = []
    else:
        chosen = [args.command]
    records = load()
    for name in chosen:
        fresh = parts[name](plan)  # records of kind `name`, replacing an earlier run's
        kinds = {name} | {r["kind"] for r in fresh}
        records = [r for r in records if r.get("kind") not in kinds] + fresh
    if chosen:
        run = {
            "kind": "run",
            "quick": args.quick,
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, {host.system()} {host.machine()}",
            "parts": chosen,
            "seconds": round(time.monotonic() - started, 1),
            # Other processes on the same cores slow both sides, not alike: the ratios are of this machine's state.
            # (Only before: during the run, the platform's own processes are the load.)
            "load_average_at_start": round(load_before, 2),
        }
        records = [r for r in records if r.get("kind") != "run"] + [run]
    write_all(records)
    _say("")
    _say(ratio_table(records))
    _say(f"\nwrote bench/results.json, bench/results.png, bench/README-section.md ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
