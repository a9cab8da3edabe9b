"""Throughput (`python -m bench throughput`): many jobs submitted at once straight to the intake (no relay).

Every job has the same 5 MB source and two renditions; all targets are made before the clock starts. A pool of
16 threads posts the jobs; the intake only checks and enqueues them, so the host's queue fills long before the host
has worked through it and never runs dry (`submit_s`, the time to post them all, shows it). A job's latency runs
from its POST to its last event at the I/O Events ingress. Every job must end with exactly one `rendition_created`
per rendition (checked after a grace period, so a late duplicate is seen) and each committed rendition must have
the size its event reports.

The same renditions are then fetched straight from the renderer, each job's from its own copy of the source (as
through the worker, where every job stages its own; the copies are made before the clock starts), with as many
requests in flight as the worker can have: the jobs the host runs at once (host.json, within the worker's threads)
times the renditions each job renders at once (`RENDER_CONCURRENCY`, at most the job's renditions). That is the
renderer's capacity at the worker's concurrency; the difference is what the worker adds per job.

Both sides share this machine's cores with each other's stand-ins, and one pair of runs varies by a few percent,
so the pair runs `rounds` times on one platform, alternating; the record is the round with the median ratio, with
every round's figures beside it, and the CPU each process of the platform spent in each side of that round (the
renderer, Azurite as Azure Storage, the worker host, this process as AEM and the I/O Events ingress).
"""

from __future__ import annotations

import os
import ssl
import statistics
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from azure.storage.blob import ContainerClient
from imgix import UrlBuilder

from bench import WORK_DIR
from bench.aem import AemSide, BenchError, Job
from bench.compare import JOB_DEADLINE_SECONDS
from bench.inputs import INPUTS, ensure
from bench.procstat import group_cpu_s, reset_peak_rss, rss_mb, sample
from bench.renditions import THROUGHPUT, params
from imgix_worker.host_limits import HostLimits
from imgix_worker.settings import Settings
from local_platform.invocation import SyncThreadPool
from local_platform.platform import LocalPlatform

__all__ = ["run_throughput"]

SUBMITTERS = 16
COMPLETION_TIMEOUT = 900.0
DUPLICATE_GRACE_SECONDS = 2.0
# The events journal serves the worker from this process: a coarser poll keeps the GIL free for it, and 50 ms is
# far below the latencies measured (seconds).
POLL_SECONDS = 0.05


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _violations(aem: AemSide, platform: LocalPlatform, jobs: list[Job]) -> list[str]:
    """Jobs that did not end with exactly one created event per rendition, or whose renditions are wrong."""
    found = []
    for index, job in enumerate(jobs):
        events = platform.services.events(job.request_id)
        per_name = Counter(str(e.get("rendition", {}).get("name")) for e in events)
        if per_name != Counter(job.names):
            found.append(f"job {index}: events per rendition {dict(per_name)}")
            continue
        try:
            aem.settle(job, events)
        except BenchError as exc:
            found.append(f"job {index}: {exc}")
    return found


class _PlatformCpu:
    """CPU seconds each process group of the platform spends between `start()` and `stop()`."""

    def __init__(self, platform: LocalPlatform) -> None:
        self._groups = {
            "renderer": platform.renderer.process,
            "Azurite (Azure Storage)": platform.azurite.process,
            "worker host": platform.worker.process,
        }
        self._before: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        now = {name: group_cpu_s(p.pid) for name, p in self._groups.items() if p is not None}
        now["bench (AEM, I/O Events)"] = sample(os.getpid()).cpu_s
        return now

    def start(self) -> None:
        self._before = self._now()

    def stop(self) -> dict[str, float]:
        return {name: round(cpu - self._before.get(name, 0.0), 2) for name, cpu in self._now().items()}


