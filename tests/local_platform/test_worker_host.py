"""The local worker host on a real Azurite over HTTPS, running a throwaway app (`apps/probe`) whose functions
record what the host handed them: HTTP dispatch, output bindings, retries after `visibilityTimeout`, poison queues
for every trigger queue, `functionTimeout`, and per-queue concurrency, all read from the app's host.json with
`AzureFunctionsJobHost__*` overrides. Each test waits on what it can observe (queues, records), never on a clock.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import ssl
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from local_platform.azurite import Azurite
from local_platform.worker_host import WorkerHostProcess

PROBE_APP = Path(__file__).parent / "apps" / "probe"
WAIT_SECONDS = 90.0  # generous: the shared CPU may be slow; nothing below depends on it being fast
MAX_DEQUEUE_COUNT = 3  # apps/probe/host.json
VISIBILITY_SECONDS = 1  # overrides host.json's 10 minutes: without the override nothing would be retried in time
# Only the visibility timeout is shortened: functionTimeout stays host.json's 10 minutes, so a probe invocation
# slowed down by a loaded machine is never abandoned (which would change the dequeue counts a test asserts).
FAST = {"AzureFunctionsJobHost__extensions__queues__visibilityTimeout": f"00:00:0{VISIBILITY_SECONDS}"}
TIMEOUT_SECONDS = 3  # the abandonment test's functionTimeout: only its hanging invocation runs that long


@dataclass
class Probe:
    host: WorkerHostProcess
    queue: str
    record: Path
    azurite: Azurite

    def client(self, name: str) -> Any:
        from azure.storage.queue import QueueClient

        return QueueClient.from_connection_string(
            self.azurite.connection_string, name, connection_verify=str(self.azurite.tls.ca_cert)
        )

    def send(self, body: str, *, suffix: str = "", base64_encoded: bool = True) -> str:
        """Enqueue `body` on the trigger queue (+ `suffix`), as base64 (host.json's messageEncoding) unless told
        otherwise; its id."""
        from azure.core.exceptions import ResourceExistsError

        client = self.client(self.queue + suffix)
        try:
            client.create_queue()
        except ResourceExistsError:
            pass
        return str(client.send_message(base64.b64encode(body.encode()).decode() if base64_encoded else body).id)

    def wait_for_message(self, name: str, *, base64_encoded: bool = True) -> str:
        """The first message that appears on queue `name` (peeked: left in place), decoded."""
        found = wait_until(lambda: _peek(self.client(name)), f"a message on {name}")
        return base64.b64decode(found).decode() if base64_encoded else found

    def records(self, **match: object) -> list[dict[str, Any]]:
        if not self.record.exists():
            return []
        lines = [json.loads(line) for line in self.record.read_text().splitlines() if line]
        return [r for r in lines if all(r.get(k) == v for k, v in match.items())]

    def log(self) -> str:
        return (self.record.parent / "host.log").read_text(errors="replace")


def _peek(client: Any) -> str | None:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        messages = client.peek_messages(max_messages=1)
    except ResourceNotFoundError:
        return None
    return messages[0].content if messages else None


def wait_until(probe: Callable[[], Any], what: str, timeout: float = WAIT_SECONDS) -> Any:
    """Poll an observable condition until it holds (its value returned); fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout:.0f}s")
        time.sleep(0.1)  # polling an observable condition, not synchronising on time


@pytest.fixture
def start_probe(azurite: Azurite, tmp_path: Path) -> Iterator[Callable[..., Probe]]:
    started: list[WorkerHostProcess] = []

    def start(**settings: str | None) -> Probe:
        queue = f"probe-{uuid.uuid4().hex[:10]}"
        record = tmp_path / "record.jsonl"
        environ = {
            "AzureWebJobsStorage": azurite.connection_string,
            "TLS_CA_BUNDLE": str(azurite.tls.ca_cert),
            "PROBE_QUEUE": queue,
            "PROBE_RECORD": str(record),
            **settings,
        }
        environ = {k: v for k, v in environ.items() if v is not None}  # None: the setting is not set at all
        host = WorkerHostProcess.start(
            environ=environ, tls=azurite.tls, log_file=tmp_path / "host.log", script_root=PROBE_APP
        )
        started.append(host)
        return Probe(host, queue, record, azurite)

    yield start
    processes = [host.process for host in started]
    for host in started:
        host.stop()
    # SIGTERM let every host stop on its own (no SIGKILL): listeners ended, in-flight invocations drained.
    assert [p.returncode for p in processes if p is not None] == [0] * len(started)


def test_http_requests_reach_the_function_as_the_worker_builds_them(start_probe: Callable[..., Probe]) -> None:
    probe = start_probe()
    base = f"https://localhost:{probe.host.port}/api"
    with httpx.Client(verify=ssl.create_default_context(cafile=str(probe.azurite.tls.ca_cert))) as client:
        full = client.post(f"{base}/echo/first/second?a=1&b=two", content=b"payload",
                           headers={"X-Mixed-Case": "Value", "Content-Type": "text/plain"})  # fmt: skip
        short = client.get(f"{base}/ECHO/only")
        unknown = client.get(f"{base}/nowhere")
        outside = client.get(f"https://localhost:{probe.host.port}/echo/first")
        wrong_method = client.put(f"{base}/echo/first")

    assert full.status_code == 201 and full.headers["content-type"] == "application/json"
    seen = full.json()
    assert seen["method"] == "POST" and seen["body"] == "payload"
    assert seen["url"].endswith("/api/echo/first/second?a=1&b=two")
    assert seen["params"] == {"a": "1", "b": "two"}
    assert seen["route_params"] == {"name": "first", "extra": "second"}
    assert seen["headers"]["x-mixed-case"] == "Value"
    assert all(name == name.lower() for name in seen["headers"])

    assert short.status_code == 201
    assert short.json()["route_params"] == {"name": "only"}  # the optional {extra?} is absent, not None or ""
    assert (unknown.status_code, outside.status_code, wrong_method.status_code) == (404, 404, 404)
    # The POST's func.Out value went to the bound queue, base64 as host.json says.
    assert probe.wait_for_message(f"{probe.queue}-done") == "payload"


