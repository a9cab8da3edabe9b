"""Azurite, Microsoft's storage emulator: installed from npm into `.local/node`, run in memory over HTTPS.

`Azurite.start()` picks free ports on 127.0.0.1, serves blob and queue at `https://localhost:<port>` with the
local CA's certificate, and returns once both ports accept connections. `stop()` ends the process group.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from local_platform.paths import LOCAL_DIR, ROOT
from local_platform.processes import free_port, start_server, stop_group
from local_platform.tls import TlsFiles, ensure_tls

__all__ = ["ACCOUNT", "ACCOUNT_KEY", "Azurite", "ensure_node_tools"]

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
        # Azurite fetches copy sources itself for an asynchronous Copy Blob: it must trust the local CA.
        env = {**os.environ, "NODE_EXTRA_CA_CERTS": str(tls.ca_cert)}
        process = start_server(cmd, ports=(blob_port, queue_port), env=env, log_file=log_file)
        return cls(blob_port=blob_port, queue_port=queue_port, tls=tls, process=process)

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
        stop_group(process, timeout=10)

    def __enter__(self) -> Azurite:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
