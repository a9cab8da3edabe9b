"""Child processes of the local platform: started in their own process group, waited for by port, always stopped.

Every server the platform runs (Azurite, the renderer, the worker host, the relay) goes through `start_server` and
`stop_group`, so "nothing left running" holds in one place.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from local_platform.paths import ROOT

__all__ = ["free_port", "spawn", "start_server", "stop_group", "wait_for_port"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, *, process: subprocess.Popen[bytes] | None = None, timeout: float = 60.0) -> None:
    """Return once 127.0.0.1:`port` accepts a connection; raise if `process` exits or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return
        except OSError:
            pass
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before port {port} opened")
        if time.monotonic() > deadline:
            raise TimeoutError(f"port {port} did not open within {timeout:.0f}s")
        time.sleep(0.05)  # polling a socket for readiness, not synchronising on time


def spawn(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path = ROOT,
    log_file: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start `cmd` in a new process group (so `stop_group` ends it and its children), output to `log_file`."""
    log = open(log_file, "ab") if log_file else subprocess.DEVNULL
    try:
        return subprocess.Popen(
            list(cmd),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        if log is not subprocess.DEVNULL:
            log.close()


def stop_group(process: subprocess.Popen[bytes] | None, *, timeout: float = 10.0) -> None:
    """End `process` and its process group: SIGTERM, then SIGKILL after `timeout` seconds."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


def start_server(
    cmd: Sequence[str],
    *,
    ports: Sequence[int],
    env: Mapping[str, str] | None = None,
    log_file: Path | None = None,
    timeout: float = 60.0,
) -> subprocess.Popen[bytes]:
    """`spawn` a server and return once every one of its `ports` accepts connections; stop it if one never does."""
    process = spawn(cmd, env=env, log_file=log_file)
    try:
        for port in ports:
            wait_for_port(port, process=process, timeout=timeout)
    except BaseException:
        stop_group(process)
        raise
    return process
