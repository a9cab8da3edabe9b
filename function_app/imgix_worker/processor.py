"""The processor: one queue message = one job, run through stage -> render -> deliver -> report -> clean.

Renditions run in parallel (bounded by `RENDER_CONCURRENCY`); one failing never stops the others; each gets exactly
one event from this run. Before the job's deadline every unfinished rendition gets `rendition_failed`. The staged
source is deleted in every outcome. An event the ingress never took gets no report marker, and `process` raises
`EventsUndelivered` once the job is done, so the queue redelivers the message and the next run reports what is
missing. A message that keeps failing ends in the poison queue, where `fail_job` reports every rendition still
unreported as failed, and never raises (a poison message that fails would only be retried into a queue nobody reads).
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from .contract_fields import check_dimension_cap, data_uri, embed_limit, non_image_type, sent_as
from .delivery import deliver
from .errors import EventsUndelivered, GenericError, RenditionError
from .events import LAST_ATTEMPT_SECONDS, EventSender, created_event, failed_event
from .host_limits import SHUTDOWN_RESERVE_SECONDS
from .imgix_urls import ImgixUrls
from .instructions import imgix_params
from .jobs import Job
from .ledger import EventLedger
from .logs import log
from .metadata_rendition import is_metadata_rendition, render_metadata
from .param_policy import ParamPolicy
from .pooled_http import HttpClient
from .rendering import fetch_rendition_retried
from .staging import StagedSource, Stager
from .transport import Deadline, call_timeout

__all__ = ["JobOutcome", "Processor"]

# Reserve at the end of the deadline for sending the remaining failure events.
REPORT_RESERVE_SECONDS = 5.0
# What deleting the staged source may still take after the deadline (host_limits.SHUTDOWN_RESERVE_SECONDS covers it).
CLEANUP_SECONDS = 10.0
# All the reporting after the job's deadline (last event attempts and their markers, from every thread) shares this
# one budget, so that with many renditions it still ends within the host's shutdown reserve: the events and the
# cleanup after it (an event and a marker started just before it ends may take LAST_ATTEMPT_SECONDS each more).
# What does not fit gets no marker and is reported by the message's redelivery.
AFTER_DEADLINE_SECONDS = SHUTDOWN_RESERVE_SECONDS - CLEANUP_SECONDS - 5.0


@dataclass
class JobOutcome:
    """What happened to each rendition of a job: its index -> event type and reason."""

    results: dict[int, tuple[str, str | None]] = field(default_factory=dict)

    @property
    def created(self) -> int:
        return sum(1 for kind, _ in self.results.values() if kind == "rendition_created")

    @property
    def failed(self) -> int:
        return sum(1 for kind, _ in self.results.values() if kind == "rendition_failed")


class _Reporter:
    """Sends at most one event per rendition, whichever thread gets there first, and marks it in the ledger."""

    def __init__(
        self,
        job: Job,
        sender: EventSender,
        ledger: EventLedger,
        outcome: JobOutcome,
        *,
        deadline: Deadline,
        http_timeout: float,
        first_delivery: bool,
    ) -> None:
        self._job = job
        self._sender = sender
        self._ledger = ledger
        self._outcome = outcome
        self._deadline = deadline
        self._after_deadline = Deadline(deadline.at + AFTER_DEADLINE_SECONDS)
        self._http_timeout = http_timeout
        self._lock = threading.Lock()
        self.already_reported: set[int] = set()
        self.undelivered: list[int] = []
        self._marker_failed = False
        if first_delivery:
            return  # nothing can have been reported for a message delivered for the first time
        try:
            self.already_reported = ledger.reported(job.job_id)
        except Exception as exc:  # without the ledger a redelivery may repeat events: better than none
            log("report markers unreadable", level=logging.WARNING, error=_describe(exc), job_id=job.job_id)

    def pending(self) -> list[int]:
        """Renditions without an event yet (from this run or an earlier delivery of the message)."""
        with self._lock:
            return [
                i
                for i in range(len(self._job.renditions))
                if i not in self.already_reported and i not in self._outcome.results
            ]

    def _send(self, index: int, event: dict[str, object]) -> None:
        with self._lock:
            given_up = self._deadline.expired and (bool(self.undelivered) or self._after_deadline.expired)
        if given_up:
            # Past the deadline with the ingress already failing, or past the budget after it: one last attempt
            # per event would hold the invocation a second per rendition; the redelivery reports these instead.
            name = self._job.renditions[index].get("name")
            log("event not delivered", level=logging.ERROR, type=event["type"], status="past the job's deadline",
                request_id=self._job.request_id, job_id=self._job.job_id, rendition=name)  # fmt: skip
            with self._lock:
                self.undelivered.append(index)
            return
        try:
            sent = self._sender.send(self._job, event, deadline=self._deadline)
        except Exception as exc:  # the sender logs and returns False for what it expects; anything else is a bug
            log("event error", level=logging.ERROR, error=_describe(exc), job_id=self._job.job_id)
            sent = False
        if not sent:
            with self._lock:  # no marker: a redelivery of the message reports this rendition again
                self.undelivered.append(index)
            return
        with self._lock:
            skip_marker = self._deadline.expired and (self._marker_failed or self._after_deadline.expired)
        if skip_marker:  # storage failing, or no time left, past the deadline: a redelivery may repeat this event
            log("report marker not written", level=logging.WARNING, error="past the job's deadline",
                job_id=self._job.job_id)  # fmt: skip
            return
        try:
            self._ledger.record(self._job.job_id, index, timeout=self._storage_timeout())
        except Exception as exc:  # a redelivery would repeat this event: at least once
            with self._lock:
                self._marker_failed = True
            log("report marker not written", level=logging.WARNING, error=_describe(exc), job_id=self._job.job_id)

    def _storage_timeout(self) -> float:
        return call_timeout(self._deadline, self._http_timeout, at_least=LAST_ATTEMPT_SECONDS)

    def claim(self, index: int, kind: str, reason: str | None) -> bool:
        with self._lock:
            if index in self._outcome.results or index in self.already_reported:
                return False
            self._outcome.results[index] = (kind, reason)
            return True

    def created(self, index: int, metadata: dict[str, object], *, data: str | None = None) -> None:
        if self.claim(index, "rendition_created", None):
            self._send(index, created_event(self._job, self._job.renditions[index], metadata, data=data))

    def failed(self, index: int, error: RenditionError) -> None:
        if self.claim(index, "rendition_failed", error.reason):
            rendition = self._job.renditions[index]
            log(
                "rendition failed",
                level=logging.WARNING,
                request_id=self._job.request_id,
                job_id=self._job.job_id,
                rendition=rendition.get("name"),
                reason=error.reason,
                error=error.message,
            )
            self._send(index, failed_event(self._job, rendition, error))

    def done(self, index: int) -> bool:
        with self._lock:
            return index in self._outcome.results


class Processor:
    """Runs jobs. Built once per process from settings and shared clients."""

    def __init__(
        self,
        *,
        stager: Stager,
        ledger: EventLedger,
        urls: ImgixUrls,
        http: HttpClient,
        events: EventSender,
        concurrency: int,
        deadline_seconds: float,
        http_timeout: float,
        max_rendition_bytes: int,
        policy: ParamPolicy,
    ) -> None:
        self._policy = policy
        self._stager = stager
        self._ledger = ledger
        self._urls = urls
        self._http = http
        self._events = events
        self._concurrency = concurrency
        self._deadline_seconds = deadline_seconds
        self._http_timeout = http_timeout
        self._max_rendition_bytes = max_rendition_bytes

    def process(self, job: Job, *, first_delivery: bool = False) -> JobOutcome:
        """Run the whole job; every rendition ends with exactly one event.

        :param first_delivery: the queue says this message was never delivered before, so no report marker can
            exist yet (saves reading them); when unsure, leave it False.
        :raises EventsUndelivered: after the job, when some events never reached the ingress (retry the message).
        """
        started = time.monotonic()
        deadline = Deadline.after(self._deadline_seconds)
        work_deadline = Deadline(deadline.at - REPORT_RESERVE_SECONDS)
        outcome = JobOutcome()
        reporter = self._reporter(job, outcome, deadline, first_delivery=first_delivery)
        fields = {"request_id": job.request_id, "job_id": job.job_id}
        log("job started", renditions=len(job.renditions), already_reported=len(reporter.already_reported), **fields)
        try:
            if not reporter.pending():
                return outcome
            staged = self._stager.stage(job, work_deadline)
            log("source staged", mimetype=staged.mimetype, size=staged.size, **fields)
            self._render_all(job, staged, reporter, work_deadline, job_deadline=deadline)
        except RenditionError as error:
            for index in reporter.pending():
                reporter.failed(index, error)
        except Exception as exc:
            log("job error", level=logging.ERROR, error=_describe(exc), **fields)
            for index in reporter.pending():
                reporter.failed(index, GenericError("the worker failed unexpectedly"))
        finally:
            self._remove(job, fields, deadline=deadline)
        log(
            "job finished",
            created=outcome.created,
            failed=outcome.failed,
            undelivered=len(reporter.undelivered),
            seconds=round(time.monotonic() - started, 3),
            **fields,
        )
        if reporter.undelivered:
            raise EventsUndelivered(reporter.undelivered)
        return outcome

    def _reporter(self, job: Job, outcome: JobOutcome, deadline: Deadline, *, first_delivery: bool) -> _Reporter:
        return _Reporter(
            job,
            self._events,
            self._ledger,
            outcome,
            deadline=deadline,
            http_timeout=self._http_timeout,
            first_delivery=first_delivery,
        )

    def fail_job(self, job: Job, message: str) -> JobOutcome:
        """Report every rendition of a job that cannot be processed (poison queue) and has no event yet as failed,
        and clean up. Never raises: what cannot be done is logged (the lifecycle rule removes what is left)."""
        outcome = JobOutcome()
        fields = {"request_id": job.request_id, "job_id": job.job_id}
        undelivered: list[int] = []
        deadline = Deadline.after(self._deadline_seconds)
        try:
            reporter = self._reporter(job, outcome, deadline, first_delivery=False)
            for index in reporter.pending():
                reporter.failed(index, GenericError(message))
            undelivered = reporter.undelivered
        except Exception as exc:
            log("poison report error", level=logging.ERROR, error=_describe(exc), **fields)
        self._remove(job, fields, deadline=deadline)
        if undelivered:  # nothing comes after the poison queue: say so, for the operator
            log("events lost", level=logging.ERROR, undelivered=len(undelivered), **fields)
        return outcome

    def _remove(self, job: Job, fields: dict[str, object], *, deadline: Deadline) -> None:
        try:
            self._stager.remove(job, timeout=call_timeout(deadline, self._http_timeout, at_least=CLEANUP_SECONDS))
        except Exception as exc:  # the lifecycle rule removes what cleanup could not
            log("cleanup failed", level=logging.WARNING, error=_describe(exc), **fields)

    def _render_all(
        self, job: Job, staged: StagedSource, reporter: _Reporter, deadline: Deadline, *, job_deadline: Deadline
    ) -> None:
        cancelled = threading.Event()
        pool = ThreadPoolExecutor(max_workers=min(self._concurrency, len(job.renditions)), thread_name_prefix="render")
        try:
            futures: dict[Future[None], int] = {
                pool.submit(self._one, job, index, staged, reporter, deadline, cancelled): index
                for index in reporter.pending()
            }
            pending = set(futures)
            while pending and not deadline.expired:
                _, pending = wait(pending, timeout=deadline.remaining(), return_when=FIRST_COMPLETED)
            if pending:
                cancelled.set()
                seconds = self._deadline_seconds
                for future in pending:  # all first: a queued rendition must not start while failures are sent
                    future.cancel()
                for future in pending:
                    reporter.failed(
                        futures[future],
                        GenericError(f"processing timed out for the rendition after {seconds:g} seconds"),
                    )
                # A rendition delivered just before the work deadline may still be sending its event: wait for it
                # (its retries end at the job's deadline, plus one last short attempt), so that the job's outcome
                # says whether it was delivered.
                wait(pending, timeout=job_deadline.remaining() + LAST_ATTEMPT_SECONDS)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _one(
        self,
        job: Job,
        index: int,
        staged: StagedSource,
        reporter: _Reporter,
        deadline: Deadline,
        cancelled: threading.Event,
    ) -> None:
        rendition = job.renditions[index]
        context: dict[str, object] = {
            "request_id": job.request_id,
            "job_id": job.job_id,
            "rendition": rendition.get("name", index),
        }
        if cancelled.is_set():  # picked up after the deadline: the job's thread reports it as timed out
            return
        try:
            limit = embed_limit(rendition)
            metadata = is_metadata_rendition(rendition, recipe=job.recipe)
            if metadata:  # XMP built from imgix's JSON answers (metadata_rendition.py), not an image
                params: dict[str, str] = {}
                result = render_metadata(
                    self._http,
                    self._urls,
                    staged.blob_name,
                    rendition,
                    deadline=deadline,
                    timeout=self._http_timeout,
                    context=context,
                    recipe=job.recipe,
                )
            else:
                params = imgix_params(rendition, recipe=job.recipe)
                self._policy.check(params, sent_as=sent_as(rendition, params))
                url = self._urls.signed_url(staged.blob_name, params)
                result = fetch_rendition_retried(
                    self._http,
                    url,
                    max_bytes=self._max_rendition_bytes,
                    deadline=deadline,
                    http_timeout=self._http_timeout,
                    context=context,
                )
            try:
                expected = None if metadata else non_image_type(params)  # metadata, palettes, hashes, video
                if expected is not None:
                    result.mimetype = expected
                elif not metadata and not result.mimetype.startswith("image/"):
                    # e.g. an HTML error page served with 200: never deliver it as a rendition
                    raise GenericError("imgix's answer is not an image")
                check_dimension_cap(rendition, width=result.width, height=result.height)
                if cancelled.is_set() or reporter.done(index):
                    return
                if limit is not None and result.size <= limit:
                    # embedBinaryLimit: the rendition travels in the event and is not uploaded (as Adobe's SDK)
                    embedded = data_uri(result.mimetype, result.file.read(limit))
                    log("rendition embedded", size=result.size, format=result.mimetype, **context)
                    reporter.created(index, result.metadata(), data=embedded)
                    return
                parts = deliver(
                    self._http,
                    result,
                    rendition.get("target", rendition.get("url")),
                    deadline=deadline,
                    timeout=self._http_timeout,
                    cancelled=cancelled,
                    context=context,
                )
                log("rendition delivered", size=result.size, parts=parts, format=result.mimetype, **context)
                reporter.created(index, result.metadata())
            finally:
                result.close()
        except RenditionError as error:
            reporter.failed(index, error)
        except Exception as exc:
            log("rendition error", level=logging.ERROR, error=_describe(exc), **context)
            reporter.failed(index, GenericError("the worker failed unexpectedly"))


def _describe(exc: BaseException) -> str:
    """An exception for a log line: the worker's own message, else its type and text (redacted by `log`)."""
    message = getattr(exc, "message", None)
    return message if isinstance(message, str) else f"{type(exc).__name__}: {exc}"
