"""The local stand-in for the Azure Functions host and its Python worker, which cannot be installed here.

It runs the app in `--script-root` (default `function_app/`) the way Azure does: imports `function_app.py` with the
script root on `sys.path`, indexes its `app` with the azure-functions library (`functions_index`), refuses to start
on what the host would refuse, and reads `host.json` with `AzureFunctionsJobHost__*` overrides (`host_config`).
HTTP triggers are served over HTTPS under `/<routePrefix>/` (`http_trigger`); every queue trigger gets a listener
with the queue extension's batching, retries, poison queues and `functionTimeout` (`queue_trigger`). The host
calls only the app's functions. Logging is the Python worker's: the root logger at INFO with one handler that
writes every record of every library to stderr, one line each (`worker: <LEVEL> <logger> <message>`); the host's
own lines start with `host:`. Run it with
`python -m local_platform.worker_host --port N --cert C --key K [--script-root DIR]`, the app's settings in the
environment, `AzureWebJobsStorage` (an Azurite connection string) and `TLS_CA_BUNDLE` (to trust Azurite).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from local_platform.functions_index import IndexedFunction, IndexingError, index_script
from local_platform.host_config import HostConfig, HostConfigError, load_host_config
from local_platform.http_trigger import HttpReply, RouteTable, build_request, reply_of
from local_platform.invocation import SyncThreadPool, invoke
from local_platform.paths import ROOT
from local_platform.processes import free_port, start_server, stop_group
from local_platform.queue_trigger import LOG, QueueListener, QueueStore
from local_platform.tls import TlsFiles, server_context

__all__ = ["INTAKE_PATH", "SCRIPT_ROOT", "WorkerHostProcess", "main"]

SCRIPT_ROOT = ROOT / "function_app"
INTAKE_PATH = "/api/worker"  # function_app.py's intake route under host.json's route prefix
QUEUE_NAME = re.compile(r"^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")
SHUTDOWN_GRACE_SECONDS = 10.0  # in-flight invocations get this long after SIGTERM; their messages come back


def _handler_class(  # type: ignore[no-untyped-def]
    routes: RouteTable, store: QueueStore, config: HostConfig, pool: SyncThreadPool
):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # the host logs invocations instead
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length > 0 else b""  # the host reads bodies whole too
            found = routes.match(self.command, urlsplit(self.path).path)
            if found is None:
                self._send(HttpReply(404, [], b""))
                return
            function, route_params = found
            url = f"https://{self.headers.get('host') or 'localhost'}{self.path}"
            request = build_request(self.command, url, self.headers.items(), body, route_params)
            self._send(_call_http(function, request, store, config, pool))

        def _send(self, reply: HttpReply) -> None:
            self.send_response(reply.status)
            for name, value in reply.headers:
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)

        do_POST = do_GET = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _serve

    return Handler


def _call_http(
    function: IndexedFunction, request: object, store: QueueStore, config: HostConfig, pool: SyncThreadPool
) -> HttpReply:
    """Invoke an HTTP function; write its output bindings, then answer its response (500 when any step fails)."""
    LOG.info("executing %s (%s %s)", function.name, request.method, urlsplit(request.url).path)  # type: ignore[attr-defined]
    outcome = invoke(function, request, timeout=config.function_timeout, pool=pool)
    if outcome.abandoned:
        LOG.error("executed %s: abandoned after functionTimeout (%g s)", function.name, config.function_timeout)
        return HttpReply(500, [], b"")
    if outcome.error is not None:
        LOG.error("executed %s: failed (%s)", function.name, type(outcome.error).__name__)
        return HttpReply(500, [], b"")
    try:
        reply = reply_of(outcome.result)
        store.write_outputs(function, outcome.outputs)
    except Exception as exc:  # the output binding failed: the host answers 500, the job was not accepted
        LOG.error("executed %s: output binding failed (%s)", function.name, type(exc).__name__)
        return HttpReply(500, [], b"")
    LOG.info("executed %s (succeeded, %d)", function.name, reply.status)
    return reply


class _RecordLine(logging.Formatter):
    """One line per record: `worker: <LEVEL> <logger> <message>`, the message as the app made it (the worker's own
    lines are JSON, kept verbatim), an exception's text appended and newlines escaped so no record spans lines."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return f"worker: {record.levelname} {record.name} {text}".replace("\n", "\\n")


def _forward_every_record() -> None:
    """What the Python worker does before it loads the app: the root logger at INFO and one handler on it that
    receives every record of every library (the worker sends each to the Functions host, so to Application
    Insights; here each goes to stderr). It filters nothing: keeping secrets out is the app's own doing."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_RecordLine())
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    root.addHandler(handler)


def _log_host_lines() -> None:
    """The host's own lines (the Functions host's, a separate process in Azure) to stderr, apart from the worker's."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("host: %(levelname)s %(message)s"))
    LOG.addHandler(handler)
    LOG.setLevel(logging.INFO)
    LOG.propagate = False


