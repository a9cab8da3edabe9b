"""`python -m infra.relay_env <stack>` (make relay-env): write `relay/.env` for `aio app deploy` of the relay.

Reads the stack's secret output `relayDeployEnv` (WORKER_URL, ORG_ID, RELAY_HMAC_KEY) with the Pulumi CLI and
merges it as KEY=value lines into the file, which only its owner can read; the lines `aio app use` wrote there
(`AIO_*`, the workspace's credentials) stay. Nothing is printed but the file's path.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from infra.config import ENVIRONMENTS

__all__ = ["RELAY_ENV_FILE", "RELAY_ENV_KEYS", "read_relay_env", "render_env", "write_env_file"]

ROOT = Path(__file__).resolve().parent.parent
RELAY_ENV_FILE = ROOT / "relay" / ".env"
RELAY_ENV_KEYS = ("WORKER_URL", "ORG_ID", "RELAY_HMAC_KEY")


def read_relay_env(stack: str) -> dict[str, str]:
    """The stack's `relayDeployEnv` output, decrypted by the Pulumi CLI.

    :raises RuntimeError: if the CLI fails (its output is not repeated: it could hold the secret).
    """
    result = subprocess.run(
        ["pulumi", "stack", "output", "--show-secrets", "-s", stack, "--json", "relayDeployEnv"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"`pulumi stack output relayDeployEnv -s {stack}` failed (exit {result.returncode})")
    return json.loads(result.stdout)


def render_env(values: Mapping[str, str], existing: str = "") -> str:
    """`existing` without its RELAY_ENV_KEYS lines, then KEY=value lines in RELAY_ENV_KEYS order.

    :raises ValueError: naming a missing key or a value that cannot sit on one line.
    """
    lines = [
        line
        for line in existing.splitlines()
        if line.strip() and line.split("=", 1)[0].strip().removeprefix("export ").strip() not in RELAY_ENV_KEYS
    ]
    for key in RELAY_ENV_KEYS:
        value = values.get(key)
        if not isinstance(value, str) or not value:
            raise ValueError(f"relayDeployEnv lacks {key}")
        if not re.fullmatch(r"[^\s'\"\\#]+", value):
            raise ValueError(f"relayDeployEnv.{key} has characters a .env line cannot hold unquoted")
        lines.append(f"{key}={value}")
    return "\n".join(lines) + "\n"


def write_env_file(path: Path, text: str) -> None:
    """Write `text` to `path`, readable and writable by its owner only (0600), even if it existed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # an existing file keeps its old mode through O_CREAT
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in ENVIRONMENTS:
        print(f"usage: python -m infra.relay_env <{'|'.join(ENVIRONMENTS)}>", file=sys.stderr)
        return 2
    existing = RELAY_ENV_FILE.read_text(encoding="utf-8") if RELAY_ENV_FILE.exists() else ""
    write_env_file(RELAY_ENV_FILE, render_env(read_relay_env(args[0]), existing))
    print(f"wrote {RELAY_ENV_FILE.relative_to(ROOT)} (0600) for stack {args[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
