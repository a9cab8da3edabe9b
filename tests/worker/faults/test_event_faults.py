"""Adobe I/O Events ingress faults, and the poison handler when its peers are gone.

The ingress is the local Adobe services stand-in behind a scripted proxy (`Reply(503)` = down, `PASS` = back,
`Stall` = never answers), or a closed port (unreachable). Everything else is real: Azurite, the renderer, targets.
"""

from __future__ import annotations

import json
import re
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from imgix_worker.errors import EventsUndelivered
from imgix_worker.host_limits import SHUTDOWN_RESERVE_SECONDS
from imgix_worker.service import Worker
from local_platform.adobe_services import AdobeServices
from local_platform.azurite import Azurite
from local_platform.processes import free_port
from local_platform.tls import ensure_tls
from local_platform.worker_host import WorkerHostProcess

from ..conftest import AZURITE_KEY, SECURE_TOKEN, JobRunner, blob_connection_via, image_bytes
from .fakes import PASS, Reply, ScriptedProxy, Stall, TcpProxy
from .support import STAGING_PREFIX, Containers

RENDITIONS = [{"name": "a.png", "fmt": "png", "width": 100}, {"name": "b.jpg", "fmt": "jpg", "width": 50}]
DEADLINE = 5  # the smallest JOB_DEADLINE_SECONDS (0 s of work, 5 s to report): every event's retries end within it
WORK_DEADLINE = 15  # room to render (10 s), then an undelivered event retries until the job's deadline


@pytest.fixture
def ingress(services: AdobeServices) -> Iterator[ScriptedProxy]:
    """The ingress behind a proxy: down (503 to every call) until a test scripts otherwise."""
    with ScriptedProxy(services.url, ensure_tls(), default=Reply(503), name="ingress") as proxy:
        yield proxy


def events_url(proxy: ScriptedProxy, services: AdobeServices) -> str:
    return proxy.url + services.events_url[len(services.url) :]


def submit(runner: JobRunner, worker: Worker, renditions: list[dict[str, object]]) -> tuple[str, str, str]:
    """(queue message, request id, job id) of a job accepted by `worker`'s intake."""
    body, _ = runner.job(image_bytes(), renditions)
    headers = runner.headers()
    result = worker.intake.handle("POST", headers, json.dumps(body).encode(), recipe=None)
    assert result.status == 200 and result.message is not None and isinstance(result.body, dict)
    return result.message, headers["x-request-id"], str(result.body["activationId"])


def markers(containers: Containers, job_id: str) -> set[str]:
    folder = f"{STAGING_PREFIX}/{job_id}/reported/"
    return {b.name[len(folder) :] for b in containers.imgix.list_blobs(name_starts_with=folder)}


def messages(records: list[Any], msg: str) -> list[dict[str, Any]]:
    lines = [json.loads(r.getMessage()) for r in records if r.name == "imgix_worker"]
    return [line for line in lines if line["msg"] == msg]


def test_an_event_not_delivered_gets_no_marker_and_the_redelivery_reports_it_once(
    runner: JobRunner,
    make_worker: Callable[..., Worker],
    services: AdobeServices,
    ingress: ScriptedProxy,
    containers: Containers,
    worker_logs: pytest.LogCaptureFixture,
) -> None:
    worker = make_worker(EVENTS_URL=events_url(ingress, services), JOB_DEADLINE_SECONDS=str(WORK_DEADLINE))
    message, request_id, job_id = submit(runner, worker, RENDITIONS)
    ingress.script(PASS)  # one event gets through, then the ingress is down for longer than the job's budget

    with pytest.raises(EventsUndelivered) as raised:
        worker.process_message(message, dequeue_count=1)

    (reported,) = services.events(request_id)
    names = [str(r["name"]) for r in RENDITIONS]
    sent = names.index(reported["rendition"]["name"])
    assert raised.value.indexes == [1 - sent]
    assert markers(containers, job_id) == {str(sent)}  # the lost event has no marker
    assert len(messages(worker_logs.records, "event not delivered")) == 1

    ingress.default = PASS  # the ingress is back; the queue redelivers the message
    outcome = worker.process_message(message, dequeue_count=2)

    assert sorted(outcome.results) == [1 - sent]  # the reported rendition was skipped by the ledger
    events = services.events(request_id)
    assert sorted(e["rendition"]["name"] for e in events) == names  # exactly one each
    assert markers(containers, job_id) == {"0", "1"}
    assert worker.process_message(message, dequeue_count=3).results == {}  # a late copy adds nothing
    assert worker.fail_message(message).results == {}  # nor does a poisoned one
    assert len(services.events(request_id)) == 2


