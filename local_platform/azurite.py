"""Azurite, Microsoft's storage emulator: installed from npm into `.local/node`, run in memory over HTTPS.

`Azurite.start()` picks free ports on 127.0.0.1, serves blob and queue at `https://localhost:<port>` with the
local CA's certificate, and returns once both ports accept connections. `stop()` ends the process group.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from local_platform.paths import LOCAL_DIR, ROOT
from local_platform.tls import TlsFiles, ensure_tls

__all__ = ["ACCOUNT", "ACCOUNT_KEY", "Azurite", "ensure_node_tools", "free_port", "wait_for_port"]

ACCOUNT = "devstoreaccount1"
# Azurite's published, fixed development key (not a secret: it is the same on every machine).
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

NODE_DIR = LOCAL_DIR / "node"
PACKAGE_JSON = ROOT / "local_platform" / "node" / "package.json"
PACKAGE_LOCK = ROOT / "local_platform" / "node" / "package-lock.json"


def ensure_node_tools() -> Path:
    """Install the local platform's npm packages into `.local/node` unless already there; return the bin dir."""
    bin_dir = NODE_DIR / "node_modules" / ".bin"
    stamp = NODE_DIR / ".installed-from"
    wanted = PACKAGE_JSON.read_text() + PACKAGE_LOCK.read_text()
    if (bin_dir / "azurite").exists() and stamp.exists() and stamp.read_text() == wanted:
        return bin_dir
    if shutil.which("npm") is None:
        raise RuntimeError("npm is required for Azurite; install Node.js 20+ (which ships npm)")
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    shutil.copy(PACKAGE_JSON, NODE_DIR / "package.json")
    shutil.copy(PACKAGE_LOCK, NODE_DIR / "package-lock.json")
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--engine-strict=false", "--loglevel=error"],
        cwd=NODE_DIR,
        check=True,
    )
    stamp.write_text(wanted)
    return bin_dir


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


@dataclass
class Azurite:
    """A running Azurite (blob + queue) on loopback, over HTTPS with the local CA."""

    blob_port: int
    queue_port: int
    tls: TlsFiles
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @classmethod
    def start(cls, *, log_file: Path | None = None) -> Azurite:
        """Install if needed, start Azurite in memory, and wait until it serves."""
        bin_dir = ensure_node_tools()
        tls = ensure_tls()
        blob_port, queue_port, table_port = free_port(), free_port(), free_port()
        log = open(log_file, "ab") if log_file else subprocess.DEVNULL
        cmd = [
            str(bin_dir / "azurite"),
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--disableTelemetry",
            "--silent",
            "--blobHost", "127.0.0.1", "--blobPort", str(blob_port),
            "--queueHost", "127.0.0.1", "--queuePort", str(queue_port),
            "--tableHost", "127.0.0.1", "--tablePort", str(table_port),
            "--cert", str(tls.cert), "--key", str(tls.key),
        ]  # fmt: skip
        process = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
        azurite = cls(blob_port=blob_port, queue_port=queue_port, tls=tls, process=process)
        try:
            wait_for_port(blob_port, process=process)
            wait_for_port(queue_port, process=process)
        except BaseException:
            azurite.stop()
            raise
        return azurite

    @property
    def blob_endpoint(self) -> str:
        return f"https://localhost:{self.blob_port}/{ACCOUNT}"

    @property
    def queue_endpoint(self) -> str:
        return f"https://localhost:{self.queue_port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        """Connection string for the Azure SDKs (HTTPS, path-style endpoints)."""
        return (
            f"DefaultEndpointsProtocol=https;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.blob_endpoint};QueueEndpoint={self.queue_endpoint};"
        )

    def stop(self) -> None:
        """End Azurite and everything it started."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()

    def __enter__(self) -> Azurite:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
