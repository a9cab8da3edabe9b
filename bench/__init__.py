"""Benchmarks of the worker against the seed tutorial's algorithm, on the local platform (`python -m bench`).

Benchmarks are not tests: nothing here asserts on timing in the test suite. Each run measures our worker and a
baseline in the same process, on the same inputs, and prints ratios baseline/ours.
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
WORK_DIR = BENCH_DIR / "work"  # git-ignored: generated inputs, logs, the baseline's scratch files

# The local platform's client imports the worker's modules (redaction), as the test suite does via pytest's
# `pythonpath`; `python -m bench` has no such setting, so put the function app on the path here.
if str(ROOT / "function_app") not in sys.path:
    sys.path.append(str(ROOT / "function_app"))
