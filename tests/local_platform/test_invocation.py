"""One invocation as the Python worker runs it: `func.Out` per output binding, `$return`, functionTimeout, and the
worker's thread pool."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import azure.functions as func
import pytest

from local_platform.functions_index import IndexedFunction, index_app
from local_platform.invocation import SyncThreadPool, invoke, queue_messages

_release = threading.Event()
_ran: list[str] = []


@pytest.fixture(autouse=True)
def released() -> Iterator[None]:
    _release.clear()
    _ran.clear()
    yield
    _release.set()  # whatever still blocks ends with the test


def _functions() -> dict[str, IndexedFunction]:
    app = func.FunctionApp()

    @app.queue_trigger(arg_name="msg", queue_name="q", connection="AzureWebJobsStorage")
    @app.queue_output(arg_name="out", queue_name="o", connection="AzureWebJobsStorage")
    def copies(msg: func.QueueMessage, out: func.Out[str]) -> None:
        out.set(msg.get_body().decode())

    @app.queue_trigger(arg_name="msg", queue_name="q", connection="AzureWebJobsStorage")
    def returns(msg: func.QueueMessage) -> None:
        return "a value without a $return binding"  # type: ignore[return-value]

    @app.queue_trigger(arg_name="msg", queue_name="q", connection="AzureWebJobsStorage")
    def blocks(msg: func.QueueMessage) -> None:
        _ran.append(msg.get_body().decode())
        _release.wait(60)

    return {f.name: f for f in index_app(app, {})}


def test_out_values_are_collected_by_binding_name() -> None:
    outcome = invoke(_functions()["copies"], func.QueueMessage(body=b"x"), timeout=30, pool=SyncThreadPool(1))
    assert outcome.succeeded and outcome.outputs == {"out": "x"}


def test_a_value_returned_without_a_return_binding_fails_the_invocation() -> None:
    outcome = invoke(_functions()["returns"], func.QueueMessage(body=b"x"), timeout=30, pool=SyncThreadPool(1))
    assert isinstance(outcome.error, RuntimeError) and "$return" in str(outcome.error)


def test_past_the_timeout_an_invocation_is_abandoned_and_one_waiting_for_a_thread_never_runs() -> None:
    pool, blocks = SyncThreadPool(1), _functions()["blocks"]
    first = invoke(blocks, func.QueueMessage(body=b"first"), timeout=0.2, pool=pool)  # holds the only thread
    second = invoke(blocks, func.QueueMessage(body=b"second"), timeout=0.2, pool=pool)  # waits for it
    assert first.abandoned and second.abandoned and first.outputs == {}
    _release.set()
    third = invoke(blocks, func.QueueMessage(body=b"third"), timeout=30, pool=pool)
    assert third.succeeded
    assert "second" not in _ran


def test_queue_output_values() -> None:
    assert queue_messages("a") == [b"a"]
    assert queue_messages([b"b", "c"]) == [b"b", b"c"]
    with pytest.raises(TypeError, match="int"):
        queue_messages(42)