def test_a_queue_function_returns_its_output_through_return(start_probe: Callable[..., Probe]) -> None:
    probe = start_probe()
    probe.send("hello", suffix="-relay")
    assert probe.wait_for_message(f"{probe.queue}-done") == "relayed:hello"
    # The probe logs nothing: the host's own storage calls (the SDK logs each at INFO) never pass through the
    # worker's root handler, which in Azure sees only what runs in the worker process.
    assert [line for line in probe.log().splitlines() if line.startswith("worker: ")] == []


def test_unencoded_message_text_with_xml_characters_passes_through_the_host_unchanged(
    start_probe: Callable[..., Probe],
) -> None:
    # The host's own Get and Put Message calls carry the text inside XML: it must come out as it went in.
    probe = start_probe(AzureFunctionsJobHost__extensions__queues__messageEncoding="none")
    text = """<a href="x">&amp; ' ]]> é</a>"""
    probe.send(text, suffix="-relay", base64_encoded=False)
    assert probe.wait_for_message(f"{probe.queue}-done", base64_encoded=False) == f"relayed:{text}"


def test_a_failing_message_is_retried_after_visibility_timeout_then_poisoned(
    start_probe: Callable[..., Probe],
) -> None:
    probe = start_probe(**FAST)
    message_id = probe.send("fail")
    poisoned = probe.wait_for_message(f"{probe.queue}-poison-poison")

    assert poisoned == "fail"
    deliveries = probe.records(function="handle", id=message_id)
    assert [d["dequeue_count"] for d in deliveries] == list(range(1, MAX_DEQUEUE_COUNT + 1))
    # Each retry came only once the failed message's visibility timeout had passed (a lower bound, not a speed).
    gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(deliveries)]
    assert all(gap >= VISIBILITY_SECONDS - 0.05 for gap in gaps), gaps


def test_a_failing_poison_handler_ends_in_the_poison_queues_poison_queue(start_probe: Callable[..., Probe]) -> None:
    probe = start_probe(**FAST)
    probe.send("fail")
    assert probe.wait_for_message(f"{probe.queue}-poison-poison") == "fail"

    # The poison queue is a trigger queue like any other: maxDequeueCount deliveries, then its own poison queue.
    handled = probe.records(function="poisoned", body="fail")
    assert [h["dequeue_count"] for h in handled] == list(range(1, MAX_DEQUEUE_COUNT + 1))
    assert _peek(probe.client(f"{probe.queue}-poison")) is None
    assert _peek(probe.client(probe.queue)) is None


def test_an_invocation_past_function_timeout_is_abandoned_and_its_message_returns(
    start_probe: Callable[..., Probe],
) -> None:
    probe = start_probe(**FAST, AzureFunctionsJobHost__functionTimeout=f"00:00:0{TIMEOUT_SECONDS}")
    message_id = probe.send("hang-once")
    # The first delivery hangs far past functionTimeout; the host gives up on it, the message comes back.
    assert probe.wait_for_message(f"{probe.queue}-done") == "hang-once:2"

    assert [d["dequeue_count"] for d in probe.records(function="handle", id=message_id)] == [1, 2]
    assert "abandoned after functionTimeout" in probe.log()
    assert _peek(probe.client(f"{probe.queue}-poison")) is None


@pytest.mark.parametrize(
    ("settings", "limit"),
    [
        ({}, 1 + 2),  # apps/probe/host.json: batchSize 1 + newBatchThreshold 2 (the worker's pool is larger)
        ({"PYTHON_THREADPOOL_THREAD_COUNT": "2"}, 2),  # the worker's pool for sync functions is the narrower limit
    ],
)
def test_a_queue_runs_batch_size_plus_new_batch_threshold_at_once(
    start_probe: Callable[..., Probe], settings: dict[str, str], limit: int
) -> None:
    probe = start_probe(PROBE_HOLD_FOR=str(limit), PROBE_TOTAL=str(limit + 1), **settings)
    for _ in range(limit + 1):
        probe.send("hold")
    # Each held invocation waits until `limit` run at once; then all proceed and the last one runs on its own.
    wait_until(lambda: len(probe.records(function="handle", body="hold")) == limit + 1, "run of every message")
    running = [r["running"] for r in probe.records(function="handle", body="hold")]
    assert max(running) == limit, running


def test_a_host_json_value_the_host_refuses_stops_the_host(start_probe: Callable[..., Probe]) -> None:
    with pytest.raises(RuntimeError, match=re.escape("cannot start: extensions.queues.batchSize: 64 is outside 1..32")):
        start_probe(AzureFunctionsJobHost__extensions__queues__batchSize="64")


def test_an_app_whose_binding_expression_is_unset_stops_the_host(start_probe: Callable[..., Probe]) -> None:
    with pytest.raises(RuntimeError, match=r"cannot start: .*%PROBE_QUEUE% names an app setting that is not set"):
        start_probe(PROBE_QUEUE=None)


def test_an_invalid_queue_name_stops_the_host(start_probe: Callable[..., Probe]) -> None:
    with pytest.raises(RuntimeError, match="cannot start: function 'echo': queue name 'Probe_Queue-done' is invalid"):
        start_probe(PROBE_QUEUE="Probe_Queue")
