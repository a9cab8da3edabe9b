"""What runs after the job's deadline shares one budget and ends within the host's shutdown reserve.

Every rendition of a large job times out (imgix, the real renderer behind a proxy, never answers) and the events
ingress (the Adobe services stand-in behind a proxy) answers every event, but slowly. Sent one after another, the
failure events and their report markers would take about a second each past the deadline; the job must still end
within deadline + reserve, and what it could not report gets no marker, so the queue's redelivery reports it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from imgix_worker.errors import EventsUndelivered
from imgix_worker.host_limits import SHUTDOWN_RESERVE_SECONDS
from imgix_worker.service import Worker
from local_platform.adobe_services import AdobeServices
from local_platform.tls import ensure_tls

from ..conftest import JobRunner, image_bytes
from .fakes import Delay, ScriptedProxy, Stall
from .support import STAGING_PREFIX, Containers, assert_contained, run_checked

DEADLINE = 6  # JOB_DEADLINE_SECONDS: 1 s of work, 5 s to report
RENDITIONS = 150  # at 0.6 s an event, a minute and a half of reporting one by one
INGRESS_SECONDS = 0.6  # within the 1 s an event still gets after the deadline: each one is delivered, slowly


@pytest.fixture
def slow_ingress(services: AdobeServices) -> Iterator[ScriptedProxy]:
    with ScriptedProxy(services.url, ensure_tls(), default=Delay(INGRESS_SECONDS), name="slow-ingress") as proxy:
        yield proxy


def test_many_timed_out_renditions_with_a_slow_ingress_end_within_deadline_and_reserve(
    runner: JobRunner,
    make_worker: Callable[..., Worker],
    services: AdobeServices,
    imgix_proxy: ScriptedProxy,
    slow_ingress: ScriptedProxy,
    containers: Containers,
) -> None:
    imgix_proxy.default = Stall()  # every rendition runs into the deadline
    worker = make_worker(
        IMGIX_BASE_URL=imgix_proxy.url,
        EVENTS_URL=slow_ingress.url + services.events_url[len(services.url) :],
        JOB_DEADLINE_SECONDS=str(DEADLINE),
        MAX_RENDITIONS=str(RENDITIONS),
        RENDER_CONCURRENCY="1",  # the failure events go out one by one from the job's thread
    )
    renditions: list[dict[str, object]] = [{"name": f"r{i}.png", "fmt": "png", "width": 50} for i in range(RENDITIONS)]
    raised: list[EventsUndelivered] = []

    def process(worker: Worker, message: str) -> None:
        try:
            worker.process_message(message, dequeue_count=1)
        except EventsUndelivered as exc:  # the host would retry the message
            raised.append(exc)

    done = run_checked(runner, containers, image_bytes(), renditions, worker=worker, process=process)

    assert done.seconds < DEADLINE + SHUTDOWN_RESERVE_SECONDS, done.seconds
    names = [str(e["rendition"]["name"]) for e in done.events]
    assert len(names) == len(set(names))  # at most one event each
    assert all(e["type"] == "rendition_failed" and e["errorReason"] == "GenericError" for e in done.events)
    assert 0 < len(done.events) < RENDITIONS  # some were reported, the rest left to the redelivery
    (undelivered,) = raised
    sent = {int(name[1:].removesuffix(".png")) for name in names}
    assert set(undelivered.indexes) == set(range(RENDITIONS)) - sent
    folder = f"{STAGING_PREFIX}/{done.job_id}/reported/"
    marked = {int(b.name[len(folder) :]) for b in containers.imgix.list_blobs(name_starts_with=folder)}
    assert marked <= sent and not marked & set(undelivered.indexes)  # no marker for what was not sent
    assert_contained(done, containers)
    assert json.dumps(done.events).count("sig=") == 0
