"""What the Functions host allows the worker, read once from `host.json` beside the app (and its app-setting
overrides): the invocation timeout, how many queue messages one instance runs at a time (per trigger queue: `jobs`
and `jobs-poison` each run their own batches, concurrently), and so how many threads the Python worker needs for
them (`PYTHON_THREADPOOL_THREAD_COUNT`, which infra and the local platform both set from here) and how many
connections the shared HTTP pool needs.

The host reads `host.json` at the app's root; any value can be overridden by an app setting named after its path,
`AzureFunctionsJobHost__functionTimeout` or `AzureFunctionsJobHost__extensions__queues__batchSize` (names are
case-insensitive, as the host's configuration is). Absent values take the host's documented defaults.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import SettingsError

__all__ = [
    "HOST_JSON",
    "HTTP_THREADS",
    "JOB_THREAD_CONNECTIONS",
    "POISON_MESSAGE_CONNECTIONS",
    "POOL_HEADROOM",
    "QUEUE_TRIGGERS",
    "SHUTDOWN_RESERVE_SECONDS",
    "STREAMS_PER_RENDITION",
    "THREAD_COUNT_SETTING",
    "HostLimits",
]

# imgix_worker/ sits beside host.json both in the repository (function_app/) and in the published zip's root.
HOST_JSON = Path(__file__).resolve().parent.parent / "host.json"
OVERRIDE_PREFIX = "AzureFunctionsJobHost__"
# Time between a job's deadline and the host's functionTimeout: the last events' final attempts, the staged
# source's deletion and the ledger's markers run after the deadline and must end before the host kills the call.
SHUTDOWN_RESERVE_SECONDS = 30
# Connections one rendition holds at once: the imgix answer streams straight into the target's upload.
STREAMS_PER_RENDITION = 2
# A job's own thread beside its renditions': staging, then the failure events it sends at the deadline while
# renditions still stream.
JOB_THREAD_CONNECTIONS = 1
# A `jobs-poison` message sends its events one at a time; that queue's batch runs beside the `jobs` batch.
POISON_MESSAGE_CONNECTIONS = 1
# Connections beyond the queues': the intake's calls.
POOL_HEADROOM = 8
# The Python worker runs every sync invocation (HTTP and queue) on one pool of this many threads; on Python 3.9+ its
# default is ThreadPoolExecutor's min(32, cores + 4): 5-6 threads on a 1-2 core Flex instance.
THREAD_COUNT_SETTING = "PYTHON_THREADPOOL_THREAD_COUNT"
# function_app.py's queue triggers (`jobs`, `jobs-poison`): the host runs a batch of each at once.
QUEUE_TRIGGERS = 2
# Threads kept free for the intake while every queue invocation holds one: Asset Compute's relay call waits on it.
HTTP_THREADS = 8
# The host's defaults (Flex Consumption: functionTimeout 30 min; queues: batchSize 16, newBatchThreshold = half).
DEFAULT_FUNCTION_TIMEOUT = 30 * 60.0
DEFAULT_BATCH_SIZE = 16

_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?$")


def _timespan_seconds(text: str) -> float:
    """Seconds of a .NET TimeSpan (`[d.]hh:mm:ss[.fff]`); `-1` (no timeout) is infinity."""
    if text.strip() == "-1":
        return math.inf
    match = _TIMESPAN.match(text.strip())
    if match is None:
        raise ValueError(text)
    days, hours, minutes, seconds, fraction = match.groups()
    return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + int(seconds) + float(f"0.{fraction or 0}")


def _override(environ: Mapping[str, str], path: str) -> str | None:
    wanted = (OVERRIDE_PREFIX + path).lower()
    for key, value in environ.items():
        if key.lower() == wanted and value.strip():
            return value.strip()
    return None


@dataclass(frozen=True)
class HostLimits:
    """The host's limits that the worker's own settings and pool must fit in."""

    function_timeout_seconds: float  # math.inf when the host never abandons an invocation
    batch_size: int
    new_batch_threshold: int

    @classmethod
    def load(cls, environ: Mapping[str, str], *, path: Path = HOST_JSON) -> HostLimits:
        """Read `path` (host.json) and the `AzureFunctionsJobHost__...` overrides in `environ`.

        :raises SettingsError: naming the host.json key (or its override) whose value is not readable.
        """
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            config = {}
        queues = config.get("extensions", {}).get("queues", {})

        def value(key: str, found: object) -> str | None:
            override = _override(environ, key.replace(".", "__"))
            return override if override is not None else (None if found is None else str(found))

        timeout_text = value("functionTimeout", config.get("functionTimeout"))
        try:
            timeout = DEFAULT_FUNCTION_TIMEOUT if timeout_text is None else _timespan_seconds(timeout_text)
        except ValueError:
            raise SettingsError("functionTimeout", "must be a time span such as 00:10:00 (host.json)") from None
        batch = _count(value("extensions.queues.batchSize", queues.get("batchSize")), "batchSize", DEFAULT_BATCH_SIZE)
        threshold = _count(
            value("extensions.queues.newBatchThreshold", queues.get("newBatchThreshold")),
            "newBatchThreshold",
            batch // 2,
        )
        return cls(function_timeout_seconds=timeout, batch_size=batch, new_batch_threshold=threshold)

    @property
    def concurrent_messages(self) -> int:
        """Messages of one queue one instance runs at once: a batch, plus the next one fetched at the threshold."""
        return self.batch_size + self.new_batch_threshold

    def check_job_deadline(self, deadline_seconds: float) -> None:
        """Refuse a job deadline the host would cut short.

        :raises SettingsError: naming JOB_DEADLINE_SECONDS and functionTimeout.
        """
        limit = self.function_timeout_seconds - SHUTDOWN_RESERVE_SECONDS
        if deadline_seconds > limit:
            raise SettingsError(
                "JOB_DEADLINE_SECONDS",
                f"must be at most host.json's functionTimeout ({self.function_timeout_seconds:g} s) minus "
                f"{SHUTDOWN_RESERVE_SECONDS} s, i.e. {max(0.0, limit):g}; lower it or raise functionTimeout",
            )

    @property
    def sync_threads(self) -> int:
        """Threads the Python worker's pool needs so that the intake never waits behind queue invocations: every
        queue trigger's `concurrent_messages`, plus `HTTP_THREADS`."""
        return self.concurrent_messages * QUEUE_TRIGGERS + HTTP_THREADS

    def http_connections(self, render_concurrency: int) -> int:
        """Connections the shared HTTP pool keeps alive per host so that none is opened afresh under load: the `jobs`
        batch's renditions and job threads, the `jobs-poison` batch (the host runs it concurrently, with the same
        queue settings), and the intake."""
        jobs = self.concurrent_messages * (render_concurrency * STREAMS_PER_RENDITION + JOB_THREAD_CONNECTIONS)
        poison = self.concurrent_messages * POISON_MESSAGE_CONNECTIONS
        return jobs + poison + POOL_HEADROOM


def _count(text: str | None, key: str, default: int) -> int:
    if text is None:
        return default
    try:
        number = int(text)
    except ValueError:
        raise SettingsError(key, "must be an integer (host.json extensions.queues)") from None
    if number < 0:
        raise SettingsError(key, "must not be negative (host.json extensions.queues)")
    return number
