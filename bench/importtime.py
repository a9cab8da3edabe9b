"""Cold import of the function app (`python -X importtime -c "import function_app"` in `function_app/`).

The Functions host imports `function_app.py` on every cold start, so its import time is start-up latency. The
settings without a default must be present (dummy values; nothing is contacted at import). The same process
reports whether Pillow or Pulumi were imported: neither belongs in the worker.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from typing import Any

from bench import ROOT

__all__ = ["BUDGET_MS", "measure_import"]

BUDGET_MS = 350.0
FORBIDDEN = ("PIL", "pulumi")
DUMMY_SETTINGS = {
    "IMGIX_DOMAIN": "bench.imgix.net",
    "IMGIX_SECURE_TOKEN": "bench-dummy-token",
    "IMGIX_SOURCE_CONNECTION_STRING": "UseDevelopmentStorage=true",
    "IMGIX_SOURCE_CONTAINER": "imgix",
    "IMS_JWKS_URL": "https://ims.example/keys",
    "IMS_ORG_IDS": "BENCH@AdobeOrg",
    "IMS_CLIENT_IDS": "bench",
}
_CHECK = (
    "import function_app, json, sys; "
    f"print(json.dumps([m for m in {FORBIDDEN!r} if any(k == m or k.startswith(m + '.') for k in sys.modules)]))"
)


def _one() -> tuple[float, float, list[str]]:
    """(ms of `import function_app` incl. everything it imports, ms of all imports incl. start-up, forbidden)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("IMGIX_")}
    env |= DUMMY_SETTINGS
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", _CHECK],
        cwd=ROOT / "function_app", env=env, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    app_us, all_us = 0, 0
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        own, cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        all_us += int(own)
        if name == "function_app":
            app_us = int(cumulative)
    return app_us / 1000, all_us / 1000, json.loads(done.stdout)


def measure_import(runs: int) -> dict[str, Any]:
    """The `import` record: median over `runs` cold imports (after one unmeasured run that warms the disk cache)."""
    _one()
    samples = [_one() for _ in range(runs)]
    median_ms = statistics.median(s[0] for s in samples)
    forbidden = sorted({m for s in samples for m in s[2]})
    return {
        "runs": runs,
        "import_ms_median": median_ms,
        "import_ms_runs": [round(s[0], 1) for s in samples],
        "all_imports_ms_median": statistics.median(s[1] for s in samples),
        "budget_ms": BUDGET_MS,
        "under_budget": median_ms < BUDGET_MS,
        "forbidden_modules_loaded": forbidden,
    }
