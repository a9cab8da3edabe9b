"""host.json as the Functions host reads it: the script root's file, overridden by `AzureFunctionsJobHost__*` settings.

The host layers its configuration like any .NET app: an app setting `AzureFunctionsJobHost__a__b=v` (double
underscore = one level deeper, names case-insensitive) replaces host.json's `a.b`. So
`AzureFunctionsJobHost__extensions__queues__visibilityTimeout=00:00:01` shortens the retry delay without editing
host.json. Defaults are the host's (Queue extension 5.x, Flex Consumption) where host.json says nothing.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["OVERRIDE_PREFIX", "HostConfig", "HostConfigError", "QueueOptions", "load_host_config", "parse_timespan"]

OVERRIDE_PREFIX = "AzureFunctionsJobHost__"
DEFAULT_FUNCTION_TIMEOUT = 30 * 60.0  # Flex Consumption's default when host.json sets none
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,7}))?$")


class HostConfigError(ValueError):
    """host.json (or an override) holds a value the host would refuse: the message names the key."""


@dataclass(frozen=True)
class QueueOptions:
    """`extensions.queues`: how every queue trigger of the app polls, retries and gives up."""

    max_dequeue_count: int = 5
    visibility_timeout: float = 0.0
    batch_size: int = 16
    new_batch_threshold: int = 8
    max_polling_interval: float = 60.0
    message_encoding: str = "base64"

    @property
    def concurrency(self) -> int:
        """Messages one listener runs at once: a new batch is fetched when the running ones drop to the threshold."""
        return self.batch_size + self.new_batch_threshold


@dataclass(frozen=True)
class HostConfig:
    """What the local host needs from host.json."""

    function_timeout: float | None  # seconds; None = unbounded ("-1")
    queues: QueueOptions
    route_prefix: str = "api"


def parse_timespan(value: object, key: str) -> float:
    """A .NET TimeSpan (`[d.]hh:mm:ss[.fffffff]`) in seconds."""
    match = _TIMESPAN.match(str(value).strip())
    if match is None:
        raise HostConfigError(f"{key}: {value!r} is not a time span like 00:00:30")
    days, hours, minutes, seconds, fraction = match.groups()
    total = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + int(seconds)
    return total + (float(f"0.{fraction}") if fraction else 0.0)


def _lookup(tree: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted `path`, matching names case-insensitively as the host does; None when absent."""
    node: Any = tree
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = next((v for k, v in node.items() if k.lower() == part.lower()), None)
    return node


def _apply_overrides(tree: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    for name, value in environ.items():
        if not name.lower().startswith(OVERRIDE_PREFIX.lower()):
            continue
        parts = [p for p in name[len(OVERRIDE_PREFIX) :].split("__") if p]
        node = tree
        for part in parts[:-1]:
            key = next((k for k in node if k.lower() == part.lower()), part)
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        if parts:
            leaf = next((k for k in node if k.lower() == parts[-1].lower()), parts[-1])
            node[leaf] = value
    return tree


def _int(tree: Mapping[str, Any], path: str, default: int, *, low: int, high: int) -> int:
    value = _lookup(tree, path)
    if value is None:
        return default
    try:
        number = int(str(value).strip())
    except ValueError:
        raise HostConfigError(f"{path}: {value!r} is not a whole number") from None
    if not low <= number <= high:
        raise HostConfigError(f"{path}: {number} is outside {low}..{high}")
    return number


def _seconds(tree: Mapping[str, Any], path: str, default: float, *, low: float = 0.0) -> float:
    value = _lookup(tree, path)
    if value is None:
        return default
    seconds = parse_timespan(value, path)
    if seconds < low:
        raise HostConfigError(f"{path}: {value!r} is below the minimum of {low:g} s")
    return seconds


def load_host_config(script_root: Path, environ: Mapping[str, str]) -> HostConfig:
    """Read `script_root/host.json` with the environment's overrides applied.

    :raises HostConfigError: host.json missing, unreadable, or a value out of the host's range (naming the key).
    """
    path = script_root / "host.json"
    try:
        tree = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HostConfigError(f"{path}: cannot be read as JSON ({type(exc).__name__})") from None
    if not isinstance(tree, dict) or str(tree.get("version")) != "2.0":
        raise HostConfigError(f'{path}: must be a JSON object with "version": "2.0"')
    tree = _apply_overrides(tree, environ)

    timeout = _lookup(tree, "functionTimeout")
    function_timeout: float | None
    if timeout is None:
        function_timeout = DEFAULT_FUNCTION_TIMEOUT
    elif str(timeout).strip() == "-1":
        function_timeout = None
    else:
        function_timeout = parse_timespan(timeout, "functionTimeout")
        if function_timeout <= 0:
            raise HostConfigError("functionTimeout: must be positive (or -1 for none)")

    batch_size = _int(tree, "extensions.queues.batchSize", 16, low=1, high=32)
    encoding = str(_lookup(tree, "extensions.queues.messageEncoding") or "base64").lower()
    if encoding not in ("base64", "none"):
        raise HostConfigError(f"extensions.queues.messageEncoding: {encoding!r} is neither base64 nor none")
    queues = QueueOptions(
        max_dequeue_count=_int(tree, "extensions.queues.maxDequeueCount", 5, low=1, high=10_000),
        visibility_timeout=_seconds(tree, "extensions.queues.visibilityTimeout", 0.0),
        batch_size=batch_size,
        # The extension's default: half a batch per core.
        new_batch_threshold=_int(
            tree, "extensions.queues.newBatchThreshold", (os.cpu_count() or 1) * batch_size // 2, low=0, high=10_000
        ),
        max_polling_interval=_seconds(tree, "extensions.queues.maxPollingInterval", 60.0, low=0.1),
        message_encoding=encoding,
    )
    prefix = _lookup(tree, "extensions.http.routePrefix")
    return HostConfig(
        function_timeout=function_timeout,
        queues=queues,
        route_prefix="api" if prefix is None else str(prefix).strip("/"),
    )