def test_the_poison_handler_reports_what_remains_and_never_raises_with_the_ingress_down(
    runner: JobRunner,
    make_worker: Callable[..., Worker],
    services: AdobeServices,
    ingress: ScriptedProxy,
    containers: Containers,
    worker_logs: pytest.LogCaptureFixture,
) -> None:
    worker = make_worker(EVENTS_URL=events_url(ingress, services), JOB_DEADLINE_SECONDS=str(WORK_DEADLINE))
    message, request_id, job_id = submit(runner, worker, RENDITIONS)
    ingress.script(PASS)
    with pytest.raises(EventsUndelivered):
        worker.process_message(message, dequeue_count=1)

    outcome = worker.fail_message(message)  # the ingress is still down: the last attempt, logged, not raised

    assert len(outcome.results) == 1 and outcome.failed == 1
    assert len(services.events(request_id)) == 1
    (lost,) = messages(worker_logs.records, "events lost")
    assert (lost["job_id"], lost["undelivered"]) == (job_id, 1)

    ingress.default = PASS
    worker.fail_message(message)  # a poison message seen again (the host retried it) reports what still remains
    first, last = services.events(request_id)
    assert first["rendition"]["name"] != last["rendition"]["name"]  # one event per rendition in all
    assert (last["type"], last["errorReason"]) == ("rendition_failed", "GenericError")
    assert "after several attempts" in last["errorMessage"]


def test_the_poison_handler_succeeds_with_storage_unreachable(
    runner: JobRunner,
    make_worker: Callable[..., Worker],
    azurite: Azurite,
    services: AdobeServices,
    worker_logs: pytest.LogCaptureFixture,
) -> None:
    with TcpProxy(azurite.blob_port) as relay:
        connection = blob_connection_via(azurite, relay.port)
        worker = make_worker(IMGIX_SOURCE_CONNECTION_STRING=connection, JOB_DEADLINE_SECONDS=str(DEADLINE))
        message, request_id, _ = submit(runner, worker, RENDITIONS)
        relay.down()  # neither the ledger nor the staged source can be reached

        outcome = worker.fail_message(message)

        assert relay.refused >= 2
    assert outcome.failed == 2
    events = services.events(request_id)
    assert sorted((e["rendition"]["name"], e["errorReason"]) for e in events) == [
        ("a.png", "GenericError"),
        ("b.jpg", "GenericError"),
    ]
    assert messages(worker_logs.records, "report markers unreadable")
    assert messages(worker_logs.records, "cleanup failed")


@pytest.mark.parametrize("fault", ["refused", "stalled"])
def test_with_the_ingress_unreachable_a_job_ends_within_its_deadline_and_reserve(
    fault: str,
    runner: JobRunner,
    make_worker: Callable[..., Worker],
    services: AdobeServices,
    ingress: ScriptedProxy,
    containers: Containers,
) -> None:
    if fault == "refused":
        url = f"https://localhost:{free_port()}/api/events"  # nothing listens there
    else:
        ingress.default = Stall()  # accepts, never answers (released when the proxy stops)
        url = events_url(ingress, services)
    worker = make_worker(EVENTS_URL=url, JOB_DEADLINE_SECONDS=str(DEADLINE), HTTP_TIMEOUT_SECONDS="60")
    renditions = [{"name": f"r{i}.png", "fmt": "png", "width": 10 + i} for i in range(8)]
    message, request_id, job_id = submit(runner, worker, renditions)

    started = time.monotonic()
    with pytest.raises(EventsUndelivered) as raised:
        worker.process_message(message, dequeue_count=1)
    seconds = time.monotonic() - started

    assert seconds < DEADLINE + SHUTDOWN_RESERVE_SECONDS, seconds  # an upper bound, not a speed: it was 60+ s
    assert raised.value.indexes == list(range(len(renditions)))
    assert markers(containers, job_id) == set()
    assert services.events(request_id) == []
    if fault == "stalled":
        # Once past the deadline with the ingress failing, the other events are left to the redelivery rather
        # than each given a last attempt (which would hold the invocation a second per rendition).
        assert len(ingress.seen("POST")) < len(renditions)


