"""One invocation of a user function, as the Python worker runs it: keyword arguments by binding name, a fresh
`func.Out` per output binding, `$return` taken from the return value, and the host's `functionTimeout`.

The worker runs sync functions on one thread pool shared by every trigger: `PYTHON_THREADPOOL_THREAD_COUNT`
threads, by default Python's `min(32, cpus + 4)`; an invocation waits for a free thread, and that wait counts
against `functionTimeout` as it does in Azure. If it outlives `functionTimeout` the invocation is abandoned: its
result and outputs are dropped (the real host restarts the worker; here the thread is left to finish on its own,
as a daemon, keeping its pool slot until then, and nothing it returns is used).
"""

from __future__ import annotations

import asyncio
import inspect
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func

from local_platform.functions_index import IndexedFunction

__all__ = ["Outcome", "SyncThreadPool", "invoke", "queue_messages"]

THREAD_COUNT_SETTING = "PYTHON_THREADPOOL_THREAD_COUNT"


class SyncThreadPool:
    """The worker's limit on sync functions running at once."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._slots = threading.BoundedSemaphore(size)

    @classmethod
    def from_settings(cls, settings: Mapping[str, str]) -> SyncThreadPool:
        """:raises ValueError: the setting is not a positive whole number."""
        value = settings.get(THREAD_COUNT_SETTING, "").strip()
        if not value:
            return cls(min(32, (os.cpu_count() or 1) + 4))  # ThreadPoolExecutor's default, which the worker keeps
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"{THREAD_COUNT_SETTING} must be a positive whole number, not {value!r}")
        return cls(int(value))

    def run(self, call: Any, *, abandoned: threading.Event) -> Any:
        """`call()` on a free thread; not at all if the invocation was abandoned while it waited for one (the real
        host restarts the worker then, which drops the waiting invocations)."""
        with self._slots:
            if abandoned.is_set():
                return None
            return call()


class _Out(func.Out):  # type: ignore[type-arg]
    """What the worker passes for an output binding: a box the function may `set`."""

    def __init__(self) -> None:
        self._value: Any = None

    def set(self, val: Any) -> None:
        self._value = val

    def get(self) -> Any:
        return self._value


@dataclass
class Outcome:
    """How an invocation ended: `error` set when it raised, `abandoned` when it outlived `functionTimeout`."""

    result: Any = None
    outputs: dict[str, Any] = field(default_factory=dict)
    error: BaseException | None = None
    abandoned: bool = False

    @property
    def succeeded(self) -> bool:
        return self.error is None and not self.abandoned


def invoke(function: IndexedFunction, trigger_value: Any, *, timeout: float | None, pool: SyncThreadPool) -> Outcome:
    """Call `function` with its trigger value and fresh `Out`s; wait at most `timeout` seconds for it."""
    outs = {b["name"]: _Out() for b in function.outputs}
    kwargs = {function.trigger["name"]: trigger_value, **outs}
    outcome = Outcome()
    done, abandoned = threading.Event(), threading.Event()

    def run() -> None:
        try:
            if inspect.iscoroutinefunction(function.user_function):  # the worker's event loop, not its pool
                outcome.result = asyncio.run(function.user_function(**kwargs))
            else:
                outcome.result = pool.run(lambda: function.user_function(**kwargs), abandoned=abandoned)
            if outcome.result is not None and function.return_binding is None:
                raise RuntimeError(f"function {function.name!r} without a $return binding returned a value")
        except BaseException as exc:  # everything the function raises is the invocation's failure
            outcome.error = exc
        finally:
            done.set()

    threading.Thread(target=run, name=f"invocation-{function.name}", daemon=True).start()
    if not done.wait(timeout):
        abandoned.set()
        return Outcome(abandoned=True)
    outcome.outputs = {name: out.get() for name, out in outs.items() if out.get() is not None}
    return outcome


def queue_messages(value: Any) -> list[bytes]:
    """The messages a queue output value stands for, as the worker's queue converter accepts them.

    :raises TypeError: a value the worker would refuse (so the invocation fails, as it would there).
    """
    if isinstance(value, str):
        return [value.encode("utf-8")]
    if isinstance(value, bytes):
        return [value]
    if isinstance(value, func.QueueMessage):
        return [value.get_body()]
    if isinstance(value, Iterable):
        return [m for item in value for m in queue_messages(item)]
    raise TypeError(f"a queue output binding cannot send {type(value).__name__}")