def _load(script_root: Path, environ: Mapping[str, str]) -> tuple[HostConfig, list[IndexedFunction]]:
    config = load_host_config(script_root, environ)
    functions = index_script(script_root, environ)
    for function in functions:
        kind = function.trigger.get("type")
        if kind not in ("httpTrigger", "queueTrigger"):
            raise IndexingError(f"function {function.name!r}: trigger type {kind!r} is not hosted locally")
        for binding in function.bindings:
            if binding.get("direction", "").lower() == "out" and binding.get("type") not in ("queue", "http"):
                raise IndexingError(f"function {function.name!r}: output binding type {binding.get('type')!r} "
                                    "is not hosted locally")  # fmt: skip
            name = binding.get("queueName")
            if binding.get("type") in ("queue", "queueTrigger") and not QUEUE_NAME.match(str(name)):
                # The queue extension refuses these names when it indexes, before anything runs.
                raise IndexingError(f"function {function.name!r}: queue name {name!r} is invalid (Azure Storage "
                                    "queue names: 3-63 lower-case letters, digits and single dashes)")  # fmt: skip
    return config, functions


def main(argv: list[str] | None = None) -> int:
    """Serve the app's HTTP triggers and run its queue triggers until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--script-root", type=Path, default=SCRIPT_ROOT, help="the app's folder (host.json)")
    args = parser.parse_args(argv)

    environ = dict(os.environ)
    _log_host_lines()
    _forward_every_record()
    try:
        config, functions = _load(args.script_root, environ)
    except (IndexingError, HostConfigError) as exc:
        print(f"host: the app cannot start: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # importing the app failed (e.g. a missing setting): the worker reports and stops
        print(f"host: the app cannot start: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1

    store = QueueStore(environ, config.queues, ca_bundle=environ.get("TLS_CA_BUNDLE"))
    stop = threading.Event()
    try:
        for function in functions:
            for binding in function.bindings:
                if binding.get("type") in ("queue", "queueTrigger"):
                    store.connection_string(binding.get("connection", ""))
        pool = SyncThreadPool.from_settings(environ)
    except (IndexingError, ValueError) as exc:
        print(f"host: the app cannot start: {exc}", file=sys.stderr)
        return 1
    listeners = [
        QueueListener(f, store, config.queues, function_timeout=config.function_timeout, pool=pool, stop=stop)
        for f in functions
        if f.trigger.get("type") == "queueTrigger"
    ]
    routes = RouteTable(functions, config.route_prefix)
    threads = [threading.Thread(target=lst.run, name=f"listener-{lst.queue_name}") for lst in listeners]
    server = ThreadingHTTPServer(("127.0.0.1", args.port), _handler_class(routes, store, config, pool))
    server.daemon_threads = True
    server.socket = server_context(TlsFiles(Path(), Path(args.cert), Path(args.key))).wrap_socket(
        server.socket, server_side=True
    )

    def shutdown(*_: object) -> None:
        stop.set()
        for listener in listeners:
            listener.wake()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    for thread in threads:
        thread.start()
    for route in routes.routes:
        LOG.info("function %s: https://localhost:%d%s", route.function.name, args.port, route.template)
    for listener in listeners:
        LOG.info("function %s: queue %s", listener.function.name, listener.queue_name)
    LOG.info("sync functions run on %d threads (PYTHON_THREADPOOL_THREAD_COUNT)", pool.size)
    server.serve_forever()
    server.server_close()
    deadline = time.monotonic() + SHUTDOWN_GRACE_SECONDS
    for listener, thread in zip(listeners, threads, strict=True):
        thread.join()
        listener.drain(deadline)
    return 0


def _tail(log_file: Path | None) -> list[str]:
    try:
        return log_file.read_text(errors="replace").splitlines()[-20:] if log_file else []
    except OSError:
        return []


@dataclass
class WorkerHostProcess:
    """The local worker host as a child process (its own PID, so it can be measured or killed)."""

    port: int
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @classmethod
    def start(
        cls,
        *,
        environ: Mapping[str, str],
        tls: TlsFiles,
        log_file: Path | None = None,
        script_root: Path = SCRIPT_ROOT,
    ) -> WorkerHostProcess:
        """Start the host on the app in `script_root` with its settings in `environ`; wait until it listens.

        :raises RuntimeError: the host exited first; with its reason (e.g. the setting or binding at fault) when
            `log_file` has it.
        """
        port = free_port()
        env = {**os.environ, **environ, "PYTHONPATH": str(ROOT)}  # the host puts the script root on sys.path
        cmd = [sys.executable, "-m", "local_platform.worker_host", "--port", str(port),
               "--cert", str(tls.cert), "--key", str(tls.key), "--script-root", str(script_root)]  # fmt: skip
        try:
            return cls(port=port, process=start_server(cmd, ports=(port,), env=env, log_file=log_file))
        except RuntimeError as exc:
            reasons = [line for line in _tail(log_file) if line.startswith("host: the app cannot start")]
            raise RuntimeError(f"{exc}: {reasons[-1]}" if reasons else str(exc)) from None

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}{INTAKE_PATH}"

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
