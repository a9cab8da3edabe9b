"""A small local host for the worker, standing in for the Azure Functions host (which cannot be installed here).

It runs the very code `function_app.py` wires: HTTPS `POST /api/worker[/{recipe}]` -> `Intake.handle`, the message
enqueued on Azurite's `jobs` queue base64-encoded (as the host's output binding does); a consumer loop playing the
queue trigger (message hidden while processed, deleted on success, retried on failure, moved to `jobs-poison`
after `maxDequeueCount` attempts); and a consumer of `jobs-poison`. Run it with
`python -m local_platform.worker_host --port N --cert C --key K` and the worker's settings in the environment,
plus `AzureWebJobsStorage` (an Azurite connection string).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from local_platform.paths import ROOT
from local_platform.processes import free_port, start_server, stop_group
from local_platform.tls import TlsFiles, server_context

__all__ = ["MAX_DEQUEUE_COUNT", "WorkerHostProcess", "main"]

MAX_DEQUEUE_COUNT = 5  # as host.json's extensions.queues.maxDequeueCount
MAX_POLLING_SECONDS = 2.0  # as host.json's extensions.queues.maxPollingInterval
ROUTE = "/api/worker"


def _queue(connection: str, name: str, ca_bundle: str):  # type: ignore[no-untyped-def]
    from azure.storage.queue import BinaryBase64DecodePolicy, BinaryBase64EncodePolicy, QueueClient

    client = QueueClient.from_connection_string(
        connection,
        name,
        message_encode_policy=BinaryBase64EncodePolicy(),
        message_decode_policy=BinaryBase64DecodePolicy(),
        connection_verify=ca_bundle or True,
    )
    from azure.core.exceptions import ResourceExistsError

    try:
        client.create_queue()
    except ResourceExistsError:
        pass
    return client


class _Consumer:
    """Plays a queue trigger: receive, run `handler`, delete; after too many failures, move to `poison`."""

    def __init__(self, queue, handler, *, poison=None, workers: int, visibility: int, stop: threading.Event) -> None:  # type: ignore[no-untyped-def]
        self._queue = queue
        self._handler = handler
        self._poison = poison
        self._workers = workers
        self._visibility = visibility
        self._stop = stop
        self._wake = threading.Event()

    def wake(self) -> None:
        """Poll now: a message was just enqueued here (the Functions host short-cuts its own output bindings too)."""
        self._wake.set()

    def run(self) -> None:
        from imgix_worker.logs import log

        idle = 0.05
        slots = threading.Semaphore(self._workers)
        with ThreadPoolExecutor(max_workers=self._workers) as pool:
            while not self._stop.is_set():
                slots.acquire()
                try:
                    messages = list(self._queue.receive_messages(max_messages=1, visibility_timeout=self._visibility))
                except Exception as exc:  # Azurite restarting or gone: keep polling like the host does
                    log("queue receive failed", level=logging.WARNING, error=type(exc).__name__)
                    messages = []
                if not messages:
                    slots.release()
                    # An empty queue is polled with backoff up to host.json's maxPollingInterval (2 s), unless
                    # the intake wakes us.
                    self._wake.wait(idle)
                    self._wake.clear()
                    idle = min(MAX_POLLING_SECONDS, idle * 2)
                    continue
                idle = 0.05
                pool.submit(self._handle, messages[0], slots)

    def _handle(self, message, slots: threading.Semaphore) -> None:  # type: ignore[no-untyped-def]
        from imgix_worker.logs import log

        try:
            self._handler(message.content, message.dequeue_count)
            self._queue.delete_message(message)
        except Exception as exc:
            log(
                "message failed",
                level=logging.ERROR,
                error=f"{type(exc).__name__}",
                dequeue_count=message.dequeue_count,
            )
            try:
                if self._poison is not None and message.dequeue_count >= MAX_DEQUEUE_COUNT:
                    self._poison.send_message(message.content)
                    self._queue.delete_message(message)
                else:
                    self._queue.update_message(message, visibility_timeout=0)
            except Exception as move_exc:
                log("message not requeued", level=logging.ERROR, error=type(move_exc).__name__)
        finally:
            slots.release()


def _handler_class(worker, jobs_queue, on_enqueued):  # type: ignore[no-untyped-def]
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # the worker logs requests itself
            pass

        def _route(self) -> tuple[bool, str | None]:
            path = urlsplit(self.path).path.rstrip("/")
            if path == ROUTE:
                return True, None
            if path.startswith(ROUTE + "/") and "/" not in path[len(ROUTE) + 1 :]:
                return True, unquote(path[len(ROUTE) + 1 :])
            return False, None

        def _serve(self) -> None:
            found, recipe = self._route()
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length > 0 else b""  # the Functions host reads bodies whole too
            if not found:
                self._reply(404, {"message": "not found"})
                return
            result = worker.intake.handle(self.command, dict(self.headers.items()), body, recipe=recipe)
            if result.message is not None:
                try:
                    jobs_queue.send_message(result.message.encode("utf-8"))
                    on_enqueued()
                except Exception:
                    # The host would answer 500 when its output binding fails: the job was not accepted.
                    self._reply(500, {"message": "the job could not be queued"})
                    return
            self._reply(result.status, result.body)

        def _reply(self, status: int, body: Mapping[str, object] | None) -> None:
            data = b"" if body is None else json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_POST = do_GET = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _serve

    return Handler


def main(argv: list[str] | None = None) -> int:
    """Serve the intake and consume the queues until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--jobs-in-parallel", type=int, default=4)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT / "function_app"))
    from imgix_worker.logs import configure, log
    from imgix_worker.service import JOBS_QUEUE, POISON_QUEUE, Worker

    configure()
    worker = Worker.from_env(os.environ)
    connection = os.environ["AzureWebJobsStorage"]
    ca = worker.settings.tls_ca_bundle
    jobs, poison = _queue(connection, JOBS_QUEUE, ca), _queue(connection, POISON_QUEUE, ca)

    stop = threading.Event()
    visibility = worker.settings.job_deadline_seconds + 60
    consumers = [
        _Consumer(jobs, lambda body, count: worker.process_message(body, dequeue_count=count), poison=poison,
                  workers=args.jobs_in_parallel, visibility=visibility, stop=stop),
        _Consumer(poison, lambda body, _count: worker.fail_message(body), workers=1, visibility=visibility,
                  stop=stop),
    ]  # fmt: skip
    threads = [threading.Thread(target=c.run, daemon=True) for c in consumers]
    server = ThreadingHTTPServer(("127.0.0.1", args.port), _handler_class(worker, jobs, consumers[0].wake))
    server.daemon_threads = True
    server.socket = server_context(TlsFiles(Path(), Path(args.cert), Path(args.key))).wrap_socket(
        server.socket, server_side=True
    )

    def shutdown(*_: object) -> None:
        stop.set()
        for consumer in consumers:
            consumer.wake()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    for thread in threads:
        thread.start()
    log("worker host listening", url=f"https://localhost:{args.port}{ROUTE}")
    server.serve_forever()
    server.server_close()
    for thread in threads:
        thread.join(timeout=worker.settings.job_deadline_seconds)
    worker.close()
    return 0


@dataclass
class WorkerHostProcess:
    """The local worker host as a child process (its own PID, so it can be measured or killed)."""

    port: int
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @classmethod
    def start(cls, *, environ: Mapping[str, str], tls: TlsFiles, log_file: Path | None = None) -> WorkerHostProcess:
        """Start the host with the worker settings in `environ` and wait until it listens."""
        port = free_port()
        env = {**os.environ, **environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "function_app")])}
        cmd = [sys.executable, "-m", "local_platform.worker_host", "--port", str(port),
               "--cert", str(tls.cert), "--key", str(tls.key)]  # fmt: skip
        return cls(port=port, process=start_server(cmd, ports=(port,), env=env, log_file=log_file))

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}{ROUTE}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def stop(self) -> None:
        process, self.process = self.process, None
        stop_group(process, timeout=15)

    def __enter__(self) -> WorkerHostProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    raise SystemExit(main())
