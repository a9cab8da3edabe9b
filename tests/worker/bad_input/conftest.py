"""Fixtures of the bad-input corpus: the fault tests' container clients and worker factory."""

from __future__ import annotations

from ..faults.support import containers, make_worker

__all__ = ["containers", "make_worker"]