def test_through_the_host_an_ingress_outage_longer_than_the_budget_redelivers_the_message(
    runner: JobRunner,
    worker_env: dict[str, str],
    azurite: Azurite,
    services: AdobeServices,
    ingress: ScriptedProxy,
    containers: Containers,
    tmp_path: Path,
) -> None:
    """The local host plays the queue trigger: the job's exception makes the message come back (after a 1 s
    visibilityTimeout, set as the Functions host reads it from app settings), and the retry reports the rest."""
    tls = ensure_tls()
    with ScriptedProxy(f"https://localhost:{azurite.blob_port}", tls, name="storage") as storage:
        environ = worker_env | {
            "EVENTS_URL": events_url(ingress, services),
            "JOB_DEADLINE_SECONDS": str(WORK_DEADLINE),
            "IMGIX_SOURCE_CONNECTION_STRING": blob_connection_via(azurite, storage.port),
            "AzureWebJobsStorage": azurite.connection_string,
            "AzureFunctionsJobHost__extensions__queues__visibilityTimeout": "00:00:01",
        }
        body, _ = runner.job(image_bytes(), RENDITIONS)
        headers = runner.headers()
        ingress.script(PASS)  # one event gets through; the ingress is down until the first delivery gave up
        with WorkerHostProcess.start(environ=environ, tls=tls, log_file=tmp_path / "host.log") as host:
            with httpx.Client(verify=ssl.create_default_context(cafile=str(tls.ca_cert))) as client:
                answer = client.post(host.url, content=json.dumps(body), headers=headers)
            assert answer.status_code == 200, answer.text
            job_id = answer.json()["activationId"]
            # The staged source is deleted when a delivery has sent (or given up on) every event of its run.
            storage.wait_for_requests(1, timeout=WORK_DEADLINE + 60, method="DELETE")
            assert len(services.events(headers["x-request-id"])) == 1
            ingress.default = PASS
            storage.wait_for_requests(2, timeout=WORK_DEADLINE + 120, method="DELETE")  # the redelivery's run

    events = services.events(headers["x-request-id"])
    assert sorted(e["rendition"]["name"] for e in events) == ["a.png", "b.jpg"]  # exactly one each
    assert markers(containers, job_id) == {"0", "1"}
    log_text = (tmp_path / "host.log").read_text(errors="replace")
    assert '"event not delivered"' in log_text and '"undelivered": 1' in log_text  # the first run's own account
    assert not re.search(r"[?&;](?:sig|s)=(?!\*{10})", log_text)  # every library's records, redacted
    assert SECURE_TOKEN not in log_text and AZURITE_KEY not in log_text and "eyJ" not in log_text


def test_with_storage_stalling_after_the_work_a_job_still_ends_within_its_deadline_and_reserve(
    runner: JobRunner,
    make_worker: Callable[..., Worker],
    azurite: Azurite,
    services: AdobeServices,
) -> None:
    """Report markers and the staged source's deletion run last; storage that accepts them and never answers must
    not hold the invocation past the deadline by more than the reserve (each call was HTTP_TIMEOUT_SECONDS)."""

    def is_last_step(method: str, path: str) -> bool:
        return method == "DELETE" or (method == "PUT" and "/reported/" in path)

    tls = ensure_tls()
    upstream = f"https://localhost:{azurite.blob_port}"
    with ScriptedProxy(upstream, tls, default=Stall(), match=is_last_step, name="storage") as storage:
        connection = blob_connection_via(azurite, storage.port)
        worker = make_worker(
            IMGIX_SOURCE_CONNECTION_STRING=connection, JOB_DEADLINE_SECONDS=str(DEADLINE), HTTP_TIMEOUT_SECONDS="60"
        )
        renditions = [{"name": f"r{i}.png", "fmt": "png", "width": 10 + i} for i in range(4)]
        message, request_id, _ = submit(runner, worker, renditions)

        started = time.monotonic()
        outcome = worker.process_message(message, dequeue_count=1)
        seconds = time.monotonic() - started

        assert seconds < DEADLINE + SHUTDOWN_RESERVE_SECONDS, seconds  # an upper bound, not a speed
        assert len(outcome.results) == len(renditions)
        assert len(services.events(request_id)) == len(renditions)  # the ingress worked: every event went out
        assert [s.method for s in storage.seen() if s.action == "stall"].count("DELETE") == 1
