"""Throughput (`python -m bench throughput`): many jobs submitted at once straight to the intake (no relay).

Every job has the same 5 MB source and two renditions; all targets are made before the clock starts. A pool of
16 threads posts the jobs; a job's latency runs from its POST to its last event at the I/O Events ingress.
Every job must end with exactly one `rendition_created` per rendition (checked after a grace period, so a late
duplicate is seen) and each committed rendition must have the size its event reports.

The same renditions are then fetched straight from the renderer, with the same concurrency, from a copy of the
source staged once: the renderer's own capacity. The difference is what the worker adds per job.
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
from bench.procstat import reset_peak_rss, rss_mb, sample
from bench.renditions import THROUGHPUT, params
from imgix_worker.host_limits import HostLimits
from local_platform.invocation import SyncThreadPool
from local_platform.platform import LocalPlatform

__all__ = ["run_throughput"]

SUBMITTERS = 16
COMPLETION_TIMEOUT = 900.0
DUPLICATE_GRACE_SECONDS = 2.0
POLL_SECONDS = 0.01


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


def _through_worker(platform: LocalPlatform, aem: AemSide, count: int) -> dict[str, Any]:
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

    started = time.monotonic()
    with ThreadPoolExecutor(SUBMITTERS) as pool:
        list(pool.map(submit, jobs))
    done: dict[str, float] = {}
    deadline = started + COMPLETION_TIMEOUT
    while len(done) < len(jobs) and time.monotonic() < deadline:
        for job in jobs:
            if job.request_id not in done and len(platform.services.events(job.request_id)) >= len(job.blobs):
                done[job.request_id] = time.monotonic()
        time.sleep(POLL_SECONDS)
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
        "seconds": seconds,
        "jobs_per_s": len(done) / seconds,
        "latency_p50_s": _percentile(latencies, 0.5) if latencies else None,
        "latency_p95_s": _percentile(latencies, 0.95) if latencies else None,
        "worker_cpu_s": used.cpu_s,
        "worker_cpu_s_per_job": used.cpu_s / count,
        "bytes_through_worker": used.rchar,
        "peak_rss_mb": peak,
    }


def _renderer_alone(platform: LocalPlatform, count: int) -> dict[str, Any]:
    """The same renditions straight from the renderer, `SUBMITTERS` at a time."""
    env = platform.worker_environment
    ca = env["TLS_CA_BUNDLE"]
    blob = "bench/direct/source.jpg"
    with (
        ContainerClient.from_connection_string(
            env["IMGIX_SOURCE_CONNECTION_STRING"], env["IMGIX_SOURCE_CONTAINER"], connection_verify=ca
        ) as container,
        ensure(INPUTS["5MB"]).open("rb") as data,
    ):
        container.upload_blob(blob, data, overwrite=True)
    builder = UrlBuilder(env["IMGIX_DOMAIN"], sign_key=env["IMGIX_SECURE_TOKEN"], include_library_param=False)
    origin = f"https://{env['IMGIX_DOMAIN']}"
    urls = [
        platform.renderer.url + builder.create_url(blob, params(r))[len(origin) :]
        for _ in range(count)
        for r in THROUGHPUT
    ]
    limits = httpx.Limits(max_connections=SUBMITTERS, max_keepalive_connections=SUBMITTERS)
    with httpx.Client(verify=ssl.create_default_context(cafile=ca), timeout=600.0, limits=limits) as http:

        def fetch(url: str) -> tuple[float, float]:
            begun = time.monotonic()
            response = http.get(url)
            if response.status_code != 200:
                raise BenchError(f"the renderer answered {response.status_code}")
            return time.monotonic() - begun, float(response.headers.get("x-render-seconds", 0.0))

        fetch(urls[0])  # warm the connection and the renderer
        started = time.monotonic()
        with ThreadPoolExecutor(SUBMITTERS) as pool:
            results = list(pool.map(fetch, urls))
        seconds = time.monotonic() - started
    return {
        "renditions": len(urls),
        "seconds": seconds,
        "renditions_per_s": len(urls) / seconds,
        "jobs_per_s_equivalent": count / seconds,
        "render_s_sum": sum(r for _, r in results),
        "request_p50_s": statistics.median(t for t, _ in results),
    }


def _host_concurrency(platform: LocalPlatform) -> dict[str, int]:
    """How many jobs the local host runs at once: host.json's batch plus its next one, within the worker's pool of
    threads for sync functions (which the intake shares)."""
    env = {**os.environ, **platform.worker_environment}  # as the host process gets them
    limits, threads = HostLimits.load(env), SyncThreadPool.from_settings(env).size
    return {
        "batch_size": limits.batch_size,
        "new_batch_threshold": limits.new_batch_threshold,
        "thread_count": threads,
        "jobs_at_once": min(limits.concurrent_messages, threads),
    }


def run_throughput(count: int, *, say: Any = print) -> dict[str, Any]:
    """The `throughput` record: jobs through the worker, then the renderer alone, on one fresh platform."""
    logs = WORK_DIR / "logs" / "throughput"
    logs.mkdir(parents=True, exist_ok=True)
    settings = {"JOB_DEADLINE_SECONDS": JOB_DEADLINE_SECONDS}
    with LocalPlatform.start(relay=False, log_dir=logs, worker_settings=settings) as platform:
        aem = AemSide(platform)
        try:
            say(f"  {count} jobs through the worker ...")
            worker = _through_worker(platform, aem, count)
            say(f"  the same {count * len(THROUGHPUT)} renditions straight from the renderer ...")
            alone = _renderer_alone(platform, count)
            host = _host_concurrency(platform)
        finally:
            aem.close()
    overhead = worker["seconds"] - alone["seconds"]
    return {
        **worker,
        **host,
        "submitters": SUBMITTERS,
        "renderer_alone": alone,
        "worker_overhead_s": overhead,
        "worker_overhead_ms_per_job": 1000 * overhead / count,
        "renderer_alone_to_worker_ratio": alone["jobs_per_s_equivalent"] / worker["jobs_per_s"],
    }
