"""`RendererProcess`: the renderer's HTTPS server as a subprocess, for tests, the local runner and benchmarks.

The SAS and the secure token reach the child through its environment, never its command line (`ps` shows that).
The child runs in its own process group, which `stop()` ends.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from local_platform.processes import free_port, start_server, stop_group
from local_platform.tls import TlsFiles

__all__ = ["SAS_ENV", "TOKEN_ENV", "RendererProcess"]

# Where the child (`python -m local_platform.renderer`) finds its secrets when no file is given.
SAS_ENV = "IMGIX_RENDERER_SAS"
TOKEN_ENV = "IMGIX_RENDERER_SECURE_TOKEN"  # noqa: S105 - the variable's name, not a token


@dataclass
class RendererProcess:
    """A running local renderer on https://localhost:<port>."""

    port: int
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @classmethod
    def start(
        cls,
        *,
        container_url: str,
        sas: str,
        secure_token: str | None,
        prefix: str = "",
        tls: TlsFiles,
        log_file: Path | None = None,
        max_source_bytes: int | None = None,
        max_pixels: int | None = None,
    ) -> RendererProcess:
        """Start the renderer for a container (read with `sas`) and wait until it accepts connections.

        `tls.ca_cert` is trusted for the container URL; `tls.cert`/`tls.key` serve HTTPS for `localhost`.
        Without `secure_token`, signatures are not enforced.
        """
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in (SAS_ENV, TOKEN_ENV)}
        env[SAS_ENV] = sas
        if secure_token:
            env[TOKEN_ENV] = secure_token
        cmd = [
            sys.executable, "-m", "local_platform.renderer",
            "--port", str(port),
            "--container-url", container_url,
            "--prefix", prefix,
            "--ca-file", str(tls.ca_cert),
            "--cert", str(tls.cert),
            "--key", str(tls.key),
        ]  # fmt: skip
        if max_source_bytes is not None:
            cmd += ["--max-source-bytes", str(max_source_bytes)]
        if max_pixels is not None:
            cmd += ["--max-pixels", str(max_pixels)]
        return cls(port=port, process=start_server(cmd, ports=(port,), env=env, log_file=log_file, timeout=30))

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}"

    def stop(self) -> None:
        """End the renderer's process group."""
        process, self.process = self.process, None
        stop_group(process, timeout=10)

    def __enter__(self) -> RendererProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
