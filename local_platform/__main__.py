"""`make up` / `make down` / `make token`: keep the local platform running for manual work.

python -m local_platform up      start everything in the background, write .local/env, print the URLs
python -m local_platform down    stop what `up` started
python -m local_platform token   print a local IMS bearer token (last line); ORG=<id> for another org
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time

from local_platform.paths import ENV_FILE, LOCAL_DIR, ROOT

PID_FILE = LOCAL_DIR / "platform.pid"
LOG_DIR = LOCAL_DIR / "logs"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _running_pid() -> int | None:
    try:
        pid = int(PID_FILE.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if _alive(pid) else None


def serve() -> int:
    """Run the platform in this process until SIGTERM/SIGINT; write .local/env once it serves."""
    from local_platform.platform import LocalPlatform

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with LocalPlatform.start(log_dir=LOG_DIR) as platform:
        lines = [f"{key}='{value}'" for key, value in platform.environment().items()]
        tmp = ENV_FILE.with_suffix(".tmp")
        tmp.write_text("\n".join(lines) + "\n")
        tmp.chmod(0o600)
        tmp.replace(ENV_FILE)
        stop.wait()
    ENV_FILE.unlink(missing_ok=True)
    return 0


def up() -> int:
    if (pid := _running_pid()) is not None:
        print(f"the local platform is already running (pid {pid}); `make down` stops it")
        _print_env()
        return 0
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    ENV_FILE.unlink(missing_ok=True)
    with open(LOG_DIR / "platform.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "local_platform", "serve"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    PID_FILE.write_text(str(process.pid))
    deadline = time.monotonic() + 180
    while not ENV_FILE.exists():
        if process.poll() is not None:
            print(f"the local platform failed to start; see {LOG_DIR / 'platform.log'}", file=sys.stderr)
            PID_FILE.unlink(missing_ok=True)
            return 1
        if time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGTERM)
            print("the local platform did not start within 180 s", file=sys.stderr)
            return 1
        time.sleep(0.2)  # waiting for the background process to write its env file
    print(f"local platform running (pid {process.pid}); logs in {LOG_DIR}")
    _print_env()
    return 0


def _print_env() -> None:
    if ENV_FILE.exists():
        for line in ENV_FILE.read_text().splitlines():
            key, _, value = line.partition("=")
            secret = key in ("AZURE_STORAGE_CONNECTION_STRING", "IMGIX_SECURE_TOKEN")
            shown = "(see .local/env)" if secret else value.strip("'")
            print(f"  {key:<32} {shown}")
        print(f"source them with: set -a; . {ENV_FILE.relative_to(ROOT)}; set +a")


def down() -> int:
    pid = _running_pid()
    if pid is None:
        print("the local platform is not running")
        PID_FILE.unlink(missing_ok=True)
        return 0
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)  # waiting for the platform's own shutdown
    if _alive(pid):
        os.killpg(pid, signal.SIGKILL)
    PID_FILE.unlink(missing_ok=True)
    ENV_FILE.unlink(missing_ok=True)
    print("local platform stopped")
    return 0


def token() -> int:
    from local_platform.ims import LOCAL_ORG_ID, LocalIms

    org = os.environ.get("ORG") or LOCAL_ORG_ID
    print(f"# x-gw-ims-org-id: {org}  (the worker accepts {LOCAL_ORG_ID})")
    print(LocalIms.load().token(extra={"org": org}))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_platform", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down", "token", "serve"])
    command = parser.parse_args(argv).command
    return {"up": up, "down": down, "token": token, "serve": serve}[command]()


if __name__ == "__main__":
    raise SystemExit(main())
