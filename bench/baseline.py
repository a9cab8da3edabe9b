"""The baseline worker as a child process of the benchmark: its own PID, so /proc measures it like ours."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench import ROOT

__all__ = ["BaselineProcess"]


class BaselineProcess:
    """`python -m bench.baseline_worker`, fed one job per line; `result()` waits for its answer line."""

    def __init__(self, settings: Mapping[str, str], work_dir: Path, log_file: Path) -> None:
        env = {**os.environ, **settings, "BASELINE_WORK_DIR": str(work_dir)}
        env["PYTHONPATH"] = str(ROOT)
        with log_file.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "bench.baseline_worker"],
                cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                start_new_session=True,
            )  # fmt: skip
        self._results: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="baseline-results", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self._process.pid

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._results.put(json.loads(line))
        self._results.put(None)  # the child ended

    def submit(self, job: Mapping[str, Any]) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(job).encode() + b"\n")
        self._process.stdin.flush()

    def result(self, timeout: float) -> dict[str, Any]:
        """The child's answer to the last job; raises RuntimeError if it died or took longer than `timeout`."""
        try:
            result = self._results.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(f"the baseline did not answer within {timeout:.0f}s") from None
        if result is None:
            raise RuntimeError("the baseline process ended")
        return result

    def stop(self) -> None:
        """Close its input (it ends after the current job); kill its process group if it lingers."""
        if self._process.poll() is None:
            try:
                assert self._process.stdin is not None
                self._process.stdin.close()
                self._process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self._process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self._process.wait()
        self._reader.join(timeout=5)
        if self._process.stdout is not None:
            self._process.stdout.close()

    def __enter__(self) -> BaselineProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
