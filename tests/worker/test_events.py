"""Events reach the I/O Events ingress in its format, with the request's token, retried on 5xx and 204."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from imgix_worker.errors import SourceCorrupt
from imgix_worker.events import EventSender, created_event, failed_event
from imgix_worker.jobs import Job
from imgix_worker.redaction import Secret
from imgix_worker.transport import http_client
from local_platform.adobe_services import AdobeServices
from local_platform.ims import LOCAL_CLIENT_ID, LOCAL_ORG_ID, LocalIms
from local_platform.tls import ensure_tls


def job(request_id: str) -> Job:
    return Job(
        job_id="j1",
        request_id=request_id,
        org_id=LOCAL_ORG_ID,
        client_id=LOCAL_CLIENT_ID,
        token=Secret(LocalIms.load().token()),
        source_url=Secret("https://aem.blob.core.windows.net/c/asset.jpg?sv=1&sig=abcdef"),
        renditions=[{"name": "r.png", "fmt": "png", "target": "https://aem.blob.core.windows.net/c/r.png?sig=x"}],
        user_data={"k": "v"},
        activation_ids=["a1"],
    )


@pytest.fixture
def sender(services: AdobeServices) -> Iterator[EventSender]:
    with http_client(timeout=10, ca_bundle=str(ensure_tls().ca_cert)) as client:
        yield EventSender(client, services.events_url, budget_seconds=30, base_delay=0.01)


def test_a_created_event_in_the_ingress_format(services: AdobeServices, sender: EventSender) -> None:
    the_job = job("events-1")
    assert sender.send(the_job, created_event(the_job, the_job.renditions[0], {"repo:size": 3}))
    (event,) = services.events("events-1")
    assert event["type"] == "rendition_created" and event["metadata"] == {"repo:size": 3}
    assert event["rendition"] == {"name": "r.png", "fmt": "png"}
    assert event["source"] == "https://aem.blob.core.windows.net/c/asset.jpg"
    assert event["userData"] == {"k": "v"} and event["activationIds"] == ["a1"]
    assert services.rejected_calls() == []  # headers, provider id, event code and base64 body all as expected


def test_5xx_and_204_are_retried_until_accepted(services: AdobeServices, sender: EventSender) -> None:
    the_job = job("events-2")
    services.fail_next_ingress(503)
    services.fail_next_ingress(204)
    event = failed_event(the_job, the_job.renditions[0], SourceCorrupt("the source is empty"))
    assert sender.send(the_job, event)
    (received,) = services.events("events-2")
    assert received["errorReason"] == "SourceCorrupt" and received["errorMessage"] == "the source is empty"
