"""The local platform starts every part, runs a job through the relay, and leaves nothing running."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from imgix_worker.host_limits import THREAD_COUNT_SETTING, HostLimits
from imgix_worker.settings import Settings
from local_platform import processes
from local_platform.paths import ROOT
from local_platform.platform import LocalPlatform


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_job_through_the_relay_and_a_clean_stop(tmp_path: Path) -> None:
    platform = LocalPlatform.start(log_dir=tmp_path / "logs")
    try:
        pids = [p.pid for p in (platform.azurite.process, platform.renderer.process, platform.worker.process) if p]
        assert platform.relay is not None and platform.relay.process is not None
        pids.append(platform.relay.process.pid)
        env = platform.environment()
        for key in ("WORKER_URL", "RENDERER_URL", "EVENTS_URL", "ORG_ID", "AZURE_STORAGE_CONNECTION_STRING"):
            assert env[key]
        assert env["WORKER_URL"].startswith("https://localhost:") and "/relay" in env["WORKER_URL"]
        # `func start` with function_app/local.settings.example.json, filled in from .local/env as the README says,
        # runs with the very settings the platform's own worker host runs with (and they are valid).
        example = json.loads((ROOT / "function_app" / "local.settings.example.json").read_text())["Values"]
        filled = {k: re.sub(r"<(\w+) from \.local/env>", lambda m: env[m.group(1)], v) for k, v in example.items()}
        # FUNCTIONS_WORKER_RUNTIME is read by Core Tools to pick the Python worker (the platform's host is that
        # worker already). RELAY_HMAC_KEY is the relay's: under `func start` jobs go straight to the intake, which
        # must then accept unsigned calls (a local run's choice), so the example leaves it out.
        del filled["FUNCTIONS_WORKER_RUNTIME"]
        hosted = {k: v for k, v in platform.worker_environment.items() if k != "RELAY_HMAC_KEY"}
        assert filled == hosted  # every key and value: a setting added to one and not the other fails here
        assert Settings.from_env(filled).allowed_hosts == (env["ALLOWED_HOSTS"],)
        # The Python worker's thread pool as the stacks size it (infra/app_settings.py): one rule, host_limits.
        threads = HostLimits.load(platform.worker_environment).sync_threads
        assert platform.worker_environment[THREAD_COUNT_SETTING] == str(threads)
        assert f"sync functions run on {threads} threads" in (tmp_path / "logs" / "worker.log").read_text()
        source = ROOT / "tests" / "cases" / "photo.jpg"
        with platform.asset_compute() as client:
            job = client.process(source, [{"name": "small.png", "fmt": "png", "width": 64}], out_dir=tmp_path / "out")
        (result,) = job.renditions
        assert result.event_type == "rendition_created", result.error_message
        assert result.output is not None and result.output.exists()
        assert result.metadata["tiff:imageWidth"] == 64
    finally:
        platform.stop()
    assert all(gone(pid) for pid in pids)


def _running_in_session(session: int) -> list[int]:
    """Live (not zombie) processes whose session is `session`: a spawned server and anything it started."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # ended while we looked
        state, sid = fields[0], int(fields[3])
        if sid == session and state != "Z":
            found.append(int(stat.parent.name))
    return found


def test_a_failed_start_stops_what_was_started(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every part is started by processes.spawn in a session of its own: record those, whatever else runs meanwhile.
    spawned: list[tuple[int, str]] = []
    real_spawn = processes.spawn

    def recording_spawn(cmd: Sequence[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        process = real_spawn(cmd, **kwargs)
        spawned.append((process.pid, " ".join(cmd)))
        return process

    monkeypatch.setattr(processes, "spawn", recording_spawn)
    with pytest.raises(RuntimeError):
        # An invalid setting makes the worker host exit at start; everything started before it must stop.
        LocalPlatform.start(log_dir=tmp_path / "logs", relay=False, worker_settings={"IMGIX_DOMAIN": "not a domain"})
    assert any("azurite" in cmd for _, cmd in spawned), spawned
    assert any("worker_host" in cmd for _, cmd in spawned), spawned
    left = {cmd: _running_in_session(pid) for pid, cmd in spawned if _running_in_session(pid)}
    assert not left, f"still running after the failed start: {left}"


def test_up_token_down(tmp_path: Path) -> None:
    pid_file = ROOT / ".local" / "platform.pid"
    if pid_file.exists() and pid_file.read_text().strip().isdigit() and not gone(int(pid_file.read_text())):
        pytest.skip("a platform started by `make up` is running; this test would stop it")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = [sys.executable, "-m", "local_platform"]
    up = subprocess.run([*run, "up"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    try:
        assert up.returncode == 0, up.stderr
        env_file = ROOT / ".local" / "env"
        values = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
        assert {"WORKER_URL", "RENDERER_URL", "EVENTS_URL", "ORG_ID", "AZURE_STORAGE_CONNECTION_STRING"} <= set(values)
        assert "AccountKey" not in up.stdout  # the connection string is in the file, not printed
        assert values["IMGIX_SECURE_TOKEN"].strip("'") not in up.stdout
        token = subprocess.run([*run, "token"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert token.stdout.strip().splitlines()[-1].count(".") == 2
    finally:
        down = subprocess.run([*run, "down"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert down.returncode == 0
    assert not (ROOT / ".local" / "env").exists()
    assert not (ROOT / ".local" / "platform.pid").exists()
