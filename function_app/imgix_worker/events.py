"""Step 4, report: one `rendition_created` or `rendition_failed` event per rendition, in Adobe I/O Events' ingress
format, posted with the request's own IMS token (as the Asset Compute SDK does).

Payload fields are the contract's (`reference/asset-compute-contract.md` section 3): the rendition without its
`target`, `requestId`, request-level `userData`, `source` as the URL without its query string (never the SAS),
`activationIds`. Sending retries on 5xx, 204 (journal not ready) and network errors, within its budget and the
job's deadline; a failure is logged and reported as False (the processor then has the message retried).
"""

from __future__ import annotations

import base64
import json
import logging
import random
import time
from datetime import UTC, datetime

from .errors import RenditionError, RenditionTooLarge
from .jobs import Job
from .logs import log
from .pooled_http import HTTP_ERRORS, HttpClient
from .redaction import redact, strip_query
from .transport import Deadline, call_timeout

__all__ = ["LAST_ATTEMPT_SECONDS", "EventSender", "created_event", "failed_event"]

# What an event sent after the job's deadline still gets: one attempt of at most this long.
LAST_ATTEMPT_SECONDS = 1.0


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _public_rendition(rendition: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in rendition.items() if k not in ("target", "url")}


def _base(job: Job, kind: str, rendition: dict[str, object]) -> dict[str, object]:
    event: dict[str, object] = {
        "type": kind,
        "date": _now(),
        "requestId": job.request_id,
        "source": strip_query(job.source_url.reveal()),
        "rendition": _public_rendition(rendition),
    }
    if job.user_data is not None:
        event["userData"] = job.user_data
    if job.activation_ids:
        event["activationIds"] = list(job.activation_ids)
    return event


def created_event(
    job: Job, rendition: dict[str, object], metadata: dict[str, object], *, data: str | None = None
) -> dict[str, object]:
    """The `rendition_created` payload; `data` is the rendition as a data URI when it is embedded, not uploaded."""
    event = {**_base(job, "rendition_created", rendition), "metadata": metadata}
    if data is not None:
        event["data"] = data
    return event


def failed_event(job: Job, rendition: dict[str, object], error: RenditionError) -> dict[str, object]:
    """The `rendition_failed` payload; the message is redacted. A `RenditionTooLarge` of known size carries
    `repo:size` (as Adobe's API documents), so that the client can retry with more parts."""
    event = {
        **_base(job, "rendition_failed", rendition),
        "errorReason": error.reason,
        "errorMessage": redact(error.message),
    }
    if isinstance(error, RenditionTooLarge) and error.size is not None:
        event["metadata"] = {"repo:size": error.size}
    return event


class EventSender:
    """Posts events to the ingress URL, retrying 5xx/204/network errors within `budget_seconds` (and the job's
    deadline, when given)."""

    def __init__(self, http: HttpClient, url: str, *, budget_seconds: float = 60.0, base_delay: float = 0.1) -> None:
        self._http = http
        self._url = url
        self._budget = budget_seconds
        self._base_delay = base_delay

    def send(self, job: Job, event: dict[str, object], *, deadline: Deadline | None = None) -> bool:
        """Post one event; True once the ingress answered 200/201/202.

        Retries stop at `deadline` (the job's): an expired one still gets one short attempt, so a job that ran out
        of time reports as much as it can without holding the invocation past the deadline by more than that.
        """
        body = {
            "user_guid": job.org_id,
            "provider_id": f"asset_compute_{job.org_id}_{job.client_id}",
            "event_code": "asset_compute",
            "event": base64.b64encode(json.dumps(event, separators=(",", ":")).encode("utf-8")).decode("ascii"),
        }
        payload = json.dumps(body, separators=(",", ":")).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "x-ims-org-id": job.org_id,
            "x-api-key": job.client_id,
            "Authorization": f"Bearer {job.token.reveal()}",
        }
        fields = {"request_id": job.request_id, "job_id": job.job_id, "rendition": event["rendition"].get("name")}  # type: ignore[union-attr]
        give_up = Deadline.after(self._budget)
        if deadline is not None:
            give_up = Deadline(min(give_up.at, deadline.at))
        longest = self._http.timeout
        attempt = 0
        while True:
            attempt += 1
            # Each attempt ends by the give-up time too (at least 1 s, so that an expired job can still report).
            timeout = call_timeout(give_up, longest, at_least=LAST_ATTEMPT_SECONDS)
            try:
                response = self._http.post(self._url, content=payload, headers=headers, timeout=timeout)
                status: int | str = response.status_code
            except HTTP_ERRORS as exc:
                status = type(exc).__name__
            if status in (200, 201, 202):
                log("event sent", type=event["type"], reason=event.get("errorReason"), attempt=attempt, **fields)
                return True
            retryable = not isinstance(status, int) or status == 204 or status == 429 or status >= 500
            delay = random.uniform(0, min(5.0, self._base_delay * 2 ** (attempt - 1)))
            if not retryable or delay > give_up.remaining():
                log("event not delivered", level=logging.ERROR, type=event["type"], status=status, **fields)
                return False
            time.sleep(delay)  # backoff between attempts at the ingress
