"""The App Builder relay on the local platform: the deployable action code, hosted by `relay/local/server.js`.

The server plays I/O Runtime's web-action gateway and Adobe's validator (bearer token checked against the local
IMS JWKS), then runs a copy of the action pinned to `worker_url` / `org_id` by the same generator as a deploy.
It listens on 127.0.0.1 over HTTPS with the local certificate; it trusts the local CA for its own calls (the
JWKS and the worker) through `NODE_EXTRA_CA_CERTS`. The HMAC key travels in the child's environment, never argv.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from local_platform.paths import LOCAL_DIR, ROOT
from local_platform.processes import free_port, start_server, stop_group
from local_platform.tls import TlsFiles

__all__ = ["ACTION_PATH", "RelayProcess"]

ACTION_PATH = "/api/v1/web/dx-asset-compute-worker-1/relay"
SERVER_JS = ROOT / "relay" / "local" / "server.js"


@dataclass
class RelayProcess:
    """A running local relay; `url` is what the Asset Compute stand-in calls as the rendition's `worker`."""

    port: int
    work_dir: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @classmethod
    def start(
        cls,
        *,
        worker_url: str,
        org_id: str,
        hmac_key: str,
        jwks_url: str,
        tls: TlsFiles,
        log_file: Path | None = None,
    ) -> RelayProcess:
        """Start the relay on a free loopback port and return once it accepts connections."""
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is required for the local relay; install Node.js 20+")
        LOCAL_DIR.mkdir(parents=True, exist_ok=True)
        # The pinned copy of the action lives here (git-ignored), away from the deploy pins in relay/.
        work_dir = Path(tempfile.mkdtemp(prefix="relay-", dir=LOCAL_DIR))
        port = free_port()
        env = {
            **os.environ,
            "WORKER_URL": worker_url,
            "ORG_ID": org_id,
            "RELAY_HMAC_KEY": hmac_key,
            "NODE_EXTRA_CA_CERTS": str(tls.ca_cert),
        }
        cmd = [
            node, str(SERVER_JS),
            "--port", str(port),
            "--cert", str(tls.cert),
            "--key", str(tls.key),
            "--jwks-url", jwks_url,
            "--work-dir", str(work_dir),
        ]  # fmt: skip
        # Without a log file the server's output goes to the work dir, so a failed start can say why.
        log_path = log_file or work_dir / "server.log"
        try:
            process = start_server(cmd, ports=(port,), env=env, log_file=log_path, timeout=30.0)
        except (RuntimeError, TimeoutError) as err:
            tail = log_path.read_text(errors="replace")[-2000:] if log_path.exists() else ""
            shutil.rmtree(work_dir, ignore_errors=True)
            raise RuntimeError(f"local relay did not start: {err}\n{tail}") from err
        except BaseException:
            shutil.rmtree(work_dir, ignore_errors=True)
            raise
        return cls(port=port, work_dir=work_dir, process=process)

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}{ACTION_PATH}"

    def stop(self) -> None:
        """End the server and remove its pinned copy of the action."""
        process, self.process = self.process, None
        stop_group(process)
        shutil.rmtree(self.work_dir, ignore_errors=True)

    def __enter__(self) -> RelayProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
