"""The composition root: settings read once, clients built once, shared by the intake and the processor.

`function_app.py` validates its settings at import and calls `get_worker(settings)`, which builds the process's one
`Worker` (`Worker.from_settings`) on first use; nothing here imports the Azure Functions library. Clients are never
closed: the Functions host ends the worker process (the local worker host, which runs only `function_app.py`, too).
"""

from __future__ import annotations

import binascii
import logging
import threading
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .auth import ImsAuthenticator
from .blob_calls import BlobCalls
from .events import EventSender
from .imgix_urls import ImgixUrls
from .intake import Intake
from .jobs import Job, decode_message
from .ledger import EventLedger
from .logs import log
from .param_policy import ParamPolicy
from .processor import JobOutcome, Processor
from .redaction import Secret
from .replay_markers import REPLAY_CONTAINER, SharedReplayGuard
from .settings import Settings
from .staging import Stager
from .transport import http_client

if TYPE_CHECKING:
    from .pooled_http import HttpClient

__all__ = ["JOBS_QUEUE", "POISON_QUEUE", "Worker", "get_worker"]

JOBS_QUEUE = "jobs"
POISON_QUEUE = "jobs-poison"


@dataclass
class Worker:
    """The intake and the processor of one process."""

    settings: Settings
    intake: Intake
    processor: Processor

    @classmethod
    def from_settings(cls, settings: Settings) -> Worker:
        """Build every client from already validated settings."""
        http = http_client(
            timeout=settings.http_timeout_seconds,
            ca_bundle=settings.tls_ca_bundle,
            # Every job the host runs at once streams RENDER_CONCURRENCY renditions: too small a pool would close
            # connections after use under load and pay a TLS handshake for each new one.
            max_connections=settings.host_limits.http_connections(settings.render_concurrency),
        )
        container = _source_container(settings)
        calls = BlobCalls(container, http)  # the same account and principal, the hot path's calls
        stager = Stager(
            container,
            calls,
            http,
            prefix=settings.staging_prefix,
            allowed_types=settings.allowed_source_types,
            max_source_bytes=settings.max_source_bytes,
        )
        processor = Processor(
            stager=stager,
            ledger=EventLedger(container, calls, prefix=settings.staging_prefix, timeout=settings.http_timeout_seconds),
            urls=ImgixUrls(
                settings.imgix_domain, secure_token=settings.imgix_secure_token, base_url=settings.imgix_base_url
            ),
            http=http,
            events=EventSender(http, settings.events_url),
            concurrency=settings.render_concurrency,
            deadline_seconds=settings.job_deadline_seconds,
            http_timeout=settings.http_timeout_seconds,
            max_rendition_bytes=settings.max_rendition_bytes,
            policy=ParamPolicy.from_settings(settings),
        )
        authenticator = ImsAuthenticator(
            settings.ims_jwks_url,
            org_ids=settings.ims_org_ids,
            client_ids=settings.ims_client_ids,
            ca_bundle=settings.tls_ca_bundle,
        )
        return cls(
            settings=settings,
            intake=Intake(settings, authenticator, replays=_replay_guard(settings, http)),
            processor=processor,
        )

    def process_message(self, message: str | bytes, *, dequeue_count: int | None = None) -> JobOutcome:
        """Process one `jobs` queue message (`dequeue_count` as the queue reports it, when known).

        :raises EventsUndelivered: some events never reached the ingress; the host must retry the message.
        """
        job = _readable(message)
        if job is None:
            return JobOutcome()
        return self.processor.process(job, first_delivery=dequeue_count == 1)

    def fail_message(self, message: str | bytes) -> JobOutcome:
        """Handle one `jobs-poison` message: every rendition not yet reported gets `rendition_failed`. Never raises."""
        job = _readable(message)
        if job is None:
            return JobOutcome()
        return self.processor.fail_job(job, "the job could not be processed after several attempts")


def _readable(message: str | bytes) -> Job | None:
    """The message's job, or None (logged) for a message no intake of ours wrote: retrying it cannot help."""
    try:
        return decode_message(message)
    except (ValueError, KeyError, TypeError, zlib.error, binascii.Error):
        log("unreadable queue message dropped", level=logging.ERROR)
        return None


def _blob_service(connection_string: Secret | None, account_url: str, settings: Settings, **options: object):  # type: ignore[no-untyped-def]
    """A blob service client from a connection string (local runs: Azurite) or an account URL reached by the app's
    managed identity."""
    from azure.storage.blob import BlobServiceClient

    if connection_string is not None:
        return BlobServiceClient.from_connection_string(
            connection_string.reveal(), connection_verify=settings.tls_ca_bundle or True, **options
        )
    from azure.identity import DefaultAzureCredential

    return BlobServiceClient(account_url, credential=DefaultAzureCredential(), **options)


def _source_container(settings: Settings):  # type: ignore[no-untyped-def]
    # One retry layer: the worker's own (`transport.retry`), which knows the job's deadline; the SDK's would
    # retry again underneath it, for minutes.
    service = _blob_service(
        settings.imgix_source_connection_string,
        settings.imgix_source_account_url,
        settings,
        retry_total=0,
        connection_timeout=min(10, settings.http_timeout_seconds),
        read_timeout=settings.http_timeout_seconds,
    )
    return service.get_container_client(settings.imgix_source_container)


def _replay_guard(settings: Settings, http: HttpClient) -> SharedReplayGuard | None:
    """The relay's replay markers in the host's storage; None when calls are not signed (a local run's choice)."""
    if settings.relay_hmac_key is None or settings.host_storage is None:
        return None
    storage = settings.host_storage
    # retry_total=0: a create retried after a lost answer would find its own marker and refuse a genuine call.
    service = _blob_service(
        storage.connection_string, storage.blob_url, settings, retry_total=0, connection_timeout=5, read_timeout=10
    )
    # The stack creates the container in Azure (with its lifecycle rule); a local run creates it on first use.
    container = service.get_container_client(REPLAY_CONTAINER)
    return SharedReplayGuard(container, BlobCalls(container, http), create_container=settings.local_run)


_worker: Worker | None = None
_worker_lock = threading.Lock()


def get_worker(settings: Settings) -> Worker:
    """The process's one `Worker`, built on first use (so importing the function app stays fast)."""
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = Worker.from_settings(settings)
        return _worker
