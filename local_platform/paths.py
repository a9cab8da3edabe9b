"""Where the local platform keeps its files."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL_DIR = ROOT / ".local"
ENV_FILE = LOCAL_DIR / "env"
SAMPLES_DIR = ROOT / "local_platform" / "samples"