def _through_worker(platform: LocalPlatform, aem: AemSide, count: int, cpu: _PlatformCpu) -> dict[str, Any]:
    path = ensure(INPUTS["5MB"])
    url = aem.upload_source(path)
    warm = aem.job(url, path, THROUGHPUT, worker=platform.worker.url)
    aem.post(platform.worker.url, warm)
    aem.settle(warm, aem.wait(warm, COMPLETION_TIMEOUT))
    jobs = [aem.job(url, path, THROUGHPUT, worker=platform.worker.url) for _ in range(count)]
    pid = platform.worker.pid
    assert pid is not None
    reset_peak_rss(pid)
    before = sample(pid)
    submitted: dict[str, float] = {}

    def submit(job: Job) -> None:
        submitted[job.request_id] = time.monotonic()
        aem.post(platform.worker.url, job)

    cpu.start()
    started = time.monotonic()
    with ThreadPoolExecutor(SUBMITTERS) as pool:
        list(pool.map(submit, jobs))
    submit_s = time.monotonic() - started
    done: dict[str, float] = {}
    deadline = started + COMPLETION_TIMEOUT
    while len(done) < len(jobs) and time.monotonic() < deadline:
        for job in jobs:
            if job.request_id not in done and len(platform.services.events(job.request_id)) >= len(job.blobs):
                done[job.request_id] = time.monotonic()
        time.sleep(POLL_SECONDS)
    cpu_s_by_process = cpu.stop()  # before the grace period and the checks, which read every rendition back
    finished = max(done.values(), default=time.monotonic())
    used = sample(pid) - before
    peak = rss_mb(pid)
    time.sleep(DUPLICATE_GRACE_SECONDS)
    violations = _violations(aem, platform, jobs)
    latencies = [done[j.request_id] - submitted[j.request_id] for j in jobs if j.request_id in done]
    seconds = finished - started
    return {
        "jobs": count,
        "renditions_per_job": len(THROUGHPUT),
        "source_bytes": path.stat().st_size,
        "completed": len(done),
        "violations": violations,
        "submit_s": submit_s,
        "seconds": seconds,
        "jobs_per_s": len(done) / seconds,
        "latency_p50_s": _percentile(latencies, 0.5) if latencies else None,
        "latency_p95_s": _percentile(latencies, 0.95) if latencies else None,
        "worker_cpu_s": used.cpu_s,
        "worker_cpu_s_per_job": used.cpu_s / count,
        "bytes_through_worker": used.rchar,
        "peak_rss_mb": peak,
        "cpu_s_by_process": cpu_s_by_process,
    }


def _stage_direct_sources(platform: LocalPlatform, count: int) -> list[str]:
    """One copy of the source per job in the imgix source container, for the renderer alone."""
    env = platform.worker_environment
    blobs = [f"bench/direct/{job}/source.jpg" for job in range(count)]
    data = ensure(INPUTS["5MB"]).read_bytes()
    with (
        ContainerClient.from_connection_string(
            env["IMGIX_SOURCE_CONNECTION_STRING"], env["IMGIX_SOURCE_CONTAINER"], connection_verify=env["TLS_CA_BUNDLE"]
        ) as container,
        ThreadPoolExecutor(4) as uploads,
    ):
        list(uploads.map(lambda blob: container.upload_blob(blob, data, overwrite=True), blobs))
    return blobs


def _renderer_alone(platform: LocalPlatform, blobs: list[str], concurrency: int, cpu: _PlatformCpu) -> dict[str, Any]:
    """The renditions of one job per blob straight from the renderer, `concurrency` at a time."""
    env = platform.worker_environment
    ca = env["TLS_CA_BUNDLE"]
    count = len(blobs)
    builder = UrlBuilder(env["IMGIX_DOMAIN"], sign_key=env["IMGIX_SECURE_TOKEN"], include_library_param=False)
    origin = f"https://{env['IMGIX_DOMAIN']}"
    urls = [
        platform.renderer.url + builder.create_url(blob, params(r))[len(origin) :] for blob in blobs for r in THROUGHPUT
    ]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with httpx.Client(verify=ssl.create_default_context(cafile=ca), timeout=600.0, limits=limits) as http:

        def fetch(url: str) -> tuple[float, float]:
            begun = time.monotonic()
            response = http.get(url)
            if response.status_code != 200:
                raise BenchError(f"the renderer answered {response.status_code}")
            return time.monotonic() - begun, float(response.headers.get("x-render-seconds", 0.0))

        fetch(urls[0])  # warm the connection and the renderer
        cpu.start()
        started = time.monotonic()
        with ThreadPoolExecutor(concurrency) as pool:
            results = list(pool.map(fetch, urls))
        seconds = time.monotonic() - started
        cpu_s_by_process = cpu.stop()
    requests = [t for t, _ in results]
    return {
        "renditions": len(urls),
        "concurrency": concurrency,
        "seconds": seconds,
        "renditions_per_s": len(urls) / seconds,
        "jobs_per_s_equivalent": count / seconds,
        "render_s_sum": sum(r for _, r in results),
        "request_p50_s": statistics.median(requests),
        "request_p95_s": _percentile(requests, 0.95),
        "cpu_s_by_process": cpu_s_by_process,
    }


