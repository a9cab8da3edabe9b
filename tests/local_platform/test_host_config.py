"""host.json is read as the Functions host reads it, with `AzureFunctionsJobHost__*` app settings on top."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local_platform.host_config import HostConfigError, QueueOptions, load_host_config, parse_timespan
from local_platform.worker_host import SCRIPT_ROOT


def test_the_real_host_json_is_what_the_local_host_runs() -> None:
    config = load_host_config(SCRIPT_ROOT, {})
    assert config.function_timeout == 600
    assert config.route_prefix == "api"
    assert config.queues == QueueOptions(
        max_dequeue_count=5,
        visibility_timeout=30,
        batch_size=4,
        new_batch_threshold=8,
        max_polling_interval=2,
        message_encoding="base64",
    )
    assert config.queues.concurrency == 12


def test_app_settings_override_host_json_case_insensitively() -> None:
    config = load_host_config(
        SCRIPT_ROOT,
        {
            "AzureFunctionsJobHost__extensions__queues__visibilityTimeout": "00:00:01",
            "azurefunctionsjobhost__Extensions__Queues__MAXDEQUEUECOUNT": "2",
            "AzureFunctionsJobHost__functionTimeout": "00:01:30",
            "AzureFunctionsJobHost__extensions__http__routePrefix": "",
            "UNRELATED__extensions__queues__batchSize": "1",
        },
    )
    assert (config.queues.visibility_timeout, config.queues.max_dequeue_count) == (1, 2)
    assert (config.function_timeout, config.route_prefix, config.queues.batch_size) == (90, "", 4)


def test_defaults_where_host_json_says_nothing(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text(json.dumps({"version": "2.0"}))
    config = load_host_config(tmp_path, {"AzureFunctionsJobHost__functionTimeout": "-1"})
    assert config.function_timeout is None
    assert (config.queues.max_dequeue_count, config.queues.visibility_timeout, config.queues.batch_size) == (5, 0, 16)
    assert config.queues.message_encoding == "base64" and config.route_prefix == "api"


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("extensions__queues__batchSize", "33", "batchSize"),
        ("extensions__queues__maxDequeueCount", "many", "maxDequeueCount"),
        ("extensions__queues__visibilityTimeout", "30s", "visibilityTimeout"),
        ("extensions__queues__messageEncoding", "utf8", "messageEncoding"),
        ("extensions__queues__maxPollingInterval", "00:00:00.05", "maxPollingInterval"),
        ("functionTimeout", "00:00:00", "functionTimeout"),
    ],
)
def test_a_value_the_host_refuses_is_named(setting: str, value: str, named: str) -> None:
    with pytest.raises(HostConfigError, match=named):
        load_host_config(SCRIPT_ROOT, {f"AzureFunctionsJobHost__{setting}": value})


def test_time_spans() -> None:
    assert parse_timespan("00:00:30", "k") == 30
    assert parse_timespan("1.02:03:04.5", "k") == 86400 + 2 * 3600 + 3 * 60 + 4.5
    with pytest.raises(HostConfigError, match="k"):
        parse_timespan("30", "k")
