"""The Storage Queues extension as the local host plays it: output bindings and one listener per queue trigger.

A listener fetches up to `batchSize` messages and fetches again once the running ones drop to
`newBatchThreshold` (so at most `batchSize + newBatchThreshold` run at once); an empty queue is polled with a
doubling delay up to `maxPollingInterval` (a message this host writes wakes its listener at once, as the real host
short-cuts its own output bindings). A message is received hidden for `functionTimeout` (plus a little; the real
host hides it for 10 minutes and renews that while the function runs, so a killed host's message returns within
10 minutes there), deleted on success; on failure or abandonment it is made visible again after
`visibilityTimeout`, or, on its `maxDequeueCount`-th delivery, copied to `<queue>-poison` and deleted. Poison
queues are trigger queues like any other, so a failing poison handler ends in `<queue>-poison-poison`. Bodies are
base64 on the queue when `messageEncoding` is base64.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email.utils
import logging
import math
import ssl
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from typing import Any
from xml.sax.saxutils import escape

import urllib3
from azure.functions.queue import QueueMessage  # the worker's own class (func.QueueMessage lacks dequeue_count)

from local_platform.functions_index import IndexedFunction, IndexingError
from local_platform.host_config import QueueOptions
from local_platform.invocation import SyncThreadPool, invoke, queue_messages

__all__ = ["QueueListener", "QueueStore"]

LOG = logging.getLogger("local_platform.worker_host")
# The host's own queue calls are the Functions host's (another process in Azure): the SDK's records go to the host's
# log, not through the worker's root handler, and from WARNING only (the SDK logs every request at INFO).
STORAGE_LOG = logging.getLogger("local_platform.worker_host.storage")
STORAGE_LOG.setLevel(logging.WARNING)
MIN_POLLING_SECONDS = 0.1
QUEUE_API_VERSION = "2021-12-02"
HEADERS = {"x-ms-version": QUEUE_API_VERSION}
XML_HEADERS = {**HEADERS, "Content-Type": "application/xml; charset=utf-8"}
RECEIVE_LIMIT = 32  # Storage's most messages per receive
VISIBILITY_GRACE_SECONDS = 5.0  # hidden a little past functionTimeout, so an abandoned message is ours to release


class QueueStore:
    """Queue clients by (connection setting, queue name), message encoding, and the wake-up of local listeners."""

    def __init__(self, settings: Mapping[str, str], options: QueueOptions, *, ca_bundle: str | None) -> None:
        self._settings = settings
        self._options = options
        self._ca_bundle = ca_bundle
        self._clients: dict[tuple[str, str], Any] = {}
        self._created: set[tuple[str, str]] = set()
        self._listeners: dict[str, list[Callable[[], None]]] = {}
        self._queue_urls: dict[tuple[str, str], tuple[str, str]] = {}
        self._client: urllib3.PoolManager | None = None
        self._lock = threading.Lock()

    def connection_string(self, connection: str) -> str:
        """The storage connection a binding names (the setting itself, or `AzureWebJobs<name>`)."""
        for name in (connection or "AzureWebJobsStorage", f"AzureWebJobs{connection}"):
            if self._settings.get(name):
                return self._settings[name]
        raise IndexingError(f"the storage connection {connection!r} is not set (app setting {connection!r})")

    def client(self, connection: str, queue: str) -> Any:
        from azure.storage.queue import QueueClient

        key = (connection, queue)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = QueueClient.from_connection_string(
                    self.connection_string(connection),
                    queue,
                    connection_verify=self._ca_bundle or True,
                    logger=STORAGE_LOG,  # azure-core's HttpLoggingPolicy logs there instead of its module logger
                )
            return self._clients[key]

    # The host's message calls (receive, put, delete, update) are each one plain REST call on one urllib3 pool: in
    # Azure they are the Functions host's work in its own process, so here they should cost the worker's process as
    # little as they can (the SDK's pipeline costs several times as much CPU a call). Queue creation stays on the SDK.

    def receive(self, connection: str, queue: str, *, count: int, visibility_timeout: int) -> list[Any]:
        """Get Messages. Empty when the queue does not exist yet."""
        from azure.storage.queue import QueueMessage as StorageMessage

        url, sas = self._queue_url(connection, queue)
        query = f"{sas}&numofmessages={count}&visibilitytimeout={visibility_timeout}"
        response = self._pool().request("GET", f"{url}/messages?{query}", headers=HEADERS)
        if response.status == 404:
            return []
        if response.status != 200:
            raise _storage_error("Get Messages", response)
        messages = []
        # Azurite's answer on loopback, not untrusted input.
        for item in ET.fromstring(response.data).iter("QueueMessage"):  # noqa: S314
            fields = {child.tag: child.text or "" for child in item}
            message = StorageMessage(content=fields["MessageText"], id=fields["MessageId"])
            message.inserted_on = email.utils.parsedate_to_datetime(fields["InsertionTime"])
            message.expires_on = email.utils.parsedate_to_datetime(fields["ExpirationTime"])
            message.next_visible_on = email.utils.parsedate_to_datetime(fields["TimeNextVisible"])
            message.pop_receipt = fields["PopReceipt"]
            message.dequeue_count = int(fields["DequeueCount"])
            messages.append(message)
        return messages

    def delete(self, connection: str, queue: str, message: Any) -> None:
        """Delete Message. :raises ResourceNotFoundError: it is gone already (as the SDK's delete_message did)."""
        url, sas = self._queue_url(connection, queue)
        response = self._pool().request("DELETE", _message_url(url, sas, message), headers=HEADERS)
        if response.status != 204:
            raise _storage_error("Delete Message", response)

    def release(self, connection: str, queue: str, message: Any, *, visibility_timeout: int) -> None:
        """Update Message with only a new visibility timeout: no body keeps the content as it is (the SDK sent the
        content again, to the same end). The answer's new pop receipt is not kept: nothing settles it after this."""
        url, sas = self._queue_url(connection, queue)
        target = f"{_message_url(url, sas, message)}&visibilitytimeout={visibility_timeout}"
        response = self._pool().request("PUT", target, headers=HEADERS)
        if response.status != 204:
            raise _storage_error("Update Message", response)

    def _put(self, connection: str, queue: str, content: str) -> None:
        url, sas = self._queue_url(connection, queue)
        body = f"<QueueMessage><MessageText>{escape(content)}</MessageText></QueueMessage>".encode()
        response = self._pool().request("POST", f"{url}/messages?{sas}", body=body, headers=XML_HEADERS)
        if response.status != 201:
            raise _storage_error("Put Message", response)

    def _queue_url(self, connection: str, queue: str) -> tuple[str, str]:
        """The queue's URL and a SAS for the host's message calls (add, update, process), made once per queue from
        the connection's account key."""
        from azure.storage.queue import QueueSasPermissions, generate_queue_sas

        key = (connection, queue)
        found = self._queue_urls.get(key)
        if found is not None:
            return found
        client = self.client(connection, queue)
        with self._lock:
            if key not in self._queue_urls:
                sas = generate_queue_sas(
                    client.account_name,
                    queue,
                    client.credential.account_key,
                    permission=QueueSasPermissions(add=True, update=True, process=True),
                    expiry=dt.datetime.now(dt.UTC) + dt.timedelta(days=7),
                )
                self._queue_urls[key] = (client.url.split("?", 1)[0].rstrip("/"), sas)
            return self._queue_urls[key]

    def _pool(self) -> urllib3.PoolManager:
        # urllib3, not httpx: httpx logs every request at INFO, and these are the host's calls, not the app's.
        with self._lock:
            if self._client is None:
                context = ssl.create_default_context(cafile=self._ca_bundle or None)
                self._client = urllib3.PoolManager(ssl_context=context, timeout=30.0, retries=False, maxsize=16)
            return self._client

    def encode(self, body: bytes) -> str:
        if self._options.message_encoding == "base64":
            return base64.b64encode(body).decode("ascii")
        return body.decode("utf-8")

    def decode(self, content: str) -> bytes:
        """A received message's body. :raises ValueError: not base64 under base64 encoding."""
        if self._options.message_encoding == "base64":
            try:
                return base64.b64decode(content, validate=True)
            except binascii.Error:
                raise ValueError("the message is not base64 (host.json's messageEncoding is base64)") from None
        return content.encode("utf-8")

    def send(self, connection: str, queue: str, content: str) -> None:
        """Enqueue already encoded `content`, creating the queue on first use as the output binding does."""
        from azure.core.exceptions import ResourceExistsError

        if (connection, queue) not in self._created:
            try:
                self.client(connection, queue).create_queue()
            except ResourceExistsError:
                pass
            self._created.add((connection, queue))
        self._put(connection, queue, content)
        for wake in self._listeners.get(queue, []):
            wake()

    def write_outputs(self, function: IndexedFunction, outputs: Mapping[str, Any], result: Any = None) -> None:
        """Write each queue output binding's value, and a queue `$return`'s (after the function returned, as the
        host does)."""
        values = [(b, outputs[b["name"]]) for b in function.outputs if b["name"] in outputs]
        returned = function.return_binding
        if returned is not None and returned.get("type") == "queue" and result is not None:
            values.append((returned, result))
        for binding, value in values:
            for body in queue_messages(value):
                self.send(binding.get("connection", ""), binding["queueName"], self.encode(body))

    def on_enqueued(self, queue: str, wake: Callable[[], None]) -> None:
        self._listeners.setdefault(queue, []).append(wake)


class QueueListener:
    """Plays one queue trigger: receive, invoke, then delete, release after `visibilityTimeout`, or poison."""

    def __init__(
        self,
        function: IndexedFunction,
        store: QueueStore,
        options: QueueOptions,
        *,
        function_timeout: float | None,
        pool: SyncThreadPool,
        stop: threading.Event,
    ) -> None:
        trigger = function.trigger
        self.function = function
        self.queue_name: str = trigger["queueName"]
        self._connection = trigger.get("connection", "")
        self._store = store
        self._options = options
        self._timeout = function_timeout
        self._pool = pool
        self._stop = stop
        self._wake = threading.Event()
        self._running = 0
        self._changed = threading.Condition()
        self._threads: list[threading.Thread] = []
        store.on_enqueued(self.queue_name, self.wake)

    @property
    def poison_queue(self) -> str:
        return f"{self.queue_name}-poison"

    def wake(self) -> None:
        """Poll now (a message was written here, or the host is stopping)."""
        self._wake.set()
        with self._changed:
            self._changed.notify_all()

    def run(self) -> None:
        """Poll until `stop` is set (`drain` then waits for the invocations still running)."""
        delay = MIN_POLLING_SECONDS
        while not self._stop.is_set():
            with self._changed:
                # A new batch only once the running ones drop to newBatchThreshold.
                self._changed.wait_for(
                    lambda: self._running <= self._options.new_batch_threshold or self._stop.is_set()
                )
            if self._stop.is_set():
                break
            messages = self._receive()
            if not messages:
                self._wake.wait(delay)
                self._wake.clear()
                delay = min(self._options.max_polling_interval, delay * 2)
                continue
            delay = MIN_POLLING_SECONDS
            for message in messages:
                with self._changed:
                    self._running += 1
                # Daemon: a host stopping lets in-flight invocations `drain`, then exits; their messages come back.
                thread = threading.Thread(
                    target=self._deliver, args=(message,), name=f"queue-{self.queue_name}", daemon=True
                )
                self._threads = [t for t in self._threads if t.is_alive()] + [thread]
                thread.start()

    def drain(self, deadline: float) -> None:
        """Wait until the running deliveries settle, or `deadline` (time.monotonic()) passes."""
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _receive(self) -> list[Any]:
        hidden = math.ceil((self._timeout or 600.0) + VISIBILITY_GRACE_SECONDS)
        count = min(self._options.batch_size, RECEIVE_LIMIT)
        try:
            # A queue that does not exist yet gives none: the real listener waits for it too.
            return self._store.receive(self._connection, self.queue_name, count=count, visibility_timeout=hidden)
        except Exception as exc:  # storage restarting or gone: keep polling, as the host does
            LOG.warning("queue %s: receive failed (%s)", self.queue_name, type(exc).__name__)
            return []

    def _deliver(self, message: Any) -> None:
        try:
            if message.dequeue_count > self._options.max_dequeue_count:
                # Delivered too often already (hosts killed mid-invocation): straight to poison, as the extension does.
                self._to_poison(message)
                return
            self._process(message)
        except Exception as exc:
            # The host's own failure (storage gone, a bug): the message comes back when its visibility expires.
            LOG.error("queue %s: message %s not settled (%s: %s)", self.queue_name, message.id, type(exc).__name__, exc)
        finally:
            with self._changed:
                self._running -= 1
                self._changed.notify_all()

    def _process(self, message: Any) -> None:
        try:
            trigger = QueueMessage(
                id=message.id,
                body=self._store.decode(message.content),
                dequeue_count=message.dequeue_count,
                expiration_time=_utc(message.expires_on),
                insertion_time=_utc(message.inserted_on),
                time_next_visible=_utc(message.next_visible_on),
                pop_receipt=message.pop_receipt,
            )
        except ValueError as exc:
            self._failed(message, f"binding failed: {exc}")
            return
        LOG.info("executing %s (message %s, dequeue count %d)", self.function.name, message.id, message.dequeue_count)
        outcome = invoke(self.function, trigger, timeout=self._timeout, pool=self._pool)
        if outcome.abandoned:
            self._failed(message, f"abandoned after functionTimeout ({self._timeout:g} s)")
            return
        if outcome.error is not None:
            self._failed(message, f"failed ({type(outcome.error).__name__})")
            return
        try:
            self._store.write_outputs(self.function, outcome.outputs, outcome.result)
        except Exception as exc:
            self._failed(message, f"output binding failed ({type(exc).__name__})")
            return
        self._store.delete(self._connection, self.queue_name, message)
        LOG.info("executed %s (message %s, succeeded)", self.function.name, message.id)

    def _failed(self, message: Any, why: str) -> None:
        LOG.error("executed %s (message %s, dequeue count %d): %s",
                  self.function.name, message.id, message.dequeue_count, why)  # fmt: skip
        if message.dequeue_count >= self._options.max_dequeue_count:
            self._to_poison(message)
        else:
            visibility = math.ceil(self._options.visibility_timeout)
            self._store.release(self._connection, self.queue_name, message, visibility_timeout=visibility)

    def _to_poison(self, message: Any) -> None:
        self._store.send(self._connection, self.poison_queue, message.content)  # the content as it was, unchanged
        self._store.delete(self._connection, self.queue_name, message)
        LOG.warning("message %s moved to %s after %d deliveries", message.id, self.poison_queue, message.dequeue_count)


def _message_url(url: str, sas: str, message: Any) -> str:
    # The pop receipt holds + / = and must go URL-encoded.
    receipt = urllib.parse.quote(message.pop_receipt, safe="")
    return f"{url}/messages/{urllib.parse.quote(message.id, safe='')}?{sas}&popreceipt={receipt}"


def _storage_error(operation: str, response: urllib3.BaseHTTPResponse) -> Exception:
    """The SDK's exception for a refused call (404: ResourceNotFoundError), naming Storage's error code only: the
    request's URL carries the SAS."""
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

    error = ResourceNotFoundError if response.status == 404 else HttpResponseError
    code = response.headers.get("x-ms-error-code")
    return error(f"{operation} answered HTTP {response.status}" + (f" ({code})" if code else ""))


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return value.astimezone(dt.UTC) if value is not None else None