def _host_concurrency(platform: LocalPlatform, renditions_per_job: int) -> dict[str, int]:
    """How many jobs the local host runs at once: host.json's batch plus its next one, within the worker's pool of
    threads for sync functions (which the intake shares); and so how many renditions the worker has in flight, as
    each job renders `RENDER_CONCURRENCY` of its renditions at once."""
    env = {**os.environ, **platform.worker_environment}  # as the host process gets them
    limits, threads = HostLimits.load(env), SyncThreadPool.from_settings(env).size
    jobs_at_once = min(limits.concurrent_messages, threads)
    render_concurrency = Settings.from_env(env).render_concurrency
    return {
        "batch_size": limits.batch_size,
        "new_batch_threshold": limits.new_batch_threshold,
        "thread_count": threads,
        "jobs_at_once": jobs_at_once,
        "render_concurrency": render_concurrency,
        "renditions_in_flight": jobs_at_once * min(render_concurrency, renditions_per_job),
    }


def _round(platform: LocalPlatform, aem: AemSide, blobs: list[str], in_flight: int) -> dict[str, Any]:
    cpu = _PlatformCpu(platform)  # within each side's timed window
    worker = _through_worker(platform, aem, len(blobs), cpu)
    alone = _renderer_alone(platform, blobs, in_flight, cpu)
    return {**worker, "renderer_alone": alone, "ratio": worker["jobs_per_s"] / alone["jobs_per_s_equivalent"]}


def run_throughput(count: int, *, rounds: int = 1, say: Any = print) -> dict[str, Any]:
    """The `throughput` record: `rounds` times jobs through the worker, then the renderer alone, on one fresh
    platform; the round with the median ratio, every round's figures beside it."""
    logs = WORK_DIR / "logs" / "throughput"
    logs.mkdir(parents=True, exist_ok=True)
    settings = {"JOB_DEADLINE_SECONDS": JOB_DEADLINE_SECONDS}
    with LocalPlatform.start(relay=False, log_dir=logs, worker_settings=settings) as platform:
        aem = AemSide(platform)
        try:
            host = _host_concurrency(platform, len(THROUGHPUT))
            in_flight = host["renditions_in_flight"]
            blobs = _stage_direct_sources(platform, count)
            done = []
            for number in range(1, rounds + 1):
                say(
                    f"  round {number}/{rounds}: {count} jobs through the worker ({host['jobs_at_once']} at once), "
                    f"then their {count * len(THROUGHPUT)} renditions straight from the renderer, {in_flight} at once"
                )
                done.append(_round(platform, aem, blobs, in_flight))
                say(f"    {done[-1]['ratio']:.2f}x")
        finally:
            aem.close()
    median = sorted(done, key=lambda r: r["ratio"])[(len(done) - 1) // 2]
    overhead = median["seconds"] - median["renderer_alone"]["seconds"]
    return {
        **median,
        **host,
        "submitters": SUBMITTERS,
        "worker_overhead_s": overhead,
        "worker_overhead_ms_per_job": 1000 * overhead / count,
        "worker_to_renderer_alone_ratio": median["ratio"],
        "rounds": [
            {
                "jobs_per_s": r["jobs_per_s"],
                "renderer_alone_jobs_per_s": r["renderer_alone"]["jobs_per_s_equivalent"],
                "ratio": r["ratio"],
                "completed": r["completed"],
                "violations": r["violations"],
                "worker_cpu_s_per_job": r["worker_cpu_s_per_job"],
            }
            for r in done
        ],
    }
