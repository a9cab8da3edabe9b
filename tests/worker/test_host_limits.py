"""The host's limits come from host.json (one reader) and its `AzureFunctionsJobHost__` app-setting overrides."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from imgix_worker.errors import SettingsError
from imgix_worker.host_limits import HOST_JSON, HTTP_THREADS, QUEUE_TRIGGERS, STREAMS_PER_RENDITION, HostLimits
from local_platform.paths import ROOT


def test_host_json_is_the_function_apps() -> None:
    assert HOST_JSON == ROOT / "function_app" / "host.json"


def test_read_from_host_json() -> None:
    config = json.loads(HOST_JSON.read_text())
    limits = HostLimits.load({})
    queues = config["extensions"]["queues"]
    assert limits.function_timeout_seconds == 600  # "00:10:00"
    assert limits.concurrent_messages == queues["batchSize"] + queues["newBatchThreshold"] == 12


def test_app_setting_overrides_win_whatever_their_case() -> None:
    limits = HostLimits.load(
        {
            "AzureFunctionsJobHost__functionTimeout": "1.00:00:00",
            "azurefunctionsjobhost__extensions__queues__batchSize": "2",
            "AzureFunctionsJobHost__extensions__queues__newBatchThreshold": "1",
        }
    )
    assert (limits.function_timeout_seconds, limits.concurrent_messages) == (86400, 3)
    assert HostLimits.load({"AzureFunctionsJobHost__functionTimeout": "-1"}).function_timeout_seconds == math.inf


def test_host_defaults_when_host_json_says_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "host.json"
    empty.write_text('{"version": "2.0"}')
    limits = HostLimits.load({}, path=empty)
    assert (limits.function_timeout_seconds, limits.batch_size, limits.new_batch_threshold) == (1800, 16, 8)


@pytest.mark.parametrize(
    ("key", "value"),
    [("functionTimeout", "ten minutes"), ("extensions__queues__batchSize", "many")],
)
def test_an_unreadable_value_is_named(key: str, value: str) -> None:
    with pytest.raises(SettingsError, match=key.rsplit("__", 1)[-1]):
        HostLimits.load({f"AzureFunctionsJobHost__{key}": value})


def test_the_pool_holds_every_stream_the_host_can_run_at_once() -> None:
    limits = HostLimits.load({})
    streams = limits.concurrent_messages * 4 * STREAMS_PER_RENDITION
    assert limits.http_connections(4) > streams


def test_the_pool_also_holds_the_poison_queues_batch() -> None:
    limits = HostLimits.load({})  # host.json: batchSize 8 + newBatchThreshold 4 per trigger queue
    assert limits.concurrent_messages == 12
    jobs = 12 * (4 * STREAMS_PER_RENDITION + 1)  # each job's renditions, and its own thread's failure events
    poison = 12  # the jobs-poison trigger's batch, each message sending its events one at a time
    assert limits.http_connections(4) >= jobs + poison + 1  # and at least one for the intake


def test_the_python_workers_threads_outnumber_every_queue_invocation_the_host_runs() -> None:
    limits = HostLimits.load({"AzureFunctionsJobHost__extensions__queues__batchSize": "10"})  # threshold: host.json's
    assert limits.sync_threads == (10 + limits.new_batch_threshold) * QUEUE_TRIGGERS + HTTP_THREADS
    assert HTTP_THREADS >= 1, "the intake needs a thread while every queue invocation holds one"


def test_the_worker_pool_is_sized_from_the_host(worker_env: dict[str, str]) -> None:
    from .conftest import build_worker

    worker = build_worker(worker_env | {"RENDER_CONCURRENCY": "3"})
    pools = worker.processor._http._pools  # type: ignore[attr-defined]
    assert pools.connection_pool_kw["maxsize"] == HostLimits.load({}).http_connections(3)


def test_worker_traces_are_never_sampled_out() -> None:
    """The README sends operators to `event sent` / `event not delivered`: sampling must keep every trace line."""
    sampling = json.loads(HOST_JSON.read_text())["logging"]["applicationInsights"]["samplingSettings"]
    assert not sampling.get("isEnabled", True) or "Trace" in sampling["excludedTypes"].split(";")
