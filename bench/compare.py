"""Ours against the tutorial's algorithm, input by input, in one run (`python -m bench`, first part).

Three sides per input: "ours" (the worker with its default settings) and "baseline" alternate on one fresh
platform; "ours_sequential" (`RENDER_CONCURRENCY=1`, one rendition at a time like the baseline) runs on a second
one, because the worker reads its settings at start. A fresh platform per input also gives each process a memory
high-water mark of that input alone. All sides fetch renditions through the same render proxy
(`render_proxy.py`) from the same renderer, get the same source URL, the same imgix parameters and AEM-style
multipart targets. One warm-up job per side (1 MB source) runs first, so lazy imports and connection pools are
not counted. Figures per job are read around the job, from outside the processes (`procstat.py`).
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from azure.storage.blob import ContainerClient

from bench import WORK_DIR
from bench.aem import AemSide, BenchError, Job
from bench.baseline import BaselineProcess
from bench.inputs import INPUTS, SourceInput, ensure
from bench.procstat import ProcSample, reset_peak_rss, rss_mb, sample
from bench.render_proxy import RenderProxy, render_union
from bench.renditions import COMPARE, for_baseline
from bench.worker_log import WorkerLog
from imgix_worker.host_limits import SHUTDOWN_RESERVE_SECONDS, HostLimits
from local_platform.ims import LOCAL_CLIENT_ID, LOCAL_ORG_ID
from local_platform.platform import LocalPlatform

__all__ = ["JobSample", "compare_input"]

JOB_TIMEOUT = 900.0
# The longest job deadline the worker accepts under host.json's functionTimeout: no run is cut short by it.
JOB_DEADLINE_SECONDS = str(int(HostLimits.load({}).function_timeout_seconds - SHUTDOWN_RESERVE_SECONDS))
# The local host's queue polling doubles from 0.1 s to host.json's maxPollingInterval (2 s), reached 3.1 s after
# the last message; then two whole polling periods are measured.
IDLE_SETTLE_SECONDS = 3.5
IDLE_MEASURE_SECONDS = 4.0
# The worker's settings the baseline shares (the same imgix source, token and renderer origin).
_SHARED = ("IMGIX_SOURCE_CONNECTION_STRING", "IMGIX_SOURCE_CONTAINER", "IMGIX_SECURE_TOKEN", "IMGIX_DOMAIN",
           "TLS_CA_BUNDLE", "EVENTS_URL")  # fmt: skip


@dataclass(frozen=True)
class JobSample:
    """One job of one side."""

    wall_s: float  # submit -> the job's last event at the I/O Events ingress
    to_first_render_s: float  # submit -> the first rendition request reaching imgix: queue hop and staging
    render_sum_s: float  # X-Render-Seconds summed over the job's renditions
    render_union_s: float  # time during which at least one of them rendered
    renderer_s: float  # X-Response-Seconds summed: the renderer's whole time, incl. reading the source blob
    renderer_union_s: float  # time during which the renderer was answering at least one of the job's requests
    cpu_s: float
    rchar: int
    wchar: int
    rendition_bytes: int
    sha1s: tuple[str, ...]


@dataclass(frozen=True)
class _Measured:
    activation: str
    events: list[dict[str, Any]]
    started: float
    wall_s: float
    used: ProcSample


class _Sides:
    """Runs one job on either side of a running platform and measures it."""

    def __init__(
        self, platform: LocalPlatform, proxy: RenderProxy, baseline: BaselineProcess | None, log: WorkerLog
    ) -> None:
        self.platform = platform
        self.proxy = proxy
        self.baseline = baseline
        self.log = log
        self.aem = AemSide(platform)
        env = platform.worker_environment
        self._imgix = ContainerClient.from_connection_string(
            env["IMGIX_SOURCE_CONNECTION_STRING"], env["IMGIX_SOURCE_CONTAINER"], connection_verify=env["TLS_CA_BUNDLE"]
        )

    def _measure(self, pid: int, job: Job, submit: Callable[[], str], finish: Callable[[], None]) -> _Measured:
        before = sample(pid)
        started = time.monotonic()
        activation = submit()
        events = self.aem.wait(job, JOB_TIMEOUT)
        wall = time.monotonic() - started
        finish()  # the rest of the job's work (cleanup) still counts as its CPU and bytes
        return _Measured(activation, events, started, wall, sample(pid) - before)

    def _sample(self, job: Job, measured: _Measured, keep: Path | None) -> JobSample:
        records = self.proxy.records(f"/{measured.activation}/")
        if len(records) != len(job.blobs) or any(r.status != 200 for r in records):
            raise BenchError(f"expected {len(job.blobs)} renders of 200, the proxy saw {[r.status for r in records]}")
        settled = self.aem.settle(job, measured.events, keep=keep)
        used = measured.used
        return JobSample(
            wall_s=measured.wall_s,
            to_first_render_s=min(r.received_at for r in records) - measured.started,
            render_sum_s=sum(r.render_s for r in records),
            render_union_s=render_union(records),
            renderer_s=sum(r.response_s for r in records),
            renderer_union_s=render_union(records, whole_request=True),
            cpu_s=used.cpu_s,
            rchar=used.rchar,
            wchar=used.wchar,
            rendition_bytes=settled.rendition_bytes,
            sha1s=tuple(settled.sha1s),
        )

    def ours(self, source_url: str, source: Path, keep: Path | None = None) -> JobSample:
        job = self.aem.job(source_url, source, COMPARE, worker=self.platform.worker.url)
        pid = self.platform.worker.pid
        assert pid is not None
        measured = self._measure(
            pid,
            job,
            lambda: self.aem.post(self.platform.worker.url, job),
            lambda: self.log.wait_for("job finished", job.request_id, JOB_TIMEOUT),
        )
        return self._sample(job, measured, keep)

    def baseline_job(self, source_url: str, source: Path, keep: Path | None = None) -> JobSample:
        assert self.baseline is not None
        baseline = self.baseline
        job = self.aem.job(source_url, source, for_baseline(COMPARE), worker="baseline")
        activation = uuid.uuid4().hex
        message = {"activationId": activation, "requestId": job.request_id, "token": self.aem.token,
                   "orgId": LOCAL_ORG_ID, "clientId": LOCAL_CLIENT_ID, "source": source_url,
                   "sourceName": source.name, "renditions": job.body["renditions"]}  # fmt: skip
        outcome: dict[str, Any] = {}

        def submit() -> str:
            baseline.submit(message)
            return activation

        def finish() -> None:
            outcome.update(baseline.result(JOB_TIMEOUT))

        measured = self._measure(baseline.pid, job, submit, finish)
        if not outcome.get("ok"):
            raise BenchError(f"the baseline failed: {outcome.get('error')}")
        # The tutorial leaves the staged source behind; remove it so every run starts from the same container.
        self._imgix.delete_blob(outcome["stagedBlob"])
        return self._sample(job, measured, keep)

    def close(self) -> None:
        self.aem.close()
        self._imgix.close()


def _median(values: list[float]) -> float:
    return float(statistics.median(values))


def _record(
    source: SourceInput, side: str, samples: list[JobSample], *, peak_rss: float, idle_rss: float
) -> dict[str, Any]:
    return {
        "input": source.label,
        "side": side,
        "source_bytes": source.path.stat().st_size,
        "rendition_bytes": int(_median([s.rendition_bytes for s in samples])),
        "bytes_through_worker": int(_median([s.rchar for s in samples])),
        "bytes_written_by_worker": int(_median([s.wchar for s in samples])),
        "wall_s_median": _median([s.wall_s for s in samples]),
        "to_first_render_s_median": _median([s.to_first_render_s for s in samples]),
        "render_s_median": _median([s.render_sum_s for s in samples]),
        "render_union_s_median": _median([s.render_union_s for s in samples]),
        "renderer_s_median": _median([s.renderer_s for s in samples]),
        "overhead_s_median": _median([s.wall_s - s.render_union_s for s in samples]),
        "outside_renderer_s_median": _median([s.wall_s - s.renderer_union_s for s in samples]),
        "worker_cpu_s": _median([s.cpu_s for s in samples]),
        "peak_rss_mb": peak_rss,
        "idle_rss_mb": idle_rss,
        "runs": len(samples),
        "wall_s_runs": [round(s.wall_s, 3) for s in samples],
        "cpu_s_runs": [round(s.cpu_s, 3) for s in samples],
    }


@dataclass
class _SideRuns:
    samples: list[JobSample]
    peak_rss: float = 0.0
    idle_rss: float = 0.0
    idle_cpu_per_s: float | None = None


def _idle_cpu_rate(pid: int) -> float:
    """CPU seconds per second of an idle worker host: its queue consumers polling (backoff at its maximum)."""
    time.sleep(IDLE_SETTLE_SECONDS)
    before, started = sample(pid), time.monotonic()
    time.sleep(IDLE_MEASURE_SECONDS)
    return (sample(pid) - before).cpu_s / (time.monotonic() - started)


def _on_platform(
    source: SourceInput,
    repeats: int,
    proxy: RenderProxy,
    worker_settings: dict[str, str],
    sides: tuple[str, ...],
    say: Callable[[str], None],
) -> dict[str, _SideRuns]:
    """Runs of `sides` (an "ours..." label, optionally "baseline") on one fresh platform, alternating."""
    path, warm_path = ensure(source), ensure(INPUTS["1MB"])
    logs = WORK_DIR / "logs" / f"{source.label}-{sides[0]}"
    logs.mkdir(parents=True, exist_ok=True)
    settings = {"JOB_DEADLINE_SECONDS": JOB_DEADLINE_SECONDS, "IMGIX_BASE_URL": proxy.url, **worker_settings}
    with LocalPlatform.start(relay=False, log_dir=logs, worker_settings=settings) as platform, ExitStack() as stack:
        proxy.upstream = platform.renderer.url
        baseline = None
        if "baseline" in sides:
            env = {name: platform.worker_environment[name] for name in _SHARED} | {"IMGIX_BASE_URL": proxy.url}
            baseline = stack.enter_context(BaselineProcess(env, WORK_DIR / "baseline", logs / "baseline.log"))
        jobs = _Sides(platform, proxy, baseline, WorkerLog(logs / "worker.log"))
        try:
            run_one = {side: jobs.baseline_job if side == "baseline" else jobs.ours for side in sides}
            pids = {side: baseline.pid if baseline and side == "baseline" else platform.worker.pid for side in sides}
            warm_url = jobs.aem.upload_source(warm_path)
            for side in sides:
                run_one[side](warm_url, warm_path)  # lazy imports, connection pools
            runs = {side: _SideRuns([]) for side in sides}
            if baseline is not None:  # once per input: the polling rate does not depend on the settings
                runs[sides[0]].idle_cpu_per_s = _idle_cpu_rate(pids[sides[0]])  # type: ignore[arg-type]
            for side, pid in pids.items():
                runs[side].idle_rss = rss_mb(pid, peak=False)  # type: ignore[arg-type]
                reset_peak_rss(pid)  # type: ignore[arg-type]
            url = jobs.aem.upload_source(path)
            for run in range(repeats):
                keep = WORK_DIR / "out" / source.label if run == repeats - 1 else None
                for side in sides:
                    runs[side].samples.append(run_one[side](url, path, keep=keep and keep / side))
                walls = ", ".join(f"{side} {runs[side].samples[-1].wall_s:.2f}s" for side in sides)
                say(f"  {source.label} run {run + 1}/{repeats}: {walls}")
            for side, pid in pids.items():
                runs[side].peak_rss = rss_mb(pid)  # type: ignore[arg-type]
        finally:
            jobs.close()
    return runs


def compare_input(
    source: SourceInput, repeats: int, proxy: RenderProxy, *, say: Callable[[str], None]
) -> list[dict[str, Any]]:
    """The records of every side for one input: ours (as configured by default) and the baseline on one
    fresh platform, then ours one rendition at a time on another."""
    runs = _on_platform(source, repeats, proxy, {}, ("ours", "baseline"), say)
    runs |= _on_platform(source, repeats, proxy, {"RENDER_CONCURRENCY": "1"}, ("ours_sequential",), say)
    baseline_renditions = {s.sha1s for s in runs["baseline"].samples}
    records = []
    for side, side_runs in runs.items():
        record = _record(source, side, side_runs.samples, peak_rss=side_runs.peak_rss, idle_rss=side_runs.idle_rss)
        record["idle_cpu_s_per_s"] = side_runs.idle_cpu_per_s
        # Same bytes from the renderer on both sides: the two did the same rendering work.
        record["same_renditions_as_baseline"] = {s.sha1s for s in side_runs.samples} == baseline_renditions
        records.append(record)
    return records
