"""Where a warm job's CPU goes (`python -m bench profile`): many 1 MB jobs, one after another, then as many again
with py-spy sampling the worker host from outside.

Per-job CPU is below /proc's 10 ms tick, so it is read over the whole first run (`procstat`) and divided by the
number of jobs. The second run only splits it: py-spy stops the process to take each sample (its non-blocking mode
reads torn stacks), which costs the process CPU of its own, so its run is not timed. py-spy counts a thread waiting
in a lock or a socket as active, so samples whose innermost frame is such a wait are left out (`IDLE_FRAMES`); the
rest split the first run's total by phase. A thread waiting for the GIL after a system call still counts (py-spy
cannot tell it from a running one): phases where several of the worker's threads run at once are overstated. A
sample belongs to the first phase whose frame it holds, innermost first, so a log line written while staging counts
as logging. What the local host plays for the Functions host (queue receive and delete, the output binding's put,
HTTP parsing, its idle polling) has no frame of the app: it is reported beside the worker's part, which is what runs
in the Python worker in Azure. The active stacks are kept, gzipped, as `bench/profile-stacks*.txt.gz` (flamegraph
input).
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
import sysconfig
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import BENCH_DIR, ROOT, WORK_DIR
from bench.aem import AemSide
from bench.compare import JOB_DEADLINE_SECONDS, JOB_TIMEOUT
from bench.inputs import INPUTS, ensure
from bench.procstat import sample
from bench.renditions import COMPARE
from bench.worker_log import WorkerLog
from local_platform.platform import LocalPlatform

__all__ = ["PHASES", "phase_of", "run_profile"]

WARM_JOBS = 10
SAMPLE_RATE = 397  # Hz; prime, so sampling does not lock onto a periodic activity
# Innermost frames of a thread that waits (a lock, a condition, a socket read, a selector, a sleep; httpcore's pool
# lock and socket read; a TLS handshake mostly waits for the peer, so its samples are left out too and its CPU is
# spread over the phases like the rest).
IDLE_FRAMES = ("Condition.wait ", "SSLSocket.read ", "SSLSocket.recv_into ", "_PollLikeSelector.select ",
               "_worker (", "Event.wait ", "Thread.join ", "sleep ", "SimpleQueue.get ",
               "SSLSocket.do_handshake ", "ThreadLock.__enter__ ", "SyncStream.read ")  # fmt: skip
PROFILE_DIR = WORK_DIR / "profile"
# Gzipped (collapsed stacks run to a megabyte): `zcat bench/profile-stacks.txt.gz | flamegraph.pl > profile.svg`.
STACKS_FILES = {"1MB": BENCH_DIR / "profile-stacks.txt.gz", "200MB": BENCH_DIR / "profile-stacks-200MB.txt.gz"}

# (phase, substrings of a frame "function (file:line)"), matched innermost frame first. Library frames count for
# the app phase that called them; frames of the app's modules name the phase.
PHASES: list[tuple[str, tuple[str, ...]]] = [
    ("logging", ("/logs.py:", "/redaction.py:", "/logging/__init__.py:")),
    ("intake: token", ("/auth.py:",)),
    ("intake: relay signature", ("/relay_auth.py:", "/replay_markers.py:")),
    ("queue encode/decode", ("/jobs.py:",)),
    ("intake: checks", ("/intake.py:", "/instructions.py:", "/url_policy.py:", "/contract_fields.py:")),
    ("ledger markers", ("/ledger.py:",)),
    ("events", ("/events.py:",)),
    ("delivery", ("/delivery.py:",)),
    ("imgix fetch", ("/rendering.py:", "/imgix_urls.py:", "/sniff.py:", "/param_policy.py:", "/imgix_params.py:")),
    ("cleanup", ("Stager.remove (",)),
    ("staging", ("/staging.py:", "/source_checks.py:", "/streamed_copy.py:")),
    ("job orchestration", ("/processor.py:", "/service.py:", "/function_app.py:")),
]
HOST_PHASES: list[tuple[str, tuple[str, ...]]] = [
    ("host: output binding put", ("QueueStore.write_outputs (", "QueueStore.send (")),
    ("host: queue receive/delete", ("/queue_trigger.py:",)),
    ("host: HTTP parsing and reply", ("/worker_host.py:", "/http_trigger.py:", "socketserver.py:", "http/server.py:")),
    ("host: invocation", ("/invocation.py:",)),
]
APP_FILES = ("/function_app/",)


def phase_of(stack: str) -> str | None:
    """The phase of one collapsed stack (`outer;...;inner`): the app's when it holds a frame of the app; None for
    a thread that waits."""
    frames = stack.split(";")
    if frames[-1].startswith(IDLE_FRAMES):
        return None
    in_app = any(marker in frame for frame in frames for marker in APP_FILES)
    table = PHASES if in_app else HOST_PHASES
    for frame in reversed(frames):
        for name, markers in table:
            if any(marker in frame for marker in markers):
                return name
    return "worker: other" if in_app else "host: other"


@dataclass(frozen=True)
class _Sampler:
    process: subprocess.Popen[bytes]
    output: Path

    @classmethod
    def attach(cls, pid: int, output: Path) -> _Sampler:
        py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        cmd = [py_spy, "record", "--pid", str(pid), "--rate", str(SAMPLE_RATE), "--format", "raw",
               "--full-filenames", "--output", str(output)]  # fmt: skip
        process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return cls(process, output)

    def stop(self) -> Counter[str]:
        self.process.send_signal(2)  # py-spy writes its output on SIGINT
        _, err = self.process.communicate(timeout=60)
        if not self.output.exists():
            raise RuntimeError(f"py-spy wrote no profile: {err.decode(errors='replace')[-500:]}")
        stacks: Counter[str] = Counter()
        for line in self.output.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if count.isdigit():
                stacks[stack] += int(count)
        return stacks


def _wait_until_sampling(sampler: _Sampler) -> None:
    # py-spy says so once it samples; a job started before that would count in the CPU but not in the split.
    assert sampler.process.stdout is not None
    sampler.process.stdout.readline()


def _keep(stacks: Counter[str], output: Path) -> None:
    """The active stacks as `output` (flamegraph.pl's input): short paths, and from the first frame of the app or the
    local host inward (the thread start-up frames above it are the same everywhere)."""
    roots = {str(Path(p)) for p in sys.path if p.endswith("-packages")} | {str(ROOT), sysconfig.get_paths()["stdlib"]}
    prefixes = sorted((root + "/" for root in roots), key=len)
    kept: Counter[str] = Counter()
    for stack, count in stacks.items():
        if phase_of(stack) is None:
            continue
        for prefix in reversed(prefixes):
            stack = stack.replace(prefix, "")
        frames = stack.split(";")
        first = next((i for i, f in enumerate(frames) if "(function_app/" in f or "(local_platform/" in f), 0)
        kept[";".join(frames[first:])] += count
    text = "".join(f"{stack} {count}\n" for stack, count in kept.most_common())
    output.write_bytes(gzip.compress(text.encode(), mtime=0))


def run_profile(
    jobs: int, *, source: str = "1MB", warm_jobs: int = WARM_JOBS, say: Callable[[str], None] = print
) -> dict[str, Any]:
    """A `profile` record: CPU per warm job (3 renditions) on `source`, split by phase, worker and host apart."""
    PROFILE_DIR.mkdir(parents=True, exist_ok=True)
    path = ensure(INPUTS[source])
    logs = WORK_DIR / "logs" / f"profile-{source}"
    logs.mkdir(parents=True, exist_ok=True)
    settings = {"JOB_DEADLINE_SECONDS": JOB_DEADLINE_SECONDS}
    with LocalPlatform.start(relay=False, log_dir=logs, worker_settings=settings) as platform:
        aem = AemSide(platform)
        log = WorkerLog(logs / "worker.log")
        pid = platform.worker.pid
        assert pid is not None
        try:
            url = aem.upload_source(path)

            def one() -> None:
                job = aem.job(url, path, COMPARE, worker=platform.worker.url)
                aem.post(platform.worker.url, job)
                events = aem.wait(job, JOB_TIMEOUT)
                log.wait_for("job finished", job.request_id, JOB_TIMEOUT)
                aem.settle(job, events)

            for _ in range(warm_jobs):
                one()
            say(f"  {jobs} warm jobs ...")
            before, started = sample(pid), time.monotonic()
            for _ in range(jobs):
                one()
            used, seconds = sample(pid) - before, time.monotonic() - started
            say(f"  {jobs} warm jobs under py-spy ...")
            sampler = _Sampler.attach(pid, PROFILE_DIR / f"stacks-{source}.txt")
            _wait_until_sampling(sampler)
            for _ in range(jobs):
                one()
            stacks = sampler.stop()
        finally:
            aem.close()
    by_phase: Counter[str] = Counter()
    for stack, count in stacks.items():
        phase = phase_of(stack)
        if phase is not None:
            by_phase[phase] += count
    total_samples = sum(by_phase.values()) or 1
    cpu_per_job_ms = 1000 * used.cpu_s / jobs
    phases = {
        name: {"share": count / total_samples, "cpu_ms_per_job": cpu_per_job_ms * count / total_samples}
        for name, count in by_phase.most_common()
    }
    worker_share = sum(v["share"] for k, v in phases.items() if not k.startswith("host:"))
    _keep(stacks, STACKS_FILES[source])
    return {
        "input": source,
        "jobs": jobs,
        "renditions_per_job": len(COMPARE),
        "source_bytes": path.stat().st_size,
        "seconds": seconds,
        "process_cpu_ms_per_job": cpu_per_job_ms,
        "worker_cpu_ms_per_job": cpu_per_job_ms * worker_share,
        "host_cpu_ms_per_job": cpu_per_job_ms * (1 - worker_share),
        "samples": total_samples,
        "phases": phases,
    }
